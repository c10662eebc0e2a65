/**
 * Maintenance: the sweeper and reconcile. They are what makes "a worker died" and "the process
 * crashed between two calls" recoverable: stuck generations time out (with their roll-ups, in one
 * store operation each), cancellations a crash cut short are resumed, idle parents are finished,
 * and a parent's aggregates can always be rebuilt from its children.
 */
import type { Cast, Cook } from '../domain/records.js';
import {
  diffAggregates,
  recomputeCast,
  recomputeCook,
  type AggregateDifference,
  type ChildrenSummary,
  type RecomputeContext,
} from '../domain/rollup/recompute.js';
import type { WriteResult } from '../domain/rollup/write-result.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { CastEnding, ParentStore } from '../port.js';
import type { ReleasedReservations } from '../account-port.js';
import { announceReleases } from './accounts.js';
import { cancelOpenChildren } from './cancellation.js';
import { FAN_OUT, forEachLimited } from './concurrency.js';
import type { TrackerContext } from './context.js';
import { emitCastEnding, emitCastWrite, emitCookWrite, finishAndSettle } from './rollup.js';

const PAGE = 200;

/** What a sweep changed. */
export interface SweepReport {
  /** Generations moved to `timeout`. */
  readonly timedOut: readonly string[];
  /**
   * Store operations a crash had left half done, finished by the store's `recover()` (stores
   * whose roll-ups span several writes; always 0 on the others).
   */
  readonly recovered: number;
  /** Parents reconciled: those the store flagged for repair (see `findForMaintenance`), and cancelled ones whose counts still said "in flight" with nothing open. */
  readonly reconciled: readonly { readonly kind: 'cast' | 'cook'; readonly id: string }[];
  /**
   * Kept for compatibility: always empty since 0.2.0. A finished child is applied in the same
   * store operation that finishes it, so there is none left to settle.
   * @deprecated
   */
  readonly settled: readonly string[];
  /** Kept for compatibility: always empty since 0.2.0 (parents keep no open entries to abandon). @deprecated */
  readonly abandoned: readonly string[];
  /** Children cancelled because their parent was cancelled. */
  readonly cancelled: readonly string[];
  /** Idle parents (nothing in flight, no write within the threshold) the sweep finished. */
  readonly expired: readonly { readonly kind: 'cast' | 'cook'; readonly id: string }[];
}

export interface SweepOptions {
  readonly olderThanMs: number;
  readonly limit: number;
  readonly finishIdleParents: boolean;
}

interface SweepLog {
  timedOut: string[];
  recovered: number;
  reconciled: { kind: 'cast' | 'cook'; id: string }[];
  settled: string[];
  abandoned: string[];
  cancelled: string[];
  expired: { kind: 'cast' | 'cook'; id: string }[];
}

export async function sweepStale(context: TrackerContext, options: SweepOptions): Promise<SweepReport> {
  const now = context.clock.now();
  const cutoff = new Date(now.getTime() - options.olderThanMs);
  const log: SweepLog = { timedOut: [], recovered: 0, reconciled: [], settled: [], abandoned: [], cancelled: [], expired: [] };

  // First what a crash left half done, so what follows reads whole records.
  const { recover } = context.repository;
  if (recover) log.recovered = (await recover({ limit: options.limit, olderThan: cutoff, now })).repaired;

  // Then the cancellations a crash cut short, before the stale pass: a child of a cancelled parent
  // ends `cancelled_by_user`, as it would have without the crash, not `timeout`.
  await forEachParent(context.repository.casts, cutoff, (cast) => resumeCascade(context, CAST_RECONCILE, cast, log));
  await forEachParent(context.repository.cooks, cutoff, (cook) => resumeCascade(context, COOK_RECONCILE, cook, log));

  const stale = await context.repository.generations.findStale({ updatedBefore: cutoff, limit: options.limit });
  await forEachLimited(stale, FAN_OUT, async (generation) => {
    const at = context.clock.now();
    const result = await finishAndSettle(context, generation.id, {
      status: 'timeout',
      pointsSpent: generation.pointsSpent,
      protocolNetPoints: generation.protocolNetPoints,
      costUsd: generation.costUsd,
      responseTimestamp: at,
      errorDetails: { reason: 'stale', message: `no update for ${options.olderThanMs} ms; swept to timeout` },
      at,
      onlyIfUpdatedBefore: cutoff,
    });
    if (result?.changed) log.timedOut.push(generation.id);
  });

  await forEachParent(context.repository.casts, cutoff, (cast) => maintainParent(context, CAST_RECONCILE, cast, cutoff, options, log));
  await forEachParent(context.repository.cooks, cutoff, (cook) => maintainParent(context, COOK_RECONCILE, cook, cutoff, options, log));
  return log;
}

