/**
 * Parent documents written by genledger 0.1.0 (and by this adapter's option (a)) carry their open
 * entries (`openSteps`, `openPieces`, `openGenerations`). The adapter reads them as they are
 * (records without the lists, counts from them where no count is stored); new writes do not
 * consult them (a child's own gate transition and intent make its apply happen once), and
 * `sweepStale()` (through `recover()`) rebuilds such a parent from its children, which finishes
 * what 0.1.0 could leave behind (a finished child whose apply was lost, an entry of a child never
 * stored) and `$unset`s the lists. Run on the mingo fake.
 */
import { Decimal128, ObjectId, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { FakeDb } from './fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const MINUTE = 60_000;
const T0 = new Date('2025-12-31T23:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function generationDocument(id: ObjectId, cookId: ObjectId, castId: ObjectId | null, status: string, cost: string, finishedAt: Date | null): Document {
  return {
    _id: id,
    masterAccountId: new ObjectId('0000000000000000000000aa'),
    toolId: 'tool',
    toolDisplayName: 'Tool',
    serviceName: 'svc',
    status,
    requestTimestamp: at(1),
    responseTimestamp: finishedAt,
    durationMs: finishedAt === null ? null : finishedAt.getTime() - at(1).getTime(),
    pointsSpent: finishedAt === null ? 0 : 3,
    protocolNetPoints: 0,
    costUsd: Decimal128.fromString(cost),
    notificationPlatform: 'none',
    deliveryStatus: 'skipped',
    castId,
    cookId,
    collectionId: 'collection-legacy',
    version: finishedAt === null ? 1 : 2,
    updatedAt: finishedAt ?? at(1),
  };
}

const entry = (id: ObjectId, kind: 'generation' | 'cast', since: Date) => ({ id, kind, since });

describe('mongo on mingo: parent documents written by 0.1.0, with their open entries', () => {
  it('are read without the lists, take new applies once, and sweepStale rebuilds them: a lost apply lands, an entry of a child never stored goes, the lists are unset', async () => {
    const fake = new FakeDb({ topology: 'standalone' });
    const db = fake.asDb();
    const repository = mongoRepository(db, { logger: silent });
    await repository.ensureIndexes();
    const clock = manualClock({ start: '2026-01-01T00:00:00.000Z' });
    const tracker = createTracker({ repository, clock, logger: silent });

    const cookId = new ObjectId('0000000000000000000000c1');
    const castId = new ObjectId('0000000000000000000000c2');
    const open = new ObjectId('0000000000000000000000a1'); // a piece still pending
    const done = new ObjectId('0000000000000000000000a2'); // a piece finished, its apply lost (0.1.0's call-by-call path)
    const ghost = new ObjectId('0000000000000000000000a3'); // attached, never stored (a creation that died)
    const step = new ObjectId('0000000000000000000000a4'); // a step of a cast piece, finished, its applies lost
    await db.collection('generationOutputs').insertMany([
      generationDocument(open, cookId, null, 'pending', '0', null),
      generationDocument(done, cookId, null, 'success', '0.5', at(10)),
      generationDocument(step, cookId, castId, 'success', '0.125', at(12)),
    ]);
    await db.collection('casts').insertOne({
      _id: castId,
      spellId: new ObjectId('0000000000000000000000bb'),
      initiatorAccountId: new ObjectId('0000000000000000000000aa'),
      totalSteps: 1,
      cookId,
      collectionId: 'collection-legacy',
      status: 'running',
      stepGenerationIds: [step],
      openSteps: [entry(step, 'generation', at(2))],
      inFlightCount: 1,
      outcomes: { success: 0, failed: 0, cancelled_by_user: 0, timeout: 0 },
      pointsSpent: 0,
      protocolNetPoints: 0,
      costUsd: null,
      startedAt: at(0),
      completedAt: null,
      durationMs: null,
      updatedAt: at(2),
      version: 2,
      metadata: {},
    });
    await db.collection('cooks').insertOne({
      _id: cookId,
      collectionId: 'collection-legacy',
      initiatorAccountId: new ObjectId('0000000000000000000000aa'),
      targetSupply: 3,
      status: 'running',
      generatedCount: 0,
      failedCount: 0,
      cancelledCount: 0,
      inFlightCount: 4,
      openPieces: [entry(open, 'generation', at(1)), entry(done, 'generation', at(1)), entry(ghost, 'generation', at(1)), entry(castId, 'cast', at(0))],
      openGenerations: [entry(open, 'generation', at(1)), entry(done, 'generation', at(1)), entry(ghost, 'generation', at(1)), entry(step, 'generation', at(2))],
      generationIds: [open, done, ghost, step],
      castIds: [castId],
      outcomes: { success: 0, failed: 0, cancelled_by_user: 0, timeout: 0 },
      pointsSpent: 0,
      protocolNetPoints: 0,
      costUsd: null,
      startedAt: at(0),
      updatedAt: at(2),
      version: 5,
      metadata: {},
    });

    // Read as they are: no lists in the records, counts from the stored entries.
    const cook = (await tracker.getCook(cookId.toHexString()))!;
    expect(cook).not.toHaveProperty('openPieces');
    expect(cook).not.toHaveProperty('openGenerations');
    expect(cook).toMatchObject({ inFlightCount: 4, openGenerationCount: 4, generatedCount: 0, costUsd: '0' });
    expect(await tracker.getCast(castId.toHexString())).not.toHaveProperty('openSteps');

    // A new apply lands once, however often it is reported: the generation's own terminal
    // transition (with its settle intent) is the gate; the legacy lists are not consulted.
    for (let attempt = 0; attempt < 3; attempt += 1) await tracker.completeGeneration(open.toHexString(), { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(await tracker.getCook(cookId.toHexString())).toMatchObject({ inFlightCount: 3, openGenerationCount: 3, generatedCount: 1, costUsd: '0.25' });

    // The sweep rebuilds both parents from their children: the lost applies count, the
    // never-stored child's entries go, and the lists are unset.
    clock.advance(60 * MINUTE);
    const report = await tracker.sweepStale({ olderThanMs: 30 * MINUTE });
    expect(report.recovered).toBe(2);
    const after = (await tracker.getCook(cookId.toHexString()))!;
    expect(after).toMatchObject({
      status: 'completed',
      inFlightCount: 0,
      openGenerationCount: 0,
      generatedCount: 3,
      costUsd: '0.875',
      outcomes: { success: 3, failed: 0, cancelled_by_user: 0, timeout: 0 },
    });
    // Completed when its children say (its last piece finished when the tracker completed it), not at the sweep.
    expect(after.completedAt).toEqual(new Date('2026-01-01T00:00:00.000Z'));
    expect(after.generationIds).toEqual([open, done, step].map((id) => id.toHexString()));
    expect(await tracker.getCast(castId.toHexString())).toMatchObject({ status: 'completed', inFlightCount: 0, costUsd: '0.125' });
    const raw = await db.collection('cooks').findOne({ _id: cookId });
    expect(raw).not.toHaveProperty('openPieces');
    expect(raw).not.toHaveProperty('openGenerations');
    expect(raw).toMatchObject({ genledgerInProgress: [] });
    expect(await db.collection('casts').findOne({ _id: castId })).not.toHaveProperty('openSteps');
    expect(await auditLedger(tracker, [cookId.toHexString()], [castId.toHexString()])).toEqual([]);

    // Nothing left: a second sweep finishes nothing, reconcile finds nothing.
    clock.advance(60 * MINUTE);
    expect((await tracker.sweepStale({ olderThanMs: 30 * MINUTE })).recovered).toBe(0);
    expect((await tracker.reconcile({ cookId: cookId.toHexString() })).differences).toEqual([]);
    expect((await tracker.reconcile({ castId: castId.toHexString() })).differences).toEqual([]);
  });
});
