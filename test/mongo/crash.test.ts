/**
 * Crash at every DRIVER write of the MongoDB adapter (on the mingo fake).
 *
 * The conformance suite's crash part fails whole port calls; on MongoDB the port's composites
 * (insertAttached, settleGeneration, casts.transition, replaceAggregates, recover) are sequences
 * of single-document writes that a port-level fault never splits. Here the fault is injected at
 * the driver: the Nth `insertOne` / `findOneAndUpdate` / `updateOne` / `delete*` of the whole
 * scenario fails, before it reaches the data (nothing written) or after it landed (the reply
 * lost), for every N. The host retries the public call as a restarted process would (a new
 * tracker; creations with the same idempotencyKey); then `sweepStale` runs, as in production.
 * The final state, records AND the adapter's private state (children's intents, parents'
 * in-progress entries), must equal the fault-free
 * run's every time, the ledger audit must be clean, and a reconcile of every parent afterwards
 * must find nothing to repair (so retry + sweep alone restored exactness).
 */
import { describe, expect, it } from 'vitest';
import type { Document } from 'mongodb';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { fromStoredId, toStoredId } from '../../adapters/mongo/ids.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { complete, id, MINUTE, record, silent, startCast, type HostStep, type Kind, type Names } from '../../src/conformance/host-steps.js';
import { FakeDb, InjectedWriteFault, type WriteFaultMoment } from './fake-db.js';

/** The host program: every composite of the adapter, cancellations, a step cancelling its cast, host finishes, and a sweep. */
const SCENARIO: readonly HostStep[] = [
  {
    label: 'startCook',
    async run(tracker, names) {
      const cook = await tracker.startCook({ collectionId: 'collection-crash', initiatorAccountId: 'account-crash', targetSupply: 4, idempotencyKey: 'key-cook' });
      names.set('cook', { id: cook.id, kind: 'cook' });
    },
  },
  startCast('castA', 'cook', 2),
  record('A1', { cast: 'castA' }, { notificationPlatform: 'telegram' }),
  { label: 'startGeneration A1', run: (tracker, names) => tracker.startGeneration(id(names, 'A1')) },
  { label: 'reportProgress A1', run: (tracker, names) => tracker.reportProgress(id(names, 'A1'), { progress: 0.5 }) },
  complete('A1', 'success', '0.1', 5),
  { label: 'recordDelivery A1', run: (tracker, names) => tracker.recordDelivery(id(names, 'A1'), { status: 'sent' }) },
  record('A2', { cast: 'castA', cook: 'cook' }),
  complete('A2', 'success', '0.2', 6),
  record('P1', { cook: 'cook' }),
  complete('P1', 'failed', '0.05', 1),
  startCast('castB', 'cook', 2),
  record('B1', { cast: 'castB' }),
  record('B2', { cast: 'castB' }),
  complete('B1', 'success', '0.3', 7),
  { label: 'cancelCast castB', run: (tracker, names) => tracker.cancelCast(id(names, 'castB')) },
  record('P2', { cook: 'cook' }),
  complete('P2', 'success', '0.4', 8),
  startCast('castC', 'cook', null),
  record('C1', { cast: 'castC' }),
  complete('C1', 'success', '0.0001', 1),
  { label: 'finishCast castC', run: (tracker, names) => tracker.finishCast(id(names, 'castC')) },
  startCast('castE', 'cook', 3),
  record('E1', { cast: 'castE' }),
  record('E2', { cast: 'castE' }),
  complete('E1', 'cancelled_by_user', '0.01', 1),
  startCast('castD', null, 2),
  record('D1', { cast: 'castD' }),
  record('D2', { cast: 'castD' }),
  complete('D1', 'timeout', '0', 0),
  record('P3', { cook: 'cook' }),
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
  // The next sweep (sweepStale runs every minute or so in production): it also pulls the
  // in-progress entries that an operation adopted by a retry leaves until its lease has passed.
  { label: 'advance the clock past the leases', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
];

const PARENTS = ['cook', 'castA', 'castB', 'castC', 'castD', 'castE'] as const;

interface ScenarioRun {
  readonly snapshot: unknown;
  readonly writes: number;
  readonly retries: number;
  readonly fired: InjectedWriteFault | null;
  readonly problems: readonly string[];
  readonly repairs: readonly string[];
  /** What the sweep's `recover()` finished. */
  readonly recovered: number;
}

function causedByInjectedFault(error: unknown): boolean {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    if (current instanceof InjectedWriteFault) return true;
  }
  return false;
}

const fake = new FakeDb({ topology: 'standalone' });
const collection = (name: string) => fake.asDb().collection<Document>(name);
let indexed = false;

