/**
 * `tracker.watch()`: the tracker's events for changes made by any process sharing the store, fed
 * by the store's change feed. For each change notice the watcher reads the record, and derives the
 * same typed events `on()` gives from what changed since the version it last saw. Changes to one
 * record are handled one after another, so its events arrive in order; a notice for a version
 * already seen is skipped, so a replayed or duplicated notice emits nothing twice, as long as the
 * record is among the last `memory` records seen. Beyond that, or in a new watch resumed from a
 * saved position, an event may come again: delivery is at least once, so make listeners
 * idempotent (a websocket message that sets a progress bar already is).
 *
 * Stores whose feed reports accounts (`capabilities.accountChanges`) also give `accountUpdate`:
 * for an account notice the watcher reads the account (the figures `getAccount` returns) and the
 * ledger entries written since the version it last saw of it. Changes to one account coalesced in
 * one read make one event, with every entry since and `change` naming the last of them. An account
 * first seen by this watch reports the entries of the change its notice names and of every change
 * after it (writes that landed before the read, whose own notices then find that version seen):
 * the latest change only when the notice is of the version read (`reconciled` when it was written
 * at another time than its last entry, as only a reconcile does).
 *
 * A record that cannot be read (its store is failing) is read again, with a back-off doubling from
 * 50 ms up to 2 s, until it is read or the watch is closed: for as long as the watch is open, no
 * change is given up. Meanwhile `position` stays before that change, later changes to other records
 * still arrive, and `onError` hears of the delay once (a `WatchReadDelayedError`).
 */
import { castProgress, cookProgress } from '../domain/progress.js';
import { z } from 'zod';
import { idSchema } from '../domain/fields.js';
import type { Cast, Cook, EntityKind, Generation } from '../domain/records.js';
import type { Account, LedgerEntry } from '../domain/accounts/records.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../domain/status.js';
import { ConflictError, GenledgerError, RepositoryError, WatchReadDelayedError } from '../errors.js';
import type { ChangeNotice, ChangeSubscription } from '../port.js';
import type { TrackerContext } from './context.js';
import { TrackerEventBus, type ParentChange, type TrackerEventName, type TrackerEvents, type TrackerListener } from './events.js';

/**
 * Which changes a watch reports; all given fields must match. An account's updates match
 * `masterAccountId` (its id) and never `cookId` or `castId`.
 */
export interface WatchFilter {
  readonly cookId?: string;
  readonly castId?: string;
  readonly masterAccountId?: string;
}

export interface WatchOptions {
  /** Resume after this position (`watch.position` of an earlier watch); omitted: from now. */
  readonly after?: string;
  /** Records (and accounts) whose last seen version is remembered, to derive what changed. @default 10000 */
  readonly memory?: number;
  /**
   * Hears what the watch cannot recover from by itself (the feed failing to start, a position too
   * old to resume from), and delays it is riding out: a changed record it has not been able to
   * read for a while (a `WatchReadDelayedError`, once per spell of failing reads; it keeps trying).
   * @default the tracker's `logger.error`
   */
  readonly onError?: (error: unknown) => void;
}

/** `watch`'s filter, checked whole (unknown keys refused). */
export const watchFilterSchema = z.strictObject({
  cookId: idSchema.optional(),
  castId: idSchema.optional(),
  masterAccountId: idSchema.optional(),
});

/** `watch`'s options ({@link WatchOptions}), checked whole: a wrong one is a `ValidationError` naming it, unknown keys refused. */
export const watchOptionsSchema = z.strictObject({
  after: z.string().min(1).optional(),
  memory: z.number().int().min(1).optional(),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function', { error: 'must be a function (error) => void' }).optional(),
});

/**
 * One event from a watch, tagged with its name. `accountUpdate` comes only from stores whose feed
 * reports accounts (`capabilities.accountChanges`).
 */
export type WatchedEvent = { [E in TrackerEventName]: { readonly name: E; readonly payload: TrackerEvents[E] } }[TrackerEventName];

