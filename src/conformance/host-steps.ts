/**
 * The building blocks of a host program for the crash tests (the conformance suite's crash part,
 * and MongoDB's crash-at-every-driver-write test): each step is one public call, retried as a
 * whole if it fails, with creations keyed so a retry gets the first record.
 */
import { GenledgerError } from '../errors.js';
import type { LedgerRepository } from '../port.js';
import { manualClock, type ManualClock } from '../testing/manual-clock.js';
import { sequentialIds } from '../testing/sequential-ids.js';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import { faultyRepository, InjectedFault, type FaultMoment } from './fault-injection.js';
import type { ConformanceTarget } from './types.js';

export type Kind = 'generation' | 'cast' | 'cook';
export type Names = Map<string, { id: string; kind: Kind }>;

export interface HostStep {
  readonly label: string;
  run(tracker: Tracker, names: Names): Promise<unknown>;
}

export const MINUTE = 60_000;
export const silent = { warn: () => {}, error: () => {} };

export function id(names: Names, name: string): string {
  const entry = names.get(name);
  if (!entry) throw new Error(`scenario bug: ${name} not created yet`);
  return entry.id;
}

export const person = { masterAccountId: 'account-crash', serviceName: 'svc', toolId: 'tool', toolDisplayName: 'Tool' };

export function record(name: string, links: { cast?: string; cook?: string }, extra: Record<string, unknown> = {}): HostStep {
  return {
    label: `recordGeneration ${name}`,
    async run(tracker, names) {
      const generation = await tracker.recordGeneration({
        ...person,
        ...extra,
        castId: links.cast ? id(names, links.cast) : undefined,
        cookId: links.cook ? id(names, links.cook) : undefined,
        idempotencyKey: `key-${name}`,
      });
      names.set(name, { id: generation.id, kind: 'generation' });
    },
  };
}

export function complete(name: string, status: 'success' | 'failed' | 'timeout' | 'cancelled_by_user', costUsd: string, pointsSpent: number): HostStep {
  return { label: `completeGeneration ${name}`, run: (tracker, names) => tracker.completeGeneration(id(names, name), { status, costUsd, pointsSpent }) };
}

export function startCast(name: string, cook: string | null, totalSteps: number | null): HostStep {
  return {
    label: `startCast ${name}`,
    async run(tracker, names) {
      const cast = await tracker.startCast({
        spellId: 'spell-crash',
        initiatorAccountId: 'account-crash',
        totalSteps,
        cookId: cook ? id(names, cook) : undefined,
        idempotencyKey: `key-${name}`,
      });
      names.set(name, { id: cast.id, kind: 'cast' });
    },
  };
}

/** What {@link runWithOneFault} leaves for the caller to read: the store under the faults, and the scenario's names. */
export interface FaultedRun {
  readonly inner: LedgerRepository;
  readonly clock: ManualClock;
  readonly ids: ReturnType<typeof sequentialIds>;
  readonly names: Names;
  /** Port calls the scenario made. */
  readonly calls: number;
  /** Steps that failed by the injected fault and were run again by a new tracker. */
  readonly retries: number;
}

/**
 * Runs `steps` on a fresh store of `target` whose port call number `failCall` fails once (before or
 * after it lands, per `moment`; `null`: no fault). A step that fails by the fault is retried whole
 * by a new tracker on the same store, as a host process that died and restarted would; any other
 * failure fails the run. Steps labelled `advance...` move the clock an hour, the others a second.
 */
export async function runWithOneFault(target: ConformanceTarget, steps: readonly HostStep[], failCall: number | null, moment: FaultMoment): Promise<FaultedRun> {
  await target.reset?.();
  const inner: LedgerRepository = await target.create();
  const faulty = faultyRepository(inner, { failCall, moment });
  const clock = manualClock();
  const ids = sequentialIds({ format: target.idFormat ?? 'readable' });
  const names: Names = new Map();
  let tracker = createTracker({ repository: faulty.repository, clock, ids, logger: silent });
  let retries = 0;
  for (const step of steps) {
    clock.advance(step.label.startsWith('advance') ? 60 * MINUTE : 1000);
    try {
      await step.run(tracker, names);
    } catch (error) {
      const injected = error instanceof GenledgerError && error.cause instanceof InjectedFault;
      if (!injected) throw new Error(`step "${step.label}" failed with a fault at call ${failCall} ${moment}: ${String(error)}`, { cause: error });
      // The process dies and restarts: a new tracker on the same store retries the same call.
      retries += 1;
      tracker = createTracker({ repository: faulty.repository, clock, ids, logger: silent });
      await step.run(tracker, names);
    }
  }
  return { inner, clock, ids, names, calls: faulty.calls(), retries };
}
