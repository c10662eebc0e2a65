/**
 * The tracker's typed events. Each is emitted after the write it describes has landed, by the call
 * that made the write; a retry that changes nothing emits nothing. A listener that throws (or
 * returns a rejected promise) is reported to `onListenerError` and never reaches the tracker's
 * caller or the other listeners.
 */
import { EventEmitter } from 'eventemitter3';
import type { CastProgress, CookProgress } from '../domain/progress.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { Account, LedgerEntry } from '../domain/accounts/records.js';

interface GenerationLinks {
  readonly castId: string | null;
  readonly cookId: string | null;
}

/** A generation was recorded, started, finished, or had its delivery recorded. */
export interface GenerationUpdateEvent extends GenerationLinks {
  /** `costAdjusted`: a re-price corrected its cost (see `tracker.reprice()`). */
  readonly change: 'recorded' | 'started' | 'finished' | 'delivery' | 'costAdjusted';
  readonly generation: Generation;
}

/** A generation reported progress. `liveStatus` is the provider's own words, not stored. */
export interface GenerationProgressEvent extends GenerationLinks {
  readonly generation: Generation;
  readonly progress: number;
  readonly liveStatus: string | null;
}

/** A generation reached its terminal status (emitted once, with the final figures). */
export interface GenerationFinishedEvent extends GenerationLinks {
  readonly generation: Generation;
}

export type ParentChange = 'started' | 'childRecorded' | 'childFinished' | 'paused' | 'resumed' | 'finished' | 'cancelled' | 'repaired' | 'costAdjusted';

export interface CastUpdateEvent {
  readonly change: ParentChange;
  readonly cast: Cast;
  readonly progress: CastProgress;
}

/** A cast reached `completed`, `failed` or `cancelled` (emitted once). */
export interface CastFinishedEvent {
  readonly cast: Cast;
  readonly progress: CastProgress;
}

export interface CookUpdateEvent {
  readonly change: ParentChange;
  readonly cook: Cook;
  readonly progress: CookProgress;
}

/** A cook reached `completed`, `failed` or `cancelled` (emitted once). */
export interface CookFinishedEvent {
  readonly cook: Cook;
  readonly progress: CookProgress;
}

/**
 * An account moved: a credit or debit, a hold taken with a generation (`held`), a hold's capture and
 * release when its generation finished (`settled`), or reconcile's repair (`reconciled`, no
 * entries). `account` is the account after the move; `entries` what was appended.
 */
export interface AccountUpdateEvent {
  readonly change: 'credit' | 'debit' | 'held' | 'settled' | 'reconciled';
  readonly account: Account;
  readonly entries: readonly LedgerEntry[];
  /** The generation whose hold this is, for `held` and `settled`; `null` otherwise (a parent hold's `held`: its entry's cause names the parent). */
  readonly generationId: string | null;
  /**
   * From `tracker.watch()` only, when it fell far behind one account: how many entries written
   * since the version it saw before this event skips (it carries the last 1,000). Read them with
   * `listLedgerEntries`; the account's figures are current either way. Absent otherwise.
   */
  readonly missedEntries?: number | undefined;
}

/** Every event the tracker emits, by name. */
export interface TrackerEvents {
  generationUpdate: GenerationUpdateEvent;
  generationProgress: GenerationProgressEvent;
  generationFinished: GenerationFinishedEvent;
  castUpdate: CastUpdateEvent;
  castFinished: CastFinishedEvent;
  cookUpdate: CookUpdateEvent;
  cookFinished: CookFinishedEvent;
  accountUpdate: AccountUpdateEvent;
}

export type TrackerEventName = keyof TrackerEvents;
export type TrackerListener<E extends TrackerEventName> = (event: TrackerEvents[E]) => void | Promise<void>;

/** Called when a listener throws; the error never reaches the tracker's caller. */
export type ListenerErrorHandler = (error: unknown, event: TrackerEventName) => void;

type Wrapper = (payload: unknown) => void;

export class TrackerEventBus {
  // Untyped inside: every entry point below is typed, and listeners are wrapped before they get here.
  private readonly emitter = new EventEmitter();
  /** The wrappers registered for each listener, so `off(listener)` can find them. */
  private readonly wrappers = new Map<TrackerEventName, Map<unknown, Wrapper[]>>();
  /**
   * Wrappers registered per event, kept beside the emitter's own lists: `has()` is asked several
   * times per tracker call, and a fixed-shape object answers it with one property read.
   */
  private readonly counts: Record<TrackerEventName, number> = {
    generationUpdate: 0,
    generationProgress: 0,
    generationFinished: 0,
    castUpdate: 0,
    castFinished: 0,
    cookUpdate: 0,
    cookFinished: 0,
    accountUpdate: 0,
  };

  constructor(private readonly onListenerError: ListenerErrorHandler) {}

  on<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void {
    this.emitter.on(event, this.wrap(event, listener, false));
    return () => this.off(event, listener);
  }

  once<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void {
    this.emitter.once(event, this.wrap(event, listener, true));
    return () => this.off(event, listener);
  }

  off<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): void {
    const wrapper = this.wrappers.get(event)?.get(listener)?.[0];
    if (!wrapper) return;
    this.forget(event, listener, wrapper);
    this.emitter.off(event, wrapper);
  }

  /** Whether anyone listens; lets the tracker skip building payloads nobody reads. */
  has(event: TrackerEventName): boolean {
    return this.counts[event] > 0;
  }

  emit<E extends TrackerEventName>(event: E, payload: TrackerEvents[E]): void {
    this.emitter.emit(event, payload);
  }

  private wrap<E extends TrackerEventName>(event: E, listener: TrackerListener<E>, once: boolean): Wrapper {
    const wrapper: Wrapper = (payload) => {
      if (once) this.forget(event, listener, wrapper);
      try {
        const result = listener(payload as TrackerEvents[E]);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).then(undefined, (error: unknown) => this.onListenerError(error, event));
        }
      } catch (error) {
        this.onListenerError(error, event);
      }
    };
    let byListener = this.wrappers.get(event);
    if (!byListener) {
      byListener = new Map();
      this.wrappers.set(event, byListener);
    }
    byListener.set(listener, [...(byListener.get(listener) ?? []), wrapper]);
    this.counts[event] += 1;
    return wrapper;
  }

  private forget(event: TrackerEventName, listener: unknown, wrapper: Wrapper): void {
    const byListener = this.wrappers.get(event);
    const registered = byListener?.get(listener) ?? [];
    if (!registered.includes(wrapper)) return;
    this.counts[event] -= 1;
    const remaining = registered.filter((candidate) => candidate !== wrapper);
    if (remaining.length > 0) byListener!.set(listener, remaining);
    else byListener?.delete(listener);
  }
}
