/**
 * Pricing: costs computed from usage with a dated price table, stored with their provenance and
 * rolled up exactly; at version boundaries, in tiers, unpriced usage, reported costs with usage.
 */
import { describe, expect, it } from 'vitest';
import type { PriceTableInput } from '../domain/pricing.js';
import type { IdGenerator, LedgerRepository } from '../port.js';
import { sumUsd, toUsdAmount } from '../domain/money.js';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import { manualClock, type ManualClock } from '../testing/manual-clock.js';
import { sequentialIds } from '../testing/sequential-ids.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { auditLedger } from './ledger-audit.js';
import { generationInput } from './harness.js';
import type { ConformanceTarget, StoreInspector } from './types.js';

export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const T1 = new Date('2026-03-01T00:00:00.000Z');

/** Two versions of a chat tool (v2 from T1), a tiered image tool, and a service-specific chat price. */
export const PRICES: PriceTableInput = [
  {
    toolId: 'tool-chat',
    versions: [
      { id: 'chat-v1', effectiveFrom: T0, units: { inputTokens: '0.000003', outputTokens: '0.000015' } },
      { id: 'chat-v2', effectiveFrom: T1, units: { inputTokens: '0.0000025', outputTokens: '0.00001' }, pointsPerUsd: '1000' },
    ],
  },
  {
    toolId: 'tool-chat',
    serviceName: 'batch',
    versions: [{ id: 'chat-batch-v1', effectiveFrom: T0, units: { inputTokens: '0.0000015', outputTokens: '0.0000075' } }],
  },
  {
    toolId: 'tool-image',
    versions: [
      {
        id: 'image-v1',
        effectiveFrom: T0,
        units: { images: { tiers: [{ upTo: 10, usd: '0.04' }, { upTo: 100, usd: '0.03' }, { upTo: null, usd: '0.02' }] }, seconds: '0.0001' },
      },
    ],
  },
];

export interface PricingSetup {
  readonly repository: LedgerRepository;
  readonly tracker: Tracker;
  readonly clock: ManualClock;
  readonly inspect: StoreInspector;
  /** The ids every tracker of this setup shares (two generators would collide). */
  readonly ids: IdGenerator;
  newTracker(prices?: PriceTableInput): Tracker;
}

/** A fresh store and a tracker with {@link PRICES} (or `prices`), 100 points per dollar by default. */
export async function createPricingSetup(target: ConformanceTarget, prices: PriceTableInput = PRICES): Promise<PricingSetup> {
  await target.reset?.();
  const repository = await target.create();
  const clock = manualClock({ start: new Date('2026-06-01T00:00:00.000Z'), autoAdvanceMs: 1 });
  const ids = sequentialIds({ format: target.idFormat ?? 'readable' });
  const logger = { warn: () => {}, error: () => {} };
  const newTracker = (table: PriceTableInput = prices) => createTracker({ repository, clock, ids, logger, prices: table, pointsPerUsd: '100' });
  return { repository, tracker: newTracker(), clock, inspect: target.inspect(), ids, newTracker };
}

const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

