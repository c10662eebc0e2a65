/**
 * Legacy audit, backfill and migration against a `Db`: run on the mingo-backed fake in CI
 * (legacy-tools.test.ts) and on a real mongod where one is available (test/adapters/mongo.test.ts).
 */
import { Decimal128, type Db, type Document, type ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { auditLegacy, backfillLegacy, LEGACY_PROBLEMS, migrateCollections, MigrationRefusedError } from 'genledger/mongo/legacy';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { buildLegacyDataset, FIXTURE_CLEAN, FIXTURE_NEEDING_REPAIR, FIXTURE_NOW } from './legacy-fixture.js';

export interface LegacyTarget {
  readonly name: string;
  /** A fresh, empty database for one test. */
  readonly freshDb: () => Promise<Db>;
}

async function seed(db: Db) {
  const dataset = buildLegacyDataset();
  await db.collection('generationOutputs').insertMany(dataset.generations as Document[]);
  await db.collection('casts').insertMany(dataset.casts as Document[]);
  await db.collection('cooks').insertMany(dataset.cooks as Document[]);
  return dataset;
}

export function legacyTests(target: LegacyTarget): void {
  describe(`${target.name}: legacy audit and backfill of generationOutputs`, () => {
    it(`audit counts every problem of the ${FIXTURE_NEEDING_REPAIR}-record legacy dataset as the generator made them`, async () => {
      const db = await target.freshDb();
      const dataset = await seed(db);
      const report = await auditLegacy(db, { now: FIXTURE_NOW });
      expect(report.scanned).toBe(FIXTURE_NEEDING_REPAIR + FIXTURE_CLEAN);
      expect(report.withProblems).toBe(FIXTURE_NEEDING_REPAIR);
      expect(report.problems).toEqual(dataset.expected);
      for (const problem of LEGACY_PROBLEMS) expect(dataset.expected[problem], `the dataset has some "${problem}"`).toBeGreaterThan(0);
      expect(await db.collection('generationOutputs').countDocuments({ durationMs: { $exists: false } })).toBeGreaterThan(0);
    }, 120_000);

    it('backfill is a dry run unless told to apply, then repairs everything, and a second run changes nothing', async () => {
      const db = await target.freshDb();
      const dataset = await seed(db);
      const collection = db.collection('generationOutputs');
      const before = new Map((await collection.find({}).toArray()).map((document) => [String(document._id), document]));
      const progress: number[] = [];

      const dry = await backfillLegacy(db, { now: FIXTURE_NOW, batchSize: 250 });
      expect(dry).toMatchObject({ applied: false, planned: FIXTURE_NEEDING_REPAIR, repaired: 0 });
      expect((await auditLegacy(db, { now: FIXTURE_NOW })).problems).toEqual(dataset.expected);

      const applied = await backfillLegacy(db, { now: FIXTURE_NOW, batchSize: 250, apply: true, onProgress: (scanned) => progress.push(scanned) });
      expect(applied).toMatchObject({ applied: true, planned: FIXTURE_NEEDING_REPAIR, repaired: FIXTURE_NEEDING_REPAIR, changedMeanwhile: 0 });
      expect(progress.at(-1)).toBe(FIXTURE_NEEDING_REPAIR + FIXTURE_CLEAN);
      expect(progress.length).toBeGreaterThan(3);

      const after = await auditLegacy(db, { now: FIXTURE_NOW });
      expect(after.withProblems).toBe(0);
      const again = await backfillLegacy(db, { now: FIXTURE_NOW, apply: true });
      expect(again).toMatchObject({ planned: 0, repaired: 0 });

      // What the repaired documents hold, record by record.
      for (const document of await collection.find({}).toArray()) {
        const id = String(document._id);
        const original = before.get(id)!;
        const problems = dataset.recipes.get(id)!;
        expect(document.costUsd, id).toBeInstanceOf(Decimal128);
        expect(typeof document.toolDisplayName).toBe('string');
        expect(['pending', 'processing', 'success', 'failed', 'cancelled_by_user', 'timeout']).toContain(document.status);
        const read = fromGenerationDocument(document);
        if (problems.has('stuck-pending')) {
          expect(read).toMatchObject({ status: 'timeout', responseTimestamp: FIXTURE_NOW, updatedAt: FIXTURE_NOW });
          continue;
        }
        if (read.status !== 'pending' && read.status !== 'processing') {
          expect(document.responseTimestamp).toBeInstanceOf(Date);
          expect(document.durationMs).toBe(Math.max(0, (document.responseTimestamp as Date).getTime() - (document.requestTimestamp as Date).getTime()));
        }
        // Everything else reads exactly as it read before the repair (delivery aside: a finished
        // record with nothing recorded is marked dropped rather than left pending).
        const previous = fromGenerationDocument(original);
        expect({ ...read, deliveryStatus: null, costProvenance: null }, id).toEqual({ ...previous, deliveryStatus: null });
        // Cost figures the backfill wrote are marked as such on a finished record; nothing else gets a provenance.
        const costRepaired = ['float-cost', 'null-cost', 'string-cost', 'missing-points'].some((problem) => problems.has(problem as never));
        expect(read.costProvenance?.source ?? null, id).toBe(costRepaired && read.status !== 'pending' && read.status !== 'processing' ? 'backfilled' : null);
        if (read.deliveryStatus !== previous.deliveryStatus) expect([previous.deliveryStatus, read.deliveryStatus]).toEqual(['pending', 'dropped']);
      }
      // Float drift is gone, exactly: 0.1 + 0.2 was stored as 0.30000000000000004.
      const drifted = [...before.values()].find((document) => document.costUsd === 0.1 + 0.2 && ['success', 'failed'].includes(fromGenerationDocument(document).status))!;
      expect(String((await collection.findOne({ _id: drifted._id }))!.costUsd)).toBe('0.3');
      // ... and explainCost says where the figure came from.
      const tracker = createTracker({ repository: mongoRepository(db), logger: { warn: () => {}, error: () => {} } });
      const explained = await tracker.explainCost(String(drifted._id));
      expect(explained.source).toBe('backfilled');
      expect(explained.lines[0]).toMatch(/^backfilled: \$0\.3, points \d+ \(written by the legacy backfill at /);
      expect(explained.lines).toContain('costUsd: the legacy record held 0.30000000000000004 (float-cost)');
    }, 240_000);

    it('the adapter works on the legacy data before any backfill: reads, the sweeper, reconcile of a legacy cast', async () => {
      const db = await target.freshDb();
      const dataset = await seed(db);
      const repository = mongoRepository(db);
      await repository.ensureIndexes();
      const clock = manualClock({ start: FIXTURE_NOW, autoAdvanceMs: 1 });
      const tracker = createTracker({ repository, clock, logger: { warn: () => {}, error: () => {} } });
      const stuck = [...dataset.recipes].filter(([, problems]) => problems.has('stuck-pending')).map(([id]) => id);
      const read = await tracker.getGeneration(stuck[0]!);
      expect(['pending', 'processing']).toContain(read!.status);
      // A legacy record read before the backfill has no provenance, and its explanation says so.
      const finished = dataset.generations.find((document) => ['success', 'failed'].includes(fromGenerationDocument(document as Document).status))!;
      const explained = await tracker.explainCost(String(finished._id));
      expect(explained).toMatchObject({ source: 'reported', basis: null, adjustments: [] });
      expect(explained.lines).toEqual([expect.stringMatching(/^reported: \$[\d.]+, points \d+ \(given by the host; no provenance stored with it\)$/)]);
      const swept = await tracker.sweepStale({ olderThanMs: 24 * 3_600_000, limit: 5000 });
      expect([...swept.timedOut].sort()).toEqual([...stuck].sort());
      // A legacy cast, created with costUsd null, is rebuilt from its steps (after the links are lifted).
      await backfillLegacy(db, { now: clock.now(), apply: true });
      const castId = String(dataset.casts[0]!._id);
      const report = await tracker.reconcile({ castId }, { graceMs: 0 });
      const cast = (await tracker.getCast(castId))!;
      const steps = (await tracker.listGenerations({ castId, limit: 1000 })).items.filter((step) => step.status !== 'pending' && step.status !== 'processing');
      expect(steps.length).toBeGreaterThan(0);
      expect(cast.outcomes.success + cast.outcomes.failed + cast.outcomes.cancelled_by_user + cast.outcomes.timeout).toBe(steps.length);
      const { sumUsd } = await import('../../src/domain/money.js');
      expect(cast.costUsd).toBe(sumUsd(steps.map((step) => step.costUsd)));
      expect(report.repaired).toBe(true);
      expect((await db.collection('casts').findOne({ _id: dataset.casts[0]!._id as ObjectId }))!.costUsd).toBeInstanceOf(Decimal128);
    }, 240_000);
  });

  describe(`${target.name}: migrate cook_collections -> collections`, () => {
    it('renames, then reports already-migrated on every later run', async () => {
      const db = await target.freshDb();
      await db.collection('cook_collections').insertMany(buildLegacyDataset().cookCollections as Document[]);
      expect(await migrateCollections(db)).toMatchObject({ outcome: 'renamed', from: 'cook_collections', to: 'collections' });
      expect(await db.collection('collections').countDocuments({})).toBe(3);
      expect(await migrateCollections(db)).toMatchObject({ outcome: 'already-migrated' });
      expect(await migrateCollections(db)).toMatchObject({ outcome: 'already-migrated' });
    });

    it('with neither collection does nothing and says so', async () => {
      const db = await target.freshDb();
      expect(await migrateCollections(db)).toMatchObject({ outcome: 'nothing-to-migrate' });
    });

    it('with both collections refuses, names both counts, and touches neither', async () => {
      const db = await target.freshDb();
      await db.collection('cook_collections').insertMany([{ name: 'old' }, { name: 'old 2' }]);
      await db.collection('collections').insertMany([{ name: 'new' }]);
      const error = await migrateCollections(db).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationRefusedError);
      expect((error as Error).message).toMatch(/both "cook_collections" \(2 documents\) and "collections" \(1 documents\) exist/);
      expect(await db.collection('cook_collections').countDocuments({})).toBe(2);
      expect(await db.collection('collections').countDocuments({})).toBe(1);
    });
  });
}