export interface Watch extends AsyncIterable<WatchedEvent> {
  on<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  once<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  off<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): void;
  /**
   * The position of the last change handled, with every change before it handled too: keep it to
   * resume a later watch where this one stopped, missing nothing. It never moves past a change
   * not handled yet: one whose record is still being read again, or was not read before `close()`.
   */
  readonly position: string | null;
  /**
   * Resolves once the feed is subscribed; rejects if it cannot be (the error also goes to
   * `onError`) with a `GenledgerError`: the feed's own (a `ConflictError` on `after` for a position
   * it never gave), or a `RepositoryError` (operation `changes.subscribe`, `cause` the driver's).
   */
  readonly ready: Promise<void>;
  /** Stops watching: the feed, and any read being retried, stop; iterators end. */
  close(): Promise<void>;
}

type AnyRecord = Generation | Cast | Cook;
/** What a watch reads for one notice: a record, or an account with its entries since. */
type Read =
  | { readonly kind: EntityKind; readonly record: AnyRecord }
  | { readonly kind: 'account'; readonly record: Account; readonly entries: readonly LedgerEntry[]; readonly noticedThrough: number };

/**
 * The most entries one account change writes: a settlement's capture, release and overdraft. A
 * watch that first sees an account reads this many of its last entries to find its latest change.
 */
const ENTRIES_PER_CHANGE_AT_MOST = 3;

/**
 * The most entries one `accountUpdate` from a watch carries. A watch far behind (an account written
 * thousands of times while it was busy or paused) reads the last this many and reports how many
 * it skipped in `missedEntries`, instead of reading the account's whole history at once.
 */
export const WATCH_ENTRIES_PER_EVENT_AT_MOST = 1_000;

/** The wait before reading again a record whose read failed: doubling from the first, at most the cap. */
const WATCH_READ_RETRY = { firstDelayMs: 50, maxDelayMs: 2_000 } as const;
/** Failed reads of one change (about 0.75 s of them) after which the delay is reported. */
const REPORT_AFTER_FAILED_READS = 5;

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

/** An account belongs to the watch only when no cook or cast is asked for, and the account matches. */
function accountIdMatches(filter: WatchFilter, accountId: string): boolean {
  return filter.cookId === undefined && filter.castId === undefined && (filter.masterAccountId === undefined || filter.masterAccountId === accountId);
}

/**
 * The entries the account's latest change wrote, at the end of `entries` (oldest first): a credit,
 * a debit or a hold is one entry; a settlement the run of capture, release and overdraft entries of
 * one generation. `[]` when the latest change wrote none (reconcile's rewrite).
 */
function latestChangeEntries(account: Account, entries: readonly LedgerEntry[]): readonly LedgerEntry[] {
  const last = entries.at(-1);
  // Reconcile rewrites the figures, not the entries: the account was written at another time than
  // its last entry. (Nothing else tells it apart: a reconcile stamped the very millisecond of the
  // last entry reads as that entry's change.)
  if (!last || last.sequence !== account.entryCount || account.updatedAt?.getTime() !== last.at.getTime()) return [];
  return changeEndingWith(entries);
}

/** The run of entries at the end of `entries` that one change wrote (see {@link latestChangeEntries}). */
function changeEndingWith(entries: readonly LedgerEntry[]): readonly LedgerEntry[] {
  const last = entries.at(-1);
  if (!last) return [];
  // A movement, a hold, and a parent's hold or release are one entry each.
  if (last.cause.kind !== 'generation' || last.kind === 'hold') return [last];
  const generationId = last.cause.generationId;
  let first = entries.length - 1;
  while (first > 0) {
    const before = entries[first - 1]!;
    if (before.kind === 'hold' || before.cause.kind !== 'generation' || before.cause.generationId !== generationId) break;
    first -= 1;
  }
  return entries.slice(first);
}

/**
 * The highest entry sequence the account can have had at `version`, read at `current`. Every entry
 * moves an account's version by one, and a reconcile by one more with no entry (see `appendEntry`
 * and `reconcileFigures` in src/domain/accounts/ledger.ts), so from `version` to the current one at
 * most `current.version - version` entries were written. Never above the entries written at
 * `version`: a reconcile in between makes it lower, and the event carries more, never fewer.
 */
