/**
 * Parent holds: crash at every DRIVER write of a parent-hold scenario (on the mingo fake), as
 * accounts-crash.test.ts does for generations' holds. A parent hold is taken by a sequence of
 * single-document writes (the hidden parent with its `hold` intent, its budget with the
 * reservation, the account and its entry, the intent's clear); a drawing child's creation and
 * settlement move the reservation in the budget's versioned write and the account after it; the
 * write that ends a parent is followed by the release (the budget, the account's entry, the
 * parent's mark). The Nth driver write of the whole scenario fails, before it reaches the data or
 * after it landed (the reply lost), for every N; the host retries the public call as a restarted
 * process would (same repository: this process's ended calls are adopted), then `sweepStale`
 * runs twice past the leases. The account, every ledger entry, the budgets with their
 * reservations, the parents' and generations' stored state must equal the fault-free run every
 * time, and reconcileAccount must find no drift.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECTIONS, mongoRepository } from '../../adapters/mongo/index.js';
import { fromStoredId, toStoredId } from '../../adapters/mongo/ids.js';
import { fromAccountDocument } from '../../adapters/mongo/accounts/documents.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { MINUTE, silent, type HostStep, type Names } from '../../src/conformance/host-steps.js';
import { PARENT_HOLD_CRASH_ACCOUNT, PARENT_HOLD_CRASH_SCENARIO } from '../../src/conformance/part-parent-holds.js';
import type { WriteFaultMoment } from './fake-db.js';
import { causedByInjectedFault, differences, writeFaultBench, type ScenarioRun } from './write-fault-scenario.js';

const ACCOUNT = PARENT_HOLD_CRASH_ACCOUNT;
const person = { masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

/**
 * The conformance part's parent-hold crash scenario (300 credited; a cook holding 100 and a cast
 * holding 50; captures above holds from the reservation and from available; refusals for the
 * budget and for funds; a failed step ending its cast with a step open), then two sweeps past the
 * roll-up leases, so recover() finishes what a failed write left.
 */
const SCENARIO: readonly HostStep[] = [
  ...PARENT_HOLD_CRASH_SCENARIO,
  { label: 'advance the clock past the leases', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
  { label: 'advance the clock past the leases', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
];

const bench = writeFaultBench();
const { fake, collection, collections: ALL } = bench;
const runScenario = (nth: number | null, moment: WriteFaultMoment) => bench.runScenario(SCENARIO, ACCOUNT, snapshot, nth, moment);

async function snapshot(auditor: ReturnType<typeof createTracker>, names: Names): Promise<unknown> {
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const stored = await collection(DEFAULT_COLLECTIONS.accounts).findOne({ _id: toStoredId(ACCOUNT) as never });
  const account = stored === null ? null : fromAccountDocument(stored);
  const listed = (await auditor.listLedgerEntries({ accountId: ACCOUNT, limit: 1000 })).items;
  // As a set (accounts-crash.test.ts says why); sequences must still run 1, 2, 3...
  const contiguous = listed.every((entry, index) => entry.sequence === index + 1);
  const entries = listed.map(({ kind, amount, fromHold, cause }) => ({ kind, amount, fromHold, cause }));
  const budgets: Record<string, unknown> = {};
  for (const document of await collection(DEFAULT_COLLECTIONS.budgets).find({}).toArray()) {
    const name = nameOf.get(fromStoredId(document.parentId) ?? '') ?? `<a budget of a ${String(document.parentKind)} never stored>`;
    budgets[name] = { ...document, _id: undefined, parentId: undefined, version: undefined, genledgerInProgress: ((document.genledgerInProgress ?? []) as { c: unknown; k: string }[]).map((open) => `${nameOf.get(fromStoredId(open.c) ?? '') ?? '<a child never stored>'}:${open.k}`) };
  }
  const records: Record<string, unknown> = {};
  for (const name of ['generationOutputs', 'casts', 'cooks']) {
    for (const document of await collection(name).find({}).toArray()) {
      const key = nameOf.get(fromStoredId(document._id) ?? '') ?? `<a ${name} document never named>`;
      records[key] = {
        status: document.status,
        hidden: document.version === 0,
        intent: (document.genledger as { op?: string } | undefined)?.op ?? null,
        hold: (document.genledgerHold as { status?: string } | undefined)?.status ?? null,
        parentHold: document.genledgerHeld ?? null,
        inProgress: ((document.genledgerInProgress ?? []) as unknown[]).length,
        pointsSpent: document.pointsSpent,
      };
    }
  }
  const counts: Record<string, number> = {};
  for (const name of ALL) counts[name] = await collection(name).countDocuments({});
  const named = JSON.parse(
    JSON.stringify({ account, entries, contiguous, budgets, records, counts }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'version' || key === 'at') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      if (value !== null && typeof value === 'object' && (value as { _bsontype?: string })._bsontype === 'Decimal128') return String(value);
      return value;
    }),
  ) as { entries: unknown[] };
  named.entries.sort((left, right) => (JSON.stringify(left) < JSON.stringify(right) ? -1 : 1));
  return named;
}