async function forEachParent<T extends Cast | Cook>(
  store: ParentStore<T, unknown>,
  idleBefore: Date,
  visit: (parent: T) => Promise<void>,
): Promise<void> {
  let afterId: string | undefined;
  for (;;) {
    const page = await store.findForMaintenance({ idleBefore, afterId, limit: PAGE });
    await forEachLimited(page, FAN_OUT, visit);
    if (page.length < PAGE) return;
    afterId = page[page.length - 1]!.id;
  }
}

/** Whether anything is still open below a parent (for a cook: pieces, or generations below it). */
function hasOpenChildren(parent: Cast | Cook): boolean {
  return parent.inFlightCount > 0 || ('openGenerationCount' in parent && parent.openGenerationCount > 0);
}

/**
 * A cancelled parent with children still open (a cascade a crash cut short): the cascade is
 * resumed. Counts that still say "in flight" with nothing open afterwards are drift (a store
 * written by hand, or 0.1.0 data): the children decide, by reconcile.
 */
async function resumeCascade<T extends Cast | Cook>(context: TrackerContext, spec: ReconcileSpec<T>, parent: T, log: SweepLog): Promise<void> {
  if (parent.status !== 'cancelled' || !hasOpenChildren(parent)) return;
  log.cancelled.push(...(await cancelOpenChildren(context, { kind: spec.kind, id: parent.id })));
  const [latest] = await spec.store(context).get([parent.id]);
  if (latest !== undefined && hasOpenChildren(latest)) {
    await reconcileParent(context, spec, parent.id, { force: false });
    log.reconciled.push({ kind: spec.kind, id: parent.id });
  }
}

/**
 * One parent `findForMaintenance` returned, after the cascades were resumed: a running parent idle
 * past the cut-off with nothing in flight is expired (when asked to); a cancelled one (its cascade
 * already resumed) is left; any other is one the store flagged for repair, and is reconciled (its
 * replacement written even when nothing differs, so the store can clear its flag).
 */
async function maintainParent<T extends Cast | Cook>(
  context: TrackerContext,
  spec: ReconcileSpec<T>,
  parent: T,
  cutoff: Date,
  options: SweepOptions,
  log: SweepLog,
): Promise<void> {
  if (parent.status === 'cancelled' && hasOpenChildren(parent)) return;
  if (parent.status === 'running' && parent.inFlightCount === 0 && parent.updatedAt < cutoff) {
    if (!options.finishIdleParents) return;
    // The children decide first: a parent a store flagged for repair (0.1.0 data) may also look
    // idle, and expiring it on counts a repair would change would decide its final status wrongly.
    const report = await reconcileParent(context, spec, parent.id, { force: false });
    if (report.repaired) log.reconciled.push({ kind: spec.kind, id: parent.id });
    await spec.expire(context, parent.id, log);
    return;
  }
  await reconcileParent(context, spec, parent.id, { force: true });
  log.reconciled.push({ kind: spec.kind, id: parent.id });
}

/** What reconcile found and did. */
export interface ReconcileReport {
  readonly kind: 'cast' | 'cook';
  readonly id: string;
  /** Fields whose stored value differed from the value recomputed from the children. */
  readonly differences: readonly AggregateDifference[];
  /** Whether the stored parent was rewritten. */
  readonly repaired: boolean;
}

const RECONCILE_ATTEMPTS = 5;