async function runScenario(nth: number | null, moment: WriteFaultMoment): Promise<ScenarioRun> {
  for (const name of ['generationOutputs', 'casts', 'cooks']) await collection(name).deleteMany({});
  // One clock for the tracker, the adapter's leases and the fake server's $$NOW: the sweep's hour
  // later passes every lease, as it would on a server.
  const clock = manualClock();
  fake.setServerClock(() => clock.now());
  const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
  if (!indexed) {
    await repository.ensureIndexes();
    indexed = true;
  }
  const ids = sequentialIds({ format: 'objectId' });
  const names: Names = new Map();
  const newTracker = () => createTracker({ repository, clock, ids, logger: silent });
  let tracker = newTracker();
  let retries = 0;
  let recovered = 0;
  const run = async (step: HostStep) => {
    const result = await step.run(tracker, names);
    if (step.label === 'sweepStale') recovered += (result as { recovered: number }).recovered;
  };
  fake.failWrite({ nth, moment });
  for (const step of SCENARIO) {
    clock.advance(step.label.startsWith('advance') ? 60 * MINUTE : 1000);
    try {
      await run(step);
    } catch (error) {
      if (!causedByInjectedFault(error)) throw new Error(`step "${step.label}" failed with a fault at write ${nth} ${moment}: ${String(error)}`, { cause: error });
      // The process dies and restarts: a new tracker on the same store retries the same call.
      retries += 1;
      tracker = newTracker();
      await run(step);
    }
  }
  const writes = fake.writeCount;
  const fired = fake.firedWriteFault;
  fake.failWrite({ nth: null, moment: 'before' });
  const auditor = newTracker();
  const problems = await auditLedger(auditor, [id(names, 'cook')], PARENTS.filter((name) => name !== 'cook').map((name) => id(names, name)));
  const snapshot = await snapshotByName(names);
  const repairs: string[] = [];
  for (const name of PARENTS) {
    const report = await auditor.reconcile(name === 'cook' ? { cookId: id(names, name) } : { castId: id(names, name) });
    if (report.repaired) repairs.push(`${name}: ${report.differences.map((difference) => difference.field).join(', ')}`);
  }
  return { snapshot, writes, retries, fired, problems, repairs, recovered };
}

/**
 * Every record, every child's roll-up intent and every parent's in-progress entries (and any 0.1.0
 * open-entry list), ids replaced by scenario names, write counters dropped.
 */
async function snapshotByName(names: Names): Promise<unknown> {
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const raw = (kind: Kind, key: string) =>
    collection(kind === 'generation' ? 'generationOutputs' : kind === 'cast' ? 'casts' : 'cooks').findOne({ _id: toStoredId(key) as never });
  const records: Record<string, unknown> = {};
  const entries: Record<string, unknown> = {};
  for (const [name, entry] of [...names].sort(([left], [right]) => (left < right ? -1 : 1))) {
    const document = await raw(entry.kind, entry.id);
    if (document === null) {
      records[name] = null;
      continue;
    }
    records[name] = entry.kind === 'generation' ? fromGenerationDocument(document) : entry.kind === 'cast' ? fromCastDocument(document) : fromCookDocument(document);
    if (document.version === 0) entries[`${name}.hidden`] = true;
    if (document.genledger !== undefined) entries[`${name}.intent`] = (document.genledger as { op: string }).op;
    if (entry.kind !== 'generation') {
      const inProgress = (document.genledgerInProgress ?? []) as { c: unknown; k: string }[];
      if (inProgress.length > 0) entries[`${name}.genledgerInProgress`] = inProgress.map((open) => `${nameOf.get(fromStoredId(open.c) ?? '') ?? '<a child never stored>'}:${open.k}`).sort();
      for (const path of ['openSteps', 'openPieces', 'openGenerations']) {
        if (document[path] === undefined) continue;
        entries[`${name}.${path}`] = ((document[path] ?? []) as { id: unknown }[]).map((open) => nameOf.get(fromStoredId(open.id) ?? '') ?? '<a child never stored>').sort();
      }
    }
  }
  const counts = {
    generations: await collection('generationOutputs').countDocuments({}),
    casts: await collection('casts').countDocuments({}),
    cooks: await collection('cooks').countDocuments({}),
  };
  return JSON.parse(
    JSON.stringify({ records, entries, counts }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'version' || key === 'id') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      return value;
    }),
  );
}

/** The JSON paths where two snapshots differ (leaves only). */
function differences(expected: unknown, actual: unknown, path = '$'): string[] {
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) return [path];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].flatMap((key) => differences((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], `${path}.${key}`));
}

describe('mongo on mingo: crash at every driver write', () => {
  it(
    'failing the Nth driver write, before or after it lands, for every N: after the retry and sweepStale the records and the private entries equal the fault-free run, and reconcile finds nothing',
    async () => {
      const reference = await runScenario(null, 'before');
      expect(reference.problems).toEqual([]);
      expect(reference.repairs).toEqual([]);
      expect(reference.writes).toBeGreaterThan(40);
      expect(reference.recovered).toBe(0);
      expect(JSON.stringify(reference.snapshot)).not.toMatch(/intent|genledgerInProgress|hidden|openSteps|openPieces|openGenerations/);
      let runs = 0;
      let recovered = 0;
      const fired: string[] = [];
      const started = Date.now();
      const failures: string[] = [];
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
            faulted.problems.length > 0 ? `audit: ${faulted.problems.join('; ')}` : null,
            ...differences(reference.snapshot, faulted.snapshot).map((path) => `differs at ${path}`),
            faulted.repairs.length > 0 ? `reconcile repaired ${faulted.repairs.join('; ')}` : null,
          ].filter((problem): problem is string => problem !== null);
          if (wrong.length > 0) failures.push(`${where} (${operation}): ${wrong.join(', ')}`);
          runs += 1;
          recovered += faulted.recovered;
        }
      }
      expect(failures, `${failures.length} faulted runs differ from the fault-free run`).toEqual([]);
      // Some faults leave work only recover() can finish (the entries of an operation a retry adopted).
      expect(recovered).toBeGreaterThan(0);
      // Every kind of write the protocol sends was faulted: inserts, fenced applies and gate
      // transitions (findOneAndUpdate), intent clears and entry pulls (updateOne).
      const operations = new Set(fired.map((operation) => operation.split('.')[1]));
      expect([...operations].sort(), 'the driver operations faulted').toEqual(['findOneAndUpdate', 'insertOne', 'updateOne']);
      console.log(
        `[genledger] mongo on mingo, crash at every driver write: ${runs} faulted runs (${reference.writes} driver writes x before/after), ` +
          `every final state (records and private entries) equal to the fault-free run, recover() finished ${recovered} operations in all, ${Date.now() - started} ms`,
      );
    },
    20 * 60_000,
  );
});
