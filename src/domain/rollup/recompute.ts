/**
 * Recomputing a parent's aggregates from its children (reconcile). A parent's counts, money and
 * id lists are derived data; after any crash between two writes they can be rebuilt
 * exactly from the children, which hold the truth.
 */
import { addUsd, compareUsd, type UsdAmount } from '../money.js';
import { ZERO_OUTCOMES, type Cast, type Cook, type OutcomeCounts } from '../records.js';
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
    /** Generations still pending or processing. */
    readonly unfinishedCount: number;
    /** Of those, generations that are cook pieces (always 0 under a cast). */
    readonly unfinishedPieces: number;
    /** The first ids by (`requestTimestamp`, id), at most the embed cap. */
    readonly firstIds: readonly string[];
  };
  /** Cast pieces; `null` for a cast. */
  readonly casts: {
    readonly completed: number;
    readonly failed: number;
    readonly cancelled: number;
    readonly lastFinishedAt: Date | null;
    /** Cast pieces still running. */
    readonly unfinishedCount: number;
    /** The first cast ids by (`startedAt`, id), at most the embed cap. */
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
  /** When the recompute runs: the completion time of a parent that ends with no finished child. */
  readonly now: Date;
  readonly maxEmbeddedIds: number;
}

/** One field whose stored value differs from the value recomputed from the children. */
export interface AggregateDifference {
  readonly field: string;
  readonly stored: unknown;
  readonly recomputed: unknown;
}

/** Keeps the stored list (and its order) when it holds the same ids; otherwise the recomputed one. */
function idList(stored: readonly string[], recomputed: readonly string[], cap: number): readonly string[] {
  const unique = [...new Set(recomputed)].slice(0, cap);
  if (unique.length === stored.length && unique.every((id) => stored.includes(id))) return stored;
  return unique;
}

export function recomputeCast(cast: Cast, summary: ChildrenSummary, context: RecomputeContext): Cast {
  const { finished } = summary.generations;
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
    inFlightCount: summary.generations.unfinishedCount,
    stepGenerationIds: idList(cast.stepGenerationIds, summary.generations.firstIds, context.maxEmbeddedIds),
  };
}

export function recomputeCook(cook: Cook, summary: ChildrenSummary, context: RecomputeContext): Cook {
  const { finished, finishedPieces } = summary.generations;
  const casts = summary.casts ?? { completed: 0, failed: 0, cancelled: 0, lastFinishedAt: null, unfinishedCount: 0, firstIds: [] };
  const counts = {
    generatedCount: finishedPieces.success + casts.completed,
    failedCount: finishedPieces.failed + finishedPieces.timeout + casts.failed,
    cancelledCount: finishedPieces.cancelled_by_user + casts.cancelled,
    inFlightCount: summary.generations.unfinishedPieces + casts.unfinishedCount,
  };
  let { status, completedAt, durationMs } = cook;
  if (cookIsOpen(status) && cookReachedSupply({ ...counts, targetSupply: cook.targetSupply })) {
    status = 'completed';
    completedAt = laterOf(summary.generations.lastFinishedAt, casts.lastFinishedAt) ?? context.now;
    durationMs = elapsedMs(cook.startedAt, completedAt);
  }
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
    openGenerationCount: summary.generations.unfinishedCount,
    generationIds: idList(cook.generationIds, summary.generations.firstIds, context.maxEmbeddedIds),
    castIds: idList(cook.castIds, casts.firstIds, context.maxEmbeddedIds),
  };
}

const COMPARED_CAST_FIELDS = [
  'status',
  'outcomes',
  'pointsSpent',
  'protocolNetPoints',
  'costUsd',
  'inFlightCount',
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
  'openGenerationCount',
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
    // Id lists are compared as sets of ids: order carries no money.
    const left = new Set(before);
    return left.size === new Set(after).size && after.every((item) => left.has(item));
  }
  if (typeof before === 'object' && before !== null && typeof after === 'object' && after !== null) {
    const left = before as Record<string, unknown>;
    const right = after as Record<string, unknown>;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...keys].every((key) => left[key] === right[key]);
  }
  return before === after;
}