function entriesAtVersionAtMost(current: Account, version: number): number {
  return Math.max(0, Math.min(current.entryCount, current.entryCount - (current.version - version)));
}

/**
 * The entries an account first seen by a watch reports, read at `current` for a notice of an
 * earlier or the same version: those of the noticed change (ending at `noticedThrough`), and every
 * one written after it. Writes that landed between the notice and the read are coalesced into this
 * event, and their own notices then find the version seen: without them here they would be lost.
 */
function firstSeenEntries(current: Account, entries: readonly LedgerEntry[], noticedThrough: number): { readonly written: readonly LedgerEntry[]; readonly owedAfter: number } {
  if (noticedThrough >= current.entryCount) {
    const written = latestChangeEntries(current, entries);
    return { written, owedAfter: (written[0]?.sequence ?? 1) - 1 };
  }
  const noticed = changeEndingWith(entries.filter((entry) => entry.sequence <= noticedThrough));
  const written = [...noticed, ...entries.filter((entry) => entry.sequence > noticedThrough)];
  // The read was capped short of the noticed change: at least its last entry is owed too.
  return { written, owedAfter: noticed.length > 0 ? noticed[0]!.sequence - 1 : Math.max(0, noticedThrough - 1) };
}

/**
 * The `accountUpdate` for an account read at a new version: `entries` are those written since the
 * version the watch saw before (with `previous`), or (without) those of the noticed change and
 * every one after it, `noticedThrough` being the noticed change's last entry at most
 * ({@link entriesAtVersionAtMost}; the account's entry count when the notice is of the version read).
 */
export function accountEventFor(
  previous: Account | undefined,
  current: Account,
  entries: readonly LedgerEntry[],
  noticedThrough: number = current.entryCount,
): WatchedEvent {
  const firstSeen = previous === undefined ? firstSeenEntries(current, entries, noticedThrough) : null;
  const written = firstSeen?.written ?? entries;
  const last = written.at(-1);
  const payload: TrackerEvents['accountUpdate'] =
    last === undefined
      ? { change: 'reconciled', account: current, entries: [], generationId: null }
      : last.cause.kind === 'movement'
        ? { change: last.kind === 'debit' ? 'debit' : 'credit', account: current, entries: written, generationId: null }
        : {
            change: last.kind === 'hold' ? 'held' : 'settled',
            account: current,
            entries: written,
            // A parent hold's take or release names the parent in its entry's cause, no generation.
            generationId: last.cause.kind === 'generation' ? last.cause.generationId : null,
          };
  // Entries owed (written since the version seen before, or since the noticed change) that this
  // event does not carry (capped read).
  const first = written[0];
  const missed = first === undefined ? 0 : first.sequence - 1 - (firstSeen?.owedAfter ?? previous!.entryCount);
  return { name: 'accountUpdate', payload: missed > 0 ? { ...payload, missedEntries: missed } : payload };
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
  // A re-price of a generation already seen finished: the version that only moved its cost.
  if (wasFinished && adjustmentCount(current) > adjustmentCount(previous)) update('costAdjusted');
  if (isTerminalGenerationStatus(current.status) && !wasFinished) {
    update('finished');
    events.push({ name: 'generationFinished', payload: { generation: current, ...links } });
  }
  const delivered = current.deliveryStatus === 'sent' || current.deliveryStatus === 'dropped';
  if (delivered && previous?.deliveryStatus !== current.deliveryStatus && (previous !== undefined || current.deliveryAttempts > 0))
    update('delivery');
  return events;
}

function adjustmentCount(generation: Generation): number {
  return generation.costProvenance?.adjustments.length ?? 0;
}

function finishedChildren(parent: Cast | Cook): number {
  let finished = 0;
  for (const count of Object.values(parent.outcomes)) finished += count;
  return finished;
}

