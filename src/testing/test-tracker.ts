/**
 * A ready tracker for a host's own tests, on the store it is given (usually `memoryRepository()`
 * from genledger/memory): a manual clock, predictable ids and every event recorded. No test
 * framework is imported; use it from vitest, jest or node:test.
 *
 * The store is passed in, as the clock and ids are everywhere else: the core never imports an
 * adapter (adapters depend on the core, not the other way round), and the same helper serves a
 * test on PostgreSQL or MongoDB.
 */
import { ValidationError } from '../errors.js';
import type { LedgerRepository } from '../port.js';
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

export interface TestTracker<R extends LedgerRepository = LedgerRepository> {
  readonly tracker: Tracker;
  /** The store that was passed in, with its own type (a `MemoryRepository` keeps its inspection helpers). */
  readonly repository: R;
  readonly clock: ManualClock;
  /** Every event, in order. Clear it with `events.length = 0`. */
  readonly events: RecordedEvent[];
  /** The payloads of one event, in order. */
  eventsNamed<E extends TrackerEventName>(name: E): TrackerEvents[E][];
  /** Warnings and errors the tracker logged. */
  readonly logs: string[];
}

export interface TestTrackerOptions<R extends LedgerRepository = LedgerRepository>
  extends Omit<TrackerOptions, 'repository' | 'clock' | 'ids' | 'logger'> {
  /**
   * The store the tracker writes to: `memoryRepository()` from `genledger/memory` for a test that
   * needs no database. Pass a fresh one per test, so no test sees another's records.
   */
  readonly repository: R;
  readonly clock?: ManualClockOptions;
  readonly ids?: SequentialIdOptions;
}

/**
 * ```ts
 * import { memoryRepository } from 'genledger/memory';
 * import { createTestTracker } from 'genledger/testing';
 *
 * const { tracker, clock, eventsNamed } = createTestTracker({ repository: memoryRepository() });
 * ```
 */
export function createTestTracker<R extends LedgerRepository>(options: TestTrackerOptions<R>): TestTracker<R> {
  // Said here, with where to get one: 0.1.0's createTestTracker() took no store. Any other wrong
  // value is createTracker's to refuse, naming the option.
  if (options?.repository === undefined) {
    throw new ValidationError([
      {
        field: 'options.repository',
        reason: "is required: createTestTracker({ repository: memoryRepository() }), with memoryRepository from 'genledger/memory'",
      },
    ]);
  }
  const { clock: clockOptions, ids: idOptions, repository, ...trackerOptions } = options;
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
