/**
 * Recomputing a parent's aggregates from its children (reconcile). A parent's counts, money, open
 * children and id lists are derived data; after any crash between two writes they can be rebuilt
 * exactly from the children, which hold the truth.
 */
import { addUsd, compareUsd, type UsdAmount } from '../money.js';
import { ZERO_OUTCOMES, type Cast, type Cook, type OpenChild, type OutcomeCounts } from '../records.js';
import { isTerminalParentStatus } from '../status.js';
import { elapsedMs, laterOf } from '../duration.js';
import { cookIsOpen, cookReachedSupply } from './rules.js';

/** Summed figures of finished generations. */
export interface FinishedFigures {
  readonly outcomes: OutcomeCounts;
  readonly pointsSpent: number;
  readonly protocolNetPoints: number;
  readonly costUsd: UsdAmount;
}

/** A child that has not finished, as the store holds it. */
export interface UnfinishedChild {
  readonly id: string;
  /** When it was requested or started. */
  readonly since: Date;
  /** A generation that is itself a cook piece. Always false under a cast. */
  readonly piece: boolean;
}

/**
 * What a repository reports about the children of one parent, read from the children themselves.
 * For a cast: its step generations. For a cook: every generation below it (pieces and the steps of
 * cast pieces, which carry the cook's id) and its cast pieces.
 */
export interface ChildrenSummary {
  readonly generations: {
    readonly finished: FinishedFigures;
    /** Finished generations that are cook pieces, by outcome (all zero under a cast). */
    readonly finishedPieces: OutcomeCounts;
    /** Latest `responseTimestamp` among finished generations. */
    readonly lastFinishedAt: Date | null;
    readonly unfinished: readonly UnfinishedChild[];
    /** The first ids by (`requestTimestamp`, id), at most the embed cap. */
    readonly firstIds: readonly string[];
  };
  /** Cast pieces; `null` for a cast. */
  readonly casts: {
    readonly completed: number;
    readonly failed: number;
    readonly cancelled: number;
    readonly lastFinishedAt: Date | null;
    readonly unfinished: readonly UnfinishedChild[];
    readonly firstIds: readonly string[];
  } | null;
}

export const EMPTY_FIGURES: FinishedFigures = { outcomes: ZERO_OUTCOMES, pointsSpent: 0, protocolNetPoints: 0, costUsd: '0' };

export function addFigures(left: FinishedFigures, right: FinishedFigures): FinishedFigures {
  return {
    outcomes: {
      success: left.outcomes.success + right.outcomes.success,
      failed: left.outcomes.failed + right.outcomes.failed,
      cancelled_by_user: left.outcomes.cancelled_by_user + right.outcomes.cancelled_by_user,
      timeout: left.outcomes.timeout + right.outcomes.timeout,
    },
    pointsSpent: left.pointsSpent + right.pointsSpent,
    protocolNetPoints: left.protocolNetPoints + right.protocolNetPoints,
    costUsd: addUsd(left.costUsd, right.costUsd),
  };
}

export interface RecomputeContext {
  /** Stored open entries whose child does not exist in the store. */
  readonly missingChildIds: ReadonlySet<string>;
  readonly now: Date;
  /**
   * A child is attached to its parent just before it is stored. An open entry with no child that
   * is younger than this is a recording still under way and is kept; an older one is a recording
   * that died, and is dropped.
   */
  readonly graceMs: number;
  readonly maxEmbeddedIds: number;
}

/** One field whose stored value differs from the value recomputed from the children. */
export interface AggregateDifference {
  readonly field: string;
  readonly stored: unknown;
  readonly recomputed: unknown;
}

function keptPhantoms(open: readonly OpenChild[], context: RecomputeContext): OpenChild[] {
  const cutoff = context.now.getTime() - context.graceMs;
  return open.filter((entry) => context.missingChildIds.has(entry.id) && entry.since.getTime() >= cutoff);
}

function openEntries(stored: readonly OpenChild[], unfinished: readonly UnfinishedChild[], kind: OpenChild['kind']): OpenChild[] {
  const storedSince = new Map(stored.map((entry) => [entry.id, entry.since]));
  return unfinished.map((child) => ({ id: child.id, kind, since: storedSince.get(child.id) ?? child.since }));
}

/** Keeps the stored list (and its order) when it holds the same ids; otherwise the recomputed one. */
function idList(stored: readonly string[], recomputed: readonly string[], cap: number): readonly string[] {
  const unique = [...new Set(recomputed)].slice(0, cap);
  if (unique.length === stored.length && unique.every((id) => stored.includes(id))) return stored;
  return unique;
}

