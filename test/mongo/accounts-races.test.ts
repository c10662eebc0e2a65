/**
 * Accounts raced 64 ways on the mingo fake, where every driver call yields to the event loop
 * first so concurrent calls interleave between writes as they do against a server: holds on ONE
 * account whose balance covers exactly N of M, the same creation (one key) raced with its hold,
 * the same credit (one key) raced, and every completion raced. The account's stored document is
 * read throughout: `available` is never below zero.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECTIONS, mongoRepository } from '../../adapters/mongo/index.js';
import { fromAccountDocument } from '../../adapters/mongo/accounts/documents.js';
import { toStoredId } from '../../adapters/mongo/ids.js';
import { InsufficientFundsError } from '../../src/errors.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { FakeDb } from './fake-db.js';

const WAYS = 64;
const COVERED = 40;
const HOLD = 25;
const ACCOUNT = 'account-race';
const silent = { warn: () => {}, error: () => {} };
const person = { masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

describe('mongo on mingo: accounts raced', () => {
  it(`${WAYS} holds at once on one account covering ${COVERED}: exactly ${COVERED} taken, ${WAYS - COVERED} refused writing nothing, available never negative; raced keys and completions move the account once`, async () => {
    const fake = new FakeDb();
    const db = fake.asDb();
    const repository = mongoRepository(db, { logger: silent });
    await repository.ensureIndexes();
    const tracker = createTracker({ repository, clock: manualClock({ autoAdvanceMs: 1 }), logger: silent });
    const accounts = db.collection<Document>(DEFAULT_COLLECTIONS.accounts);

    // One credit raced 64 ways with one key: applied once.
    const credits = await Promise.all(Array.from({ length: WAYS }, () => tracker.credit(ACCOUNT, { points: COVERED * HOLD, costUsd: '4', reason: 'top-up', idempotencyKey: 'top-up' })));
    expect(new Set(credits.map((credit) => credit.entry.sequence))).toEqual(new Set([1]));
    expect((await tracker.getAccount(ACCOUNT)).balance).toEqual({ points: COVERED * HOLD, costUsd: '4' });

    let racing = true;
    const observed: number[] = [];
    const watcher = (async () => {
      while (racing) {
        const document = await accounts.findOne({ _id: toStoredId(ACCOUNT) as never });
        if (document !== null) {
          const account = fromAccountDocument(document);
          observed.push(account.available.points, Number(account.available.costUsd));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    // 64 different holds at once, each also raced by a duplicate of its own creation (one key).
    const outcomes = await Promise.allSettled(
      Array.from({ length: WAYS }, (_, index) =>
        Promise.all([0, 1].map(() => tracker.recordGeneration({ ...person, idempotencyKey: `hold-${index}`, hold: { points: HOLD, costUsd: '0.1' } }))).then(([first, second]) => {
          expect(second!.id).toBe(first!.id);
          return first!;
        }),
      ),
    );
    const held = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(held).toHaveLength(COVERED);
    expect(refused).toHaveLength(WAYS - COVERED);
    for (const error of refused) expect(error).toBeInstanceOf(InsufficientFundsError);
    expect(await db.collection('generationOutputs').countDocuments({})).toBe(COVERED);
    const afterHolds = await tracker.getAccount(ACCOUNT);
    expect(afterHolds).toMatchObject({ held: { points: COVERED * HOLD, costUsd: '4' }, available: { points: 0, costUsd: '0' }, entryCount: 1 + COVERED });

    // Every completion raced 8 ways: each capture and release lands once.
    await Promise.all(held.flatMap((generation, index) => Array.from({ length: 8 }, () => tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 1 + (index % HOLD), costUsd: '0.05' }))));
    racing = false;
    await watcher;

    expect(observed.length).toBeGreaterThan(WAYS);
    expect(observed.filter((available) => available < 0)).toEqual([]);
    const captured = held.reduce((sum, _, index) => sum + 1 + (index % HOLD), 0);
    const final = await tracker.getAccount(ACCOUNT);
    expect(final).toMatchObject({
      balance: { points: COVERED * HOLD - captured, costUsd: '2' },
      held: { points: 0, costUsd: '0' },
      spent: { points: captured, costUsd: '2' },
      entryCount: 1 + COVERED * 3,
    });
    expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
    const entries = await db.collection<Document>(DEFAULT_COLLECTIONS.ledgerEntries).find({}).sort({ sequence: 1 }).toArray();
    expect(entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 1 + COVERED * 3 }, (_, index) => index + 1));
    expect(await db.collection<Document>('generationOutputs').countDocuments({ $or: [{ genledger: { $exists: true } }, { version: 0 }, { 'genledgerHold.status': { $ne: 'settled' } }] })).toBe(0);
  });
});
