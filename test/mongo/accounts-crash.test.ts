/**
 * Accounts: crash at every DRIVER write of an account scenario (on the mingo fake), as
 * crash.test.ts does for roll-ups. A hold is taken inside `insertAttached` and settled inside
 * `settleGeneration`, each a sequence of single-document writes (the hidden child, its parents,
 * their budgets, the account, the entries, the intent's clear, the pulls); a move is the account
 * write and its entry's insert. The Nth driver write of the whole scenario fails, before it
 * reaches the data or after it landed (the reply lost), for every N; the host retries the public
 * call as a restarted process would, then `sweepStale` runs. The account, every ledger entry (by
 * sequence), the budgets, the generations' statuses and holds, and the private state (intents,
 * hidden children, in-progress entries on budgets) must equal the fault-free run every time, and
 * reconcileAccount must find no drift.
 */
import { describe, expect, it } from 'vitest';
import { BudgetExceededError, InsufficientFundsError } from '../../src/errors.js';
import { DEFAULT_COLLECTIONS, mongoRepository } from '../../adapters/mongo/index.js';
import { fromStoredId, toStoredId } from '../../adapters/mongo/ids.js';
import { fromAccountDocument } from '../../adapters/mongo/accounts/documents.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { id, MINUTE, silent, type HostStep, type Names } from '../../src/conformance/host-steps.js';
import type { WriteFaultMoment } from './fake-db.js';
import { causedByInjectedFault, differences, writeFaultBench, type ScenarioRun } from './write-fault-scenario.js';

