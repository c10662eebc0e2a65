/**
 * Figure 2, round trips: the store calls each public method makes, counted (not estimated)
 *
 * - at the port, on the memory store (the calls the tracker makes into any store);
 * - as statements on PostgreSQL (every `pool.query` of a counting pool);
 * - as commands on the mingo-backed fake MongoDB `Db` of the test suite (every driver call
 *   through a collection). There is no MongoDB server on this machine, so MongoDB command
 *   monitoring of a real server is not measured; the fake counts what the adapter sends;
 * - beside the production pattern (bench/legacy-pattern.ts) doing the same work against the
 *   same PostgreSQL server and the same kind of fake `Db`, counted the same way.
 *
 * Also the time per completion of a cast step on PostgreSQL, genledger against the pattern.
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { mongoRepository } from '../adapters/mongo/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import type { LedgerRepository } from '../src/port.js';
import { FakeDb } from '../test/mongo/fake-db.js';
import { countingDb, countingRepository, emptyCount, type CallCount } from './counting.js';
import { legacyMongo, legacyPostgres, type LegacyStore } from './legacy-pattern.js';
import { benchSchema, type BenchPostgres, type CountingPool } from './postgres.js';
import { median } from './stats.js';
import { STEP } from './workloads.js';

/** One public call of the scenario, in order. `label: null` calls are part of the scenario but not a row of their own. */
interface ScenarioStep {
  readonly label: string | null;
  /** Whether the call is on the hot path (recording and finishing work), where no read should happen. */
  readonly hot: boolean;
  /** State changes the call makes (records written), for the "one per state change" goal. */
  readonly stateChanges: number;
  /** Documents the call touches (for MongoDB's "one command per document touched"). */
  readonly documents: number;
  readonly run: (tracker: Tracker, ids: ScenarioIds) => Promise<unknown>;
  readonly legacy: ((store: LegacyStore, ids: ScenarioIds) => Promise<unknown>) | null;
}

interface ScenarioIds {
  cook: string;
  cast: string;
  step1: string;
  step2: string;
  piece: string;
  solo: string;
  legacyCook: string;
  legacyCast: string;
  legacyStep1: string;
  legacyStep2: string;
  legacyPiece: string;
  legacySolo: string;
}

const account = 'account-bench';
const generationInput = {
  masterAccountId: account,
  toolId: STEP.toolId,
  toolDisplayName: STEP.toolDisplayName,
  serviceName: STEP.serviceName,
};
const completion = { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent } as const;

