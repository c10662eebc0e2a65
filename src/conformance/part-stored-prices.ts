/**
 * Stored price tables (`LedgerRepository.prices`, `capabilities.prices`): each save is a new
 * revision and no revision is ever rewritten; a table saved by one tracker is what another prices
 * with after `refreshPrices()`; a wrong table writes nothing; two racing saves leave one revision
 * and a `ConflictError`; computing a cost from a stored table asks the store nothing on the
 * completion path. A store without the capability is refused with an `UnsupportedError`.
 */
import { describe, expect, it } from 'vitest';
import type { PriceTableInput } from '../domain/pricing.js';
import { ConflictError, UnsupportedError, ValidationError } from '../errors.js';
import type { LedgerRepository } from '../port.js';
import type { StoredPriceTable } from '../price-port.js';
import { createTracker } from '../tracker/create-tracker.js';
import { generationInput } from './harness.js';
import { CORRECTED_PRICES } from './part-repricing.js';
import { createPricingSetup, PRICES, T1 } from './part-pricing.js';
import type { ConformanceTarget } from './types.js';

const keepsPrices = (repository: LedgerRepository) => repository.capabilities.prices === true && repository.prices !== undefined;
const noPricesReason = (target: ConformanceTarget) => `${target.name} does not keep price tables (capabilities.prices is not true)`;

/**
 * The repository with every call counted by its path (`generations.insert`, `prices.latest`,
 * `settleGeneration`, ...), through a Proxy, so a call the tracker makes cannot go unseen.
 */
export function countingRepository(repository: LedgerRepository): { repository: LedgerRepository; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrap = (target: object, prefix: string): object =>
    new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver) as unknown;
        if (typeof key !== 'string') return value;
        if (typeof value === 'function') {
          return (...args: unknown[]) => {
            calls.set(`${prefix}${key}`, (calls.get(`${prefix}${key}`) ?? 0) + 1);
            return (value as (...parameters: unknown[]) => unknown).apply(object, args);
          };
        }
        if (value !== null && typeof value === 'object' && ['generations', 'casts', 'cooks', 'accounts', 'prices'].includes(key)) return wrap(value, `${key}.`);
        return value;
      },
    });
  return { repository: wrap(repository, '') as LedgerRepository, calls };
}

