/**
 * The example third-party store (examples/custom-adapter/journal-store.ts, written against
 * `genledger` and `genledger/adapter` only) under the shared conformance suite, as CI runs it; and
 * its journal read back by a new instance, as after a restart.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTracker } from 'genledger';
import { runRepositoryConformance } from 'genledger/conformance';
import { afterAll, describe, expect, it } from 'vitest';
import { journalRepository } from '../../examples/custom-adapter/journal-store.js';

const directory = mkdtempSync(join(tmpdir(), 'genledger-journal-'));
let files = 0;
let current: ReturnType<typeof journalRepository> | undefined;

runRepositoryConformance({
  name: 'journal (examples/custom-adapter)',
  create: () => (current = journalRepository({ path: join(directory, `ledger-${++files}.jsonl`) })),
  inspect: () => {
    const repository = current!;
    return {
      generation: async (id) => (await repository.generations.get([id]))[0] ?? null,
      cast: async (id) => (await repository.casts.get([id]))[0] ?? null,
      cook: async (id) => (await repository.cooks.get([id]))[0] ?? null,
      count: async () => repository.count(),
      storedSize: async (kind, id) => {
        const store = kind === 'generation' ? repository.generations : kind === 'cast' ? repository.casts : repository.cooks;
        const [record] = await store.get([id]);
        if (record === undefined) throw new Error(`no ${kind} "${id}"`);
        return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'number' ? 0 : value)).length;
      },
    };
  },
  // Each write journals whole records, and a parent's embedded id list grows to its cap (1,000 ids):
  // the 10,000-step exact-money run writes lines of about 50 KB, some 40 s on a busy machine.
  timeoutMs: 180_000,
  skip: { changeFeed: 'the example has no change feed (watch() is optional; tracker.on() hears this process)' },
});

describe('journal (examples/custom-adapter): a restart', () => {
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('a new instance on the same journal reads back every record as it was, and goes on from there', async () => {
    const path = join(directory, 'restart.jsonl');
    const before = createTracker({ repository: journalRepository({ path }) });
    const cook = await before.startCook({ collectionId: 'c-1', initiatorAccountId: 'u-1', targetSupply: 2 });
    const cast = await before.startCast({ spellId: 's-1', initiatorAccountId: 'u-1', totalSteps: 2, cookId: cook.id });
    const step = await before.recordGeneration({ masterAccountId: 'u-1', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id, metadata: { at: '2026-01-01T00:00:00.000Z' } });
    await before.completeGeneration(step.id, { status: 'success', costUsd: '0.1', pointsSpent: 3 });
    const piece = await before.recordGeneration({ masterAccountId: 'u-1', toolId: 't', toolDisplayName: 'T', serviceName: 's', cookId: cook.id, idempotencyKey: 'piece-1' });

    const restarted = journalRepository({ path });
    const after = createTracker({ repository: restarted });
    expect(await after.getCook(cook.id)).toEqual(await before.getCook(cook.id));
    expect(await after.getCast(cast.id)).toEqual(await before.getCast(cast.id));
    // Dates come back as dates; a date-like string in metadata stays a string.
    expect(await after.getGeneration(step.id)).toEqual(await before.getGeneration(step.id));
    expect((await after.getGeneration(step.id))!.metadata).toEqual({ at: '2026-01-01T00:00:00.000Z' });
    expect(restarted.count()).toEqual({ generations: 2, casts: 1, cooks: 1 });
    // The idempotency keys came back too: a retry returns the first record, and nothing is counted twice.
    const retried = await after.recordGeneration({ masterAccountId: 'u-1', toolId: 't', toolDisplayName: 'T', serviceName: 's', cookId: cook.id, idempotencyKey: 'piece-1' });
    expect(retried.id).toBe(piece.id);
    await after.completeGeneration(piece.id, { status: 'success', costUsd: '0.2', pointsSpent: 1 });
    await after.completeGeneration(step.id, { status: 'success', costUsd: '0.1', pointsSpent: 3 }).catch(() => undefined);
    const cookAfter = (await after.getCook(cook.id))!;
    expect({ pointsSpent: cookAfter.pointsSpent, costUsd: cookAfter.costUsd }).toEqual({ pointsSpent: 4, costUsd: '0.3' });
  });

  it('a last line cut short by a crash is not an operation: the instance opens without it', async () => {
    const path = join(directory, 'torn.jsonl');
    const tracker = createTracker({ repository: journalRepository({ path }) });
    const cook = await tracker.startCook({ collectionId: 'c-1', initiatorAccountId: 'u-1', targetSupply: 1 });
    appendFileSync(path, '[{"kind":"cook","record":{"id":"half');
    const reopened = journalRepository({ path });
    expect(reopened.count()).toEqual({ generations: 0, casts: 0, cooks: 1 });
    expect((await reopened.cooks.get([cook.id]))[0]).toEqual(await tracker.getCook(cook.id));
    // The torn line was cut off, so what the reopened store writes next reads back too.
    const next = await createTracker({ repository: reopened }).startCook({ collectionId: 'c-2', initiatorAccountId: 'u-1', targetSupply: 1 });
    expect(journalRepository({ path }).count()).toEqual({ generations: 0, casts: 0, cooks: 2 });
    expect(next.collectionId).toBe('c-2');
  });
});
