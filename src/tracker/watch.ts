/**
 * `tracker.watch()`: the tracker's events for changes made by any process sharing the store, fed
 * by the store's change feed. For each change notice the watcher reads the record, and derives the
 * same typed events `on()` gives from what changed since the version it last saw. Changes to one
 * record are handled one after another, so its events arrive in order; a notice for a version
 * already seen is skipped, so a replayed or duplicated notice emits nothing twice, as long as the
 * record is among the last `memory` records seen. Beyond that, or in a new watch resumed from a
 * saved position, an event may come again: delivery is at least once, so make listeners
 * idempotent (a websocket message that sets a progress bar already is).
 */
import { castProgress, cookProgress } from '../domain/progress.js';
import type { Cast, Cook, EntityKind, Generation } from '../domain/records.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../domain/status.js';
import { ConflictError } from '../errors.js';
import type { ChangeNotice, ChangeSubscription } from '../port.js';
import type { TrackerContext } from './context.js';
import { TrackerEventBus, type ParentChange, type TrackerEventName, type TrackerEvents, type TrackerListener } from './events.js';

/** Which changes a watch reports; all given fields must match. */
export interface WatchFilter {
  readonly cookId?: string;
  readonly castId?: string;
  readonly masterAccountId?: string;
}

export interface WatchOptions {
  /** Resume after this position (`watch.position` of an earlier watch); omitted: from now. */
  readonly after?: string;
  /** Records whose last seen version is remembered, to derive what changed. @default 10000 */
  readonly memory?: number;
  /**
   * Hears what the watch cannot recover from by itself: the feed failing to start, a position
   * too old to resume from, a changed record that could not be read after retries.
   * @default the tracker's `logger.error`
   */
  readonly onError?: (error: unknown) => void;
}

/** One event from a watch, tagged with its name. */
export type WatchedEvent = { [E in TrackerEventName]: { readonly name: E; readonly payload: TrackerEvents[E] } }[TrackerEventName];

export interface Watch extends AsyncIterable<WatchedEvent> {
  on<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  once<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  off<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): void;
  /**
   * The position of the last change handled, with every change before it handled too: keep it to
   * resume a later watch where this one stopped, missing nothing. After a change that could not be
   * read (reported to `onError`), it stays before that change.
   */
  readonly position: string | null;
  /** Resolves once the feed is subscribed; rejects if it cannot be (the error also goes to `onError`). */
  readonly ready: Promise<void>;
  /** Stops watching; iterators end. */
  close(): Promise<void>;
}

type AnyRecord = Generation | Cast | Cook;

const READ_ATTEMPTS = 5;

function matches(filter: WatchFilter, kind: EntityKind, record: AnyRecord): boolean {
  if (kind === 'generation') {
    const generation = record as Generation;
    return (
      (filter.cookId === undefined || generation.cookId === filter.cookId) &&
      (filter.castId === undefined || generation.castId === filter.castId) &&
      (filter.masterAccountId === undefined || generation.masterAccountId === filter.masterAccountId)
    );
  }
  if (kind === 'cast') {
    const cast = record as Cast;
    return (
      (filter.cookId === undefined || cast.cookId === filter.cookId) &&
      (filter.castId === undefined || cast.id === filter.castId) &&
      (filter.masterAccountId === undefined || cast.initiatorAccountId === filter.masterAccountId)
    );
  }
  const cook = record as Cook;
  return (
    filter.castId === undefined &&
    (filter.cookId === undefined || cook.id === filter.cookId) &&
    (filter.masterAccountId === undefined || cook.initiatorAccountId === filter.masterAccountId)
  );
}

/** The events that describe going from `previous` (if seen) to `current`. */
export function eventsForChange(kind: EntityKind, previous: AnyRecord | undefined, current: AnyRecord): WatchedEvent[] {
  if (kind === 'generation') return generationEvents(previous as Generation | undefined, current as Generation);
  if (kind === 'cast') return castEvents(previous as Cast | undefined, current as Cast);
  return cookEvents(previous as Cook | undefined, current as Cook);
}

