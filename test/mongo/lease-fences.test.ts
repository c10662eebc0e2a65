/**
 * A roll-up owner's parent write that is still on its way when someone else finishes the
 * operation (design 12, option (b); adapters/mongo/rollup/intents.ts). The crash test
 * (crash.test.ts) loses writes or their replies; here a write is DELAYED: it reaches the server
 * only after the operation was finished by another call, and must not land a second time.
 *
 * - Another process's `recover()` takes a settle over once its lease has passed by the server's
 *   clock and applies it; the old owner's delayed cook write then arrives and is refused by the
 *   lease fence.
 * - The owner's call fails while its cook write is in flight; the same process's retry adopts the
 *   settle and applies it (leaving the entry); a sweeper whose clock runs ahead of the server's
 *   must not pull that entry before the server's clock has passed the lease: the delayed write
 *   would then land again ("a wrong client clock costs only liveness", options.ts).
 * - The owner applies, then outlives its lease before it clears its intent: `recover()` takes the
 *   settle over; the owner's clear then fails, and the owner must not pull the entry its write
 *   left, since the taker's apply may still be to come.
 * - `recover()` rebuilds a parent that still carries 0.1.0's lists from its children; a child that
 *   moves to its terminal status between the rebuild's check for applies under way and its read of
 *   the children is counted by that read, and its owner's apply must not land on top of it.
 * - A hold's account and budget writes (accounts/apply.ts, budgets.ts) by an owner stalled past its
 *   lease with a LAGGING clock: after recover() undid the creation the hold must not land; when the
 *   write misses on the lease alone (the taker's own write still to come) the owner throws
 *   LeaseExpiredError at once instead of resending; capture and release land once.
 */
