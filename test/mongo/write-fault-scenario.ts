/**
 * The harness of the MongoDB write-fault tests on accounts (accounts-crash.test.ts,
 * parent-holds-crash.test.ts): one fake database per test file, a fresh store on it, and a host
 * scenario run with its Nth driver write failed (before or after it lands), each failed step
 * retried by a new tracker as a restarted process would. What the scenario is and what its
 * snapshot compares stay in each test file.
 */
import type { Collection, Document } from 'mongodb';
import { ConflictError } from '../../src/errors.js';
import { DEFAULT_COLLECTIONS, mongoRepository, type MongoRepository } from '../../adapters/mongo/index.js';
import { manualClock, type ManualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { MINUTE, silent, type HostStep, type Names } from '../../src/conformance/host-steps.js';
import { FakeDb, InjectedWriteFault, type WriteFaultMoment } from './fake-db.js';

/** Whether `error` (or one of its causes) is the fault the fake injected. */
export function causedByInjectedFault(error: unknown): boolean {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    if (current instanceof InjectedWriteFault) return true;
  }
  return false;
}

/** The JSON paths where two snapshots differ (leaves only). */
export function differences(expected: unknown, actual: unknown, path = '$'): string[] {
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) return [path];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].flatMap((key) => differences((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], `${path}.${key}`));
}

export interface ScenarioRun {
  readonly snapshot: unknown;
  readonly writes: number;
  readonly retries: number;
  readonly fired: InjectedWriteFault | null;
  readonly drift: boolean;
}

export interface WriteFaultBench {
  readonly fake: FakeDb;
  /** The collections a scenario writes (emptied by `freshStore`). */
  readonly collections: readonly string[];
  collection(name: string): Collection<Document>;
  /** Every collection emptied, a new clock tied to the fake's server clock, and a store on it (indexes made once per file). */
  freshStore(): Promise<{ clock: ManualClock; repository: MongoRepository }>;
  /**
   * Runs `steps` with the `nth` driver write failed at `moment` (`null`: no fault). A step that
   * fails by the fault is retried by a new tracker on the same store; a creation whose undo the
   * crash cut short answers that retry with a `ConflictError` asking to retry, and is retried once
   * more. Then `snapshot` describes the store, read by a fault-free tracker after
   * `reconcileAccount(account)`.
   */
  runScenario(
    steps: readonly HostStep[],
    account: string,
    snapshot: (auditor: Tracker, names: Names) => Promise<unknown>,
    nth: number | null,
    moment: WriteFaultMoment,
  ): Promise<ScenarioRun>;
}

export function writeFaultBench(): WriteFaultBench {
  const fake = new FakeDb({ topology: 'standalone' });
  const collection = (name: string) => fake.asDb().collection<Document>(name);
  const all = ['generationOutputs', 'casts', 'cooks', DEFAULT_COLLECTIONS.accounts, DEFAULT_COLLECTIONS.ledgerEntries, DEFAULT_COLLECTIONS.budgets];
  let indexed = false;

  async function freshStore() {
    for (const name of all) await collection(name).deleteMany({});
    const clock = manualClock();
    fake.setServerClock(() => clock.now());
    const repository = mongoRepository(fake.asDb(), { logger: silent, clock: () => clock.now() });
    if (!indexed) {
      await repository.ensureIndexes();
      indexed = true;
    }
    return { clock, repository };
  }

  async function runScenario(
    steps: readonly HostStep[],
    account: string,
    snapshot: (auditor: Tracker, names: Names) => Promise<unknown>,
    nth: number | null,
    moment: WriteFaultMoment,
  ): Promise<ScenarioRun> {
    const { clock, repository } = await freshStore();
    const ids = sequentialIds({ format: 'objectId' });
    const names: Names = new Map();
    const newTracker = () => createTracker({ repository, clock, ids, logger: silent });
    let tracker = newTracker();
    let retries = 0;
    fake.failWrite({ nth, moment });
    for (const step of steps) {
      clock.advance(step.label.startsWith('advance') ? 60 * MINUTE : 1000);
      try {
        await step.run(tracker, names);
      } catch (error) {
        if (!causedByInjectedFault(error)) throw new Error(`step "${step.label}" failed with a fault at write ${nth} ${moment}: ${String(error)}`, { cause: error });
        // The process dies and restarts: a new tracker on the same store retries the same call.
        retries += 1;
        tracker = newTracker();
        try {
          await step.run(tracker, names);
        } catch (again) {
          // A creation refused before the crash cut its undo short: finished and reported as a
          // conflict to retry (create.ts); the host retries, as the error says.
          if (!(again instanceof ConflictError) || !again.message.includes('retry it')) throw again;
          await step.run(tracker, names);
        }
      }
    }
    const writes = fake.writeCount;
    const fired = fake.firedWriteFault;
    fake.failWrite({ nth: null, moment: 'before' });
    const auditor = newTracker();
    const { drift } = await auditor.reconcileAccount(account);
    return { snapshot: await snapshot(auditor, names), writes, retries, fired, drift };
  }

  return { fake, collections: all, collection, freshStore, runScenario };
}