function parentChange(previous: Cast | Cook | undefined, current: Cast | Cook): ParentChange {
  if (!previous) return current.version === 1 ? 'started' : 'childFinished';
  // Same status and children, other money: only a re-price's adjustment moves a parent so.
  if (
    previous.status === current.status &&
    previous.inFlightCount === current.inFlightCount &&
    finishedChildren(previous) === finishedChildren(current) &&
    (previous.costUsd !== current.costUsd || previous.pointsSpent !== current.pointsSpent)
  )
    return 'costAdjusted';
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

function storeNameOf(kind: EntityKind): 'generations' | 'casts' | 'cooks' {
  return kind === 'generation' ? 'generations' : kind === 'cast' ? 'casts' : 'cooks';
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
  const seen = new Map<string, AnyRecord | Account>();
  const queues = new Map<string, Promise<boolean>>();
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

  /** Wakes every pause early; `close()` calls them all, so no timer outlives the watch. */
  const pauses = new Set<() => void>();
  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        pauses.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      pauses.add(wake);
    });
  }

  /**
   * The spell of failing reads: reads past the report threshold that have not succeeded yet, and
   * how many there were in all and the longest delay, logged once when the last one succeeds.
   */
  let delayedReads = 0;
  let spell = { delayed: 0, longestMs: 0 };

  /**
   * One read of what a notice names: the record, or the account and its entries since the version
   * `previous` (the watch's last seen) had. `undefined` when there is nothing (any more) to read.
   */
  async function readOnce(notice: ChangeNotice, previous: AnyRecord | Account | undefined): Promise<Read | undefined> {
    if (notice.kind === 'account') {
      const account = await context.repository.accounts.get(notice.id);
      if (account === null) return undefined;
      // First seen: the noticed change may not be the latest (the account was written again before
      // this read); its entries end at `noticedThrough` at most, and every later one is new too.
      const noticedThrough = entriesAtVersionAtMost(account, notice.version);
      const since = Math.max(
        previous === undefined ? noticedThrough - ENTRIES_PER_CHANGE_AT_MOST : (previous as Account).entryCount,
        account.entryCount - WATCH_ENTRIES_PER_EVENT_AT_MOST,
        0,
      );
      const entries = account.entryCount > since ? await context.repository.accounts.listEntries({ accountId: account.accountId, afterSequence: since, limit: account.entryCount - since }) : [];
      return { kind: 'account', record: account, entries, noticedThrough };
    }
    const store = context.repository[storeNameOf(notice.kind)];
    const [record] = await (store.get as (ids: readonly string[]) => Promise<AnyRecord[]>)([notice.id]);
    return record === undefined ? undefined : { kind: notice.kind, record };
  }

  /**
   * Reads the changed record, again and again while the read fails (a dropped connection, a
   * restarting server): giving up would lose the change for this watch. `null` when the watch was
   * closed before the read succeeded.
   */
  async function read(notice: ChangeNotice, previous: AnyRecord | Account | undefined): Promise<{ readonly read: Read | undefined } | null> {
    const storeName = notice.kind === 'account' ? 'accounts' : storeNameOf(notice.kind);
    let failures = 0;
    let firstFailure = 0;
    let reported = false;
    try {
      for (;;) {
        if (closed) return null;
        try {
          const found = await readOnce(notice, previous);
          if (reported) spell.longestMs = Math.max(spell.longestMs, Date.now() - firstFailure);
          return { read: found };
        } catch (error) {
          if (failures === 0) firstFailure = Date.now();
          failures += 1;
          if (closed) return null;
          if (failures === REPORT_AFTER_FAILED_READS) {
            reported = true;
            delayedReads += 1;
            spell.delayed += 1;
            // Once per spell: the first read to fall this far behind while none other is.
            if (delayedReads === 1) {
              const { kind, id, version, position: at } = notice;
              const cause = error instanceof RepositoryError ? error.cause : error;
              report(
                new WatchReadDelayedError(
                  context.repository.name,
                  `${storeName}.get`,
                  { kind, id, version, position: at },
                  failures,
                  Date.now() - firstFailure,
                  cause,
                ),
              );
            }
          }
          await pause(Math.min(WATCH_READ_RETRY.maxDelayMs, WATCH_READ_RETRY.firstDelayMs * 2 ** Math.min(failures - 1, 16)));
        }
      }
    } finally {
      if (reported) {
        delayedReads -= 1;
        if (delayedReads === 0) {
          if (!closed) {
            context.logger.warn(
              `[genledger] watch reads the store again: ${spell.delayed} delayed change(s) read, the longest ${spell.longestMs} ms late; nothing was lost`,
            );
          }
          spell = { delayed: 0, longestMs: 0 };
        }
      }
    }
  }

  /** Handles one notice; `false` when the watch closed before it could (its change is not handled). */
  async function handle(notice: ChangeNotice): Promise<boolean> {
    const key = `${notice.kind}:${notice.id}`;
    const previous = seen.get(key);
    if (closed) return false;
    if (previous && previous.version >= notice.version) return true;
    // An account's id is its notice's id: one the filter excludes, or one nobody listens for, is
    // not read at all (a watch of records costs no account reads).
    if (notice.kind === 'account' && (!accountIdMatches(filter, notice.id) || !(iterating || bus.has('accountUpdate')))) return true;
    const result = await read(notice, previous);
    if (result === null || closed) return false;
    const current = result.read;
    if (!current || (previous && previous.version >= current.record.version)) return true;
    seen.delete(key);
    seen.set(key, current.record);
    if (seen.size > memory) seen.delete(seen.keys().next().value!);
    if (current.kind === 'account') {
      deliver(accountEventFor(previous as Account | undefined, current.record, current.entries, current.noticedThrough));
      return true;
    }
    if (!matches(filter, current.kind, current.record)) return true;
    for (const event of eventsForChange(current.kind, previous as AnyRecord | undefined, current.record)) deliver(event);
    return true;
  }

  /** Settles when every notice received so far has settled; `position` follows it. */
  let handledInOrder: Promise<void> = Promise.resolve();
  /**
   * Set once a change was left unhandled (the watch closed while reading it, or a bug threw): from
   * then on `position` stays where it is, before that change, so a watch resumed from it reads the
   * change again.
   */
  let stalled = false;

  let subscribing: Promise<ChangeSubscription>;
  try {
    subscribing = feed.subscribe({
      after: options.after,
      onChange(notice) {
        const key = `${notice.kind}:${notice.id}`;
        // One chain per record: its changes are read and emitted in order; records run side by
        // side, so a record being read again does not hold up the others.
        const chain = (queues.get(key) ?? Promise.resolve(true))
          .then(() => handle(notice))
          .catch((error: unknown) => {
            // handle() does not throw (reads are retried, listeners' errors go to the bus); if it
            // ever does, the change is not handled, and the position stops before it.
            report(
              Object.assign(
                new Error(`[genledger] watch failed to handle ${key} version ${notice.version}; its position stays before this change`),
                { cause: error, notice },
              ),
            );
            return false;
          });
        queues.set(key, chain);
        void chain.then(() => {
          if (queues.get(key) === chain) queues.delete(key);
        });
        // The position moves in feed order, and only past changes that were handled: never past
        // one still being read.
        handledInOrder = Promise.all([handledInOrder, chain]).then(([, handled]) => {
          if (!handled) stalled = true;
          if (!stalled) position = notice.position;
        });
      },
      onError: report,
    });
  } catch (error) {
    subscribing = Promise.reject(error);
  }
  const ready = subscribing.then(
    (opened) => {
      subscription = opened;
      if (closed) void opened.close();
    },
    (error: unknown) => {
      // The tracker's boundary for the feed, as guard.ts is for the stores: a typed error naming
      // the store and the operation, the driver's error kept as `cause`.
      throw error instanceof GenledgerError ? error : new RepositoryError(context.repository.name, 'changes.subscribe', error);
    },
  );
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
      // Reads waiting to be tried again stop now; a read in flight is dropped when it returns.
      for (const wake of [...pauses]) wake();
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