interface ReconcileSpec<T extends Cast | Cook> {
  readonly kind: 'cast' | 'cook';
  readonly store: (context: TrackerContext) => ParentStore<T, unknown>;
  readonly recompute: (parent: T, summary: ChildrenSummary, context: RecomputeContext) => T;
  /** Writes the replacement (compare-and-set on the version) and emits it; `false` when the version moved. */
  readonly replace: (context: TrackerContext, stored: T, recomputed: T, emit: boolean) => Promise<boolean>;
  /** `expire` on an idle parent, with its events. */
  readonly expire: (context: TrackerContext, id: string, log: SweepLog) => Promise<void>;
}

const CAST_RECONCILE: ReconcileSpec<Cast> = {
  kind: 'cast',
  store: (context) => context.repository.casts,
  recompute: recomputeCast,
  async replace(context, stored, recomputed, emit) {
    // A cast that this replacement ends is applied to its cook in the same store operation.
    const ending: (CastEnding & ReleasedReservations) | null = await context.repository.casts.replaceAggregates(stored.id, stored.version, recomputed, context.clock.now());
    if (ending === null) return false;
    if (emit) emitCastWrite(context, 'repaired', ending.cast);
    if (ending.castPiece?.changed) emitCookWrite(context, 'childFinished', ending.castPiece);
    announceReleases(context, ending);
    return true;
  },
  async expire(context, id, log) {
    const ending = await context.repository.casts.transition(id, 'expire', context.clock.now());
    if (ending === null || !ending.cast.changed) return;
    log.expired.push({ kind: 'cast', id });
    emitCastEnding(context, 'finished', ending);
    announceReleases(context, ending);
  },
};

const COOK_RECONCILE: ReconcileSpec<Cook> = {
  kind: 'cook',
  store: (context) => context.repository.cooks,
  recompute: recomputeCook,
  async replace(context, stored, recomputed, emit) {
    const write: (WriteResult<Cook> & ReleasedReservations) | null = await context.repository.cooks.replaceAggregates(stored.id, stored.version, recomputed, context.clock.now());
    if (write === null) return false;
    if (emit) emitCookWrite(context, 'repaired', write);
    announceReleases(context, write);
    return true;
  },
  async expire(context, id, log) {
    const write = await context.repository.cooks.transition(id, 'expire', context.clock.now());
    if (write === null || !write.changed) return;
    log.expired.push({ kind: 'cook', id });
    emitCookWrite(context, 'finished', write);
    announceReleases(context, write);
  },
};

export function reconcileCast(context: TrackerContext, castId: string): Promise<ReconcileReport> {
  return reconcileParent(context, CAST_RECONCILE, castId, { force: false });
}

export function reconcileCook(context: TrackerContext, cookId: string): Promise<ReconcileReport> {
  return reconcileParent(context, COOK_RECONCILE, cookId, { force: false });
}

/**
 * Recomputes a parent from its children and writes the difference, compare-and-set on its
 * version: if a live write lands meanwhile, it recomputes from the new state.
 */
async function reconcileParent<T extends Cast | Cook>(
  context: TrackerContext,
  spec: ReconcileSpec<T>,
  id: string,
  options: { readonly force: boolean },
): Promise<ReconcileReport> {
  const field = `input.${spec.kind}Id`;
  const store = spec.store(context);
  for (let attempt = 0; attempt < RECONCILE_ATTEMPTS; attempt += 1) {
    const [parent] = await store.get([id]);
    if (!parent) throw new NotFoundError(spec.kind, id, field);
    const summary = await store.summarizeChildren(id, { maxEmbeddedIds: context.caps.maxEmbeddedIds });
    const recomputed = spec.recompute(parent, summary, { now: context.clock.now(), maxEmbeddedIds: context.caps.maxEmbeddedIds });
    const differences = diffAggregates(parent, recomputed);
    if (differences.length === 0 && !options.force) return { kind: spec.kind, id, differences, repaired: false };
    if (!(await spec.replace(context, parent, recomputed, differences.length > 0))) continue;
    return { kind: spec.kind, id, differences, repaired: differences.length > 0 };
  }
  throw new ConflictError(field, `${spec.kind} "${id}" kept changing while it was reconciled; try again when it is quieter`);
}
