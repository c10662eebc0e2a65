/**
 * One tracker per test over a fresh repository, with a manual clock, predictable ids and every
 * event recorded. Time and ids come from injection, never from faking globals.
 */
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import type { TrackerEventName, TrackerEvents } from '../tracker/events.js';
import type { Logger } from '../tracker/context.js';
import type { LedgerRepository } from '../port.js';
import { manualClock, type ManualClock } from '../testing/manual-clock.js';
import { sequentialIds } from '../testing/sequential-ids.js';
import type { ConformanceTarget, StoreInspector } from './types.js';

export interface RecordedEvent<E extends TrackerEventName = TrackerEventName> {
  readonly name: E;
  readonly payload: TrackerEvents[E];
}

export interface Harness {
  readonly repository: LedgerRepository;
  readonly tracker: Tracker;
  readonly clock: ManualClock;
  readonly inspect: StoreInspector;
  readonly events: RecordedEvent[];
  readonly warnings: string[];
  /** Another tracker on the same store (a second process, or a restarted one). */
  newTracker(options?: { repository?: LedgerRepository }): Tracker;
  eventsNamed<E extends TrackerEventName>(name: E): TrackerEvents[E][];
}

const EVENT_NAMES: readonly TrackerEventName[] = [
  'generationUpdate', 'generationProgress', 'generationFinished', 'castUpdate', 'castFinished', 'cookUpdate', 'cookFinished',
];

export async function createHarness(target: ConformanceTarget): Promise<Harness> {
  await target.reset?.();
  const repository = await target.create();
  const clock = manualClock({ autoAdvanceMs: 1 });
  const ids = sequentialIds({ format: target.idFormat ?? 'readable' });
  const events: RecordedEvent[] = [];
  const warnings: string[] = [];
  const logger: Logger = { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) };
  const newTracker = (options: { repository?: LedgerRepository } = {}) =>
    createTracker({ repository: options.repository ?? repository, clock, ids, logger });
  const tracker = newTracker();
  for (const name of EVENT_NAMES) tracker.on(name, (payload) => void events.push({ name, payload } as RecordedEvent));
  return {
    repository,
    tracker,
    clock,
    inspect: target.inspect(),
    events,
    warnings,
    newTracker,
    eventsNamed: <E extends TrackerEventName>(name: E) => events.filter((event) => event.name === name).map((event) => event.payload as TrackerEvents[E]),
  };
}

/** A generation input with every required field, overridable. */
export function generationInput(overrides: Record<string, unknown> = {}) {
  return {
    masterAccountId: 'account-1',
    toolId: 'tool-sdxl',
    toolDisplayName: 'SDXL',
    serviceName: 'comfy',
    ...overrides,
  };
}