export function storedPricesTests(target: ConformanceTarget): void {
  describe(`${target.name}: stored price tables`, () => {
    it('prices.append() stores each revision as its own document: latest() and get() read them back exactly, and an existing revision is never replaced', async (context) => {
      const { repository } = await createPricingSetup(target);
      if (!keepsPrices(repository)) return context.skip(noPricesReason(target));
      const prices = repository.prices!;
      expect(await prices.latest()).toBeNull();
      expect(await prices.get(1)).toBeNull();
      const first: StoredPriceTable = { revision: 1, table: PRICES, savedAt: new Date('2026-06-01T00:00:00.123Z') };
      const second: StoredPriceTable = { revision: 2, table: CORRECTED_PRICES, savedAt: new Date('2026-06-02T00:00:00.000Z') };
      expect(await prices.append(first)).toBe(true);
      expect(await prices.latest()).toEqual(first);
      expect(await prices.append(second)).toBe(true);
      expect(await prices.latest()).toEqual(second);
      // History: revision 1 as it was saved, and a second revision 1 or 2 is refused, not written.
      expect(await prices.append({ ...first, table: CORRECTED_PRICES })).toBe(false);
      expect(await prices.append({ ...second, table: PRICES, savedAt: new Date('2026-07-01T00:00:00.000Z') })).toBe(false);
      expect(await prices.get(1)).toEqual(first);
      expect(await prices.get(2)).toEqual(second);
      expect(await prices.latest()).toEqual(second);
    });

    it('setPrices(table, { store: true }) saves the next revision, which another tracker prices with after refreshPrices(); the same table again saves nothing', async (context) => {
      const setup = await createPricingSetup(target, []);
      if (!keepsPrices(setup.repository)) return context.skip(noPricesReason(target));
      const other = setup.newTracker([]);
      expect(await other.refreshPrices()).toEqual({ revision: null, savedAt: null, changed: false });
      expect(await setup.tracker.setPrices(PRICES, { store: true })).toMatchObject({ revision: 1, changed: true });
      expect(await setup.tracker.setPrices(PRICES, { store: true })).toMatchObject({ revision: 1, changed: false });
      expect((await setup.repository.prices!.latest())?.revision).toBe(1);
      // The other process: unpriced until it refreshes, then priced with revision 1.
      const before = await other.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      expect((await other.completeGeneration(before.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } })).costProvenance?.source).toBe('unpriced');
      expect(await other.refreshPrices()).toMatchObject({ revision: 1, changed: true });
      expect(await other.refreshPrices()).toMatchObject({ revision: 1, changed: false });
      const after = await other.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      const priced = await other.completeGeneration(after.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } });
      expect([priced.costUsd, priced.costProvenance?.basis?.versionId]).toEqual(['0.0065', 'chat-v2']);
      // A corrected table is revision 2; revision 1 stays as it was.
      expect(await other.setPrices(CORRECTED_PRICES, { store: true })).toMatchObject({ revision: 2, changed: true });
      expect(await setup.tracker.refreshPrices()).toMatchObject({ revision: 2, changed: true });
      const corrected = await setup.tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      expect((await setup.tracker.completeGeneration(corrected.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } })).costProvenance?.basis?.versionId).toBe('chat-v2-fixed');
      const first = await setup.repository.prices!.get(1);
      expect(first?.table.find((entry) => entry.toolId === 'tool-chat' && entry.serviceName === undefined)?.versions.map((version) => version.id)).toEqual(['chat-v1', 'chat-v2']);
    });

    it('setPrices(wrong table, { store: true }) is a ValidationError naming the field, and writes nothing', async (context) => {
      const setup = await createPricingSetup(target, []);
      if (!keepsPrices(setup.repository)) return context.skip(noPricesReason(target));
      const wrong = [{ toolId: 'tool-chat', versions: [{ id: 'v', effectiveFrom: T1, units: { inputTokens: 0.000003 } }] }] as unknown as PriceTableInput;
      const error = await setup.tracker.setPrices(wrong, { store: true }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('prices.0.versions.0.units.inputTokens');
      // Wrong options are refused before anything is read or written, as setPrices(table) refuses a wrong table.
      expect(() => setup.tracker.setPrices(PRICES, { store: 'yes' } as never)).toThrow(ValidationError);
      expect(await setup.repository.prices!.latest()).toBeNull();
    });

    it('two trackers saving different tables at once: one is the next revision, the other a ConflictError; nothing is overwritten', async (context) => {
      const setup = await createPricingSetup(target, []);
      if (!keepsPrices(setup.repository)) return context.skip(noPricesReason(target));
      await setup.tracker.setPrices(PRICES, { store: true });
      // A real race: both saves read the latest revision (1) before either appends revision 2.
      const prices = setup.repository.prices!;
      let reads = 0;
      let bothRead!: () => void;
      const barrier = new Promise<void>((resolve) => (bothRead = resolve));
      const racing: LedgerRepository = {
        ...setup.repository,
        prices: {
          latest: async () => {
            const latest = await prices.latest();
            reads += 1;
            if (reads === 2) bothRead();
            return latest;
          },
          get: (revision) => prices.get(revision),
          append: async (record) => {
            await barrier;
            return prices.append(record);
          },
        },
      };
      const quiet = { warn: () => {}, error: () => {} };
      const [left, right] = [0, 1].map(() => createTracker({ repository: racing, clock: setup.clock, ids: setup.ids, logger: quiet }));
      const outcomes = await Promise.allSettled([left!.setPrices(CORRECTED_PRICES, { store: true }), right!.setPrices([PRICES[2]!], { store: true })]);
      const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(ConflictError);
      expect((rejected[0]!.reason as ConflictError).field).toBe('prices');
      const latest = await setup.repository.prices!.latest();
      expect(latest?.revision).toBe(2);
      expect(latest?.table).toHaveLength(outcomes[0]!.status === 'fulfilled' ? CORRECTED_PRICES.length : 1);
      expect((await setup.repository.prices!.get(1))?.table).toHaveLength(PRICES.length);
    });

    it('a cost computed from a stored table asks the store nothing on the completion path: the same calls as a reported cost', async (context) => {
      const setup = await createPricingSetup(target, []);
      if (!keepsPrices(setup.repository)) return context.skip(noPricesReason(target));
      await setup.tracker.setPrices(PRICES, { store: true });
      const counted = countingRepository(setup.repository);
      const tracker = createTracker({ repository: counted.repository, clock: setup.clock, ids: setup.ids, logger: { warn: () => {}, error: () => {} }, pointsPerUsd: '100' });
      await tracker.refreshPrices();
      const completions = async (complete: (id: string) => Promise<unknown>) => {
        const generation = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
        counted.calls.clear();
        await complete(generation.id);
        return Object.fromEntries(counted.calls);
      };
      const reported = await completions((id) => tracker.completeGeneration(id, { status: 'success', costUsd: '0.0065' }));
      const computed = await completions(async (id) => {
        const done = await tracker.completeGeneration(id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } });
        expect([done.costUsd, done.costProvenance?.source]).toEqual(['0.0065', 'computed']);
      });
      expect(computed).toEqual(reported);
      expect(Object.keys(computed).filter((call) => call.startsWith('prices.'))).toEqual([]);
    });

    it('a store without capabilities.prices: setPrices({ store: true }), refreshPrices() and pricesRefreshMs are an UnsupportedError, and in-process tables still work', async () => {
      const { repository } = await createPricingSetup(target, []);
      const without: LedgerRepository = { ...repository, capabilities: { ...repository.capabilities, prices: false } };
      const tracker = createTracker({ repository: without, logger: { warn: () => {}, error: () => {} } });
      await expect(tracker.setPrices(PRICES, { store: true })).rejects.toBeInstanceOf(UnsupportedError);
      await expect(tracker.refreshPrices()).rejects.toBeInstanceOf(UnsupportedError);
      expect(() => createTracker({ repository: without, pricesRefreshMs: 1000 })).toThrow(UnsupportedError);
      expect(tracker.setPrices(PRICES)).toBeUndefined();
      if (keepsPrices(repository)) expect(await repository.prices!.latest()).toBeNull();
    });
  });
}