describe('mongo on mingo: parent holds, crash at every driver write', () => {
  it(
    'failing the Nth driver write of a parent-hold scenario, before or after it lands, for every N: after the retry and sweepStale the account, its ledger, the budgets with their reservations and the stored parents and children equal the fault-free run, and reconcileAccount finds no drift',
    async () => {
      const reference = await runScenario(null, 'before');
      const snapshot = reference.snapshot as { account: { balance: unknown; held: unknown; spent: unknown }; entries: { kind: string; cause: { kind: string } }[]; contiguous: boolean };
      // 300 credited - (10 + 40 + 5 + 40) captured; nothing held at the end.
      expect(snapshot.account).toMatchObject({ balance: { points: 205 }, held: { points: 0 }, spent: { points: 95 } });
      const count = (kind: string, cause: string) => snapshot.entries.filter((entry) => entry.kind === kind && entry.cause.kind === cause).length;
      // Parent holds: the cook's and the cast's taken, each released once.
      expect({ parentHolds: count('hold', 'parent'), parentReleases: count('release', 'parent') }).toEqual({ parentHolds: 2, parentReleases: 2 });
      expect(snapshot.contiguous).toBe(true);
      expect(reference.drift).toBe(false);
      expect(JSON.stringify(reference.snapshot)).not.toMatch(/"hidden":true|"intent":"|:attach|:settle|"parentHold":"held"/);
      let runs = 0;
      const fired: string[] = [];
      const failures: string[] = [];
      const started = Date.now();
      for (const moment of ['before', 'after'] as const) {
        for (let nth = 1; nth <= reference.writes; nth += 1) {
          const where = `a fault ${moment} driver write ${nth}`;
          let faulted: ScenarioRun;
          try {
            faulted = await runScenario(nth, moment);
          } catch (error) {
            failures.push(`${where}: ${String(error)}`);
            continue;
          }
          const operation = faulted.fired?.operation ?? 'never fired';
          fired.push(operation);
          const wrong = [
            faulted.fired === null ? 'the fault never fired' : null,
            faulted.retries !== 1 ? `${faulted.retries} retries` : null,
            faulted.drift ? 'reconcileAccount found drift' : null,
            ...differences(reference.snapshot, faulted.snapshot).map((path) => `differs at ${path}`),
          ].filter((problem): problem is string => problem !== null);
          if (wrong.length > 0) failures.push(`${where} (${operation}): ${wrong.join(', ')}`);
          runs += 1;
        }
      }
      expect(failures, `${failures.length} faulted runs differ from the fault-free run`).toEqual([]);
      console.log(
        `[genledger] mongo on mingo, parent holds crash at every driver write: ${runs} faulted runs (${reference.writes} driver writes x before/after), ` +
          `every account, ledger entry, budget, reservation and stored record equal to the fault-free run, ${Date.now() - started} ms`,
      );
    },
    20 * 60_000,
  );
});

describe('mongo on mingo: parent holds, a creation cut short and never retried', () => {
  it("startCook({ hold }) with its Nth driver write failed, before or after it lands, and nobody retrying: another process's sweeps past the lease leave either the cook visible with its hold taken once (one entry, the budget's reservation all free) or nothing at all, and nothing hidden", async () => {
    const runCut = async (nth: number | null, moment: WriteFaultMoment = 'before') => {
      const { clock, repository } = await bench.freshStore();
      const tracker = createTracker({ repository, clock, logger: silent });
      await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-cut' });
      fake.failWrite({ nth, moment });
      let failed: unknown = null;
      try {
        await tracker.startCook({ collectionId: 'collection-cut', initiatorAccountId: ACCOUNT, targetSupply: 5, idempotencyKey: 'key-cut', hold: { points: 60 } });
      } catch (error) {
        if (!causedByInjectedFault(error)) throw error;
        failed = error;
      }
      const writes = fake.writeCount;
      const fired = fake.firedWriteFault;
      fake.failWrite({ nth: null, moment: 'before' });
      // The process is gone; another one sweeps past the leases, twice.
      const other = createTracker({ repository: mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() }), clock, logger: silent });
      for (const _ of [1, 2]) {
        clock.advance(60 * MINUTE);
        await other.sweepStale({ olderThanMs: 24 * 60 * MINUTE });
      }
      const cooks = await collection('cooks').find({}).toArray();
      const budgets = await collection(DEFAULT_COLLECTIONS.budgets).find({}).toArray();
      const account = await other.getAccount(ACCOUNT);
      const entries = (await other.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items;
      return { writes, fired, failed, cooks, budgets, account, entries, drift: (await other.reconcileAccount(ACCOUNT)).drift };
    };
    const reference = await runCut(null);
    expect(reference.cooks).toHaveLength(1);
    expect(reference.account).toMatchObject({ held: { points: 60 }, available: { points: 40 }, entryCount: 2 });
    const wrong: string[] = [];
    let kept = 0;
    let undone = 0;
    for (const moment of ['before', 'after'] as const) {
      for (let nth = 1; nth <= reference.writes; nth += 1) {
        const run = await runCut(nth, moment);
        const where = `write ${nth} ${moment} (${run.fired?.operation ?? 'never fired'})`;
        if (run.fired === null || run.failed === null) wrong.push(`${where}: the fault never reached the call`);
        if (run.drift) wrong.push(`${where}: drift`);
        const hidden = run.cooks.filter((cook) => cook.version === 0 || cook.genledger !== undefined);
        if (hidden.length > 0) wrong.push(`${where}: a hidden cook or an intent left`);
        const holds = run.entries.filter((entry) => entry.kind === 'hold' && entry.cause.kind === 'parent');
        if (run.cooks.length === 1) {
          kept += 1;
          const reservation = run.budgets[0]?.reservation as { status?: string; free?: { points?: number } } | undefined;
          if (holds.length !== 1 || run.account.held.points !== 60 || run.budgets.length !== 1 || reservation?.status !== 'held' || reservation.free?.points !== 60) {
            wrong.push(`${where}: cook kept with ${holds.length} holds, held ${run.account.held.points}, ${run.budgets.length} budgets, reservation ${JSON.stringify(reservation)}`);
          }
        } else {
          undone += 1;
          if (run.cooks.length !== 0 || holds.length !== 0 || run.account.held.points !== 0 || run.budgets.length !== 0) {
            wrong.push(`${where}: ${run.cooks.length} cooks, ${holds.length} holds, held ${run.account.held.points}, ${run.budgets.length} budgets`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    console.log(`[genledger] mongo on mingo, startCook({ hold }) cut short at each of its ${reference.writes} driver writes (before/after), never retried, swept by another process: ${kept} kept with one hold, ${undone} with nothing written`);
  }, 5 * 60_000);
});

describe('mongo on mingo: parent holds, a release cut short between its budget and its account', () => {
  it('finishCast failed at the release\'s account write, then a drawing step settles (a budget write after the release) before the sweep: recover() still releases exactly what was free, once', async () => {
    const { clock, repository } = await bench.freshStore();
    const tracker = createTracker({ repository, clock, logger: silent });
    await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-release' });
    const cast = await tracker.startCast({ spellId: 'spell-release', initiatorAccountId: ACCOUNT, hold: { points: 50 } });
    const step = await tracker.recordGeneration({ ...person, castId: cast.id, hold: { points: 20 } });
    // finishCast's writes: the cast's transition, the budget's release, the account's entry (failed here), ...
    fake.failWrite({ nth: 3, moment: 'before' });
    await expect(tracker.finishCast(cast.id)).rejects.toSatisfy(causedByInjectedFault);
    expect(fake.firedWriteFault?.operation).toMatch(/genledgerAccounts\.updateOne$/);
    fake.failWrite({ nth: null, moment: 'before' });
    // The step settles after the reservation was released: 5 charged, 15 released to available.
    await tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 5 });
    expect((await tracker.getAccount(ACCOUNT)).held.points).toBe(30);
    clock.advance(60 * MINUTE);
    await tracker.sweepStale({ olderThanMs: 30 * MINUTE });
    const account = await tracker.getAccount(ACCOUNT);
    expect(account).toMatchObject({ balance: { points: 95 }, held: { points: 0 }, available: { points: 95 }, spent: { points: 5 } });
    const releases = (await tracker.listLedgerEntries({ accountId: ACCOUNT, limit: 100 })).items.filter((entry) => entry.cause.kind === 'parent' && entry.kind === 'release');
    expect(releases.map((entry) => entry.amount.points)).toEqual([30]);
    expect((await tracker.reconcileAccount(ACCOUNT)).drift).toBe(false);
  });
});