const SCENARIO: readonly ScenarioStep[] = [
  {
    label: 'startCook',
    hot: false,
    stateChanges: 1,
    documents: 1,
    run: async (tracker, ids) =>
      (ids.cook = (await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: account, targetSupply: 2 })).id),
    legacy: async (store, ids) => (ids.legacyCook = await store.insertCook(2)),
  },
  {
    label: 'startCast (a piece of the cook)',
    hot: true,
    stateChanges: 2,
    documents: 2,
    run: async (tracker, ids) =>
      (ids.cast = (await tracker.startCast({ spellId: 'spell-bench', initiatorAccountId: account, totalSteps: 2, cookId: ids.cook })).id),
    legacy: async (store, ids) => (ids.legacyCast = await store.insertCast(ids.legacyCook, 2)),
  },
  {
    label: 'recordGeneration (a step of that cast)',
    hot: true,
    stateChanges: 3,
    documents: 3,
    run: async (tracker, ids) => (ids.step1 = (await tracker.recordGeneration({ ...generationInput, castId: ids.cast })).id),
    legacy: async (store, ids) => (ids.legacyStep1 = await store.insertGeneration(ids.legacyCast, ids.legacyCook)),
  },
  {
    label: 'startGeneration',
    hot: true,
    stateChanges: 1,
    documents: 1,
    run: (tracker, ids) => tracker.startGeneration(ids.step1),
    legacy: (store, ids) => store.startGeneration(ids.legacyStep1),
  },
  {
    label: 'reportProgress',
    hot: true,
    stateChanges: 1,
    documents: 1,
    run: (tracker, ids) => tracker.reportProgress(ids.step1, { progress: 0.5 }),
    legacy: (store, ids) => store.reportProgress(ids.legacyStep1, 0.5),
  },
  {
    label: 'completeGeneration (a step; the cast goes on)',
    hot: true,
    stateChanges: 3,
    documents: 3,
    run: (tracker, ids) => tracker.completeGeneration(ids.step1, completion),
    legacy: (store, ids) => store.completeGeneration(ids.legacyStep1, STEP.costUsd, STEP.pointsSpent),
  },
  {
    label: null,
    hot: true,
    stateChanges: 3,
    documents: 3,
    run: async (tracker, ids) => {
      ids.step2 = (await tracker.recordGeneration({ ...generationInput, castId: ids.cast })).id;
      await tracker.startGeneration(ids.step2);
    },
    legacy: async (store, ids) => {
      ids.legacyStep2 = await store.insertGeneration(ids.legacyCast, ids.legacyCook);
      await store.startGeneration(ids.legacyStep2);
    },
  },
  {
    label: 'completeGeneration (the last step: the cast completes, its piece closes in the cook)',
    hot: true,
    stateChanges: 3,
    documents: 3,
    run: (tracker, ids) => tracker.completeGeneration(ids.step2, completion),
    legacy: (store, ids) => store.completeGeneration(ids.legacyStep2, STEP.costUsd, STEP.pointsSpent),
  },
  {
    label: 'recordGeneration (a cook piece)',
    hot: true,
    stateChanges: 2,
    documents: 2,
    run: async (tracker, ids) =>
      (ids.piece = (await tracker.recordGeneration({ ...generationInput, cookId: ids.cook, status: 'processing' })).id),
    legacy: async (store, ids) => (ids.legacyPiece = await store.insertGeneration(null, ids.legacyCook)),
  },
  {
    label: 'completeGeneration (a cook piece: the cook completes)',
    hot: true,
    stateChanges: 2,
    documents: 2,
    run: (tracker, ids) => tracker.completeGeneration(ids.piece, completion),
    legacy: (store, ids) => store.completeGeneration(ids.legacyPiece, STEP.costUsd, STEP.pointsSpent),
  },
  {
    label: 'completeGeneration again (a retried call)',
    hot: true,
    stateChanges: 0,
    documents: 0,
    run: (tracker, ids) => tracker.completeGeneration(ids.piece, completion),
    // Production repeated its calls (and counted the piece twice).
    legacy: (store, ids) => store.completeGeneration(ids.legacyPiece, STEP.costUsd, STEP.pointsSpent),
  },
  {
    label: 'recordGeneration (no parent)',
    hot: true,
    stateChanges: 1,
    documents: 1,
    run: async (tracker, ids) => (ids.solo = (await tracker.recordGeneration(generationInput)).id),
    legacy: async (store, ids) => (ids.legacySolo = await store.insertGeneration(null, null)),
  },
  {
    label: 'completeGeneration (no parent)',
    hot: true,
    stateChanges: 1,
    documents: 1,
    run: (tracker, ids) => tracker.completeGeneration(ids.solo, completion),
    legacy: (store, ids) => store.completeGeneration(ids.legacySolo, STEP.costUsd, STEP.pointsSpent),
  },
  {
    label: 'getCook',
    hot: false,
    stateChanges: 0,
    documents: 1,
    run: (tracker, ids) => tracker.getCook(ids.cook),
    legacy: (store, ids) => store.getCook(ids.legacyCook),
  },
];

export interface Counted {
  readonly reads: number;
  readonly writes: number;
}

export interface RoundTripRow {
  readonly call: string;
  readonly hot: boolean;
  readonly stateChanges: number;
  readonly documents: number;
  /** Port calls, on the memory store. */
  readonly port: Counted;
  /** Port calls and statements on PostgreSQL. */
  readonly postgresPort: Counted;
  readonly postgres: Counted;
  /** Commands genledger/mongo sends to the mingo fake. */
  readonly mongoFake: Counted;
  /** The production pattern's statements on PostgreSQL and commands on the fake. */
  readonly legacyPostgres: Counted;
  readonly legacyMongoFake: Counted;
}

export interface RoundTripResult {
  readonly rows: readonly RoundTripRow[];
  /** Milliseconds per completion of a cast step (cast goes on), sequential, median. */
  readonly completionMs: { readonly genledger: number; readonly legacy: number; readonly samples: number };
  readonly mongoServer: string;
}

interface Counter {
  reset(): void;
  read(): Counted;
}

/** A counter over a CallCount slot that the wrappers read at each call. */
function callCounter(): Counter & { current: CallCount } {
  const counter = {
    current: emptyCount(),
    reset() {
      counter.current = emptyCount();
    },
    read(): Counted {
      return { reads: counter.current.reads, writes: counter.current.writes };
    },
  };
  return counter;
}

/** Statements sent through a counting pool (not split into reads and writes). */
function statementCounter(pool: CountingPool): Counter {
  return {
    reset: () => pool.resetCount(),
    read: () => ({ reads: Number.NaN, writes: pool.queries }),
  };
}

/** Runs the scenario, each step between a reset and a read of every counter. */
async function runScenario(
  run: (step: ScenarioStep, ids: ScenarioIds) => Promise<unknown>,
  counters: readonly Counter[],
): Promise<Counted[][]> {
  const ids = {} as ScenarioIds;
  const results: Counted[][] = counters.map(() => []);
  for (const step of SCENARIO) {
    for (const counter of counters) counter.reset();
    await run(step, ids);
    counters.forEach((counter, index) => results[index]!.push(counter.read()));
  }
  return results;
}

