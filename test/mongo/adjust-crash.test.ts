/**
 * Crash at every DRIVER write of a re-price on MongoDB (the mingo fake), as test/mongo/crash.test.ts
 * does for the other composites: the Nth `insertOne` / `findOneAndUpdate` / `updateOne` of the whole
 * scenario fails, before it reaches the data or after it landed (the reply lost), for every N.
 * The host retries the public call as a restarted process would (a new tracker on the same store;
 * a re-price runs again from its first page), then `sweepStale` runs twice (the second past the
 * leases), as in production.
 *
 * The scenario completes generations with usage under a cast that is a cook piece, directly under
 * the cook, under a cast of its own and with no parent, one of them left mid-settle by a crash
 * sometimes; then applies a re-price under a corrected table, then another under a third table (so
 * every generation is adjusted twice: `adjust:1` then `adjust:2`). The final state (records,
 * children's intents, parents' in-progress entries) must equal the fault-free run's every time,
 * the ledger audit must be clean, and a reconcile of every parent must find nothing to repair.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository } from '../../adapters/mongo/index.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { fromStoredId, toStoredId } from '../../adapters/mongo/ids.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { PRICES, T0, T1 } from '../../src/conformance/part-pricing.js';
import { CORRECTED_PRICES, repriceAll } from '../../src/conformance/part-repricing.js';
import type { PriceTableInput } from '../../src/domain/pricing.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { FakeDb, InjectedWriteFault, type WriteFaultMoment } from './fake-db.js';

const MINUTE = 60_000;
const END = new Date('2026-12-31T00:00:00.000Z');
const silent = { warn: () => {}, error: () => {} };

const OTHER_PRICES: PriceTableInput = PRICES.map((entry) =>
  entry.toolId === 'tool-chat' && entry.serviceName === undefined
    ? { ...entry, versions: [entry.versions[0]!, { id: 'chat-v2-other', effectiveFrom: T1, units: { inputTokens: '0.0000025', outputTokens: '0.000015' }, pointsPerUsd: '1000' }] }
    : entry,
);

type Kind = 'generation' | 'cast' | 'cook';
type Names = Map<string, { id: string; kind: Kind }>;

interface World {
  readonly tracker: Tracker;
  readonly names: Names;
  /** Later trackers (this one's retry included) use `prices`. */
  usePrices(prices: PriceTableInput): void;
}

interface Step {
  readonly label: string;
  run(world: World): Promise<unknown>;
}

const idOf = (names: Names, name: string) => {
  const entry = names.get(name);
  if (!entry) throw new Error(`scenario bug: ${name} not created yet`);
  return entry.id;
};

function chat(name: string, links: { cast?: string; cook?: string }, offsetMs: number): Step {
  return {
    label: `recordGeneration ${name}`,
    async run({ tracker, names }) {
      const generation = await tracker.recordGeneration({
        masterAccountId: 'account-crash',
        serviceName: 'svc',
        toolId: 'tool-chat',
        toolDisplayName: 'Chat',
        requestTimestamp: new Date(T1.getTime() + offsetMs),
        castId: links.cast ? idOf(names, links.cast) : undefined,
        cookId: links.cook ? idOf(names, links.cook) : undefined,
        idempotencyKey: `key-${name}`,
      });
      names.set(name, { id: generation.id, kind: 'generation' });
    },
  };
}

function completeWithUsage(name: string, inputTokens: number, outputTokens: number): Step {
  return { label: `completeGeneration ${name}`, run: ({ tracker, names }) => tracker.completeGeneration(idOf(names, name), { status: 'success', usage: { inputTokens, outputTokens } }) };
}

function reprice(prices: PriceTableInput, label: string): Step[] {
  return [
    { label: `setPrices ${label}`, run: async (world) => world.usePrices(prices) },
    { label: `reprice ${label}`, run: ({ tracker }) => repriceAll(tracker, { toolId: 'tool-chat', from: T0, to: END, dryRun: false, limit: 2 }) },
  ];
}

