/**
 * Cancellation reads the store's open children again until none is left. It must end even when a
 * store keeps listing a child that is no longer open (a stale index), and it must cancel far more
 * children than one page.
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import type { LedgerRepository } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';

const input = { masterAccountId: 'account-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' };

describe('cancellation by open children', () => {
  it('cancelCook() cancels every open child across many pages, cast pieces with their steps first', async () => {
    const store = memoryRepository();
    const tracker = createTracker({ repository: store, clock: manualClock({ autoAdvanceMs: 1 }), ids: sequentialIds(), logger: { warn: () => undefined, error: () => undefined } });
    const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 10_000 });
    const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
    const step = await tracker.recordGeneration({ ...input, castId: cast.id });
    for (let index = 0; index < 450; index += 1) await tracker.recordGeneration({ ...input, cookId: cook.id });
    const cancelled = await tracker.cancelCook(cook.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', inFlightCount: 0, openGenerationCount: 0, cancelledCount: 451 });
    expect(await tracker.getCast(cast.id)).toMatchObject({ status: 'cancelled', inFlightCount: 0 });
    expect(await tracker.getGeneration(step.id)).toMatchObject({ status: 'cancelled_by_user' });
    expect((await store.openChildren({ kind: 'cook', id: cook.id }, 10)).generationIds).toEqual([]);
  });

  it('ends, with a warning, when the store keeps listing a child that is no longer open', async () => {
    const store = memoryRepository();
    const warnings: string[] = [];
    const ids = sequentialIds();
    const setup = createTracker({ repository: store, ids });
    const cook = await setup.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
    const done = await setup.recordGeneration({ ...input, cookId: cook.id });
    await setup.completeGeneration(done.id, { status: 'success' });
    const open = await setup.recordGeneration({ ...input, cookId: cook.id });
    const staleIndex: LedgerRepository = {
      ...store,
      openChildren: async (parent, limit) => {
        const listed = await store.openChildren(parent, limit);
        return { ...listed, generationIds: [done.id, ...listed.generationIds] };
      },
    };
    const tracker = createTracker({ repository: staleIndex, ids, logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) } });
    const cancelled = await tracker.cancelCook(cook.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', inFlightCount: 0, generatedCount: 1, cancelledCount: 1 });
    expect(await tracker.getGeneration(open.id)).toMatchObject({ status: 'cancelled_by_user' });
    expect(warnings.some((message) => message.includes('still lists open children'))).toBe(true);
  });
});