const ACCOUNT = 'account-wallet';
const person = { masterAccountId: ACCOUNT, serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

type Refusal = typeof InsufficientFundsError | typeof BudgetExceededError;

/** A generation with a hold; `refusal`: the hold must be refused with that error. */
function hold(name: string, units: { points?: number; costUsd?: string }, links: { cast?: string; cook?: string } = {}, refusal?: Refusal): HostStep {
  return {
    label: `recordGeneration ${name} hold ${JSON.stringify(units)}`,
    async run(tracker, names) {
      const input = { ...person, castId: links.cast ? id(names, links.cast) : undefined, cookId: links.cook ? id(names, links.cook) : undefined, idempotencyKey: `key-${name}`, hold: units };
      try {
        const generation = await tracker.recordGeneration(input);
        if (refusal) throw new Error(`scenario: ${name} should have been refused`);
        names.set(name, { id: generation.id, kind: 'generation' });
      } catch (error) {
        if (refusal && error instanceof refusal) return;
        throw error;
      }
    },
  };
}

function complete(name: string, status: 'success' | 'failed', pointsSpent: number, costUsd = '0'): HostStep {
  return { label: `completeGeneration ${name} ${status} ${pointsSpent}`, run: (tracker, names) => tracker.completeGeneration(id(names, name), { status, pointsSpent, costUsd }) };
}

/**
 * 300 points and $1 credited, 5 debited; captures 25 (G1, completed twice), 10 and $0.2 (G2
 * failed with a cost), 22 (S1, 2 above its hold), 150 (G4, 40 from its hold, 83 from available,
 * 27 short: an overdraft entry); releases at a cancelled cook (P1) and a sweep (G5); refusals for
 * funds (G3, G5a) and for a cast's and a cook's budget (S2, P2).
 */
const SCENARIO: readonly HostStep[] = [
  { label: 'credit 200 and $1', run: (tracker) => tracker.credit(ACCOUNT, { points: 200, costUsd: '1', reason: 'top-up', idempotencyKey: 'credit-1' }) },
  hold('G1', { points: 30 }),
  hold('G2', { points: 30, costUsd: '0.5' }),
  hold('G3', { points: 500 }, {}, InsufficientFundsError),
  complete('G1', 'success', 25),
  complete('G1', 'success', 25),
  complete('G2', 'failed', 10, '0.2'),
  {
    label: 'startCook with a budget of 40',
    async run(tracker, names) {
      const cook = await tracker.startCook({ collectionId: 'collection-wallet', initiatorAccountId: ACCOUNT, targetSupply: 5, idempotencyKey: 'key-cook', budget: { points: 40 } });
      names.set('cook', { id: cook.id, kind: 'cook' });
    },
  },
  {
    label: 'startCast in the cook with a budget of 25',
    async run(tracker, names) {
      const cast = await tracker.startCast({ spellId: 'spell-wallet', initiatorAccountId: ACCOUNT, cookId: id(names, 'cook'), totalSteps: 3, idempotencyKey: 'key-cast', budget: { points: 25 } });
      names.set('cast', { id: cast.id, kind: 'cast' });
    },
  },
  hold('S1', { points: 20 }, { cast: 'cast' }),
  hold('S2', { points: 10 }, { cast: 'cast' }, BudgetExceededError),
  hold('P1', { points: 15 }, { cook: 'cook' }),
  hold('P2', { points: 10 }, { cook: 'cook' }, BudgetExceededError),
  complete('S1', 'success', 22),
  { label: 'debit 5', run: (tracker) => tracker.debit(ACCOUNT, { points: 5, reason: 'refund', idempotencyKey: 'debit-1' }) },
  hold('G4', { points: 40 }),
  complete('G4', 'success', 150),
  hold('G5a', { points: 5 }, {}, InsufficientFundsError),
  { label: 'credit 100', run: (tracker) => tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-2' }) },
  hold('G5', { points: 5 }),
  {
    // Both pass the creation's first read of the account (68 available); the account write takes
    // one, and the other's hidden child is deleted (the undo path, deleteOne).
    label: 'two holds of 40 at once',
    async run(tracker, names) {
      const outcomes = await Promise.allSettled(['R1', 'R2'].map((name) => tracker.recordGeneration({ ...person, idempotencyKey: `key-${name}`, hold: { points: 40 } })));
      const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      const failure = lost.find((error) => !(error instanceof InsufficientFundsError));
      if (failure !== undefined) throw failure;
      if (won.length !== 1) throw new Error(`scenario: ${won.length} of two holds of 40 taken`);
      names.set('R', { id: won[0]!.id, kind: 'generation' });
    },
  },
  { label: 'cancelCook', run: (tracker, names) => tracker.cancelCook(id(names, 'cook')) },
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
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
  // The entries as a set: a retry may order two independent entries differently (a cancelled
  // cook's cascade cut short is resumed by the sweep, after the sweep's own timeouts), and each
  // entry's balanceAfter/heldAfter follows the order. Their sequences must still run 1, 2, 3...
  // and replay into the account (reconcileAccount above finds no drift).
  const contiguous = listed.every((entry, index) => entry.sequence === index + 1);
  const entries = listed.map(({ kind, amount, fromHold, cause }) => ({ kind, amount, fromHold, cause }));
  const budgets: Record<string, unknown> = {};
  for (const document of await collection(DEFAULT_COLLECTIONS.budgets).find({}).toArray()) {
    const name = nameOf.get(fromStoredId(document.parentId) ?? '');
    if (name === undefined) {
      // A budget whose parent was never stored: a startCook/startCast that failed after its budget's
      // insert and before its own (the retry makes another id). Never read by anything; it must
      // be as stored (docs/mongodb.md, "Accounts").
      const pristine = (document.held as { points: number }).points === 0 && (document.spent as { points: number }).points === 0 && ((document.genledgerInProgress ?? []) as unknown[]).length === 0;
      budgets[`<a budget of a ${String(document.parentKind)} never stored${pristine ? '' : ', MOVED'}>`] = true;
      continue;
    }
    budgets[name] = { ...document, _id: undefined, parentId: undefined, version: undefined, genledgerInProgress: ((document.genledgerInProgress ?? []) as { c: unknown; k: string }[]).map((open) => `${nameOf.get(fromStoredId(open.c) ?? '') ?? '<a child never stored>'}:${open.k}`) };
  }
  const generations: Record<string, unknown> = {};
  for (const document of await collection('generationOutputs').find({}).toArray()) {
    const name = nameOf.get(fromStoredId(document._id) ?? '') ?? '<unnamed>';
    generations[name] = { status: document.status, hidden: document.version === 0, intent: (document.genledger as { op?: string } | undefined)?.op ?? null, hold: (document.genledgerHold as { status?: string } | undefined)?.status ?? null, pointsSpent: document.pointsSpent };
  }
  const counts: Record<string, number> = {};
  for (const name of ALL) if (name !== DEFAULT_COLLECTIONS.budgets) counts[name] = await collection(name).countDocuments({});
  const named = JSON.parse(
    JSON.stringify({ account, entries, contiguous, budgets, generations, counts }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'version' || key === 'at') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      if (value !== null && typeof value === 'object' && (value as { _bsontype?: string })._bsontype === 'Decimal128') return String(value);
      return value;
    }),
  ) as { entries: unknown[] };
  named.entries.sort((left, right) => (JSON.stringify(left) < JSON.stringify(right) ? -1 : 1));
  return named;
}