const SCENARIO: readonly Step[] = [
  {
    label: 'startCook',
    async run({ tracker, names }) {
      const cook = await tracker.startCook({ collectionId: 'collection-crash', initiatorAccountId: 'account-crash', targetSupply: 10, idempotencyKey: 'key-cook' });
      names.set('cook', { id: cook.id, kind: 'cook' });
    },
  },
  ...(['castA', 'castL'] as const).map((name): Step => ({
    label: `startCast ${name}`,
    async run({ tracker, names }) {
      const cast = await tracker.startCast({ spellId: 'spell-crash', initiatorAccountId: 'account-crash', totalSteps: 3, cookId: name === 'castA' ? idOf(names, 'cook') : undefined, idempotencyKey: `key-${name}` });
      names.set(name, { id: cast.id, kind: 'cast' });
    },
  })),
  chat('A1', { cast: 'castA' }, 1),
  chat('A2', { cast: 'castA', cook: 'cook' }, 2),
  chat('P1', { cook: 'cook' }, 3),
  chat('L1', { cast: 'castL' }, 4),
  chat('S1', {}, 5),
  completeWithUsage('A1', 1200, 350),
  completeWithUsage('A2', 100, 2000),
  completeWithUsage('P1', 10, 10),
  completeWithUsage('L1', 5000, 1),
  completeWithUsage('S1', 7, 70),
  ...reprice(CORRECTED_PRICES, 'corrected'),
  ...reprice(OTHER_PRICES, 'other'),
  // The casts are left running (2 of 3 steps): the sweeps do not finish idle parents, since when
  // one looks idle depends on when a recovered apply last wrote it (a time, not an amount).
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
  { label: 'sweepStale', run: ({ tracker }) => tracker.sweepStale({ olderThanMs: 30 * MINUTE, finishIdleParents: false }) },
  { label: 'advance the clock past the leases', run: async () => {} },
  { label: 'sweepStale', run: ({ tracker }) => tracker.sweepStale({ olderThanMs: 30 * MINUTE, finishIdleParents: false }) },
];

const PARENTS = ['cook', 'castA', 'castL'] as const;

function causedByInjectedFault(error: unknown): boolean {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    if (current instanceof InjectedWriteFault) return true;
  }
  return false;
}

const fake = new FakeDb({ topology: 'standalone' });
const collection = (name: string) => fake.asDb().collection<Document>(name);
let indexed = false;

interface ScenarioRun {
  readonly snapshot: unknown;
  readonly writes: number;
  readonly retries: number;
  readonly fired: InjectedWriteFault | null;
  readonly problems: readonly string[];
  readonly repairs: readonly string[];
  readonly recovered: number;
}

async function runScenario(nth: number | null, moment: WriteFaultMoment): Promise<ScenarioRun> {
  for (const name of ['generationOutputs', 'casts', 'cooks']) await collection(name).deleteMany({});
  const clock = manualClock();
  fake.setServerClock(() => clock.now());
  const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
  if (!indexed) {
    await repository.ensureIndexes();
    indexed = true;
  }
  const ids = sequentialIds({ format: 'objectId' });
  const names: Names = new Map();
  let prices = PRICES;
  const newTracker = () => createTracker({ repository, clock, ids, logger: silent, prices, pointsPerUsd: '100' });
  let tracker = newTracker();
  const world = (): World => ({ tracker, names, usePrices: (table) => void (prices = table) });
  let retries = 0;
  let recovered = 0;
  const run = async (step: Step) => {
    const result = await step.run(world());
    if (step.label === 'sweepStale') recovered += (result as { recovered: number }).recovered;
  };
  fake.failWrite({ nth, moment });
  for (const step of SCENARIO) {
    clock.advance(step.label.startsWith('advance') ? 60 * MINUTE : 1000);
    try {
      await run(step);
    } catch (error) {
      if (!causedByInjectedFault(error)) throw new Error(`step "${step.label}" failed with a fault at write ${nth} ${moment}: ${String(error)}`, { cause: error });
      retries += 1;
      tracker = newTracker();
      await run(step);
    }
    if (step.label.startsWith('setPrices')) tracker = newTracker();
  }
  const writes = fake.writeCount;
  const fired = fake.firedWriteFault;
  fake.failWrite({ nth: null, moment: 'before' });
  const auditor = newTracker();
  const problems = await auditLedger(auditor, [idOf(names, 'cook')], ['castA', 'castL'].map((name) => idOf(names, name)));
  const snapshot = await snapshotByName(names);
  const repairs: string[] = [];
  for (const name of PARENTS) {
    const report = await auditor.reconcile(name === 'cook' ? { cookId: idOf(names, name) } : { castId: idOf(names, name) });
    if (report.repaired) repairs.push(`${name}: ${report.differences.map((difference) => difference.field).join(', ')}`);
  }
  return { snapshot, writes, retries, fired, problems, repairs, recovered };
}

