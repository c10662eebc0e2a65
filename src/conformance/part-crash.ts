/**
 * Crash at every write. A whole host scenario (a cook of cast pieces and generation pieces, with
 * progress, failures, a cancellation, a delivery and host finishes) is run once without faults,
 * then once for every N with the Nth port call failing, before the write and after it. The host
 * retries the call that failed as a restarted process would (a new tracker; creations with the
 * same idempotencyKey). After the sweeper and reconcile, the state must equal the fault-free
 * run's every time.
 */
import { describe, expect, it } from 'vitest';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import type { FaultMoment } from './fault-injection.js';
import { auditLedger } from './ledger-audit.js';
import type { ConformanceTarget, StoreInspector } from './types.js';
import { complete, id, MINUTE, record, runWithOneFault, silent, startCast, type HostStep, type Names } from './host-steps.js';

/** The host program. Each step is one public call, retried as a whole if it fails. */
const SCENARIO: readonly HostStep[] = [
  {
    label: 'startCook',
    async run(tracker, names) {
      const cook = await tracker.startCook({ collectionId: 'collection-crash', initiatorAccountId: 'account-crash', targetSupply: 3, idempotencyKey: 'key-cook' });
      names.set('cook', { id: cook.id, kind: 'cook' });
    },
  },
  startCast('castA', 'cook', 2),
  record('A1', { cast: 'castA' }, { notificationPlatform: 'telegram' }),
  { label: 'startGeneration A1', run: (tracker, names) => tracker.startGeneration(id(names, 'A1')) },
  { label: 'reportProgress A1', run: (tracker, names) => tracker.reportProgress(id(names, 'A1'), { progress: 0.5 }) },
  complete('A1', 'success', '0.1', 5),
  { label: 'recordDelivery A1', run: (tracker, names) => tracker.recordDelivery(id(names, 'A1'), { status: 'sent' }) },
  record('A2', { cast: 'castA' }),
  complete('A2', 'success', '0.2', 6),
  record('P1', { cook: 'cook' }),
  complete('P1', 'failed', '0.05', 1),
  startCast('castB', 'cook', 2),
  record('B1', { cast: 'castB' }),
  record('B2', { cast: 'castB' }),
  complete('B1', 'success', '0.3', 7),
  { label: 'cancelCast castB', run: (tracker, names) => tracker.cancelCast(id(names, 'castB')) },
  // A step cancelled by its user cancels its cast, whose other open step is then cancelled too
  // (a crash between the two is finished by the sweep, before it times anything out).
  startCast('castE', 'cook', 3),
  record('E1', { cast: 'castE' }),
  record('E2', { cast: 'castE' }),
  complete('E1', 'cancelled_by_user', '0', 0),
  record('P2', { cook: 'cook' }),
  complete('P2', 'success', '0.4', 8),
  startCast('castC', 'cook', null),
  record('C1', { cast: 'castC' }),
  complete('C1', 'success', '0.0001', 1),
  { label: 'finishCast castC', run: (tracker, names) => tracker.finishCast(id(names, 'castC')) },
  startCast('castD', null, 2),
  record('D1', { cast: 'castD' }),
  record('D2', { cast: 'castD' }),
  complete('D1', 'timeout', '0', 0),
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
  ...(['cook', 'castA', 'castB', 'castC', 'castD', 'castE'] as const).map((name) => ({
    label: `reconcile ${name}`,
    run: (tracker: Tracker, names: Names) => tracker.reconcile(names.get(name)!.kind === 'cook' ? { cookId: id(names, name) } : { castId: id(names, name) }),
  })),
];

interface ScenarioRun {
  readonly snapshot: unknown;
  readonly calls: number;
  readonly retries: number;
  readonly problems: readonly string[];
}

async function runScenario(target: ConformanceTarget, failCall: number | null, moment: FaultMoment): Promise<ScenarioRun> {
  const { inner, clock, ids, names, calls, retries } = await runWithOneFault(target, SCENARIO, failCall, moment);
  // The audit reads around the faulty wrapper: its calls are not part of the scenario.
  const auditor = createTracker({ repository: inner, clock, ids, logger: silent });
  const problems = await auditLedger(auditor, [id(names, 'cook')], ['castA', 'castB', 'castC', 'castD', 'castE'].map((name) => id(names, name)));
  return { snapshot: await snapshotByName(target.inspect(), names), calls, retries, problems };
}

/** Every record, with ids replaced by scenario names and write counters dropped, so runs compare. */
async function snapshotByName(inspect: StoreInspector, names: Names): Promise<unknown> {
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const records: Record<string, unknown> = {};
  for (const [name, entry] of [...names].sort(([left], [right]) => (left < right ? -1 : 1))) {
    records[name] = await inspect[entry.kind](entry.id);
  }
  const counts = await inspect.count();
  return JSON.parse(
    JSON.stringify({ records, counts }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'version' || key === 'id') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      return value;
    }),
  );
}

export function crashTests(target: ConformanceTarget): void {
  describe(`${target.name}: crash at every write`, () => {
    it(
      'failing the Nth port call, before or after the write, for every N: after retry, sweep and reconcile the state equals the fault-free run',
      async () => {
        const reference = await runScenario(target, null, 'before');
        expect(reference.problems).toEqual([]);
        let runs = 0;
        let retries = 0;
        const started = Date.now();
        for (const moment of ['before', 'after'] as const) {
          for (let failCall = 1; failCall <= reference.calls; failCall += 1) {
            const faulted = await runScenario(target, failCall, moment);
            expect(faulted.retries, `fault at call ${failCall} ${moment} never fired`).toBe(1);
            expect(faulted.problems, `audit after a fault at call ${failCall} ${moment}`).toEqual([]);
            expect(faulted.snapshot, `state after a fault at call ${failCall} ${moment}`).toEqual(reference.snapshot);
            runs += 1;
            retries += faulted.retries;
          }
        }
        console.log(
          `[genledger conformance] ${target.name} crash at every write: ${runs} faulted runs (${reference.calls} port calls x before/after), ` +
            `${retries} retries, every final state equal to the fault-free run, ${Date.now() - started} ms`,
        );
      },
      (target.timeoutMs ?? 60_000) * 10,
    );
  });
}
