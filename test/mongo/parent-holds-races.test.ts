/**
 * Parent holds on MongoDB (the mingo fake): interleavings a crash test cannot reach, made by
 * running another caller's work inside one driver call of the call under test.
 */
import { describe, expect, it } from 'vitest';
import type { Document } from 'mongodb';
import { InsufficientFundsError } from '../../src/errors.js';
import { DEFAULT_COLLECTIONS, mongoRepository } from '../../adapters/mongo/index.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { MINUTE, silent } from '../../src/conformance/host-steps.js';
import { FakeDb } from './fake-db.js';

const ACCOUNT = 'account-parent-races';

/** Runs `before` once, ahead of whichever of `calls` (object, method name) comes first (then that call itself). */
function onceBeforeFirstOf(calls: readonly (readonly [object, string])[], before: () => Promise<void>): void {
  let fired = false;
  for (const [target, method] of calls) {
    const record = target as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = record[method]!.bind(target);
    record[method] = async (...args: unknown[]) => {
      if (!fired) {
        fired = true;
        await before();
      }
      return original(...args);
    };
  }
}

describe('mongo on mingo: parent holds, a creation that outlived its lease', () => {
  it("startCast({ hold }) refused by its account write after its lease ended, while recover() took the creation over and finished it: the budget (the reservation) is kept, so finishing the cast releases the hold, and the refused call does not report InsufficientFundsError for a cast that exists", async () => {
    const fake = new FakeDb({ topology: 'standalone' });
    const clock = manualClock();
    fake.setServerClock(() => clock.now());
    const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock, ids: sequentialIds({ format: 'objectId' }), logger: silent });
    await tracker.credit(ACCOUNT, { points: 60, reason: 'top-up', idempotencyKey: 'credit-1' });

    const budgets = fake.collection(DEFAULT_COLLECTIONS.budgets);
    // Once the budget is stored (step 4), another write takes the room: the account write refuses.
    onceBeforeFirstOf([[budgets, 'insertOne']], async () => {
      await tracker.debit(ACCOUNT, { points: 30, reason: 'spent elsewhere', idempotencyKey: 'debit-1' });
    });
    // The refused call pauses past its lease before its undo's first write (whichever it is);
    // meanwhile money comes in and another process's sweep takes the creation over and finishes it.
    onceBeforeFirstOf([[budgets, 'deleteOne'], [fake.collection('casts'), 'deleteOne']], async () => {
      await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-2' });
      clock.advance(60 * MINUTE);
      // Past the lease, but not past the idle cut-off: the sweep finishes the creation and leaves the cast running.
      await tracker.sweepStale({ olderThanMs: 120 * MINUTE });
    });
    const started = await tracker.startCast({ spellId: 'spell-race', initiatorAccountId: ACCOUNT, idempotencyKey: 'cast-1', hold: { points: 50 } }).then(
      () => null,
      (error: unknown) => error,
    );

    const stored = (await fake.asDb().collection<Document>('casts').find({}).toArray()) as Document[];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.version).toBe(1);
    // The cast exists with its hold: the call must not tell the host it was refused for funds.
    expect(started).not.toBeInstanceOf(InsufficientFundsError);
    const cast = await tracker.startCast({ spellId: 'spell-race', initiatorAccountId: ACCOUNT, idempotencyKey: 'cast-1', hold: { points: 50 } });
    expect((await tracker.getAccount(ACCOUNT)).held.points).toBe(50);

    await tracker.finishCast(cast.id);
    expect(await tracker.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 130 }, held: { points: 0 }, available: { points: 130 } });
    expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });
});

describe('mongo on mingo: parent holds, a settlement and the release interleaved', () => {
  for (const moment of ['before', 'after'] as const) {
    it(`finishCast lands ${moment} a drawing step's budget settlement and before its account settlement: the account ends as in either order (charge 30 on a 20 hold, 70 left, nothing held, no overdraft), the release entry explains the rest`, async () => {
      const fake = new FakeDb({ topology: 'standalone' });
      const clock = manualClock();
      fake.setServerClock(() => clock.now());
      const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
      await repository.ensureIndexes();
      const tracker = createTracker({ repository, clock, ids: sequentialIds({ format: 'objectId' }), logger: silent });
      await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-1' });
      const cast = await tracker.startCast({ spellId: 'spell-race', initiatorAccountId: ACCOUNT, hold: { points: 50 } });
      const step = await tracker.recordGeneration({ masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool', castId: cast.id, hold: { points: 20 } });

      const budgets = fake.collection(DEFAULT_COLLECTIONS.budgets) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const original = budgets.updateOne!.bind(budgets);
      let fired = false;
      budgets.updateOne = async (...args: unknown[]) => {
        if (fired) return original(...args);
        fired = true;
        if (moment === 'before') await tracker.finishCast(cast.id);
        const result = await original(...args);
        if (moment === 'after') await tracker.finishCast(cast.id);
        return result;
      };
      await tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 30 });

      expect(await tracker.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 70 }, held: { points: 0 }, available: { points: 70 }, spent: { points: 30 } });
      const entries = (await tracker.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items;
      expect(entries.filter((entry) => entry.kind === 'overdraft')).toEqual([]);
      expect(entries.filter((entry) => entry.cause.kind === 'parent' && entry.kind === 'release').map((entry) => entry.amount.points)).toEqual([moment === 'before' ? 30 : 20]);
      expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
    });
  }
});