/** Every record, every child's intent and every parent's in-progress entries, ids replaced by names, write counters dropped. */
async function snapshotByName(names: Names): Promise<unknown> {
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const records: Record<string, unknown> = {};
  const entries: Record<string, unknown> = {};
  for (const [name, entry] of [...names].sort(([left], [right]) => (left < right ? -1 : 1))) {
    const document = await collection(entry.kind === 'generation' ? 'generationOutputs' : entry.kind === 'cast' ? 'casts' : 'cooks').findOne({ _id: toStoredId(entry.id) as never });
    if (document === null) {
      records[name] = null;
      continue;
    }
    records[name] = entry.kind === 'generation' ? fromGenerationDocument(document) : entry.kind === 'cast' ? fromCastDocument(document) : fromCookDocument(document);
    if (document.genledger !== undefined) entries[`${name}.intent`] = (document.genledger as { op: string }).op;
    if (entry.kind !== 'generation') {
      const inProgress = (document.genledgerInProgress ?? []) as { c: unknown; k: string }[];
      if (inProgress.length > 0) entries[`${name}.genledgerInProgress`] = inProgress.map((open) => `${nameOf.get(fromStoredId(open.c) ?? '') ?? '?'}:${open.k}`).sort();
    }
  }
  return JSON.parse(
    JSON.stringify({ records, entries }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'version' || key === 'id') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      return value;
    }),
  );
}

function differences(expected: unknown, actual: unknown, path = '$'): string[] {
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) return [path];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].flatMap((key) => differences((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], `${path}.${key}`));
}

describe('mongo on mingo: crash at every driver write of a re-price', () => {
  it(
    'failing the Nth driver write, before or after it lands, for every N: after the retry and sweepStale the records and the private entries equal the fault-free run, and reconcile finds nothing',
    async () => {
      const reference = await runScenario(null, 'before');
      expect(reference.problems).toEqual([]);
      expect(reference.repairs).toEqual([]);
      expect(reference.recovered).toBe(0);
      expect(JSON.stringify(reference.snapshot)).not.toMatch(/intent|genledgerInProgress/);
      // Every generation was adjusted twice, and its parents received both differences.
      const records = (reference.snapshot as { records: Record<string, { costProvenance?: { adjustments: unknown[] } }> }).records;
      for (const name of ['A1', 'A2', 'P1', 'L1', 'S1']) expect(records[name]!.costProvenance!.adjustments).toHaveLength(2);
      let runs = 0;
      let recovered = 0;
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
      expect(recovered).toBeGreaterThan(0);
      const operations = new Set(fired.map((operation) => operation.split('.')[1]));
      expect([...operations].sort(), 'the driver operations faulted').toEqual(['findOneAndUpdate', 'insertOne', 'updateOne']);
      console.log(
        `[genledger] mongo on mingo, crash at every driver write of a re-price: ${runs} faulted runs (${reference.writes} driver writes x before/after), ` +
          `every final state equal to the fault-free run, recover() finished ${recovered} operations in all, ${Date.now() - started} ms`,
      );
    },
    20 * 60_000,
  );
});