function generationEvents(previous: Generation | undefined, current: Generation): WatchedEvent[] {
  const links = { castId: current.castId, cookId: current.cookId };
  const events: WatchedEvent[] = [];
  const update = (change: TrackerEvents['generationUpdate']['change']) =>
    events.push({ name: 'generationUpdate', payload: { change, generation: current, ...links } });
  if (!previous) {
    if (current.version === 1 || current.status === 'pending') update('recorded');
  } else if (previous.status === 'pending' && current.status !== 'pending' && !isTerminalGenerationStatus(current.status)) {
    update('started');
  }
  if (!previous && current.status === 'processing' && current.version > 1) update('started');
  const wasFinished = previous !== undefined && isTerminalGenerationStatus(previous.status);
  if (!isTerminalGenerationStatus(current.status) && current.progress > (previous?.progress ?? 0)) {
    events.push({ name: 'generationProgress', payload: { generation: current, progress: current.progress, liveStatus: null, ...links } });
  }
  if (isTerminalGenerationStatus(current.status) && !wasFinished) {
    update('finished');
    events.push({ name: 'generationFinished', payload: { generation: current, ...links } });
  }
  const delivered = current.deliveryStatus === 'sent' || current.deliveryStatus === 'dropped';
  if (delivered && previous?.deliveryStatus !== current.deliveryStatus && (previous !== undefined || current.deliveryAttempts > 0))
    update('delivery');
  return events;
}

function parentChange(previous: Cast | Cook | undefined, current: Cast | Cook): ParentChange {
  if (!previous) return current.version === 1 ? 'started' : 'childFinished';
  if (previous.status !== current.status) {
    if (current.status === 'paused') return 'paused';
    if (previous.status === 'paused' && current.status === 'running') return 'resumed';
    if (current.status === 'cancelled') return 'cancelled';
    if (isTerminalParentStatus(current.status)) return 'finished';
  }
  return current.inFlightCount > previous.inFlightCount ? 'childRecorded' : 'childFinished';
}

function castEvents(previous: Cast | undefined, current: Cast): WatchedEvent[] {
  const progress = castProgress(current);
  const update: WatchedEvent = { name: 'castUpdate', payload: { change: parentChange(previous, current), cast: current, progress } };
  return endsNow(previous, current) ? [update, { name: 'castFinished', payload: { cast: current, progress } }] : [update];
}

function cookEvents(previous: Cook | undefined, current: Cook): WatchedEvent[] {
  const progress = cookProgress(current);
  const update: WatchedEvent = { name: 'cookUpdate', payload: { change: parentChange(previous, current), cook: current, progress } };
  return endsNow(previous, current) ? [update, { name: 'cookFinished', payload: { cook: current, progress } }] : [update];
}

/** Whether this is the first version seen in a terminal status. */
function endsNow(previous: Cast | Cook | undefined, current: Cast | Cook): boolean {
  return isTerminalParentStatus(current.status) && !(previous && isTerminalParentStatus(previous.status));
}

