/**
 * watch()'s account notices beyond what the conformance part checks on every store: a watch reads
 * an account only when it may emit its update (the filter admits the account, someone listens),
 * an account first seen after a reconcile reports `reconciled`, and a failing account read is
 * retried like a record's, with the delay reported as `accounts.get`.
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { WatchReadDelayedError } from '../../src/errors.js';
import type { LedgerRepository } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import type { AccountUpdateEvent } from '../../src/tracker/events.js';

const silent = { warn: () => undefined, error: () => undefined };

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The memory store with its account reads counted, and failing while `failing` says so. */
function countedStore() {
  const store = memoryRepository();
  const reads = { gets: 0, lists: 0, failing: false };
  const repository: LedgerRepository = {
    ...store,
    accounts: {
      ...store.accounts,
      get: (accountId) => {
        reads.gets += 1;
        return reads.failing ? Promise.reject(new Error('connection reset')) : store.accounts.get(accountId);
      },
      listEntries: (query) => {
        reads.lists += 1;
        return store.accounts.listEntries(query);
      },
    },
  };
  return { store, repository, reads };
}

describe('watch(): account notices', () => {
  it('reads no account for a watch filtered by cook, by another account, or with nobody listening; reads the one it reports', async () => {
    const { store, repository, reads } = countedStore();
    const writer = createTracker({ repository: store, logger: silent });
    const reader = createTracker({ repository, logger: silent });
    const byCook = reader.watch({ cookId: 'cook-x' });
    byCook.on('accountUpdate', () => undefined);
    const byOther = reader.watch({ masterAccountId: 'account-other' });
    byOther.on('accountUpdate', () => undefined);
    const unheard = reader.watch();
    unheard.on('generationUpdate', () => undefined);
    await Promise.all([byCook.ready, byOther.ready, unheard.ready]);
    await writer.credit('account-1', { points: 10, reason: 'top-up', idempotencyKey: 'k1' });
    await writer.debit('account-1', { points: 3, reason: 'refund', idempotencyKey: 'k2' });
    await until(() => byCook.position !== null && byOther.position !== null && unheard.position !== null, 'the three watches to handle the changes');
    expect(reads).toMatchObject({ gets: 0, lists: 0 });

    const heard = reader.watch({ masterAccountId: 'account-1' });
    const seen: AccountUpdateEvent[] = [];
    heard.on('accountUpdate', (event) => void seen.push(event));
    await heard.ready;
    await writer.credit('account-1', { points: 5, reason: 'bonus', idempotencyKey: 'k3' });
    await until(() => seen.length === 1, 'the credit');
    expect(reads.gets).toBe(1);
    expect(seen[0]).toMatchObject({ change: 'credit', account: { balance: { points: 12 }, available: { points: 12 } }, generationId: null });
    await Promise.all([byCook.close(), byOther.close(), unheard.close(), heard.close()]);
  });

  it("reads only an account's entries since its last seen version (at most 3 when first seen), however long its ledger", async () => {
    const store = memoryRepository();
    const read: number[] = [];
    const repository: LedgerRepository = {
      ...store,
      accounts: {
        ...store.accounts,
        listEntries: async (query) => {
          const found = await store.accounts.listEntries(query);
          read.push(found.length);
          return found;
        },
      },
    };
    const writer = createTracker({ repository: store, logger: silent });
    for (let index = 0; index < 1_000; index += 1) await writer.credit('account-1', { points: 1, reason: 'seed', idempotencyKey: `s${index}` });
    const watch = createTracker({ repository, logger: silent }).watch({ masterAccountId: 'account-1' });
    const seen: AccountUpdateEvent[] = [];
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    await writer.credit('account-1', { points: 1, reason: 'first', idempotencyKey: 'first' });
    await until(() => seen.length === 1, 'the first credit');
    await writer.debit('account-1', { points: 1, reason: 'second', idempotencyKey: 'second' });
    await until(() => seen.length === 2, 'the debit');
    // First seen: the last few entries to find its latest change; then the one entry since.
    expect(read).toEqual([3, 1]);
    expect(seen.map((event) => [event.change, event.entries.map((entry) => entry.sequence)])).toEqual([
      ['credit', [1_001]],
      ['debit', [1_002]],
    ]);
    await watch.close();
  });

  it('a watch far behind one account carries its last 1,000 entries and says how many it skipped (missedEntries)', async () => {
    const store = memoryRepository();
    let release: (() => void) | null = null;
    let gated = false;
    const read: number[] = [];
    const repository: LedgerRepository = {
      ...store,
      accounts: {
        ...store.accounts,
        get: async (accountId) => {
          if (gated) await new Promise<void>((resolve) => (release = resolve));
          return store.accounts.get(accountId);
        },
        listEntries: async (query) => {
          const found = await store.accounts.listEntries(query);
          read.push(found.length);
          return found;
        },
      },
    };
    const writer = createTracker({ repository: store, logger: silent });
    const watch = createTracker({ repository, logger: silent }).watch({ masterAccountId: 'account-1' });
    const seen: AccountUpdateEvent[] = [];
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    await writer.credit('account-1', { points: 1, reason: 'first', idempotencyKey: 'first' });
    await until(() => seen.length === 1, 'the first credit');
    // The watch's next read waits while 1,500 more entries are written.
    gated = true;
    await writer.credit('account-1', { points: 1, reason: 'seed', idempotencyKey: 's0' });
    await until(() => release !== null, 'the watch to read the account');
    for (let index = 1; index < 1_500; index += 1) await writer.credit('account-1', { points: 1, reason: 'seed', idempotencyKey: `s${index}` });
    gated = false;
    (release as unknown as () => void)();
    await until(() => seen.some((event) => event.account.entryCount === 1_501), 'the account at its last version');
    const caughtUp = seen.find((event) => event.account.entryCount === 1_501)!;
    expect(caughtUp.entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 1_000 }, (_, index) => 502 + index));
    expect(caughtUp.missedEntries).toBe(500);
    expect(caughtUp.account.balance.points).toBe(1_501);
    expect(seen[0]!.missedEntries).toBeUndefined();
    expect(Math.max(...read)).toBe(1_000);
    await watch.close();
  });

  it('an account first seen far behind its notice carries its last 1,000 entries and says how many it skipped (missedEntries)', async () => {
    const store = memoryRepository();
    let release: (() => void) | null = null;
    const repository: LedgerRepository = {
      ...store,
      accounts: {
        ...store.accounts,
        get: async (accountId) => {
          await new Promise<void>((resolve) => (release = resolve));
          return store.accounts.get(accountId);
        },
      },
    };
    const writer = createTracker({ repository: store, logger: silent });
    const watch = createTracker({ repository, logger: silent }).watch({ masterAccountId: 'account-1' });
    const seen: AccountUpdateEvent[] = [];
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    // The watch's first read of the account (for the notice of version 1) waits while 1,499 more
    // entries are written.
    await writer.credit('account-1', { points: 1, reason: 'first', idempotencyKey: 'first' });
    await until(() => release !== null, 'the watch to read the account');
    for (let index = 1; index < 1_500; index += 1) await writer.credit('account-1', { points: 1, reason: 'seed', idempotencyKey: `s${index}` });
    (release as unknown as () => void)();
    await until(() => seen.length === 1, 'the account at its last version');
    // All 1,500 were written after ready: 500 are not carried (the first among them), and said so.
    expect(seen[0]!.entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 1_000 }, (_, index) => 501 + index));
    expect(seen[0]!.missedEntries).toBe(500);
    expect(seen[0]!.account.entryCount).toBe(1_500);
    await watch.close();
  });

  it('an account first seen after a reconcile reports reconciled, with no entries', async () => {
    const store = memoryRepository();
    // The reconcile is stamped a millisecond after the credit (what tells the two apart, see watch.ts).
    const writer = createTracker({ repository: store, logger: silent, clock: manualClock({ autoAdvanceMs: 1 }) });
    await writer.credit('account-1', { points: 10, reason: 'top-up', idempotencyKey: 'k1' });
    store.tamperAccount('account-1', { balance: { points: 99, costUsd: '0' } });
    const watch = createTracker({ repository: store, logger: silent }).watch();
    const seen: AccountUpdateEvent[] = [];
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    const report = await writer.reconcileAccount('account-1');
    expect(report.drift).toBe(true);
    await until(() => seen.length === 1, 'the reconcile');
    expect(seen[0]).toMatchObject({ change: 'reconciled', entries: [], generationId: null, account: { balance: { points: 10 }, version: report.after.version } });
    await watch.close();
  });

  it('retries a failing account read until it succeeds, reporting the delay once as accounts.get', async () => {
    const { store, repository, reads } = countedStore();
    const writer = createTracker({ repository: store, logger: silent });
    const errors: unknown[] = [];
    const watch = createTracker({ repository, logger: silent }).watch({}, { onError: (error) => void errors.push(error) });
    const seen: AccountUpdateEvent[] = [];
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    reads.failing = true;
    await writer.credit('account-1', { points: 10, reason: 'top-up', idempotencyKey: 'k1' });
    await until(() => errors.length === 1, 'the delay to be reported');
    expect(seen).toEqual([]);
    expect(errors[0]).toBeInstanceOf(WatchReadDelayedError);
    expect(errors[0]).toMatchObject({ operation: 'accounts.get', change: { kind: 'account', id: 'account-1', version: 1 } });
    reads.failing = false;
    await until(() => seen.length === 1, 'the credit after the reads recover');
    expect(seen[0]).toMatchObject({ change: 'credit', account: { balance: { points: 10 } } });
    await watch.close();
  });

  it("reports a parent hold's take and its release at the parent's end, naming no generation", async () => {
    const store = memoryRepository();
    const writer = createTracker({ repository: store, logger: silent });
    const reader = createTracker({ repository: store, logger: silent });
    const seen: AccountUpdateEvent[] = [];
    const watch = reader.watch({ masterAccountId: 'account-1' });
    watch.on('accountUpdate', (event) => {
      seen.push(event);
    });
    await watch.ready;
    await writer.credit('account-1', { points: 100, reason: 'top-up', idempotencyKey: 'k1' });
    const cook = await writer.startCook({ collectionId: 'c', initiatorAccountId: 'account-1', targetSupply: 1, hold: { points: 40 } });
    await until(() => seen.length === 2, 'the credit and the hold');
    expect(seen[1]).toMatchObject({ change: 'held', generationId: null, entries: [{ kind: 'hold', cause: { kind: 'parent', parentKind: 'cook', parentId: cook.id } }] });
    expect(seen[1]!.account.held.points).toBe(40);
    await writer.finishCook(cook.id);
    await until(() => seen.length === 3, 'the release');
    expect(seen[2]).toMatchObject({ change: 'settled', generationId: null, entries: [{ kind: 'release', cause: { kind: 'parent', parentId: cook.id } }] });
    expect(seen[2]!.account).toMatchObject({ held: { points: 0 }, available: { points: 100 } });
    await watch.close();
  });
});