export function pricingTests(target: ConformanceTarget): void {
  describe(`${target.name}: pricing`, () => {
    it('completeGeneration() with usage computes the cost with the version in force at requestTimestamp, on either side of a boundary', async () => {
      const { tracker, inspect } = await createPricingSetup(target);
      const usage = { inputTokens: 1200, outputTokens: 350 };
      const before = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: at(T1, -1) }));
      const onBoundary = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      const beforeAll = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: at(T0, -1) }));
      const first = await tracker.completeGeneration(before.id, { status: 'success', usage });
      const second = await tracker.completeGeneration(onBoundary.id, { status: 'success', usage });
      const third = await tracker.completeGeneration(beforeAll.id, { status: 'success', usage });
      // v1: 1200 * 0.000003 + 350 * 0.000015 = 0.0036 + 0.00525; points at the tracker's 100/$: ceil(0.885) = 1
      expect(first.costUsd).toBe('0.00885');
      expect(first.pointsSpent).toBe(1);
      expect(first.costProvenance?.source).toBe('computed');
      expect(first.costProvenance?.basis?.versionId).toBe('chat-v1');
      // v2: 1200 * 0.0000025 + 350 * 0.00001 = 0.003 + 0.0035; points at v2's 1000/$: ceil(6.5) = 7
      expect(second.costUsd).toBe('0.0065');
      expect(second.pointsSpent).toBe(7);
      expect(second.costProvenance?.basis?.versionId).toBe('chat-v2');
      // No version in force before T0: recorded, unpriced.
      expect(third.costUsd).toBe('0');
      expect(third.costProvenance?.source).toBe('unpriced');
      expect(third.costProvenance?.unpricedReason).toMatch(/no version/);
      // What the store holds is what the call returned.
      expect(await inspect.generation(first.id)).toEqual(first);
      expect(await inspect.generation(second.id)).toEqual(second);
      expect(await inspect.generation(third.id)).toEqual(third);
    });

    it('graduated tiers price each band exactly, and a service-specific entry wins over the tool entry', async () => {
      const { tracker } = await createPricingSetup(target);
      const image = await tracker.recordGeneration(generationInput({ toolId: 'tool-image', requestTimestamp: T1 }));
      const done = await tracker.completeGeneration(image.id, { status: 'success', usage: { images: 123, seconds: 7 } });
      // 10 * 0.04 + 90 * 0.03 + 23 * 0.02 + 7 * 0.0001 = 0.4 + 2.7 + 0.46 + 0.0007
      expect(done.costUsd).toBe('3.5607');
      const images = done.costProvenance?.basis?.lines.find((line) => line.unit === 'images');
      expect(images?.bands.map((band) => [band.quantity, band.unitPriceUsd, band.amountUsd])).toEqual([
        [10, '0.04', '0.4'],
        [90, '0.03', '2.7'],
        [23, '0.02', '0.46'],
      ]);
      const batch = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', serviceName: 'batch', requestTimestamp: T1 }));
      const batchDone = await tracker.completeGeneration(batch.id, { status: 'success', usage: { inputTokens: 1000, outputTokens: 1000 } });
      expect(batchDone.costUsd).toBe('0.009');
      expect(batchDone.costProvenance?.basis).toMatchObject({ versionId: 'chat-batch-v1', serviceName: 'batch' });
    });

    it('usage naming a unit with no price is unpriced (cost 0, the reason kept); a reported cost with usage keeps the host figure', async () => {
      const { tracker } = await createPricingSetup(target);
      const odd = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      const unpriced = await tracker.completeGeneration(odd.id, { status: 'success', usage: { inputTokens: 10, videoFrames: 3 } });
      expect(unpriced).toMatchObject({ costUsd: '0', pointsSpent: 0 });
      expect(unpriced.costProvenance).toMatchObject({ source: 'unpriced', usage: { inputTokens: 10, videoFrames: 3 }, basis: null });
      expect(unpriced.costProvenance?.unpricedReason).toMatch(/videoFrames/);
      const unknownTool = await tracker.recordGeneration(generationInput({ toolId: 'tool-nobody-prices', requestTimestamp: T1 }));
      expect((await tracker.completeGeneration(unknownTool.id, { status: 'success', usage: { images: 1 } })).costProvenance?.source).toBe('unpriced');
      const reported = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      const done = await tracker.completeGeneration(reported.id, { status: 'success', costUsd: '0.5', usage: { inputTokens: 10 } });
      expect(done.costUsd).toBe('0.5');
      expect(done.costProvenance).toMatchObject({ source: 'reported', usage: { inputTokens: 10 }, basis: null });
      // A cost with no usage keeps the 0.1 shape: no provenance (reported).
      const plain = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat' }));
      const plainDone = await tracker.completeGeneration(plain.id, { status: 'success', costUsd: '0.25' });
      expect(plainDone.costProvenance ?? null).toBeNull();
      expect((await tracker.explainCost(plain.id)).source).toBe('reported');
    });

    it('computed costs roll up into the cast and the cook exactly; a retried completion counts nothing twice, and other usage is refused', async () => {
      const { tracker } = await createPricingSetup(target);
      const cook = await tracker.startCook({ collectionId: 'collection-p', initiatorAccountId: 'account-1', targetSupply: 100 });
      const cast = await tracker.startCast({ spellId: 'spell-p', initiatorAccountId: 'account-1', cookId: cook.id });
      const costs: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        const generation = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', castId: index % 2 === 0 ? cast.id : undefined, cookId: index % 2 === 0 ? undefined : cook.id, requestTimestamp: at(T1, index) }));
        const usage = { inputTokens: 1000 + index, outputTokens: 7 * index };
        const done = await tracker.completeGeneration(generation.id, { status: 'success', usage });
        costs.push(done.costUsd);
        // The same completion again: the stored record, nothing counted twice.
        expect(await tracker.completeGeneration(generation.id, { status: 'success', usage })).toEqual(done);
        await expect(tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1 } })).rejects.toBeInstanceOf(ConflictError);
      }
      expect(await auditLedger(tracker, [cook.id], [cast.id])).toEqual([]);
      const storedCook = await tracker.getCook(cook.id);
      // Exact, independently: v2 prices as integers of 10^-7 dollars.
      const expected = [0, 1, 2, 3, 4, 5].reduce((sum, index) => sum + (1000 + index) * 25 + 7 * index * 100, 0);
      expect(storedCook?.costUsd).toBe(toUsdAmount(`${expected}e-7`));
      expect(storedCook?.costUsd).toBe(sumUsd(costs));
    });

    it('explainCost() returns the formula line by line', async () => {
      const { tracker } = await createPricingSetup(target);
      const image = await tracker.recordGeneration(generationInput({ toolId: 'tool-image', requestTimestamp: T1 }));
      await tracker.completeGeneration(image.id, { status: 'success', usage: { images: 12 } });
      const explanation = await tracker.explainCost(image.id);
      expect(explanation.source).toBe('computed');
      expect(explanation.lines).toEqual([
        'usage: images 12',
        'images: 10 × $0.04 + 2 × $0.03 = $0.46',
        'total: $0.46 (price version "image-v1" of tool "tool-image", in force from 2026-01-01T00:00:00.000Z)',
        'points: ceil($0.46 × 100) = 46',
      ]);
      await expect(tracker.explainCost('no-such-generation')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a wrong price table is a ValidationError naming the field, at construction and in setPrices() (the old table stays)', async () => {
      const { repository, tracker } = await createPricingSetup(target);
      const wrong = [{ toolId: 'tool-chat', versions: [{ id: 'v1', effectiveFrom: T0, units: { inputTokens: 0.000003 } }] }];
      let thrown: unknown;
      try {
        createTracker({ repository, prices: wrong as unknown as PriceTableInput });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).field).toBe('options.prices.0.versions.0.units.inputTokens');
      const duplicate = [PRICES[0]!, { ...PRICES[0]!, versions: [{ id: 'other', effectiveFrom: T0, units: { images: '1' } }] }];
      expect(() => tracker.setPrices(duplicate)).toThrow(ValidationError);
      const badTier = [{ toolId: 'x', versions: [{ id: 'x1', effectiveFrom: T0, units: { images: { tiers: [{ upTo: null, usd: '1' }, { upTo: 5, usd: '2' }] } } }] }];
      expect(() => tracker.setPrices(badTier as unknown as PriceTableInput)).toThrow(ValidationError);
      // The table in force did not change.
      const generation = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      expect((await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1000 } })).costUsd).toBe('0.0025');
      // Wrong usage: typed, nothing written.
      const open = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      await expect(tracker.completeGeneration(open.id, { status: 'success', usage: { inputTokens: 1.5 } })).rejects.toMatchObject({ field: 'input.usage.inputTokens' });
      await expect(tracker.completeGeneration(open.id, { status: 'success', usage: { 'bad unit': 1 } })).rejects.toBeInstanceOf(ValidationError);
      expect((await tracker.getGeneration(open.id))?.status).toBe('pending');
    });

    it('computing a cost from usage adds no store round trip for a generation this tracker recorded', async () => {
      const { repository, clock, ids } = await createPricingSetup(target);
      let reads = 0;
      const counted: LedgerRepository = {
        ...repository,
        generations: { ...repository.generations, get: (ids) => ((reads += 1), repository.generations.get(ids)) },
      };
      const tracker = createTracker({ repository: counted, clock, ids, prices: PRICES });
      const generation = await tracker.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 10 } });
      expect(reads).toBe(0);
      // Recorded by another process: read once.
      const other = createTracker({ repository: counted, clock, ids, prices: PRICES });
      const elsewhere = await other.recordGeneration(generationInput({ toolId: 'tool-chat', requestTimestamp: T1 }));
      expect((await tracker.completeGeneration(elsewhere.id, { status: 'success', usage: { inputTokens: 10 } })).costUsd).toBe('0.000025');
      expect(reads).toBe(1);
    });
  });
}
