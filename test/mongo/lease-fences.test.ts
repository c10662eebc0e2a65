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
 */
import { MongoNetworkError, type Db, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { manualClock, type ManualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { FakeDb } from './fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const SECOND = 1000;
const LEASES = { rollupLeaseMs: 10 * SECOND, takeoverMarginMs: SECOND };

/** How the next `cooks.findOneAndUpdate` through the delaying `Db` is delayed. */
type Delay = 'hold' | 'fail-then-deliver';

/**
 * The fake as a `Db` whose next cook `findOneAndUpdate`, once armed, is delayed until `release()`:
 * `hold` keeps the call waiting; `fail-then-deliver` fails the call at once (a timed-out
 * connection) and sends the write to the server only at `release()`.
 */
function delayingDb(fake: FakeDb) {
  let armed: Delay | null = null;
  let caught: (() => Promise<unknown>) | null = null;
  let delivered: Promise<unknown> | null = null;
  let releaseHeld: () => void = () => {};
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
            if (name !== 'cooks' || method !== 'findOneAndUpdate') return call;
            return (...args: unknown[]) => {
              const delay = armed;
              if (delay === null) return call(...args);
              armed = null;
              caught = () => call(...args) as Promise<unknown>;
              if (delay === 'fail-then-deliver') return Promise.reject(new MongoNetworkError('connection timed out (emulated: the write is still on its way)'));
              return new Promise((resolve, reject) => {
                releaseHeld = () => void (call(...args) as Promise<unknown>).then(resolve, reject);
              });
            };
          },
        });
      };
    },
  }) as Db;
  return {
    db,
    arm: (delay: Delay) => void (armed = delay),
    get caught() {
      return caught !== null;
    },
    /** Lets the delayed write reach the server. */
    release(delay: Delay): Promise<unknown> {
      if (delay === 'hold') {
        releaseHeld();
        return Promise.resolve();
      }
      delivered = caught!().catch(() => null);
      return delivered;
    },
  };
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

const done = { status: 'success' as const, costUsd: '0.25', pointsSpent: 3 };

describe('mongo on mingo: a delayed parent write of a roll-up lands at most once', () => {
  it("after another process's recover() took the settle over and applied it, the old owner's delayed cook write is refused", async () => {
    const { serverClock, fake, delaying, tracker, cook, piece, storedCook } = await setup();
    delaying.arm('hold');
    const completing = tracker(mongoRepository(delaying.db, { logger: silent, clock: () => serverClock.now(), ...LEASES })).completeGeneration(piece.id, done).then(
      () => null,
      (error: unknown) => error,
    );
    await until(() => delaying.caught);
    serverClock.advance(12 * SECOND); // past the lease (10 s) and the margin (1 s)
    const sweeper = createTracker({ repository: mongoRepository(fake.asDb(), { logger: silent, clock: () => serverClock.now(), ...LEASES }), clock: serverClock, logger: silent });
    expect((await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND })).recovered).toBe(1);
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });

    await delaying.release('hold');
    const failure = await completing;
    expect(String(failure)).toMatch(/lease ended/);
    expect(await tracker(mongoRepository(fake.asDb(), { logger: silent })).getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
  });

  it("a sweeper whose clock runs ahead of the server's leaves the entry of an adopted settle until the server's clock passes the lease, so the first call's delayed write cannot land again", async () => {
    const { serverClock, fake, delaying, owner, tracker, cook, piece, storedCook } = await setup();
    delaying.arm('fail-then-deliver');
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
    await delaying.release('fail-then-deliver');
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });

    // Once the server's clock has passed the lease and the margin, the entry goes.
    serverClock.advance(12 * SECOND);
    await sweeper.sweepStale({ olderThanMs: 60 * 60 * SECOND });
    expect(await storedCook()).toMatchObject({ genledgerInProgress: [] });
    expect(await sweeper.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 3, inFlightCount: 0 });
  });
});