export function watchChanges(context: TrackerContext, filter: WatchFilter, options: WatchOptions): Watch {
  const feed = context.repository.changes;
  if (!feed) {
    throw new ConflictError(
      null,
      `repository "${context.repository.name}" has no change feed, so watch() cannot see other processes' changes; use on() in this process`,
    );
  }
  const bus = new TrackerEventBus((error, event) => context.logger.error(`[genledger] a watched "${event}" listener threw`, { error }));
  const memory = options.memory ?? 10_000;
  const seen = new Map<string, AnyRecord>();
  const queues = new Map<string, Promise<void>>();
  const waiting: ((result: IteratorResult<WatchedEvent>) => void)[] = [];
  const buffered: WatchedEvent[] = [];
  let position: string | null = options.after ?? null;
  let closed = false;
  let subscription: ChangeSubscription | null = null;

  function deliver(event: WatchedEvent): void {
    bus.emit(event.name, event.payload as never);
    const next = waiting.shift();
    if (next) next({ value: event, done: false });
    else if (iterating) buffered.push(event);
  }
  let iterating = false;

  const report = options.onError ?? ((error: unknown) => context.logger.error('[genledger] watch failed', { error }));

  async function read(notice: ChangeNotice): Promise<AnyRecord | undefined> {
    const store =
      notice.kind === 'generation'
        ? context.repository.generations
        : notice.kind === 'cast'
          ? context.repository.casts
          : context.repository.cooks;
    // A read that fails (a dropped connection) is retried: skipping it would miss the change.
    for (let attempt = 0; ; attempt += 1) {
      try {
        const [record] = await (store.get as (ids: readonly string[]) => Promise<AnyRecord[]>)([notice.id]);
        return record;
      } catch (error) {
        if (closed || attempt >= READ_ATTEMPTS - 1) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  async function handle(notice: ChangeNotice): Promise<void> {
    const key = `${notice.kind}:${notice.id}`;
    const previous = seen.get(key);
    if (closed || (previous && previous.version >= notice.version)) return;
    const current = await read(notice);
    if (closed || !current || (previous && previous.version >= current.version)) return;
    seen.delete(key);
    seen.set(key, current);
    if (seen.size > memory) seen.delete(seen.keys().next().value!);
    if (!matches(filter, notice.kind, current)) return;
    for (const event of eventsForChange(notice.kind, previous, current)) deliver(event);
  }

  /** Settles when every notice received so far has been handled; `position` follows it. */
  let handledInOrder: Promise<void> = Promise.resolve();
  /**
   * Set when a change could not be read after every retry: from then on `position` stays where it
   * is (before that change), so a watch resumed from it reads the change again. Later changes are
   * still delivered.
   */
  let unhandled: ChangeNotice | null = null;

  const ready = feed
    .subscribe({
      after: options.after,
      onChange(notice) {
        const key = `${notice.kind}:${notice.id}`;
        // One chain per record: its changes are read and emitted in order; records run side by side.
        const chain = (queues.get(key) ?? Promise.resolve())
          .then(() => handle(notice))
          .catch((error: unknown) => {
            unhandled ??= notice;
            report(
              Object.assign(
                new Error(
                  `[genledger] watch could not read ${key} after ${READ_ATTEMPTS} attempts; its position stays before this change, so a watch resumed from it reads the change again`,
                ),
                { cause: error, notice },
              ),
            );
          });
        queues.set(key, chain);
        void chain.then(() => {
          if (queues.get(key) === chain) queues.delete(key);
        });
        // The position moves in feed order, and only past changes that were handled: never past
        // one that could not be read.
        handledInOrder = Promise.all([handledInOrder, chain]).then(() => {
          if (unhandled === null) position = notice.position;
        });
      },
      onError: report,
    })
    .then((opened) => {
      subscription = opened;
      if (closed) void opened.close();
    });
  // Reported here, so a host that never awaits `ready` does not get an unhandled rejection.
  ready.catch(report);

  return {
    on: (event, listener) => bus.on(event, listener),
    once: (event, listener) => bus.once(event, listener),
    off: (event, listener) => bus.off(event, listener),
    get position() {
      return position;
    },
    ready,
    async close() {
      closed = true;
      await ready.catch(() => undefined);
      await subscription?.close();
      for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      iterating = true;
      return {
        next: () =>
          new Promise<IteratorResult<WatchedEvent>>((resolve) => {
            const event = buffered.shift();
            if (event) resolve({ value: event, done: false });
            else if (closed) resolve({ value: undefined, done: true });
            else waiting.push(resolve);
          }),
        return: async () => {
          iterating = false;
          buffered.length = 0;
          return { value: undefined, done: true };
        },
      };
    },
  };
}
