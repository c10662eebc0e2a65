/**
 * Maintenance: the sweeper and reconcile. They are what makes "a worker died" and "the process
 * crashed between two writes" recoverable: stuck generations time out, parents get the children a
 * crash kept from them, abandoned open entries are dropped, and a parent's aggregates can always be
 * rebuilt from its children.
 */
import type { Cast, Cook, Generation, OpenChild } from '../domain/records.js';
import {
  diffAggregates,
  recomputeCast,
  recomputeCook,
  type AggregateDifference,
  type ChildrenSummary,
  type RecomputeContext,
} from '../domain/rollup/recompute.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../domain/status.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ParentStore } from '../port.js';
import { cancelCastCascade, cancelOpenGeneration } from './cancellation.js';
import { forEachLimited } from './concurrency.js';
import type { TrackerContext } from './context.js';
import { emitCastWrite, emitCookWrite, finishAndSettle, settleCastPiece, settleGeneration } from './rollup.js';

const FAN_OUT = 8;
const PAGE = 200;

/** What a sweep changed. */
export interface SweepReport {
  /** Generations moved to `timeout`. */
  readonly timedOut: readonly string[];
  /** Finished children a crash had kept from their parents, now applied. */
  readonly settled: readonly string[];
  /** Open entries dropped because their child was never stored. */
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
  settled: string[];
  abandoned: string[];
  cancelled: string[];
  expired: { kind: 'cast' | 'cook'; id: string }[];
}

export async function sweepStale(context: TrackerContext, options: SweepOptions): Promise<SweepReport> {
  const now = context.clock.now();
  const cutoff = new Date(now.getTime() - options.olderThanMs);
  const log: SweepLog = { timedOut: [], settled: [], abandoned: [], cancelled: [], expired: [] };

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

  await forEachParent(context, context.repository.casts, cutoff, (cast) => repairCast(context, cast, cutoff, options, log));
  await forEachParent(context, context.repository.cooks, cutoff, (cook) => repairCook(context, cook, cutoff, options, log));
  return log;
}