describe('mongo on mingo: parent holds, a creation undone after the release', () => {
  it("a step drawing 20 points whose account then refuses its dollars, with finishCast landing between its budget's count and its account write: the step is refused, the release and the undo's release leave nothing held", async () => {
    const fake = new FakeDb({ topology: 'standalone' });
    const clock = manualClock();
    fake.setServerClock(() => clock.now());
    const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock, ids: sequentialIds({ format: 'objectId' }), logger: silent });
    await tracker.credit(ACCOUNT, { points: 100, costUsd: '1', reason: 'top-up', idempotencyKey: 'credit-1' });
    const cast = await tracker.startCast({ spellId: 'spell-race', initiatorAccountId: ACCOUNT, hold: { points: 50 } });

    const budgets = fake.collection(DEFAULT_COLLECTIONS.budgets) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = budgets.updateOne!.bind(budgets);
    let fired = false;
    budgets.updateOne = async (...args: unknown[]) => {
      const result = await original(...args);
      if (!fired) {
        fired = true;
        // After the count drew 20 from the reservation: the cast ends (30 released), and the dollars go.
        await tracker.finishCast(cast.id);
        await tracker.debit(ACCOUNT, { costUsd: '1', reason: 'spent elsewhere', idempotencyKey: 'debit-1' });
      }
      return result;
    };
    await expect(
      tracker.recordGeneration({ masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool', castId: cast.id, hold: { points: 20, costUsd: '0.5' } }),
    ).rejects.toBeInstanceOf(InsufficientFundsError);

    expect(await tracker.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 100, costUsd: '0' }, held: { points: 0 }, available: { points: 100 } });
    const releases = (await tracker.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items.filter((entry) => entry.kind === 'release');
    // The parent's release (what was free), then the undone step's drawn part (still held for nobody).
    expect(releases.map((entry) => [entry.cause.kind, entry.amount.points])).toEqual([['parent', 30], ['generation', 20]]);
    expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });
});

describe('mongo on mingo: parent holds, duplicate creations', () => {
  it('eight startCook({ hold }) with one idempotency key at once: one cook, one hold entry, 50 held once', async () => {
    const fake = new FakeDb({ topology: 'standalone' });
    const clock = manualClock();
    fake.setServerClock(() => clock.now());
    const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock, ids: sequentialIds({ format: 'objectId' }), logger: silent });
    await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-1' });
    const cooks = await Promise.all(
      Array.from({ length: 8 }, () => tracker.startCook({ collectionId: 'collection-race', initiatorAccountId: ACCOUNT, targetSupply: 2, idempotencyKey: 'cook-1', hold: { points: 50 } })),
    );
    expect(new Set(cooks.map((cook) => cook.id)).size).toBe(1);
    expect(await tracker.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 100 }, held: { points: 50 }, available: { points: 50 } });
    const holds = (await tracker.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items.filter((entry) => entry.kind === 'hold');
    expect(holds).toHaveLength(1);
    expect(await fake.asDb().collection<Document>(DEFAULT_COLLECTIONS.budgets).countDocuments({})).toBe(1);
  });
});

describe('mongo on mingo: parent holds, settlements racing the release', () => {
  it('six drawing steps charged above their holds complete at once with finishCast: every point charged once, nothing left held, no drift', async () => {
    const fake = new FakeDb({ topology: 'standalone' });
    const clock = manualClock();
    fake.setServerClock(() => clock.now());
    const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock, ids: sequentialIds({ format: 'objectId' }), logger: silent });
    await tracker.credit(ACCOUNT, { points: 200, reason: 'top-up', idempotencyKey: 'credit-1' });
    const cast = await tracker.startCast({ spellId: 'spell-race', initiatorAccountId: ACCOUNT, hold: { points: 100 } });
    const steps = [];
    for (let index = 0; index < 6; index += 1) {
      steps.push(await tracker.recordGeneration({ masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool', castId: cast.id, hold: { points: 10 } }));
    }
    await Promise.all([...steps.map((step) => tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 15 })), tracker.finishCast(cast.id)]);
    expect(await tracker.getAccount(ACCOUNT)).toMatchObject({ balance: { points: 110 }, held: { points: 0 }, available: { points: 110 }, spent: { points: 90 } });
    const entries = (await tracker.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items;
    expect(entries.filter((entry) => entry.kind === 'overdraft')).toEqual([]);
    expect(entries.filter((entry) => entry.cause.kind === 'parent' && entry.kind === 'release')).toHaveLength(1);
    expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });
});