import { MongoNetworkError, ObjectId, type Db, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECTIONS, LeaseExpiredError, mongoRepository } from '../../adapters/mongo/index.js';
import { manualClock, type ManualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { FakeDb } from './fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const SECOND = 1000;
const LEASES = { rollupLeaseMs: 10 * SECOND, takeoverMarginMs: SECOND };

/** How a delayed write is delayed. */
type Delay = 'hold' | 'fail-then-deliver';

/**
 * The fake as a `Db` whose next `collection.method` write (say `cooks.findOneAndUpdate`), once
 * armed, is delayed until `release()`: `hold` keeps the call waiting; `fail-then-deliver` fails the
 * call at once (a timed-out connection) and sends the write to the server only at `release()`.
 */
function delayingDb(fake: FakeDb) {
  const armed = new Map<string, Delay>();
  const caught = new Map<string, { delay: Delay; send: () => Promise<unknown>; resume: (result: Promise<unknown>) => void }>();
  const calls = new Map<string, number>();
  const base = fake.asDb();
  const db = new Proxy(base, {
    get(target, property, receiver) {
      if (property !== 'collection') return Reflect.get(target, property, receiver);
      return (name: string) => {
        const collection = target.collection(name);
        return new Proxy(collection, {
          get(inner, method, innerReceiver) {
            const value = Reflect.get(inner, method, innerReceiver) as unknown;
            if (typeof value !== 'function') return value;
            const call = (...args: unknown[]) => (value as (...parameters: unknown[]) => unknown).apply(inner, args);
            const key = `${name}.${String(method)}`;
            return (...args: unknown[]) => {
              calls.set(key, (calls.get(key) ?? 0) + 1);
              const delay = armed.get(key);
              if (delay === undefined) return call(...args);
              armed.delete(key);
              const send = () => call(...args) as Promise<unknown>;
              if (delay === 'fail-then-deliver') {
                caught.set(key, { delay, send, resume: () => {} });
                return Promise.reject(new MongoNetworkError('connection timed out (emulated: the write is still on its way)'));
              }
              return new Promise((resolve, reject) => caught.set(key, { delay, send, resume: (result) => void result.then(resolve, reject) }));
            };
          },
        });
      };
    },
  }) as Db;
  return {
    db,
    arm: (key: string, delay: Delay) => void armed.set(key, delay),
    caught: (key: string) => caught.has(key),
    /** How many times `collection.method` was called through this db. */
    calls: (key: string) => calls.get(key) ?? 0,
    /** Lets the delayed write reach the server; resolves once it has. */
    async release(key: string): Promise<void> {
      const write = caught.get(key)!;
      const result = write.send();
      write.resume(result);
      await result.catch(() => null);
    },
  };
}

/** The tracker's RepositoryError around the adapter's LeaseExpiredError (anything else is shown as is). */
function causeOf(failure: unknown): unknown {
  return failure instanceof Error && failure.cause instanceof Error ? failure.cause : failure;
}

async function until(condition: () => boolean): Promise<void> {
  for (let index = 0; index < 500 && !condition(); index += 1) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}

async function setup() {
  const serverClock = manualClock({ start: '2026-01-01T00:00:00.000Z' });
  const fake = new FakeDb({ topology: 'standalone', serverClock: () => serverClock.now() });
  const delaying = delayingDb(fake);
  const owner = mongoRepository(delaying.db, { logger: silent, clock: () => serverClock.now(), ...LEASES });
  const tracker = (repository: typeof owner, clock: ManualClock = serverClock) => createTracker({ repository, clock, logger: silent });
  const cook = await tracker(owner).startCook({ collectionId: 'collection-lease', initiatorAccountId: 'account-lease', targetSupply: 10 });
  const piece = await tracker(owner).recordGeneration({ masterAccountId: 'account-lease', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc', cookId: cook.id });
  const storedCook = () => fake.asDb().collection<Document>('cooks').findOne({});
  return { serverClock, fake, delaying, owner, tracker, cook, piece, storedCook };
}

const COOK_WRITE = 'cooks.findOneAndUpdate';
const done = { status: 'success' as const, costUsd: '0.25', pointsSpent: 3 };

describe('mongo on mingo: a delayed parent write of a roll-up lands at most once', () => {
  it("after another process's recover() took the settle over and applied it, the old owner's delayed cook write is refused", async () => {
    const { serverClock, fake, delaying, tracker, cook, piece, storedCook } = await setup();
    delaying.arm(COOK_WRITE, 'hold');
    const completing = tracker(mongoRepository(delaying.db, { logger: silent, clock: () => serverClock.now(), ...LEASES })).completeGeneration(piece.id, done).then(
      () => null,
      (error: unknown) => error,
    );
    await until(() => delaying.caught(COOK_WRITE));
    serverClock.advance(12 * SECOND); // past the lease (10 s) and the margin (1 s)
    const sweeper = createTracker({ repository: mongoRepository(fake.asDb(), { logger: silent, clock: () => serverClock.now(), ...LEASES }), clock: serverClock, logger: silent });
    expect((await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND })).recovered).toBe(1);
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });

    await delaying.release(COOK_WRITE);
    const failure = await completing;
    expect(String(failure)).toMatch(/lease ended/);
    expect(await tracker(mongoRepository(fake.asDb(), { logger: silent })).getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
  });

  it("a sweeper whose clock runs ahead of the server's leaves the entry of an adopted settle until the server's clock passes the lease, so the first call's delayed write cannot land again", async () => {
    const { serverClock, fake, delaying, owner, tracker, cook, piece, storedCook } = await setup();
    delaying.arm(COOK_WRITE, 'fail-then-deliver');
    const failed = await tracker(owner).completeGeneration(piece.id, done).then(() => null, (error: unknown) => error);
    expect(failed).not.toBeNull();
    // The same process retries: it adopts its ended call's settle and applies it; the entry stays.
    await tracker(owner).completeGeneration(piece.id, done);
    expect(await storedCook()).toMatchObject({ costUsd: expect.anything(), genledgerInProgress: [expect.objectContaining({ k: 'settle' })] });

    // Another process, its clock a minute ahead of the server's, sweeps.
    const aheadClock = manualClock({ start: serverClock.now().getTime() + 60 * SECOND });
    const sweeper = createTracker({ repository: mongoRepository(fake.asDb(), { logger: silent, clock: () => aheadClock.now(), ...LEASES }), clock: aheadClock, logger: silent });
    await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    // The first call's write reaches the server, still within its lease by the server's clock.
    await delaying.release(COOK_WRITE);
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });

    // Once the server's clock has passed the lease and the margin, the entry goes.
    serverClock.advance(12 * SECOND);
    await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
  });

  it("an owner whose clear comes after recover() took its settle over leaves the entries to the taker, whose apply then finds the owner's landed", async () => {
    const { serverClock, fake, delaying, owner, tracker, cook, piece, storedCook } = await setup();
    delaying.arm('generationOutputs.updateOne', 'hold');
    const completing = tracker(owner).completeGeneration(piece.id, done);
    await until(() => delaying.caught('generationOutputs.updateOne'));
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [expect.objectContaining({ k: 'settle' })] });

    serverClock.advance(12 * SECOND); // past the lease (10 s) and the margin (1 s)
    const taker = delayingDb(fake);
    taker.arm(COOK_WRITE, 'hold');
    const sweeper = createTracker({ repository: mongoRepository(taker.db, { logger: silent, clock: () => serverClock.now(), ...LEASES }), clock: serverClock, logger: silent });
    const sweeping = sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    await until(() => taker.caught(COOK_WRITE));
    // The owner's clear reaches the server after the takeover: it matches nothing, and the owner returns.
    await delaying.release('generationOutputs.updateOne');
    await completing.catch(() => null);
    await taker.release(COOK_WRITE);
    expect((await sweeping).recovered).toBeGreaterThanOrEqual(1);
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });
  });

  it("recover()'s rebuild of a 0.1.0 parent does not count a child whose settle starts between its check for applies under way and its read of the children, on top of that settle's apply", async () => {
    const { serverClock, fake, delaying, owner, tracker, cook, piece, storedCook } = await setup();
    // A 0.1.0 list with an old entry (of a child never stored) makes the cook one recover() rebuilds.
    await fake.asDb().collection<Document>('cooks').updateOne({}, { $set: { openGenerations: [{ id: new ObjectId(), kind: 'generation', since: new Date(0) }] } });
    delaying.arm(COOK_WRITE, 'hold');
    let completing: Promise<unknown> | null = null;
    // The sweeper's reads: right after its query for children carrying an intent, the piece's settle starts.
    const sweeperDb = new Proxy(fake.asDb(), {
      get(target, property, receiver) {
        if (property !== 'collection') return Reflect.get(target, property, receiver);
        return (name: string) => {
          const collection = target.collection(name);
          return new Proxy(collection, {
            get(inner, method, innerReceiver) {
              const value = Reflect.get(inner, method, innerReceiver) as unknown;
              if (typeof value !== 'function') return value;
              if (name !== 'generationOutputs' || method !== 'find') return (value as (...parameters: unknown[]) => unknown).bind(inner);
              return (filter: Document, ...rest: unknown[]) => {
                const cursor = (value as (...parameters: unknown[]) => { toArray(): Promise<Document[]> }).call(inner, filter, ...rest);
                if (completing !== null || filter.genledger === undefined) return cursor;
                return {
                  async toArray() {
                    const found = await cursor.toArray();
                    completing = tracker(owner).completeGeneration(piece.id, done).catch((error: unknown) => error);
                    await until(() => delaying.caught(COOK_WRITE));
                    return found;
                  },
                };
              };
            },
          });
        };
      },
    }) as Db;
    const sweeper = createTracker({ repository: mongoRepository(sweeperDb, { logger: silent, clock: () => serverClock.now(), ...LEASES }), clock: serverClock, logger: silent });
    await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    expect(completing).not.toBeNull();
    await delaying.release(COOK_WRITE);
    await completing;
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0, openGenerationCount: 0 });
    // A later sweep leaves it so (nothing is left to rebuild or pull).
    serverClock.advance(12 * SECOND);
    await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0, openGenerationCount: 0 });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });
  });
});

