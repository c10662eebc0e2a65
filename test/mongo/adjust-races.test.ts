/**
 * `adjustGeneration` on the mingo fake (every driver call yields to the event loop first, so
 * concurrent calls interleave between writes as against a server), under races the conformance
 * suite does not make: its race prices both re-prices with the same table (the second finds
 * nothing differing whatever the gate does), and completes each generation once.
 *
 * - two corrections of one generation computed from the same stored count, with different
 *   figures: exactly one is written, its parents get its difference once; also when the other
 *   process's whole adjustment lands between this one's read and its write;
 * - two re-prices with DIFFERENT tables over the same range: every generation ends at one of the
 *   two tables' costs, each of its adjustments landed on its parents once;
 * - a re-price running while every completion is raced 64 ways (duplicate events): a generation
 *   whose settle is still under way (its terminal write done, its applies not) is adjusted only
 *   after the settle finished.
 *
 * Each ends with the ledger audited, no intent or in-progress entry left, and reconcile finding
 * nothing to repair.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository, type MongoRepository } from '../../adapters/mongo/index.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { generationInput } from '../../src/conformance/harness.js';
import { PRICES, T0, T1 } from '../../src/conformance/part-pricing.js';
import { CORRECTED_PRICES, repriceAll } from '../../src/conformance/part-repricing.js';
import { adjust, type CostCorrection } from '../../src/domain/rollup/adjustment.js';
import { addSignedUsd, priceTableSchema, priceUsage, type PriceTableInput } from '../../src/domain/pricing.js';
import type { Generation } from '../../src/domain/records.js';
import { forEachLimited } from '../../src/tracker/concurrency.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { FakeDb } from './fake-db.js';

const WAYS = 64;
const END = new Date('2026-12-31T00:00:00.000Z');
const silent = { warn: () => {}, error: () => {} };

/** A third table: chat-v2's output price at 0.000015 instead of 0.00001 (CORRECTED_PRICES has 0.000012). */
const OTHER_PRICES: PriceTableInput = PRICES.map((entry) =>
  entry.toolId === 'tool-chat' && entry.serviceName === undefined
    ? { ...entry, versions: [entry.versions[0]!, { id: 'chat-v2-other', effectiveFrom: T1, units: { inputTokens: '0.0000025', outputTokens: '0.000015' }, pointsPerUsd: '1000' }] }
    : entry,
);

interface Setup {
  readonly db: ReturnType<FakeDb['asDb']>;
  readonly repository: MongoRepository;
  newTracker(prices: PriceTableInput): Tracker;
}

async function setup(): Promise<Setup> {
  const fake = new FakeDb();
  const db = fake.asDb();
  const repository = mongoRepository(db, { logger: silent });
  await repository.ensureIndexes();
  const clock = manualClock({ start: new Date('2026-06-01T00:00:00.000Z'), autoAdvanceMs: 1 });
  const ids = sequentialIds({ format: 'objectId' });
  return { db, repository, newTracker: (prices) => createTracker({ repository, clock, ids, logger: silent, prices, pointsPerUsd: '100' }) };
}

/** A cook with a cast piece, a cast of its own, and `count` chat generations spread over the three, still open. */
async function openWork(tracker: Tracker, count: number) {
  const cook = await tracker.startCook({ collectionId: 'collection-ar', initiatorAccountId: 'account-ar', targetSupply: 10_000 });
  const piece = await tracker.startCast({ spellId: 'spell-ar', initiatorAccountId: 'account-ar', cookId: cook.id });
  const lone = await tracker.startCast({ spellId: 'spell-ar', initiatorAccountId: 'account-ar' });
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const parent = index % 3 === 0 ? { castId: piece.id } : index % 3 === 1 ? { cookId: cook.id } : { castId: lone.id };
    ids.push((await tracker.recordGeneration(generationInput({ ...parent, toolId: 'tool-chat', masterAccountId: 'account-ar', requestTimestamp: new Date(T1.getTime() + index * 1000) }))).id);
  }
  return { cookIds: [cook.id], castIds: [piece.id, lone.id], ids };
}

const usageOf = (index: number) => ({ inputTokens: 100 * (index + 1), outputTokens: 1000 + 7 * index });

function costUnder(generation: Generation, prices: PriceTableInput): string {
  const priced = priceUsage(priceTableSchema.parse(prices), generation.toolId, generation.serviceName, generation.costProvenance!.usage!, generation.requestTimestamp);
  if (!priced.priced) throw new Error(priced.reason);
  return priced.costUsd;
}

/** The adapter's private state left anywhere: intents on children, in-progress entries on parents. */
async function leftovers(db: Setup['db']): Promise<string[]> {
  const found: string[] = [];
  for (const name of ['generationOutputs', 'casts']) {
    for (const document of await db.collection<Document>(name).find({ genledger: { $exists: true } }).toArray()) found.push(`${name} ${String(document._id)}: intent ${(document.genledger as { op: string }).op}`);
  }
  for (const name of ['casts', 'cooks']) {
    for (const document of await db.collection<Document>(name).find({ 'genledgerInProgress.0': { $exists: true } }).toArray()) found.push(`${name} ${String(document._id)}: ${JSON.stringify(document.genledgerInProgress)}`);
  }
  return found;
}