export function recomputeCast(cast: Cast, summary: ChildrenSummary, context: RecomputeContext): Cast {
  const { finished } = summary.generations;
  const phantoms = keptPhantoms(cast.openSteps, context);
  const openSteps = [...openEntries(cast.openSteps, summary.generations.unfinished, 'generation'), ...phantoms];
  let { status, completedAt, durationMs } = cast;
  if (!isTerminalParentStatus(status)) {
    const failed = finished.outcomes.failed + finished.outcomes.timeout > 0;
    const cancelled = finished.outcomes.cancelled_by_user > 0;
    const succeeded = cast.totalSteps !== null && finished.outcomes.success >= cast.totalSteps;
    const derived = failed ? 'failed' : cancelled ? 'cancelled' : succeeded ? 'completed' : null;
    if (derived) {
      status = derived;
      completedAt = summary.generations.lastFinishedAt ?? context.now;
      durationMs = elapsedMs(cast.startedAt, completedAt);
    }
  }
  return {
    ...cast,
    status,
    completedAt,
    durationMs,
    outcomes: finished.outcomes,
    pointsSpent: finished.pointsSpent,
    protocolNetPoints: finished.protocolNetPoints,
    costUsd: finished.costUsd,
    openSteps,
    inFlightCount: openSteps.length,
    stepGenerationIds: idList(
      cast.stepGenerationIds,
      [...summary.generations.firstIds, ...phantoms.map((entry) => entry.id)],
      context.maxEmbeddedIds,
    ),
  };
}

export function recomputeCook(cook: Cook, summary: ChildrenSummary, context: RecomputeContext): Cook {
  const { finished, finishedPieces } = summary.generations;
  const casts = summary.casts ?? { completed: 0, failed: 0, cancelled: 0, lastFinishedAt: null, unfinished: [], firstIds: [] };
  const phantomGenerations = keptPhantoms(cook.openGenerations, context);
  const phantomPieces = keptPhantoms(cook.openPieces, context);
  const openGenerations = [...openEntries(cook.openGenerations, summary.generations.unfinished, 'generation'), ...phantomGenerations];
  const openPieces = [
    ...openEntries(
      cook.openPieces,
      summary.generations.unfinished.filter((child) => child.piece),
      'generation',
    ),
    ...openEntries(cook.openPieces, casts.unfinished, 'cast'),
    ...phantomPieces,
  ];
  const counts = {
    generatedCount: finishedPieces.success + casts.completed,
    failedCount: finishedPieces.failed + finishedPieces.timeout + casts.failed,
    cancelledCount: finishedPieces.cancelled_by_user + casts.cancelled,
    inFlightCount: openPieces.length,
  };
  let { status, completedAt, durationMs } = cook;
  if (cookIsOpen(status) && cookReachedSupply({ ...counts, targetSupply: cook.targetSupply })) {
    status = 'completed';
    completedAt = laterOf(summary.generations.lastFinishedAt, casts.lastFinishedAt) ?? context.now;
    durationMs = elapsedMs(cook.startedAt, completedAt);
  }
  const phantomGenerationIds = phantomGenerations.map((entry) => entry.id);
  const phantomCastIds = phantomPieces.filter((entry) => entry.kind === 'cast').map((entry) => entry.id);
  return {
    ...cook,
    ...counts,
    status,
    completedAt,
    durationMs,
    outcomes: finished.outcomes,
    pointsSpent: finished.pointsSpent,
    protocolNetPoints: finished.protocolNetPoints,
    costUsd: finished.costUsd,
    openGenerations,
    openPieces,
    generationIds: idList(cook.generationIds, [...summary.generations.firstIds, ...phantomGenerationIds], context.maxEmbeddedIds),
    castIds: idList(cook.castIds, [...casts.firstIds, ...phantomCastIds], context.maxEmbeddedIds),
  };
}


const COMPARED_CAST_FIELDS = [
  'status',
  'outcomes',
  'pointsSpent',
  'protocolNetPoints',
  'costUsd',
  'inFlightCount',
  'openSteps',
  'stepGenerationIds',
] as const;
const COMPARED_COOK_FIELDS = [
  'status',
  'outcomes',
  'pointsSpent',
  'protocolNetPoints',
  'costUsd',
  'generatedCount',
  'failedCount',
  'cancelledCount',
  'inFlightCount',
  'openPieces',
  'openGenerations',
  'generationIds',
  'castIds',
] as const;

/** The aggregate fields that differ between a stored parent and its recomputed form. */
export function diffAggregates<T extends Cast | Cook>(stored: T, recomputed: T): AggregateDifference[] {
  const fields: readonly string[] = 'spellId' in stored ? COMPARED_CAST_FIELDS : COMPARED_COOK_FIELDS;
  const differences: AggregateDifference[] = [];
  for (const field of fields) {
    const before = (stored as unknown as Record<string, unknown>)[field];
    const after = (recomputed as unknown as Record<string, unknown>)[field];
    if (!sameAggregate(field, before, after)) differences.push({ field, stored: before, recomputed: after });
  }
  return differences;
}

function sameAggregate(field: string, before: unknown, after: unknown): boolean {
  if (field === 'costUsd') return compareUsd(before as string, after as string) === 0;
  if (Array.isArray(before) && Array.isArray(after)) {
    // Open sets and id lists are compared as sets of ids: order carries no money.
    const key = (item: unknown) => (typeof item === 'string' ? item : (item as OpenChild).id);
    const left = new Set(before.map(key));
    return left.size === new Set(after.map(key)).size && after.every((item) => left.has(key(item)));
  }
  if (typeof before === 'object' && before !== null && typeof after === 'object' && after !== null) {
    const left = before as Record<string, unknown>;
    const right = after as Record<string, unknown>;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...keys].every((key) => left[key] === right[key]);
  }
  return before === after;
}
