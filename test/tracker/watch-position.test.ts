/**
 * watch().position never moves past a change the watch could not read, so a watch resumed from
 * it gets that change again (a reader whose store fails every read of one generation).
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import type { LedgerRepository } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';

const silent = { warn: () => undefined, error: () => undefined };
const input = { masterAccountId: 'account-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' };

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('watch position', () => {
  it('stays before a change whose record could not be read, and a watch resumed from it reads that change', async () => {
    const store = memoryRepository();
    const writer = createTracker({ repository: store, ids: sequentialIds(), logger: silent });
    let failing = true;
    const flaky: LedgerRepository = {
      ...store,
      generations: {
        ...store.generations,
        get: (ids) => (failing ? Promise.reject(new Error('connection reset')) : store.generations.get(ids)),
      },
    };
    const reader = createTracker({ repository: flaky, logger: silent });
    const errors: unknown[] = [];
    const watch = reader.watch({}, { onError: (error) => errors.push(error) });
    const seen: string[] = [];
    watch.on('generationUpdate', ({ generation }) => void seen.push(generation.id));
    watch.on('cookUpdate', ({ cook }) => void seen.push(cook.id));
    await watch.ready;

    const first = await writer.startCook({ collectionId: 'c', initiatorAccountId: 'account-1', targetSupply: 1 });
    await until(() => watch.position !== null, 'the first change');
    const beforeFailure = watch.position;
    const lost = await writer.recordGeneration(input);
    const later = await writer.startCook({ collectionId: 'd', initiatorAccountId: 'account-1', targetSupply: 1 });
    await until(() => errors.length === 1 && seen.includes(later.id), 'the failed read and the later change');

    expect(seen).toEqual([first.id, later.id]);
    expect(watch.position).toBe(beforeFailure);
    expect(String(errors[0])).toMatch(/cannot read generation "generation-\d+" \(version 1\) yet.*delayed, not lost.*position stays before it/);
    await watch.close();

    failing = false;
    const resumed = reader.watch({}, { after: watch.position!, onError: (error) => errors.push(error) });
    const again: string[] = [];
    resumed.on('generationUpdate', ({ generation }) => void again.push(generation.id));
    await resumed.ready;
    await until(() => again.includes(lost.id), 'the change again');
    expect(errors).toHaveLength(1);
    await resumed.close();
  });
});
