/**
 * The `pricesRefreshMs` timer holds its tracker weakly: a tracker the host drops (and never
 * stops) is collected, and its timer stops polling the store. Forced GC through `node:v8`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { countingRepository } from '../../src/conformance/part-stored-prices.js';
import { PRICES } from '../../src/conformance/part-pricing.js';
import { createTracker, silentLogger } from '../../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the stored price refresh timer', () => {
  it('a tracker with pricesRefreshMs that the host drops is collected, and its timer stops reading the store', async () => {
    const store = memoryRepository();
    await createTracker({ repository: store, logger: silentLogger }).setPrices(PRICES, { store: true });
    const counted = countingRepository(store);
    const reads = () => counted.calls.get('prices.latest') ?? 0;
    let collected = false;
    const registry = new FinalizationRegistry(() => {
      collected = true;
    });
    // Made in its own function so no frame of this test keeps it.
    (() => {
      const tracker = createTracker({ repository: counted.repository, pricesRefreshMs: 100, logger: silentLogger });
      registry.register(tracker, 'tracker');
    })();
    await vi.waitFor(() => expect(reads()).toBeGreaterThanOrEqual(2), { timeout: 2_000 });
    await vi.waitFor(
      async () => {
        gc();
        await pause(20);
        expect(collected).toBe(true);
      },
      { timeout: 3_000, interval: 50 },
    );
    // At most one tick already under way may still read; after it, none.
    await pause(250);
    const settled = reads();
    await pause(450);
    expect(reads()).toBe(settled);
  });
});
