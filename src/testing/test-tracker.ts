/**
 * A ready tracker for a host's own tests: the in-memory store, a manual clock, predictable ids and
 * every event recorded. No test framework is imported; use it from vitest, jest or node:test.
 */
import { memoryRepository, type MemoryRepository } from '../../adapters/memory/index.js';
import { createTracker, type Tracker, type TrackerOptions } from '../tracker/create-tracker.js';
import type { TrackerEventName, TrackerEvents } from '../tracker/events.js';
import { manualClock, type ManualClock, type ManualClockOptions } from './manual-clock.js';
import { sequentialIds, type SequentialIdOptions } from './sequential-ids.js';

const EVENT_NAMES: readonly TrackerEventName[] = [
  'generationUpdate',
  'generationProgress',
  'generationFinished',
  'castUpdate',
  'castFinished',
  'cookUpdate',
  'cookFinished',
];

/** One event as the tracker emitted it. */
export type RecordedEvent = { [E in TrackerEventName]: { readonly name: E; readonly payload: TrackerEvents[E] } }[TrackerEventName];

export interface TestTracker {
  readonly tracker: Tracker;
  readonly repository: MemoryRepository;
  readonly clock: ManualClock;
  /** Every event, in order. Clear it with `events.length = 0`. */
  readonly events: RecordedEvent[];
  /** The payloads of one event, in order. */
  eventsNamed<E extends TrackerEventName>(name: E): TrackerEvents[E][];
  /** Warnings and errors the tracker logged. */
  readonly logs: string[];
}

export interface TestTrackerOptions extends Omit<TrackerOptions, 'repository' | 'clock' | 'ids' | 'logger'> {
  readonly clock?: ManualClockOptions;
  readonly ids?: SequentialIdOptions;
}

export function createTestTracker(options: TestTrackerOptions = {}): TestTracker {
  const { clock: clockOptions, ids: idOptions, ...trackerOptions } = options;
  const repository = memoryRepository();
  const clock = manualClock(clockOptions);
  const logs: string[] = [];
  const tracker = createTracker({
    ...trackerOptions,
    repository,
    clock,
    ids: sequentialIds(idOptions),
    logger: { warn: (message) => logs.push(message), error: (message) => logs.push(message) },
  });
  const events: RecordedEvent[] = [];
  for (const name of EVENT_NAMES) {
    tracker.on(name, (payload) => {
      events.push({ name, payload } as RecordedEvent);
    });
  }
  return {
    tracker,
    repository,
    clock,
    events,
    logs,
    eventsNamed: <E extends TrackerEventName>(name: E) =>
      events.filter((event) => event.name === name).map((event) => event.payload as TrackerEvents[E]),
  };
}
