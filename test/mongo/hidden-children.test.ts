/**
 * A child whose creation is under way is stored hidden (`version: 0`, with its `attach` intent)
 * until its parents took it (design 12, option (b); adapters/mongo/rollup/create.ts). Here a
 * creation dies after its insert (the cook's reservation fails at the driver): no read and no
 * change feed (change streams or polling, emulated) reports the hidden child; another process's
 * retry gets the record without taking the creation over; the same process's retry adopts and
 * finishes it (the feed then reports version 1); and a creation nobody retries in its process is
 * finished by `recover()` once its lease has passed by the server's clock, and not before.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { ValidationError } from '../../src/errors.js';
import type { ChangeNotice } from '../../src/port.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { FakeDb, InjectedWriteFault } from './fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const SECOND = 1000;

async function settle(): Promise<void> {
  for (let index = 0; index < 20; index += 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

function setup(topology: 'replicaSet' | 'standalone') {
  const clock = manualClock({ start: '2026-01-01T00:00:00.000Z' });
  const fake = new FakeDb({ topology, serverClock: () => clock.now() });
  const options = { logger: silent, clock: () => clock.now(), rollupLeaseMs: 10 * SECOND, takeoverMarginMs: SECOND, changeFeed: { pollIntervalMs: 2, reconnectDelayMs: 2 } };
  const first = mongoRepository(fake.asDb(), options);
  const other = mongoRepository(fake.asDb(), options);
  const tracker = (repository: typeof first) => createTracker({ repository, clock, logger: silent });
  return { clock, fake, first, other, tracker };
}

/** Starts a cook, then records a piece whose creation dies at the cook's reservation (after the hidden insert). */
async function crashedCreation(context: ReturnType<typeof setup>) {
  const { fake, first, tracker } = context;
  const cook = await tracker(first).startCook({ collectionId: 'collection-hidden', initiatorAccountId: 'account-hidden', targetSupply: 1 });
  const input = { masterAccountId: 'account-hidden', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc', cookId: cook.id, idempotencyKey: 'piece-1' };
  // Driver writes of recordGeneration: 1 insertOne (hidden child), 2 the cook's reservation.
  fake.failWrite({ nth: 2, moment: 'before' });
  const failed = await tracker(first).recordGeneration(input).then(() => null, (error: unknown) => error);
  expect((failed as Error | null)?.cause).toBeInstanceOf(InjectedWriteFault);
  fake.failWrite({ nth: null, moment: 'before' });
  const stored = (await fake.asDb().collection<Document>('generationOutputs').findOne({ idempotencyKey: 'piece-1' }))!;
  expect(stored).toMatchObject({ version: 0, genledger: { op: 'attach' } });
  return { cook, input, childId: String(stored._id) };
}

describe('mongo on mingo: hidden children (a creation under way)', () => {
  for (const topology of ['replicaSet', 'standalone'] as const) {
    it(`never appear in reads or in the change feed (${topology === 'replicaSet' ? 'change streams' : 'polling'}, emulated); the same process's retry makes the child visible`, async () => {
      const context = setup(topology);
      const notices: ChangeNotice[] = [];
      const subscription = await context.first.changes.subscribe({ onChange: (notice) => notices.push(notice), onError: () => {} });
      const { cook, input, childId } = await crashedCreation(context);
      const reader = context.tracker(context.other);
      expect(await reader.getGeneration(childId)).toBeNull();
      expect((await reader.listGenerations({ cookId: cook.id })).items).toEqual([]);
      expect(await context.other.generations.findByIdempotencyKey('piece-1')).toBeNull();
      expect(await context.other.generations.findStale({ updatedBefore: new Date('2027-01-01T00:00:00.000Z'), limit: 10 })).toEqual([]);
      expect(await reader.getCook(cook.id)).toMatchObject({ inFlightCount: 0, openGenerationCount: 0 });
      await settle();
      expect(notices.filter((notice) => notice.id === childId)).toEqual([]);

      // Another process's retry gets the record, and leaves the creation to its owner.
      const fromOther = await reader.recordGeneration(input);
      expect(fromOther.id).toBe(childId);
      expect(await reader.getGeneration(childId)).toBeNull();

      // The same process's retry adopts the creation and finishes it.
      const retried = await context.tracker(context.first).recordGeneration(input);
      expect(retried.id).toBe(childId);
      expect(await reader.getGeneration(childId)).toMatchObject({ id: childId, version: 1, cookId: cook.id });
      expect(await reader.getCook(cook.id)).toMatchObject({ inFlightCount: 1, openGenerationCount: 1 });
      await settle();
      expect(notices.filter((notice) => notice.id === childId).map((notice) => notice.version)).toEqual([1]);
      await subscription.close();
    });
  }

  it('a creation nobody retries in its process is finished by recover() once its lease has passed by the server clock, and not before', async () => {
    const context = setup('standalone');
    const { cook, childId } = await crashedCreation(context);
    // Another process's sweep: inside the lease (plus margin) it leaves the creation alone.
    const sweeper = context.tracker(context.other);
    context.clock.advance(10 * SECOND);
    expect((await sweeper.sweepStale({ olderThanMs: 60 * SECOND })).recovered).toBe(0);
    expect(await context.fake.asDb().collection<Document>('generationOutputs').countDocuments({})).toBe(1);
    context.clock.advance(2 * SECOND);
    expect((await sweeper.sweepStale({ olderThanMs: 60 * SECOND })).recovered).toBe(1);
    // Finished as its owner would have: another process's duplicate may hold the record already.
    expect(await sweeper.getGeneration(childId)).toMatchObject({ id: childId, version: 1, cookId: cook.id });
    expect(await sweeper.getCook(cook.id)).toMatchObject({ inFlightCount: 1, openGenerationCount: 1 });
    expect(await context.fake.asDb().collection<Document>('cooks').findOne({})).toMatchObject({ genledgerInProgress: [] });
    expect(await context.fake.asDb().collection<Document>('generationOutputs').findOne({})).not.toHaveProperty('genledger');
  });
});

describe('mongo: the roll-up options', () => {
  it('are checked when the repository is made: a wrong value is a ValidationError naming the option, every wrong one listed; the defaults are exported', async () => {
    const { DEFAULT_ROLLUP_OPTIONS } = await import('../../adapters/mongo/index.js');
    expect(DEFAULT_ROLLUP_OPTIONS).toEqual({ rollupLeaseMs: 30_000, takeoverMarginMs: 5_000, maxInProgress: 1_000 });
    const db = new FakeDb().asDb();
    for (const [options, named] of [
      [{ rollupLeaseMs: 0 }, 'rollupLeaseMs'],
      [{ rollupLeaseMs: 1.5 }, 'rollupLeaseMs'],
      [{ takeoverMarginMs: -1 }, 'takeoverMarginMs'],
      [{ maxInProgress: 0 }, 'maxInProgress'],
      [{ maxInProgress: Number.NaN }, 'maxInProgress'],
      [{ clock: 'now' as unknown as () => Date }, 'clock'],
    ] as const) {
      const error = catchError(() => mongoRepository(db, { logger: silent, ...options }));
      expect(error, named).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((issue) => issue.field), named).toEqual([`options.${named}`]);
    }
    const several = catchError(() => mongoRepository(db, { logger: silent, rollupLeaseMs: -5, maxInProgress: 0, collections: { cooks: '' } }));
    expect(several).toBeInstanceOf(ValidationError);
    expect((several as ValidationError).issues.map((issue) => issue.field)).toEqual(['options.rollupLeaseMs', 'options.maxInProgress', 'options.collections.cooks']);
    const names = catchError(() => mongoRepository(db, { logger: silent, collections: { cooks: '', kitchens: 'x' } as never }));
    expect((names as ValidationError).issues.map((issue) => issue.field)).toEqual(['options.collections.cooks', 'options.collections.kitchens']);
    expect(() => mongoRepository(db, { logger: silent, rollupLeaseMs: 1, takeoverMarginMs: 0, maxInProgress: 1 })).not.toThrow();
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