describe('mongo on mingo: accounts, crash at every driver write', () => {
  it(
    'failing the Nth driver write of an account scenario, before or after it lands, for every N: after the retry and sweepStale the account, its ledger, the budgets and the private state equal the fault-free run, and reconcileAccount finds no drift',
    async () => {
      const reference = await runScenario(null, 'before');
      const account = (reference.snapshot as { account: { balance: unknown; held: unknown; spent: unknown } }).account;
      // 300 credited - 5 debited - (25 + 10 + 22 + 150) captured; $1 - $0.2.
      expect(account.balance).toEqual({ points: 88, costUsd: '0.8' });
      expect(account.held).toEqual({ points: 0, costUsd: '0' });
      expect(account.spent).toEqual({ points: 207, costUsd: '0.2' });
      const entries = (reference.snapshot as { entries: { kind: string }[]; contiguous: boolean }).entries;
      const kinds = (kind: string) => entries.filter((entry) => entry.kind === kind).length;
      // G1, G2, S1, P1, G4, G5, R held; G1, G2, S1, G4 captured; G1, G2, P1, G5, R released; G4 short.
      expect({ credit: kinds('credit'), debit: kinds('debit'), hold: kinds('hold'), capture: kinds('capture'), release: kinds('release'), overdraft: kinds('overdraft') }).toEqual({
        credit: 2, debit: 1, hold: 7, capture: 4, release: 5, overdraft: 1,
      });
      expect((reference.snapshot as { contiguous: boolean }).contiguous).toBe(true);
      expect(reference.drift).toBe(false);
      expect(JSON.stringify(reference.snapshot)).not.toMatch(/"hidden":true|"intent":"|:attach|:settle/);
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
            ...differences(reference.snapshot, faulted.snapshot)
              .filter((path) => !/^\$\.budgets\.<a budget of a (cook|cast) never stored>$/.test(path))
              .map((path) => `differs at ${path}`),
          ].filter((problem): problem is string => problem !== null);
          if (wrong.length > 0) failures.push(`${where} (${operation}): ${wrong.join(', ')}`);
          runs += 1;
        }
      }
      expect(failures, `${failures.length} faulted runs differ from the fault-free run`).toEqual([]);
      const operations = new Set(fired.map((operation) => operation.split('.')[1]));
      expect([...operations].sort(), 'the driver operations faulted').toEqual(['deleteOne', 'findOneAndUpdate', 'insertMany', 'insertOne', 'updateOne']);
      console.log(
        `[genledger] mongo on mingo, accounts crash at every driver write: ${runs} faulted runs (${reference.writes} driver writes x before/after), ` +
          `every account, ledger entry, budget and private entry equal to the fault-free run, ${Date.now() - started} ms`,
      );
    },
    20 * 60_000,
  );
});

