/**
 * Racing duplicates on the mingo fake, where every driver call yields to the event loop first so
 * concurrent calls interleave between writes as they do against a server. (The conformance
 * suite's concurrency part, fixed at 10,000 completions, runs only on a real mongod.) Creations
 * with one idempotency key raced 64 ways store one child and attach it once; completions raced 64
 * ways (the same outcome, as duplicate events) settle once: the sequences' gated writes interleave
 * and each apply still lands exactly once, including a cast piece whose last step races.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { FakeDb } from './fake-db.js';

const WAYS = 64;
const silent = { warn: () => {}, error: () => {} };
const person = { masterAccountId: 'account-race', serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

describe('mongo on mingo: racing duplicates', () => {
  it(`creations raced ${WAYS} ways by key and completions raced ${WAYS} ways count once; no intent, in-progress entry or hidden child is left`, async () => {
    const fake = new FakeDb();
    const db = fake.asDb();
    const repository = mongoRepository(db, { logger: silent });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock: manualClock({ autoAdvanceMs: 1 }), logger: silent });
    const cook = await tracker.startCook({ collectionId: 'collection-race', initiatorAccountId: 'account-race', targetSupply: 30, idempotencyKey: 'cook' });

    // Cast pieces of two steps and generation pieces, each created WAYS times at once with one key.
    const castKeys = Array.from({ length: 6 }, (_, index) => `cast-${index}`);
    const casts = await Promise.all(
      castKeys.map(async (key) => {
        const made = await Promise.all(Array.from({ length: WAYS }, () => tracker.startCast({ spellId: 'spell-race', initiatorAccountId: 'account-race', cookId: cook.id, totalSteps: 2, idempotencyKey: key })));
        expect(new Set(made.map((cast) => cast.id)).size).toBe(1);
        return made[0]!;
      }),
    );
    const stepInputs = casts.flatMap((cast, index) => [0, 1].map((step) => ({ ...person, castId: cast.id, idempotencyKey: `step-${index}-${step}` })));
    const pieceInputs = Array.from({ length: 30 }, (_, index) => ({ ...person, cookId: cook.id, idempotencyKey: `piece-${index}` }));
    const created = await Promise.all(
      shuffled([...stepInputs, ...pieceInputs], 7).map(async (input) => {
        const made = await Promise.all(Array.from({ length: WAYS }, () => tracker.recordGeneration(input)));
        expect(new Set(made.map((generation) => generation.id)).size).toBe(1);
        return made[0]!;
      }),
    );
    expect(await db.collection('generationOutputs').countDocuments({})).toBe(stepInputs.length + pieceInputs.length);
    expect(await tracker.getCook(cook.id)).toMatchObject({ inFlightCount: casts.length + pieceInputs.length, openGenerationCount: created.length });

    // Every completion WAYS times, all at once, in a shuffled order; a fifth of them fail.
    const outcome = (index: number) => (index % 5 === 0 ? { status: 'failed' as const, costUsd: '0.000001', pointsSpent: 1 } : { status: 'success' as const, costUsd: '0.1', pointsSpent: 3 });
    const calls = created.flatMap((generation, index) => Array.from({ length: WAYS }, () => ({ id: generation.id, ...outcome(index) })));
    await Promise.all(shuffled(calls, 11).map(({ id, ...completion }) => tracker.completeGeneration(id, completion)));

    const failed = created.filter((_, index) => index % 5 === 0).length;
    const stored = (await tracker.getCook(cook.id))!;
    expect(stored).toMatchObject({
      inFlightCount: 0,
      openGenerationCount: 0,
      outcomes: { success: created.length - failed, failed, cancelled_by_user: 0, timeout: 0 },
      pointsSpent: (created.length - failed) * 3 + failed,
    });
    expect(stored.generatedCount + stored.failedCount).toBe(casts.length + pieceInputs.length);
    expect(await auditLedger(tracker, [cook.id], casts.map((cast) => cast.id))).toEqual([]);
    for (const name of ['casts', 'cooks']) {
      const left = await db.collection<Document>(name).countDocuments({ $or: [{ 'genledgerInProgress.0': { $exists: true } }, { openSteps: { $exists: true } }, { openPieces: { $exists: true } }, { openGenerations: { $exists: true } }] });
      expect(left, `${name} with in-progress entries or open-entry lists left`).toBe(0);
    }
    for (const name of ['generationOutputs', 'casts']) {
      expect(await db.collection<Document>(name).countDocuments({ $or: [{ genledger: { $exists: true } }, { version: 0 }] }), `${name} with an intent or hidden`).toBe(0);
    }
  });
});
