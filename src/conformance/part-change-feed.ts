/**
 * The change feed behind `tracker.watch()`: two trackers on two clients of one store; every update
 * made through one is seen by the other, in order per record, also after the watcher resumes from
 * a saved position, across a forced reconnect of the feed, and while the watcher's reads of the
 * changed records fail for seconds. On stores whose feed reports accounts
 * (`capabilities.accountChanges`), every account change (credit, debit, hold, settlement with its
 * capture, release and overdraft, reconcile's rewrite) reaches the other tracker's watch as an
 * `accountUpdate` with the account's exact figures, in order, also after resuming.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, WatchReadDelayedError } from '../errors.js';
import type { Account } from '../domain/accounts/records.js';
import type { LedgerRepository } from '../port.js';
import type { Tracker } from '../tracker/create-tracker.js';
import type { AccountUpdateEvent } from '../tracker/events.js';
import type { Watch, WatchedEvent } from '../tracker/watch.js';
import { failingReads, ReadFault } from './failing-reads.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

interface Seen {
  /** Versions seen per record, in arrival order. */
  readonly versions: Map<string, number[]>;
  readonly events: WatchedEvent[];
}

function collect(watch: Watch): Seen {
  const seen: Seen = { versions: new Map(), events: [] };
  const note = (key: string, version: number) => seen.versions.set(key, [...(seen.versions.get(key) ?? []), version]);
  for (const name of ['generationUpdate', 'generationProgress', 'generationFinished', 'castUpdate', 'castFinished', 'cookUpdate', 'cookFinished'] as const) {
    watch.on(name, (payload) => {
      seen.events.push({ name, payload } as WatchedEvent);
      if ('generation' in payload) note(`generation:${payload.generation.id}`, payload.generation.version);
      if ('cast' in payload) note(`cast:${payload.cast.id}`, payload.cast.version);
      if ('cook' in payload) note(`cook:${payload.cook.id}`, payload.cook.version);
    });
  }
  return seen;
}