/** Audit, private state, reconcile: the books are exact and nothing is left half done. */
async function expectExact(world: Setup, tracker: Tracker, work: { cookIds: string[]; castIds: string[] }): Promise<void> {
  expect(await auditLedger(tracker, work.cookIds, work.castIds)).toEqual([]);
  expect(await leftovers(world.db)).toEqual([]);
  for (const castId of work.castIds) expect((await tracker.reconcile({ castId })).repaired).toBe(false);
  for (const cookId of work.cookIds) expect((await tracker.reconcile({ cookId })).repaired).toBe(false);
}

/** Every adjustment a generation records starts where the previous one ended, from its first figures to its cost. */
function expectAdjustmentChain(generation: Generation): void {
  const provenance = generation.costProvenance!;
  let cost = provenance.original!.costUsd;
  let points = provenance.original!.pointsSpent;
  for (const adjustment of provenance.adjustments) {
    expect(adjustment.previousCostUsd).toBe(cost);
    expect(adjustment.previousPointsSpent).toBe(points);
    cost = addSignedUsd(cost, adjustment.deltaUsd);
    points += adjustment.deltaPoints;
  }
  expect(generation.costUsd).toBe(cost);
  expect(generation.pointsSpent).toBe(points);
}

describe('mongo on mingo: adjustGeneration under races', () => {
  it('two corrections of one generation computed from the same stored count: exactly one is written, and its cast and cook receive its difference once', async () => {
    const world = await setup();
    const tracker = world.newTracker(PRICES);
    const work = await openWork(tracker, 1);
    const id = work.ids[0]!; // under the cast piece (and through it, not directly, the cook)
    await tracker.completeGeneration(id, { status: 'success', usage: usageOf(0) });
    const cook = await tracker.startCook({ collectionId: 'collection-ar2', initiatorAccountId: 'account-ar', targetSupply: 10 });
    const cast = await tracker.startCast({ spellId: 'spell-ar', initiatorAccountId: 'account-ar', cookId: cook.id });
    const both = (await tracker.recordGeneration(generationInput({ castId: cast.id, cookId: cook.id, toolId: 'tool-chat', masterAccountId: 'account-ar', requestTimestamp: T1 }))).id;
    await tracker.completeGeneration(both, { status: 'success', usage: usageOf(3) });
    const [before] = await world.repository.generations.get([both]);
    const [castBefore] = await world.repository.casts.get([cast.id]);
    const [cookBefore] = await world.repository.cooks.get([cook.id]);
    const basis = before!.costProvenance!.basis!;
    const at = new Date('2026-07-01T00:00:00.000Z');
    const corrections: CostCorrection[] = [
      { expectedAdjustments: 0, costUsd: '2.25', pointsSpent: 15, basis: { ...basis, versionId: 'v2' }, at },
      { expectedAdjustments: 0, costUsd: '0.75', pointsSpent: 5, basis: { ...basis, versionId: 'v3' }, at },
    ];
    const results = await Promise.all(corrections.map((correction) => world.repository.adjustGeneration!(both, correction)));
    const changed = results.map((result) => result!.generation.changed);
    expect(changed.filter(Boolean)).toHaveLength(1);
    const expected = adjust(before!, castBefore!, cookBefore!, corrections[changed.indexOf(true)]!);
    expect(results[changed.indexOf(true)]).toEqual(expected);
    expect(results[changed.indexOf(false)]).toEqual({ generation: { changed: false, record: expected.generation.record, previousStatus: 'success' }, cast: null, cook: null });
    expect((await world.repository.generations.get([both]))[0]).toEqual(expected.generation.record);
    expect((await world.repository.casts.get([cast.id]))[0]).toEqual(expected.cast!.record);
    expect((await world.repository.cooks.get([cook.id]))[0]).toEqual(expected.cook!.record);
    expect(await leftovers(world.db)).toEqual([]);
  });

  it('a correction whose generation another process adjusted between its read and its write writes nothing (the compare-and-set on the version read)', async () => {
    const world = await setup();
    const tracker = world.newTracker(PRICES);
    const cook = await tracker.startCook({ collectionId: 'collection-ar3', initiatorAccountId: 'account-ar', targetSupply: 10 });
    const cast = await tracker.startCast({ spellId: 'spell-ar', initiatorAccountId: 'account-ar', cookId: cook.id });
    const id = (await tracker.recordGeneration(generationInput({ castId: cast.id, cookId: cook.id, toolId: 'tool-chat', masterAccountId: 'account-ar', requestTimestamp: T1 }))).id;
    await tracker.completeGeneration(id, { status: 'success', usage: usageOf(2) });
    const [before] = await world.repository.generations.get([id]);
    const [castBefore] = await world.repository.casts.get([cast.id]);
    const [cookBefore] = await world.repository.cooks.get([cook.id]);
    const basis = before!.costProvenance!.basis!;
    const at = new Date('2026-07-01T00:00:00.000Z');
    const first: CostCorrection = { expectedAdjustments: 0, costUsd: '2.25', pointsSpent: 15, basis: { ...basis, versionId: 'v2' }, at };
    const late: CostCorrection = { expectedAdjustments: 0, costUsd: '0.75', pointsSpent: 5, basis: { ...basis, versionId: 'v3' }, at };
    // Another process's repository on the same data; this one's generation write waits until the
    // other's whole adjustment (write, applies, clear, pulls) is done, after this one read.
    let interleaved = false;
    const db = world.db;
    const slowDb = new Proxy(db, {
      get(target, property, receiver) {
        if (property !== 'collection') return Reflect.get(target, property, receiver);
        return (name: string) => {
          const collection = target.collection<Document>(name);
          if (name !== 'generationOutputs') return collection;
          return new Proxy(collection, {
            get(inner, key, innerReceiver) {
              if (key !== 'findOneAndUpdate') return Reflect.get(inner, key, innerReceiver);
              return async (...args: Parameters<typeof collection.findOneAndUpdate>) => {
                if (!interleaved && JSON.stringify(args[1]).includes('adjust:')) {
                  interleaved = true;
                  expect((await world.repository.adjustGeneration!(id, first))!.generation.changed).toBe(true);
                }
                return (inner.findOneAndUpdate as (...given: unknown[]) => unknown).apply(inner, args);
              };
            },
          });
        };
      },
    });
    const slow = mongoRepository(slowDb, { logger: silent });
    const result = await slow.adjustGeneration!(id, late);
    expect(interleaved).toBe(true);
    const expected = adjust(before!, castBefore!, cookBefore!, first);
    expect(result).toEqual({ generation: { changed: false, record: expected.generation.record, previousStatus: 'success' }, cast: null, cook: null });
    expect((await world.repository.generations.get([id]))[0]).toEqual(expected.generation.record);
    expect((await world.repository.casts.get([cast.id]))[0]).toEqual(expected.cast!.record);
    expect((await world.repository.cooks.get([cook.id]))[0]).toEqual(expected.cook!.record);
    expect(await leftovers(world.db)).toEqual([]);
  });

  it('two re-prices with different tables over one range: every generation ends at one table\'s cost, and every adjustment reached its parents once', async () => {
    const world = await setup();
    const tracker = world.newTracker(PRICES);
    const work = await openWork(tracker, 60);
    for (const [index, id] of work.ids.entries()) await tracker.completeGeneration(id, { status: 'success', usage: usageOf(index) });
    const corrected = world.newTracker(CORRECTED_PRICES);
    const other = world.newTracker(OTHER_PRICES);
    await Promise.all([
      repriceAll(corrected, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 7 }),
      repriceAll(other, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 5 }),
    ]);
    let twice = 0;
    for (const id of work.ids) {
      const [generation] = await world.repository.generations.get([id]);
      expect([costUnder(generation!, CORRECTED_PRICES), costUnder(generation!, OTHER_PRICES)]).toContain(generation!.costUsd);
      expect(generation!.costProvenance!.adjustments.length).toBeGreaterThanOrEqual(1);
      if (generation!.costProvenance!.adjustments.length === 2) twice += 1;
      expectAdjustmentChain(generation!);
    }
    // The race really happened: some generations were adjusted by both re-prices, one after the other.
    expect(twice).toBeGreaterThan(0);
    await expectExact(world, tracker, work);
  });

  it(`a re-price applied while every completion is raced ${WAYS} ways: each generation is priced once by the corrected table, and every parent is exact`, async () => {
    const world = await setup();
    const tracker = world.newTracker(PRICES);
    const work = await openWork(tracker, 48);
    const corrected = world.newTracker(CORRECTED_PRICES);
    let completing = true;
    const completions = forEachLimited(work.ids, 4, async (id) => {
      const index = work.ids.indexOf(id);
      await Promise.all(Array.from({ length: WAYS }, () => tracker.completeGeneration(id, { status: 'success', usage: usageOf(index) })));
    }).finally(() => {
      completing = false;
    });
    let passes = 0;
    const repricing = (async () => {
      while (completing) {
        await repriceAll(corrected, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 6 });
        passes += 1;
      }
    })();
    await Promise.all([completions, repricing]);
    // Completions that landed after the last pass passed them: one more, as docs/pricing.md says.
    await repriceAll(corrected, { toolId: 'tool-chat', from: T0, to: END, dryRun: false });
    expect(passes).toBeGreaterThan(0);
    for (const id of work.ids) {
      const [generation] = await world.repository.generations.get([id]);
      expect(generation!.costUsd).toBe(costUnder(generation!, CORRECTED_PRICES));
      expect(generation!.costProvenance!.adjustments.length).toBe(1);
      expectAdjustmentChain(generation!);
    }
    await expectExact(world, tracker, work);
    const again = await repriceAll(corrected, { toolId: 'tool-chat', from: T0, to: END, dryRun: true });
    expect(again.flatMap((page) => page.differences)).toEqual([]);
  });
});