async function forEachParent<T extends Cast | Cook>(
  context: TrackerContext,
  store: ParentStore<T, never>,
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

/**
 * Brings the open generation entries of a parent up to date: a finished child is settled, an open
 * child of a cancelled parent is cancelled. Returns the entries whose child was never stored and
 * that are older than the cut-off (a recording that died between its two writes).
 */
async function repairGenerationEntries(
  context: TrackerContext,
  cancelled: boolean,
  entries: readonly OpenChild[],
  cutoff: Date,
  log: SweepLog,
): Promise<string[]> {
  if (entries.length === 0) return [];
  const children = new Map((await context.repository.generations.get(entries.map((entry) => entry.id))).map((child) => [child.id, child]));
  const abandoned: string[] = [];
  await forEachLimited(entries, FAN_OUT, async (entry) => {
    const child: Generation | undefined = children.get(entry.id);
    if (!child) {
      if (entry.since < cutoff) abandoned.push(entry.id);
    } else if (isTerminalGenerationStatus(child.status)) {
      await settleGeneration(context, child);
      log.settled.push(child.id);
    } else if (cancelled && (await cancelOpenGeneration(context, child.id))) {
      log.cancelled.push(child.id);
    }
  });
  return abandoned;
}

/**
 * Drops abandoned entries by reconciling the parent from its children, rather than detaching them
 * one by one: a parent whose completion an abandoned entry held back then completes at the time
 * its children say, exactly as it would have without the crash.
 */
async function dropAbandoned(
  context: TrackerContext,
  kind: 'cast' | 'cook',
  id: string,
  abandoned: readonly string[],
  options: SweepOptions,
  log: SweepLog,
): Promise<void> {
  if (abandoned.length === 0) return;
  const reconcile = kind === 'cast' ? reconcileCast : reconcileCook;
  await reconcile(context, id, { graceMs: options.olderThanMs });
  log.abandoned.push(...abandoned);
}

async function repairCast(context: TrackerContext, cast: Cast, cutoff: Date, options: SweepOptions, log: SweepLog): Promise<void> {
  const abandoned = await repairGenerationEntries(context, cast.status === 'cancelled', cast.openSteps, cutoff, log);
  await dropAbandoned(context, 'cast', cast.id, abandoned, options, log);
  let latest = cast;
  if (options.finishIdleParents && cast.status === 'running' && cast.inFlightCount === 0 && cast.updatedAt < cutoff) {
    const result = await context.repository.casts.transition(cast.id, 'expire', context.clock.now());
    if (result?.changed) {
      log.expired.push({ kind: 'cast', id: cast.id });
      emitCastWrite(context, 'finished', result);
      latest = result.record;
    }
  }
  if (isTerminalParentStatus(latest.status)) await settleCastPiece(context, latest);
}

async function repairCook(context: TrackerContext, cook: Cook, cutoff: Date, options: SweepOptions, log: SweepLog): Promise<void> {
  const cancelled = cook.status === 'cancelled';
  const abandoned = await repairGenerationEntries(context, cancelled, cook.openGenerations, cutoff, log);
  const castEntries = cook.openPieces.filter((entry) => entry.kind === 'cast');
  if (castEntries.length > 0) {
    const casts = new Map((await context.repository.casts.get(castEntries.map((entry) => entry.id))).map((cast) => [cast.id, cast]));
    await forEachLimited(castEntries, FAN_OUT, async (entry) => {
      const cast = casts.get(entry.id);
      if (!cast) {
        if (entry.since < cutoff) abandoned.push(entry.id);
      } else if (isTerminalParentStatus(cast.status)) {
        await settleCastPiece(context, cast);
        log.settled.push(cast.id);
      } else if (cancelled) {
        await cancelCastCascade(context, cast.id);
        log.cancelled.push(cast.id);
      }
    });
  }
  await dropAbandoned(context, 'cook', cook.id, abandoned, options, log);
  if (options.finishIdleParents && cook.status === 'running' && cook.inFlightCount === 0 && cook.updatedAt < cutoff) {
    const result = await context.repository.cooks.transition(cook.id, 'expire', context.clock.now());
    if (result?.changed) {
      log.expired.push({ kind: 'cook', id: cook.id });
      emitCookWrite(context, 'finished', result);
    }
  }
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

export interface ReconcileOptions {
  /** Open entries with no stored child younger than this are recordings still under way, and kept. */
  readonly graceMs: number;
}

const RECONCILE_ATTEMPTS = 5;

interface ReconcileSpec<T extends Cast | Cook> {
  readonly kind: 'cast' | 'cook';
  readonly store: (context: TrackerContext) => ParentStore<T, never>;
  /** The parent's open entries, generations and casts alike. */
  readonly openEntries: (parent: T) => readonly OpenChild[];
  readonly recompute: (parent: T, summary: ChildrenSummary, context: RecomputeContext) => T;
  /** Emits the repair, and finishes what it started (a cast that ended goes to its cook). */
  readonly afterRepair: (context: TrackerContext, repaired: T, previousStatus: T['status']) => Promise<void>;
}

const CAST_RECONCILE: ReconcileSpec<Cast> = {
  kind: 'cast',
  store: (context) => context.repository.casts,
  openEntries: (cast) => cast.openSteps,
  recompute: recomputeCast,
  async afterRepair(context, cast, previousStatus) {
    emitCastWrite(context, 'repaired', { changed: true, record: cast, previousStatus });
    await settleCastPiece(context, cast);
  },
};

const COOK_RECONCILE: ReconcileSpec<Cook> = {
  kind: 'cook',
  store: (context) => context.repository.cooks,
  openEntries: (cook) => [...cook.openGenerations, ...cook.openPieces],
  recompute: recomputeCook,
  async afterRepair(context, cook, previousStatus) {
    emitCookWrite(context, 'repaired', { changed: true, record: cook, previousStatus });
  },
};

export function reconcileCast(context: TrackerContext, castId: string, options: ReconcileOptions): Promise<ReconcileReport> {
  return reconcileParent(context, CAST_RECONCILE, castId, options);
}

export function reconcileCook(context: TrackerContext, cookId: string, options: ReconcileOptions): Promise<ReconcileReport> {
  return reconcileParent(context, COOK_RECONCILE, cookId, options);
}

/**
 * Recomputes a parent from its children and writes the difference, compare-and-set on its
 * version: if a live write lands meanwhile, it recomputes from the new state.
 */
async function reconcileParent<T extends Cast | Cook>(
  context: TrackerContext,
  spec: ReconcileSpec<T>,
  id: string,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const field = `input.${spec.kind}Id`;
  const store = spec.store(context);
  for (let attempt = 0; attempt < RECONCILE_ATTEMPTS; attempt += 1) {
    const [parent] = await store.get([id]);
    if (!parent) throw new NotFoundError(spec.kind, id, field);
    const summary = await store.summarizeChildren(id, { maxEmbeddedIds: context.caps.maxEmbeddedIds });
    const unfinished = new Set([...summary.generations.unfinished, ...(summary.casts?.unfinished ?? [])].map((child) => child.id));
    const missingChildIds = await missingChildren(
      context,
      spec.openEntries(parent).filter((entry) => !unfinished.has(entry.id)),
    );
    const recomputed = spec.recompute(parent, summary, {
      missingChildIds,
      now: context.clock.now(),
      graceMs: options.graceMs,
      maxEmbeddedIds: context.caps.maxEmbeddedIds,
    });
    const differences = diffAggregates(parent, recomputed);
    if (differences.length === 0) return { kind: spec.kind, id, differences, repaired: false };
    const replaced = await store.replaceAggregates(id, parent.version, recomputed, context.clock.now());
    if (replaced === null) continue;
    await spec.afterRepair(context, replaced, parent.status);
    return { kind: spec.kind, id, differences, repaired: true };
  }
  throw new ConflictError(field, `${spec.kind} "${id}" kept changing while it was reconciled; try again when it is quieter`);
}

/** The ids among these open entries whose child is not stored. */
async function missingChildren(context: TrackerContext, entries: readonly OpenChild[]): Promise<Set<string>> {
  const generationIds = entries.filter((entry) => entry.kind === 'generation').map((entry) => entry.id);
  const castIds = entries.filter((entry) => entry.kind === 'cast').map((entry) => entry.id);
  const found = new Set([
    ...(generationIds.length > 0 ? await context.repository.generations.get(generationIds) : []).map((child) => child.id),
    ...(castIds.length > 0 ? await context.repository.casts.get(castIds) : []).map((cast) => cast.id),
  ]);
  return new Set(entries.map((entry) => entry.id).filter((id) => !found.has(id)));
}