describe("mongo on mingo: a hold's account write by an owner that outlived its lease", () => {
  const ACCOUNT = 'account-stall';
  const ACCOUNT_WRITE = `${DEFAULT_COLLECTIONS.accounts}.updateOne`;
  const HOUR = 60 * 60 * SECOND;
  const person = { masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

  /**
   * 100 points on the account. The owner (a GC pause) runs on `delaying.db` with a clock that
   * LAGS: it still reads the start when the server's clock is past its lease, so only the
   * server's `$$NOW` can tell it the lease is gone.
   */
  async function wallet() {
    const serverClock = manualClock({ start: '2026-01-01T00:00:00.000Z' });
    const laggingClock = manualClock({ start: '2026-01-01T00:00:00.000Z' });
    const fake = new FakeDb({ topology: 'standalone', serverClock: () => serverClock.now() });
    const on = (db: Db, clock: ManualClock) => createTracker({ repository: mongoRepository(db, { logger: silent, clock: () => clock.now(), ...LEASES }), clock, logger: silent });
    const plain = on(fake.asDb(), serverClock);
    await plain.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'top-up' });
    const delaying = delayingDb(fake);
    const owner = on(delaying.db, laggingClock);
    const entries = async () => (await plain.listLedgerEntries({ accountId: ACCOUNT })).items.map((entry) => `${entry.kind} ${entry.amount.points}`);
    return { serverClock, fake, plain, delaying, owner, on, entries };
  }

  it('a creation recover() undid while its owner was stalled before its hold: the owner wakes, its hold does not land (no points held without a generation)', async () => {
    const { serverClock, fake, plain, delaying, owner, entries } = await wallet();
    delaying.arm(ACCOUNT_WRITE, 'hold');
    const creating = owner.recordGeneration({ ...person, idempotencyKey: 'key-stall', hold: { points: 10 } }).then(() => null, (error: unknown) => error);
    await until(() => delaying.caught(ACCOUNT_WRITE));
    // An intent recover() cannot finish (no caps recorded, as 0.1.0 wrote them) is undone by it.
    await fake.asDb().collection<Document>('generationOutputs').updateOne({ idempotencyKey: 'key-stall' }, { $unset: { 'genledger.caps': '' } });
    serverClock.advance(12 * SECOND); // past the lease (10 s) and the margin (1 s)
    expect((await plain.sweepStale({ olderThanMs: HOUR })).recovered).toBe(1);
    expect(await fake.asDb().collection<Document>('generationOutputs').countDocuments({ idempotencyKey: 'key-stall' })).toBe(0);

    await delaying.release(ACCOUNT_WRITE);
    expect(causeOf(await creating)).toBeInstanceOf(LeaseExpiredError);
    expect(await plain.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 100 }, held: { points: 0 }, available: { points: 100 } });
    expect(await entries()).toEqual(['credit 100']);
    expect((await plain.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });

  it('an owner whose hold write misses because its lease ended (recover() has the creation, its own hold still to land) throws LeaseExpiredError at once instead of retrying; the hold lands once, by the taker', async () => {
    const { serverClock, fake, delaying, owner, on, plain, entries } = await wallet();
    delaying.arm(ACCOUNT_WRITE, 'hold');
    const creating = owner.recordGeneration({ ...person, idempotencyKey: 'key-stall', hold: { points: 10 } }).then(() => null, (error: unknown) => error);
    await until(() => delaying.caught(ACCOUNT_WRITE));
    serverClock.advance(12 * SECOND);
    const taker = delayingDb(fake);
    taker.arm(ACCOUNT_WRITE, 'hold');
    const sweeping = on(taker.db, serverClock).sweepStale({ olderThanMs: HOUR });
    await until(() => taker.caught(ACCOUNT_WRITE));

    // The owner's write reaches the server: the version it read is still the account's, the lease is not.
    await delaying.release(ACCOUNT_WRITE);
    expect(causeOf(await creating)).toBeInstanceOf(LeaseExpiredError);
    expect(delaying.calls(ACCOUNT_WRITE)).toBe(1);

    await taker.release(ACCOUNT_WRITE);
    expect((await sweeping).recovered).toBe(1);
    expect(await plain.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 100 }, held: { points: 10 }, available: { points: 90 } });
    expect(await entries()).toEqual(['credit 100', 'hold 10']);
    expect(await fake.asDb().collection<Document>('generationOutputs').findOne({ idempotencyKey: 'key-stall' })).toMatchObject({ version: 1 });
    expect((await plain.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });

  it('an owner whose settlement write (capture, release) misses because its lease ended throws LeaseExpiredError at once; the taker captures and releases once', async () => {
    const { serverClock, fake, delaying, owner, on, plain, entries } = await wallet();
    const generation = await plain.recordGeneration({ ...person, idempotencyKey: 'key-stall', hold: { points: 10 } });
    delaying.arm(ACCOUNT_WRITE, 'hold');
    const completing = owner.completeGeneration(generation.id, { status: 'success', pointsSpent: 4, costUsd: '0' }).then(() => null, (error: unknown) => error);
    await until(() => delaying.caught(ACCOUNT_WRITE));
    serverClock.advance(12 * SECOND);
    const taker = delayingDb(fake);
    taker.arm(ACCOUNT_WRITE, 'hold');
    const sweeping = on(taker.db, serverClock).sweepStale({ olderThanMs: HOUR });
    await until(() => taker.caught(ACCOUNT_WRITE));

    await delaying.release(ACCOUNT_WRITE);
    expect(causeOf(await completing)).toBeInstanceOf(LeaseExpiredError);
    expect(delaying.calls(ACCOUNT_WRITE)).toBe(1);

    await taker.release(ACCOUNT_WRITE);
    expect((await sweeping).recovered).toBeGreaterThanOrEqual(1);
    expect(await plain.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 96 }, held: { points: 0 }, available: { points: 96 } });
    expect(await entries()).toEqual(['credit 100', 'hold 10', 'capture 4', 'release 6']);
    expect((await plain.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });

  it('a settlement whose owner was stalled past its lease and that recover() finished: the owner wakes after, finds the capture landed, and captures nothing twice', async () => {
    const { serverClock, delaying, owner, plain, entries } = await wallet();
    const generation = await plain.recordGeneration({ ...person, idempotencyKey: 'key-stall', hold: { points: 10 } });
    delaying.arm(ACCOUNT_WRITE, 'hold');
    const completing = owner.completeGeneration(generation.id, { status: 'success', pointsSpent: 4, costUsd: '0' }).then(() => null, (error: unknown) => error);
    await until(() => delaying.caught(ACCOUNT_WRITE));
    serverClock.advance(12 * SECOND);
    expect((await plain.sweepStale({ olderThanMs: HOUR })).recovered).toBeGreaterThanOrEqual(1);

    await delaying.release(ACCOUNT_WRITE);
    // Its write misses (the taker moved the version), its re-read finds the capture: it writes nothing.
    expect(await completing).toBeNull();
    expect(delaying.calls(ACCOUNT_WRITE)).toBe(1);
    expect(await plain.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 96 }, held: { points: 0 }, available: { points: 96 } });
    expect(await entries()).toEqual(['credit 100', 'hold 10', 'capture 4', 'release 6']);
    expect((await plain.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });

  it("an owner whose write on its cook's budget misses because its lease ended throws LeaseExpiredError at once; the taker counts the hold in the budget once", async () => {
    const { serverClock, fake, delaying, owner, on, plain } = await wallet();
    const BUDGET_WRITE = `${DEFAULT_COLLECTIONS.budgets}.updateOne`;
    const cook = await plain.startCook({ collectionId: 'collection-stall', initiatorAccountId: ACCOUNT, targetSupply: 5, budget: { points: 40 } });
    delaying.arm(BUDGET_WRITE, 'hold');
    const creating = owner.recordGeneration({ ...person, cookId: cook.id, idempotencyKey: 'key-stall', hold: { points: 10 } }).then(() => null, (error: unknown) => error);
    await until(() => delaying.caught(BUDGET_WRITE));
    serverClock.advance(12 * SECOND);
    const taker = delayingDb(fake);
    taker.arm(BUDGET_WRITE, 'hold');
    const sweeping = on(taker.db, serverClock).sweepStale({ olderThanMs: HOUR });
    await until(() => taker.caught(BUDGET_WRITE));

    await delaying.release(BUDGET_WRITE);
    expect(causeOf(await creating)).toBeInstanceOf(LeaseExpiredError);
    expect(delaying.calls(BUDGET_WRITE)).toBe(1);

    await taker.release(BUDGET_WRITE);
    expect((await sweeping).recovered).toBe(1);
    expect(await plain.getAccount(ACCOUNT)).toMatchObject({ held: { points: 10 }, available: { points: 90 } });
    expect(await fake.asDb().collection<Document>(DEFAULT_COLLECTIONS.budgets).findOne({})).toMatchObject({ held: { points: 10 }, genledgerInProgress: [] });
  });
});