export async function measureRoundTrips(
  postgres: BenchPostgres,
  pool: CountingPool,
  log: (line: string) => void = () => {},
): Promise<RoundTripResult> {
  // Memory: the port calls themselves.
  const memoryPort = callCounter();
  const memoryTracker = createTracker({ repository: countingRepository(memoryRepository(), () => memoryPort.current) });
  const [memory] = await runScenario((step, ids) => step.run(memoryTracker, ids), [memoryPort]);

  // PostgreSQL: port calls and statements.
  const pgRepository = await postgres.repository(pool, benchSchema('trips'));
  const pgPort = callCounter();
  const pgTracker = createTracker({ repository: countingRepository(pgRepository, () => pgPort.current) });
  const [pgPortCalls, pgStatements] = await runScenario((step, ids) => step.run(pgTracker, ids), [pgPort, statementCounter(pool)]);

  // MongoDB, on the mingo-backed fake Db (no server here): the commands genledger/mongo sends.
  const mongoCommands = callCounter();
  const mongo = mongoRepository(countingDb(new FakeDb(), () => mongoCommands.current) as never);
  await mongo.ensureIndexes();
  const mongoTracker = createTracker({ repository: mongo as LedgerRepository });
  const [mongoRun] = await runScenario((step, ids) => step.run(mongoTracker, ids), [mongoCommands]);

  // The production pattern on the same PostgreSQL server, and on a fake Db.
  const legacyPg = await legacyPostgres(pool, benchSchema('legacy'));
  const [legacyPgStatements] = await runScenario(async (step, ids) => step.legacy && step.legacy(legacyPg, ids), [statementCounter(pool)]);
  const legacyMongoCommands = callCounter();
  const legacyFake = legacyMongo(countingDb(new FakeDb(), () => legacyMongoCommands.current) as never);
  const [legacyMongoRun] = await runScenario(async (step, ids) => step.legacy && step.legacy(legacyFake, ids), [legacyMongoCommands]);

  const rows: RoundTripRow[] = [];
  SCENARIO.forEach((step, index) => {
    if (step.label === null) return;
    const port = pgPortCalls![index]!;
    const statements = pgStatements![index]!.writes;
    // The pattern makes the same calls on both stores: a SELECT for each findOne, an INSERT or
    // UPDATE for each insertOne or updateOne, so the fake's split is the SQL split.
    const legacySplit = legacyMongoRun![index]!;
    const legacyStatements = legacyPgStatements![index]!.writes;
    rows.push({
      call: step.label,
      hot: step.hot,
      stateChanges: step.stateChanges,
      documents: step.documents,
      port: memory![index]!,
      postgresPort: port,
      // Each port call is one statement: reads are the port's reads, the rest are writes.
      postgres: { reads: port.reads, writes: statements - port.reads },
      mongoFake: mongoRun![index]!,
      legacyPostgres:
        legacySplit.reads + legacySplit.writes === legacyStatements ? legacySplit : { reads: Number.NaN, writes: legacyStatements },
      legacyMongoFake: legacySplit,
    });
  });

  // Time per completion of a cast step on PostgreSQL, genledger against the pattern, interleaved.
  const samples = 200;
  const ours: number[] = [];
  const theirs: number[] = [];
  const cook = await pgTracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: account, targetSupply: samples });
  const legacyCook = await legacyPg.insertCook(samples);
  for (let index = 0; index < samples; index += 1) {
    const cast = await pgTracker.startCast({ spellId: 'spell-bench', initiatorAccountId: account, totalSteps: 2, cookId: cook.id });
    const step = await pgTracker.recordGeneration({ ...generationInput, castId: cast.id, status: 'processing' });
    const legacyCast = await legacyPg.insertCast(legacyCook, 2);
    const legacyStep = await legacyPg.insertGeneration(legacyCast, legacyCook);
    let start = performance.now();
    await pgTracker.completeGeneration(step.id, completion);
    ours.push(performance.now() - start);
    start = performance.now();
    await legacyPg.completeGeneration(legacyStep, STEP.costUsd, STEP.pointsSpent);
    theirs.push(performance.now() - start);
  }
  log(
    `  completion of a cast step on PostgreSQL: genledger ${median(ours).toFixed(3)} ms, production pattern ${median(theirs).toFixed(3)} ms (medians of ${samples})`,
  );

  return {
    rows,
    completionMs: { genledger: median(ours), legacy: median(theirs), samples },
    mongoServer: 'there is no mongod on this machine, and none can be installed without internet',
  };
}