/** A writer's scenario: a cook of two 2-step casts and a generation piece. Returns the final records' versions. */
async function writeScenario(writer: Tracker, midway?: () => Promise<void>) {
  const cook = await writer.startCook({ collectionId: 'collection-w', initiatorAccountId: 'account-w', targetSupply: 3 });
  const casts = [];
  for (let index = 0; index < 2; index += 1) {
    const cast = await writer.startCast({ spellId: 'spell-w', initiatorAccountId: 'account-w', cookId: cook.id, totalSteps: 2 });
    casts.push(cast);
    for (let step = 0; step < 2; step += 1) {
      const generation = await writer.recordGeneration(generationInput({ castId: cast.id, masterAccountId: 'account-w' }));
      await writer.reportProgress(generation.id, { progress: 0.5 });
      if (index === 0 && step === 0 && midway) await midway();
      await writer.completeGeneration(generation.id, { status: 'success', costUsd: '0.01', pointsSpent: 1 });
    }
  }
  const piece = await writer.recordGeneration(generationInput({ cookId: cook.id, masterAccountId: 'account-w' }));
  await writer.completeGeneration(piece.id, { status: 'success', costUsd: '0.5' });
  const finals = new Map<string, number>();
  for (const generation of (await writer.listGenerations({ cookId: cook.id, limit: 100 })).items) finals.set(`generation:${generation.id}`, generation.version);
  for (const cast of casts) finals.set(`cast:${cast.id}`, (await writer.getCast(cast.id))!.version);
  finals.set(`cook:${cook.id}`, (await writer.getCook(cook.id))!.version);
  return { cookId: cook.id, finals };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function expectInOrderAndComplete(seen: Seen, finals: Map<string, number>): void {
  for (const [key, versions] of seen.versions) {
    expect([...versions].sort((left, right) => left - right), `versions of ${key} arrive in order`).toEqual(versions);
  }
  for (const [key, version] of finals) expect(seen.versions.get(key)?.at(-1), `last version seen of ${key}`).toBe(version);
}

async function secondTracker(target: ConformanceTarget, harness: Harness): Promise<Tracker> {
  const repository = target.createSecond ? await target.createSecond() : harness.repository;
  return harness.newTracker({ repository });
}

const NO_ACCOUNT_FEED = 'the store declares no capabilities.accountChanges (its feed reports records only)';

/** Runs `body` on a fresh harness, or skips (printing why) when the store's feed reports no account changes. */
function withAccountFeed(target: ConformanceTarget, title: string, body: (harness: Harness) => Promise<void>): void {
  it(
    title,
    async (context) => {
      const harness = await createHarness(target);
      const { capabilities, changes } = harness.repository;
      if (!capabilities.accounts || !capabilities.accountChanges || !changes) {
        console.log(`[genledger conformance] ${target.name} change feed: "${title}" skipped: ${NO_ACCOUNT_FEED}`);
        context.skip(NO_ACCOUNT_FEED);
        return;
      }
      await body(harness);
    },
    target.timeoutMs ?? 60_000,
  );
}

/** The figures `getAccount` returns, without the bookkeeping fields. */
const figures = (account: Account) => ({ balance: account.balance, held: account.held, available: account.available, spent: account.spent });

/** An account id no other test (or earlier run on a shared store) has moved. */
const freshAccountId = (label: string) => `feed-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function collectAccount(watch: Watch): AccountUpdateEvent[] {
  const seen: AccountUpdateEvent[] = [];
  watch.on('accountUpdate', (event) => void seen.push(event));
  return seen;
}

function expectVersionsRise(seen: readonly AccountUpdateEvent[]): void {
  const versions = seen.map((event) => event.account.version);
  expect(versions, 'account versions arrive in order, each once').toEqual([...new Set(versions)].sort((left, right) => left - right));
}

/**
 * `repository` with its account reads (`accounts.get`) waiting, when `held`, until `release()`;
 * everything else, the change feed included, passes through.
 */
function heldAccountReads(repository: LedgerRepository, held: boolean): { readonly repository: LedgerRepository; release(): void } {
  let open = () => {};
  const gate = held ? new Promise<void>((resolve) => (open = resolve)) : Promise.resolve();
  // Proxies, as in failing-reads.ts: a store built as a class (private fields) still works.
  const bound = (target: object, key: PropertyKey) => {
    const value = Reflect.get(target, key) as unknown;
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  };
  const accounts = new Proxy(repository.accounts, {
    get: (target, key) =>
      key !== 'get'
        ? bound(target, key)
        : async (accountId: string) => {
            await gate;
            return target.get(accountId);
          },
  });
  const wrapped = new Proxy(repository, { get: (target, key) => (key === 'accounts' ? accounts : bound(target, key)) });
  return { repository: wrapped, release: () => open() };
}

export function changeFeedTests(target: ConformanceTarget): void {
  const timeout = target.timeoutMs ?? 60_000;
  describe(`${target.name}: change feed`, () => {
    it('every update made through one tracker is seen by another, in order per record', async () => {
      const harness = await createHarness(target);
      const writer = await secondTracker(target, harness);
      const watch = harness.tracker.watch({}, {});
      const seen = collect(watch);
      await watch.ready;
      const { cookId, finals } = await writeScenario(writer);
      await until(() => seen.events.some((event) => event.name === 'cookFinished'), timeout / 2, 'the cook to finish');
      await until(() => [...finals].every(([key, version]) => seen.versions.get(key)?.at(-1) === version), timeout / 2, 'every final version');
      expectInOrderAndComplete(seen, finals);
      const finished = seen.events.filter((event) => event.name === 'generationFinished');
      expect(finished).toHaveLength(5);
      const cookFinished = seen.events.find((event) => event.name === 'cookFinished');
      expect(cookFinished?.payload).toMatchObject({ cook: { id: cookId, status: 'completed', costUsd: '0.54' } });
      await watch.close();
    }, timeout);

    it('a watch filtered by cook sees only that cook and what is below it', async () => {
      const harness = await createHarness(target);
      const writer = await secondTracker(target, harness);
      const other = await writer.startCook({ collectionId: 'other', initiatorAccountId: 'account-x', targetSupply: 1 });
      const cook = await writer.startCook({ collectionId: 'mine', initiatorAccountId: 'account-x', targetSupply: 1 });
      const watch = harness.tracker.watch({ cookId: cook.id });
      try {
        const seen = collect(watch);
        await watch.ready;
        const noise = await writer.recordGeneration(generationInput({ cookId: other.id }));
        await writer.completeGeneration(noise.id, { status: 'success' });
        const mine = await writer.recordGeneration(generationInput({ cookId: cook.id }));
        await writer.completeGeneration(mine.id, { status: 'success' });
        // Changes to different records are read concurrently, so the cook's last event can come
        // before the generation's: wait for both.
        await until(
          () =>
            seen.events.some((event) => event.name === 'cookFinished') &&
            seen.events.some((event) => event.name === 'generationFinished' && event.payload.generation.id === mine.id),
          timeout / 2,
          'the cook and its piece to finish',
        );
        const ids = new Set(seen.events.map((event) => ('generation' in event.payload ? event.payload.generation.id : 'cook' in event.payload ? event.payload.cook.id : 'cast' in event.payload ? event.payload.cast.id : event.payload.account.accountId)));
        expect([...ids].sort()).toEqual([mine.id, cook.id].sort());
      } finally {
        // Closed whatever happens, so a failure here leaves no feed connection to the next test.
        await watch.close();
      }
    }, timeout);

    it('a watch resumed from a saved position catches up on what it missed', async () => {
      const harness = await createHarness(target);
      const writer = await secondTracker(target, harness);
      const first = harness.tracker.watch();
      const before = collect(first);
      await first.ready;
      let resumed: Watch | null = null;
      let after: Seen | null = null;
      const { finals } = await writeScenario(writer, async () => {
        // The watcher stops mid-scenario; changes keep landing; a new watch resumes where it stopped.
        await until(() => first.position !== null, timeout / 4, 'a first position');
        await new Promise((resolve) => setTimeout(resolve, 50));
        await first.close();
        const position = first.position!;
        const step = await writer.recordGeneration(generationInput({ masterAccountId: 'account-w' }));
        await writer.completeGeneration(step.id, { status: 'failed' });
        resumed = harness.tracker.watch({}, { after: position });
        after = collect(resumed);
        await resumed.ready;
      });
      await until(() => [...finals].every(([key, version]) => after!.versions.get(key)?.at(-1) === version), timeout / 2, 'every final version after resuming');
      const merged: Seen = { versions: new Map(before.versions), events: [...before.events, ...after!.events] };
      for (const [key, versions] of after!.versions) merged.versions.set(key, [...(merged.versions.get(key) ?? []), ...versions]);
      expectInOrderAndComplete(merged, finals);
      await (resumed as Watch | null)?.close();
    }, timeout);

    it('while the watcher cannot read the changed records for seconds, every final status still reaches the live watch', async () => {
      const harness = await createHarness(target);
      const writer = await secondTracker(target, harness);
      // The watcher's own view of the store: its record reads fail on demand (the store's server
      // restarting, its network gone); the feed and the writer are untouched.
      const reads = failingReads(harness.repository);
      const errors: unknown[] = [];
      const watch = harness.newTracker({ repository: reads.repository }).watch({}, { onError: (error) => void errors.push(error) });
      try {
        const seen = collect(watch);
        await watch.ready;
        let failingSince = 0;
        // The reads fail from the first step's progress on, so every completion, every cast and the
        // cook are changed while the watcher cannot read them.
        const { finals } = await writeScenario(writer, async () => {
          reads.fail();
          failingSince = Date.now();
        });
        await until(() => reads.failures() > 0, timeout / 4, 'the watcher to meet a failing read');
        // 2.5 s of failing reads: well past the ~0.75 s (five attempts) after which watch() used to
        // drop a change for good.
        const left = failingSince + 2_500 - Date.now();
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        // (Only this scenario's cook: a feed can still deliver an earlier test's late changes.)
        const scenarioCookFinished = () => seen.events.some((event) => event.name === 'cookFinished' && finals.has(`cook:${event.payload.cook.id}`));
        expect(scenarioCookFinished(), 'nothing of this scenario read while reads fail').toBe(false);
        reads.heal();
        await until(
          () => [...finals].every(([key, version]) => seen.versions.get(key)?.at(-1) === version),
          Math.min(timeout / 2, 20_000),
          'every final version after the reads recover',
        );
        expectInOrderAndComplete(seen, finals);
        expect(seen.events.filter((event) => event.name === 'generationFinished')).toHaveLength(5);
        expect(seen.events.filter((event) => event.name === 'cookFinished')).toHaveLength(1);
        // The delay was reported once, typed, as a store failure naming the read: never a lost change.
        expect(errors, 'the one report of the delay').toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(WatchReadDelayedError);
        expect(errors[0]).toMatchObject({ code: 'REPOSITORY_FAILURE', repository: harness.repository.name });
        expect((errors[0] as WatchReadDelayedError).operation).toMatch(/^(generations|casts|cooks)\.get$/);
        expect((errors[0] as WatchReadDelayedError).cause).toBeInstanceOf(ReadFault);
      } finally {
        await watch.close();
      }
    }, timeout);

    it('watch().ready rejects with a ConflictError on after for a position the feed never gave', async () => {
      const harness = await createHarness(target);
      const errors: unknown[] = [];
      const watch = harness.tracker.watch({}, { after: 'not-a-position', onError: (error) => void errors.push(error) });
      const error = await watch.ready.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ code: 'CONFLICT', field: 'after' });
      expect(errors).toContain(error);
      await watch.close();
    }, timeout);

    withAccountFeed(target, 'credits, debits, holds and settlements through one tracker reach the other watch as accountUpdate with the exact figures', async (harness) => {
      const timeout = target.timeoutMs ?? 60_000;
      const writer = await secondTracker(target, harness);
      const accountId = freshAccountId('steps');
      const watch = harness.tracker.watch({ masterAccountId: accountId });
      // Watches that must not hear of this account: filtered by another account, or by a cook.
      const otherAccount = harness.tracker.watch({ masterAccountId: `${accountId}-other` });
      const cook = await writer.startCook({ collectionId: 'collection-feed', initiatorAccountId: accountId, targetSupply: 1 });
      const byCook = harness.tracker.watch({ cookId: cook.id });
      try {
        const seen = collectAccount(watch);
        const strays = [collectAccount(otherAccount), collectAccount(byCook)];
        await Promise.all([watch.ready, otherAccount.ready, byCook.ready]);
        // Each step is seen before the next is made, so each event is exactly that step's.
        const step = async (change: AccountUpdateEvent['change'], act: () => Promise<unknown>) => {
          const before = await writer.getAccount(accountId);
          await act();
          const after = await writer.getAccount(accountId);
          await until(() => seen.some((event) => event.account.version >= after.version), timeout / 4, `the ${change} at version ${after.version}`);
          const event = seen.find((candidate) => candidate.account.version === after.version);
          expect(event, `an accountUpdate for version ${after.version}`).toBeDefined();
          expect(event!.change).toBe(change);
          expect(figures(event!.account)).toEqual(figures(after));
          const written = (await writer.listLedgerEntries({ accountId, cursor: before.entryCount === 0 ? null : String(before.entryCount), limit: 10 })).items;
          expect(event!.entries).toEqual(written);
          return event!;
        };
        await step('credit', () => writer.credit(accountId, { points: 100, costUsd: '1', reason: 'top-up', idempotencyKey: `${accountId}-top-up` }));
        const first = await writer.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, hold: { points: 30 } }));
        await until(() => seen.some((event) => event.change === 'held'), timeout / 4, 'the first hold');
        expect(seen.find((event) => event.change === 'held')).toMatchObject({ generationId: first.id, account: { held: { points: 30 }, available: { points: 70 } } });
        await step('debit', () => writer.debit(accountId, { points: 10, reason: 'refund', idempotencyKey: `${accountId}-refund` }));
        const released = await step('settled', () => writer.completeGeneration(first.id, { status: 'success', pointsSpent: 25 }));
        expect(released.generationId).toBe(first.id);
        expect(released.entries.map((entry) => entry.kind)).toEqual(['capture', 'release']);
        let second: { id: string } | null = null;
        const held = await step('held', async () => (second = await writer.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 60 } }))));
        expect(held.generationId).toBe(second!.id);
        // More than the hold and the available points left: capture what there is, and an overdraft.
        const overdrawn = await step('settled', () => writer.completeGeneration(second!.id, { status: 'success', pointsSpent: 70 }));
        expect(overdrawn.entries.map((entry) => entry.kind)).toContain('overdraft');
        expect(figures(overdrawn.account)).toEqual(figures(await harness.tracker.getAccount(accountId)));
        expectVersionsRise(seen);
        if (target.tamperAccount) {
          await target.tamperAccount(harness.repository, accountId, { balance: { points: 999, costUsd: '0' } });
          const repaired = await step('reconciled', () => writer.reconcileAccount(accountId));
          expect(repaired.entries).toEqual([]);
        } else {
          console.log(`[genledger conformance] ${target.name} change feed: reconcile's accountUpdate not checked: the target gives no tamperAccount()`);
        }
        // A watch filtered by another account or by a cook heard nothing of this account.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(strays).toEqual([[], []]);
      } finally {
        await Promise.all([watch.close(), otherAccount.close(), byCook.close()]);
      }
    });

    withAccountFeed(target, 'concurrent holds and settlements: every accountUpdate carries figures its entries explain, the last one the final figures', async (harness) => {
      const timeout = target.timeoutMs ?? 60_000;
      const writer = await secondTracker(target, harness);
      const accountId = freshAccountId('burst');
      const watch = harness.tracker.watch({ masterAccountId: accountId });
      try {
        const seen = collectAccount(watch);
        await watch.ready;
        await writer.credit(accountId, { points: 1_000, reason: 'top-up', idempotencyKey: `${accountId}-top-up` });
        await until(() => seen.length > 0, timeout / 4, 'the credit');
        const generations = await Promise.all(
          Array.from({ length: 12 }, () => writer.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 50 } }))),
        );
        await Promise.all([
          ...generations.map((generation, index) => writer.completeGeneration(generation.id, { status: 'success', pointsSpent: 10 + index })),
          writer.credit(accountId, { points: 7, reason: 'bonus', idempotencyKey: `${accountId}-bonus` }),
        ]);
        const final = await writer.getAccount(accountId);
        await until(() => seen.at(-1)?.account.version === final.version, timeout / 2, `version ${final.version}`);
        expectVersionsRise(seen);
        expect(figures(seen.at(-1)!.account)).toEqual(figures(final));
        // After the first event, the entries of all events are the account's entries, each once, in order.
        const all = (await writer.listLedgerEntries({ accountId, limit: 1_000 })).items;
        const delivered = seen.slice(1).flatMap((event) => event.entries);
        expect(delivered).toEqual(all.slice(seen[0]!.account.entryCount));
        for (const event of seen) {
          const last = event.entries.at(-1)!;
          expect(last.sequence, `entries end at the account's last (version ${event.account.version})`).toBe(event.account.entryCount);
          expect({ balance: event.account.balance, held: event.account.held }).toEqual({ balance: last.balanceAfter, held: last.heldAfter });
        }
      } finally {
        await watch.close();
      }
    });

    for (const pace of ['at their own pace', 'held until every write landed'] as const) {
      const quickTitle = `quick writes right after ready (one account or two; credits, a hold, a settlement), the watcher's account reads ${pace}: every entry reaches the watch, in order`;
      const coalescing = target.coalescingAccountFeed;
      if (coalescing) {
        // A feed that declares it may coalesce an account's changes (MongoDB's polling) cannot
        // promise every entry to a watch that first sees the account: skipped, saying so loudly.
        it(quickTitle, (context) => {
          console.log(`[genledger conformance] ${target.name} change feed: "${quickTitle}" NOT RUN: ${coalescing}`);
          context.skip(coalescing);
        });
        continue;
      }
      withAccountFeed(target, quickTitle, async (harness) => {
        const timeout = target.timeoutMs ?? 60_000;
        const writer = await secondTracker(target, harness);
        const label = freshAccountId('quick');
        const accounts = { credits: `${label}-credits`, hold: `${label}-hold`, generation: `${label}-generation`, first: `${label}-a`, second: `${label}-b` };
        // Held: the watcher reads no account until every write landed, so the first notice of each
        // account is read at a later version than its own (deterministic on every store; at their
        // own pace that happens when the store is quicker to write than the watcher to read).
        const reads = heldAccountReads(harness.repository, pace === 'held until every write landed');
        const watch = harness.newTracker({ repository: reads.repository }).watch();
        try {
          const seen = collectAccount(watch);
          await watch.ready;
          // No write waits for its notice.
          await writer.credit(accounts.credits, { points: 100, reason: 'top-up', idempotencyKey: `${label}-c1` });
          await writer.credit(accounts.credits, { points: 5, reason: 'bonus', idempotencyKey: `${label}-c2` });
          await writer.credit(accounts.hold, { points: 100, reason: 'top-up', idempotencyKey: `${label}-h1` });
          await writer.recordGeneration(generationInput({ masterAccountId: accounts.hold, hold: { points: 30 } }));
          await writer.credit(accounts.generation, { points: 100, reason: 'top-up', idempotencyKey: `${label}-g1` });
          const generation = await writer.recordGeneration(generationInput({ masterAccountId: accounts.generation, hold: { points: 20 } }));
          await writer.completeGeneration(generation.id, { status: 'success', pointsSpent: 15 });
          await writer.credit(accounts.first, { points: 1, reason: 'top-up', idempotencyKey: `${label}-a1` });
          await writer.credit(accounts.second, { points: 2, reason: 'top-up', idempotencyKey: `${label}-b1` });
          reads.release();
          for (const accountId of Object.values(accounts)) {
            const final = await writer.getAccount(accountId);
            const mine = () => seen.filter((event) => event.account.accountId === accountId);
            await until(() => mine().at(-1)?.account.version === final.version, timeout / 4, `${accountId} at version ${final.version}`);
            const events = mine();
            expectVersionsRise(events);
            expect(figures(events.at(-1)!.account)).toEqual(figures(final));
            // Every entry was written after ready, so each one is delivered (at least once), in
            // order within its event, and each event's entries end at its account's last.
            const all = (await writer.listLedgerEntries({ accountId, limit: 100 })).items;
            const delivered = new Map(events.flatMap((event) => event.entries).map((entry) => [entry.sequence, entry]));
            expect([...delivered.values()].sort((left, right) => left.sequence - right.sequence), `every entry of ${accountId} delivered`).toEqual(all);
            for (const event of events) {
              const sequences = event.entries.map((entry) => entry.sequence);
              expect(sequences, 'entries in order').toEqual([...sequences].sort((left, right) => left - right));
              expect(sequences.at(-1), `entries end at the account's last (version ${event.account.version})`).toBe(event.account.entryCount);
            }
          }
        } finally {
          reads.release();
          await watch.close();
        }
      });
    }

    withAccountFeed(target, 'a watch resumed from a saved position catches up on the account changes it missed', async (harness) => {
      const timeout = target.timeoutMs ?? 60_000;
      const writer = await secondTracker(target, harness);
      const accountId = freshAccountId('resume');
      const first = harness.tracker.watch({ masterAccountId: accountId });
      const before = collectAccount(first);
      await first.ready;
      await writer.credit(accountId, { points: 40, reason: 'top-up', idempotencyKey: `${accountId}-top-up` });
      await until(() => before.length === 1 && first.position !== null, timeout / 4, 'the credit');
      await first.close();
      const position = first.position!;
      // Missed while no watch runs: a hold, and its settlement.
      const generation = await writer.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 15 } }));
      await writer.completeGeneration(generation.id, { status: 'failed', pointsSpent: 4 });
      const final = await writer.getAccount(accountId);
      const resumed = harness.tracker.watch({ masterAccountId: accountId }, { after: position });
      try {
        const after = collectAccount(resumed);
        await resumed.ready;
        await until(() => after.at(-1)?.account.version === final.version, timeout / 2, `version ${final.version} after resuming`);
        expectVersionsRise([...before, ...after.filter((event) => event.account.version > before[0]!.account.version)]);
        expect(figures(after.at(-1)!.account)).toEqual(figures(final));
        expect(after.at(-1)).toMatchObject({ change: 'settled', generationId: generation.id });
        expect(final.spent.points).toBe(4);
        // First seen by this watch: its entries are every one written while no watch ran, the hold
        // and the settlement, after at most the change at the saved position again (at least
        // once: the credit the first watch reported), nothing older.
        const entries = (await writer.listLedgerEntries({ accountId, limit: 10 })).items;
        const holdEntry = entries.findIndex((entry) => entry.kind === 'hold');
        const carried = after.at(-1)!.entries;
        if (target.coalescingAccountFeed) {
          // The hold and the settlement came as one notice of the settlement's version: only the
          // settlement's entries are checked.
          console.log(`[genledger conformance] ${target.name} change feed: the missed hold's entry on resuming not checked: ${target.coalescingAccountFeed}`);
          expect(carried.slice(-2)).toEqual(entries.slice(holdEntry + 1));
          expect(carried.slice(-2).map((entry) => entry.kind)).toEqual(['capture', 'release']);
          return;
        }
        expect(carried.slice(-3)).toEqual(entries.slice(holdEntry));
        expect(carried.slice(-3).map((entry) => entry.kind)).toEqual(['hold', 'capture', 'release']);
        expect(carried.slice(0, -3), 'before the missed ones, only what the first watch reported').toEqual(before[0]!.entries.slice(before[0]!.entries.length - (carried.length - 3)));
      } finally {
        await resumed.close();
      }
    });

    const reconnectTitle = target.forceReconnect
      ? 'after a forced reconnect of the feed, nothing is missed'
      : 'after a forced reconnect of the feed, nothing is missed (skipped: this store has no feed connection to drop)';
    it.skipIf(!target.forceReconnect)(reconnectTitle, async () => {
      const harness = await createHarness(target);
      const writer = await secondTracker(target, harness);
      const watch = harness.tracker.watch();
      const seen = collect(watch);
      await watch.ready;
      const { finals } = await writeScenario(writer, () => target.forceReconnect!(harness.repository));
      await until(() => [...finals].every(([key, version]) => seen.versions.get(key)?.at(-1) === version), timeout / 2, 'every final version after the reconnect');
      expectInOrderAndComplete(seen, finals);
      await watch.close();
    }, timeout);
  });
}
