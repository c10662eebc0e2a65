/**
 * The tracker's side of stored price tables: `pricesRefreshMs` (checked by zod; the timer follows
 * the store, stops, and never moves to an older revision), and a failed refresh keeping the table.
 */
import { describe, expect, it, vi } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { countingRepository } from '../../src/conformance/part-stored-prices.js';
import { PRICES, T1 } from '../../src/conformance/part-pricing.js';
import { CORRECTED_PRICES } from '../../src/conformance/part-repricing.js';
import { createTracker, silentLogger, ValidationError, type LedgerRepository } from '../../src/index.js';
import { PriceBook, parsePriceTable } from '../../src/tracker/price-book.js';

const usage = { inputTokens: 1200, outputTokens: 350 };
const chat = { masterAccountId: 'a', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', requestTimestamp: T1 };

describe('stored price tables in the tracker', () => {
  it.each([[50], [86_400_001], [1.5], ['1000'], [null]])('pricesRefreshMs: %j is a ValidationError on options.pricesRefreshMs, and nothing is read', (value) => {
    const counted = countingRepository(memoryRepository());
    expect(() => createTracker({ repository: counted.repository, pricesRefreshMs: value as never })).toThrow(ValidationError);
    try {
      createTracker({ repository: counted.repository, pricesRefreshMs: value as never });
    } catch (error) {
      expect((error as ValidationError).field).toBe('options.pricesRefreshMs');
    }
    expect(counted.calls.size).toBe(0);
  });

  it('with pricesRefreshMs a tracker takes a table another tracker saved without being asked, and stops when told', async () => {
    const store = memoryRepository();
    const counted = countingRepository(store);
    const saver = createTracker({ repository: store, logger: silentLogger });
    await saver.setPrices(PRICES, { store: true });
    const follower = createTracker({ repository: counted.repository, pricesRefreshMs: 100, logger: silentLogger });
    const versionOf = async () => {
      const generation = await follower.recordGeneration(chat);
      return (await follower.completeGeneration(generation.id, { status: 'success', usage })).costProvenance?.basis?.versionId;
    };
    // The first read is made at once, in the background.
    await vi.waitFor(() => expect(counted.calls.get('prices.latest')).toBeGreaterThanOrEqual(1));
    await vi.waitFor(async () => expect(await versionOf()).toBe('chat-v2'));
    await saver.setPrices(CORRECTED_PRICES, { store: true });
    await vi.waitFor(async () => expect(await versionOf()).toBe('chat-v2-fixed'), { timeout: 2_000 });
    follower.stopPriceRefresh();
    const reads = counted.calls.get('prices.latest')!;
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(counted.calls.get('prices.latest')).toBe(reads);
  });

  it('refreshPrices() reports when the revision it prices with was saved, also when an earlier refresh (or the timer) loaded it', async () => {
    const store = memoryRepository();
    const savedAt = new Date('2026-03-01T12:00:00.000Z');
    const saver = createTracker({ repository: store, clock: { now: () => savedAt }, logger: silentLogger });
    expect(await saver.setPrices(PRICES, { store: true })).toEqual({ revision: 1, savedAt, changed: true });
    // Saving the same table again writes nothing and still names the revision's save time.
    expect(await saver.setPrices(PRICES, { store: true })).toEqual({ revision: 1, savedAt, changed: false });
    const reader = createTracker({ repository: store, logger: silentLogger });
    expect(await reader.refreshPrices()).toEqual({ revision: 1, savedAt, changed: true });
    expect(await reader.refreshPrices()).toEqual({ revision: 1, savedAt, changed: false });
    const follower = createTracker({ repository: store, pricesRefreshMs: 100, logger: silentLogger });
    await vi.waitFor(async () => expect((await follower.refreshPrices()).revision).toBe(1));
    expect(await follower.refreshPrices()).toEqual({ revision: 1, savedAt, changed: false });
    follower.stopPriceRefresh();
    // A table given in-process is no stored revision.
    reader.setPrices(CORRECTED_PRICES);
    expect(await reader.refreshPrices()).toEqual({ revision: 1, savedAt, changed: true });
    const empty = createTracker({ repository: memoryRepository(), prices: PRICES, logger: silentLogger });
    expect(await empty.refreshPrices()).toEqual({ revision: null, savedAt: null, changed: false });
  });

  it('a refresh that fails is logged; the tracker keeps pricing with the table it holds', async () => {
    const store = memoryRepository();
    const warnings: string[] = [];
    const failing: LedgerRepository = { ...store, prices: { ...store.prices!, latest: () => Promise.reject(new Error('connection reset')) } };
    const tracker = createTracker({ repository: failing, prices: PRICES, pricesRefreshMs: 100, logger: { warn: (message) => warnings.push(message), error: () => {} } });
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(1));
    expect(warnings[0]).toContain('could not refresh the stored price table');
    await expect(tracker.refreshPrices()).rejects.toMatchObject({ code: 'REPOSITORY_FAILURE' });
    const generation = await tracker.recordGeneration(chat);
    expect((await tracker.completeGeneration(generation.id, { status: 'success', usage })).costProvenance?.basis?.versionId).toBe('chat-v2');
    tracker.stopPriceRefresh();
  });

  it('the price book never takes an older revision than the one it holds (a slow read landing after a newer save)', () => {
    const book = new PriceBook([], null);
    expect(book.adopt(parsePriceTable(CORRECTED_PRICES, 'prices'), 2, new Date(0))).toBe(true);
    expect(book.adopt(parsePriceTable(PRICES, 'prices'), 1, new Date(0))).toBe(false);
    expect(book.revision).toBe(2);
    expect(book.savedAt).toEqual(new Date(0));
    expect(book.table.find((entry) => entry.toolId === 'tool-chat')?.versions[1]?.id).toBe('chat-v2-fixed');
    book.replace(PRICES, 'prices');
    expect(book.revision).toBeNull();
    expect(book.savedAt).toBeNull();
  });
});