describe('mongo on mingo: accounts, a creation cut short and never retried', () => {
  it("two holds at once under a budgeted cook that the account covers once, the Nth driver write of the race failed and nobody retrying: another process's sweeps leave exactly one hold, counted once in the account and the budget, and nothing hidden or in progress", async () => {
    const runRace = async (nth: number | null, moment: WriteFaultMoment = 'before') => {
      const { clock, repository } = await bench.freshStore();
      const tracker = createTracker({ repository, clock, logger: silent });
      await tracker.credit(ACCOUNT, { points: 100, reason: 'top-up', idempotencyKey: 'credit-race' });
      // The budget takes both holds (120 of 200); the account takes one: the other's count is undone.
      const cook = await tracker.startCook({ collectionId: 'collection-race', initiatorAccountId: ACCOUNT, targetSupply: 5, budget: { points: 200 } });
      fake.failWrite({ nth, moment });
      const outcomes = await Promise.allSettled(['R1', 'R2'].map((name) => tracker.recordGeneration({ ...person, cookId: cook.id, idempotencyKey: `key-${name}`, hold: { points: 60 } })));
      const writes = fake.writeCount;
      const fired = fake.firedWriteFault;
      fake.failWrite({ nth: null, moment: 'before' });
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected' && !(outcome.reason instanceof InsufficientFundsError) && !causedByInjectedFault(outcome.reason)) throw outcome.reason;
      }
      // The process is gone; another one sweeps, past the leases, twice (the second pulls what the first finished).
      const other = createTracker({ repository: mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() }), clock, logger: silent });
      for (const _ of [1, 2]) {
        clock.advance(60 * MINUTE);
        await other.sweepStale({ olderThanMs: 24 * 60 * MINUTE });
      }
      const account = await other.getAccount(ACCOUNT);
      const budget = await repository.accounts.getBudget({ kind: 'cook', id: cook.id });
      const generations = await collection('generationOutputs').find({}).toArray();
      const leftovers = [
        ...generations.filter((document) => document.version === 0 || document.genledger !== undefined).map(() => 'a hidden child or an intent'),
        ...(await collection(DEFAULT_COLLECTIONS.budgets).find({ 'genledgerInProgress.0': { $exists: true } }).toArray()).map(() => 'a budget entry'),
        ...(await collection('cooks').find({ 'genledgerInProgress.0': { $exists: true } }).toArray()).map(() => 'a cook entry'),
      ];
      return { writes, fired, account, budget, generations: generations.length, leftovers, drift: (await other.reconcileAccount(ACCOUNT)).drift };
    };
    const reference = await runRace(null);
    expect(reference).toMatchObject({ generations: 1, leftovers: [], drift: false, account: { held: { points: 60 }, entryCount: 2 }, budget: { held: { points: 60 } } });
    const wrong: string[] = [];
    let runs = 0;
    for (const moment of ['before', 'after'] as const) for (let nth = 1; nth <= reference.writes; nth += 1) {
      let run: Awaited<ReturnType<typeof runRace>>;
      try {
        run = await runRace(nth, moment);
      } catch (error) {
        wrong.push(`write ${nth} ${moment}: ${String(error)}`);
        continue;
      }
      runs += 1;
      const where = `write ${nth} ${moment} (${run.fired?.operation ?? 'never fired'})`;
      if (run.fired === null) wrong.push(`${where}: the fault never fired`);
      if (run.generations !== 1) wrong.push(`${where}: ${run.generations} generations`);
      if (run.account.held.points !== 60 || run.account.entryCount !== 2) wrong.push(`${where}: account held ${run.account.held.points}, ${run.account.entryCount} entries`);
      if (run.budget?.held.points !== 60) wrong.push(`${where}: budget held ${run.budget?.held.points}`);
      if (run.leftovers.length > 0 || run.drift) wrong.push(`${where}: ${run.leftovers.join(', ')}${run.drift ? ' drift' : ''}`);
    }
    expect(wrong).toEqual([]);
    console.log(`[genledger] mongo on mingo, a refused hold's creation cut short at each of its ${reference.writes} driver writes (before/after), finished by another process's sweeps: ${runs} runs, one hold each, nothing left`);
  }, 5 * 60_000);
});
