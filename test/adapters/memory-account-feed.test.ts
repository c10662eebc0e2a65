/**
 * The memory store's change feed for accounts: a notice for every stored change to an account,
 * none for a write that changed nothing (a settlement with no entry).
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import type { ChangeNotice } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';

const silent = { warn: () => undefined, error: () => undefined };

describe('memory store: account notices', () => {
  it("gives no account notice for a drawing child's settlement that wrote no entry, and one for the release when its parent ends", async () => {
    const store = memoryRepository();
    const tracker = createTracker({ repository: store, logger: silent });
    await tracker.credit('account-1', { points: 100, reason: 'top-up', idempotencyKey: 'k1' });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-1', hold: { points: 50 } });
    const child = await tracker.recordGeneration({ toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', masterAccountId: 'account-1', castId: cast.id, hold: { points: 10 } });
    const before = await tracker.getAccount('account-1');
    const notices: ChangeNotice[] = [];
    const subscription = await store.changes!.subscribe({ onChange: (notice) => void notices.push(notice), onError: () => undefined });
    // Nothing charged: the child's 10 go back to the cast's reservation, no entry is written.
    await tracker.completeGeneration(child.id, { status: 'success', pointsSpent: 0, costUsd: '0' });
    await tracker.finishCast(cast.id);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const after = await tracker.getAccount('account-1');
    expect(after.version).toBe(before.version + 1);
    expect(notices.filter((notice) => notice.kind === 'account')).toEqual([expect.objectContaining({ id: 'account-1', version: after.version })]);
    expect(after).toMatchObject({ held: { points: 0 }, available: { points: 100 } });
    await subscription.close();
  });
});
