/**
 * `adjust_generation` (adapters/postgres/adjustment-sql.ts) under two re-prices that really run at
 * once: both computed their figures from the same stored generation (expectedAdjustments 0), and
 * the second's statement waits on the first's row lock. Its gate must then read the row the first
 * committed (the lock re-reads it), find the adjustment count moved and write nothing; the parents
 * must receive exactly the winner's difference, once. The conformance race (part-repricing) prices
 * both re-prices with the same table, so the second finds nothing differing whatever its gate
 * does; here the two figures differ, so only the count gate can stop the second.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PostgresRepository } from '../../adapters/postgres/index.js';
import type { CostBasis } from '../../src/domain/pricing.js';
import { adjust, type CostCorrection } from '../../src/domain/rollup/adjustment.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { usePostgresRepository } from '../support/postgres-repository.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';

const db = usePostgresRepository({ name: 'adjust_race', tablePrefix: 'ar_', poolSize: 6 });
let pool: pg.Pool;
let repository: PostgresRepository;
let tracker: Tracker;

beforeAll(() => {
  ({ pool, repository } = db);
  tracker = createTracker({ repository });
});

const account = 'account-ar';
const basis = (versionId: string): CostBasis => ({ toolId: 'tool', serviceName: null, versionId, effectiveFrom: new Date('2026-01-01T00:00:00.000Z'), lines: [], pointsPerUsd: null });

/** Until `count` backends wait on a lock (the two adjustments, queued behind the holder). */
async function waitForLockWaiters(count: number): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const { rows } = await pool.query(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ar_generations%'`);
    if ((rows[0] as { waiting: number }).waiting >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`fewer than ${count} statements ever waited on the generation's lock`);
}

describe('postgres: adjust_generation under two concurrent re-prices', () => {
  it('two corrections computed from the same stored count: exactly one is written, and the cast and cook receive its difference once', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-ar', initiatorAccountId: account, targetSupply: 1 });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: account, cookId: cook.id, totalSteps: 2 });
    const step = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', castId: cast.id, status: 'processing' });
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '1.5', pointsSpent: 10 });
    const before = (await repository.generations.get([step.id]))[0]!;
    const [castBefore] = await repository.casts.get([cast.id]);
    const [cookBefore] = await repository.cooks.get([cook.id]);
    const at = new Date('2026-07-01T00:00:00.000Z');
    const corrections: CostCorrection[] = [
      { expectedAdjustments: 0, costUsd: '2.25', pointsSpent: 15, basis: basis('v2'), at },
      { expectedAdjustments: 0, costUsd: '0.75', pointsSpent: 5, basis: basis('v3'), at },
    ];

    // Hold the generation's row lock so both adjustments start, and wait, before either writes.
    const holder = await pool.connect();
    let results;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM ${repository.tables.generations} WHERE id = $1 FOR UPDATE`, [step.id]);
      const racing = corrections.map((correction) => repository.adjustGeneration!(step.id, correction));
      await waitForLockWaiters(2);
      await holder.query('COMMIT');
      results = await Promise.all(racing);
    } finally {
      holder.release();
    }

    const changed = results.map((result) => result!.generation.changed);
    expect(changed.filter(Boolean)).toHaveLength(1);
    const winner = corrections[changed.indexOf(true)]!;
    const expected = adjust(before, castBefore!, cookBefore!, winner);
    expect(results[changed.indexOf(true)]).toEqual(expected);
    expect(results[changed.indexOf(false)]).toEqual({ generation: { changed: false, record: expected.generation.record, previousStatus: 'success' }, cast: null, cook: null });
    expect((await repository.generations.get([step.id]))[0]).toEqual(expected.generation.record);
    expect((await repository.casts.get([cast.id]))[0]).toEqual(expected.cast!.record);
    expect((await repository.cooks.get([cook.id]))[0]).toEqual(expected.cook!.record);
    expect(expected.generation.record.costProvenance!.adjustments).toHaveLength(1);
  });

  it('two adjustGenerations() batches (adjust_generations) carrying the same generation with different figures: exactly one writes it, and its parents receive each written difference once', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-ar-batch', initiatorAccountId: account, targetSupply: 1 });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: account, cookId: cook.id, totalSteps: 5 });
    const record = async (cost: string) => {
      const generation = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', castId: cast.id, status: 'processing' });
      await tracker.completeGeneration(generation.id, { status: 'success', costUsd: cost, pointsSpent: 10 });
      return generation.id;
    };
    const shared = await record('1.5');
    const own = [await record('0.5'), await record('0.25')];
    const [castBefore] = await repository.casts.get([cast.id]);
    const [cookBefore] = await repository.cooks.get([cook.id]);
    const at = new Date('2026-07-01T00:00:00.000Z');
    const batches: { id: string; correction: CostCorrection }[][] = [
      [{ id: shared, correction: { expectedAdjustments: 0, costUsd: '2.25', pointsSpent: 15, basis: basis('v2'), at } }, { id: own[0]!, correction: { expectedAdjustments: 0, costUsd: '1', pointsSpent: 11, basis: basis('v2'), at } }],
      [{ id: shared, correction: { expectedAdjustments: 0, costUsd: '0.75', pointsSpent: 5, basis: basis('v3'), at } }, { id: own[1]!, correction: { expectedAdjustments: 0, costUsd: '0.5', pointsSpent: 12, basis: basis('v3'), at } }],
    ];
    const holder = await pool.connect();
    let results;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM ${repository.tables.generations} WHERE id = $1 FOR UPDATE`, [shared]);
      const racing = batches.map((calls) => repository.adjustGenerations!(calls));
      await waitForLockWaiters(2);
      await holder.query('COMMIT');
      results = await Promise.all(racing);
    } finally {
      holder.release();
    }
    const sharedChanged = results.map((result) => result[0]!.generation.changed);
    expect(sharedChanged.filter(Boolean)).toHaveLength(1);
    expect(results.every((result) => result[1]!.generation.changed)).toBe(true);
    const winner = batches[sharedChanged.indexOf(true)]![0]!.correction;
    const [stored] = await repository.generations.get([shared]);
    expect(stored!.costUsd).toBe(winner.costUsd);
    expect(stored!.costProvenance!.adjustments).toHaveLength(1);
    // The cast and the cook: the winner's difference once, and each own generation's.
    const deltaUsd = Number(winner.costUsd) - 1.5 + (1 - 0.5) + (0.5 - 0.25);
    const deltaPoints = winner.pointsSpent - 10 + 1 + 2;
    for (const [before, after] of [
      [castBefore!, (await repository.casts.get([cast.id]))[0]!],
      [cookBefore!, (await repository.cooks.get([cook.id]))[0]!],
    ] as const) {
      expect(Number(after.costUsd)).toBeCloseTo(Number(before.costUsd) + deltaUsd, 12);
      expect(after.pointsSpent).toBe(before.pointsSpent + deltaPoints);
    }
    expect(await auditLedger(tracker, [cook.id], [cast.id])).toEqual([]);
  });
});
