/**
 * Tallies of a parent's children, for reconcile: what every store's `summarizeChildren` adds up,
 * one child at a time, wherever the children come from (a Map, a cursor, rows). Money is summed as
 * exact integers of 10^-18 dollars. Pure: no I/O.
 */
import { laterOf } from '../duration.js';
import { formatUsdUnits, parseUsdUnits } from '../money.js';
import { addOutcome, ZERO_OUTCOMES, type Cast, type Generation, type OutcomeCounts } from '../records.js';
import { isTerminalGenerationStatus } from '../status.js';
import type { ChildrenSummary } from './recompute.js';

/** Generations below a parent. `piece` says whether a child is itself a cook piece (never under a cast). */
export class GenerationTally {
  private outcomes: OutcomeCounts = ZERO_OUTCOMES;
  private finishedPieces: OutcomeCounts = ZERO_OUTCOMES;
  private pointsSpent = 0;
  private protocolNetPoints = 0;
  private costUnits = 0n;
  private lastFinishedAt: Date | null = null;
  private unfinishedCount = 0;
  private unfinishedPieces = 0;

  add(child: Pick<Generation, 'status' | 'pointsSpent' | 'protocolNetPoints' | 'costUsd' | 'responseTimestamp'>, piece: boolean): void {
    if (!isTerminalGenerationStatus(child.status)) {
      this.unfinishedCount += 1;
      if (piece) this.unfinishedPieces += 1;
      return;
    }
    this.outcomes = addOutcome(this.outcomes, child.status);
    if (piece) this.finishedPieces = addOutcome(this.finishedPieces, child.status);
    this.pointsSpent += child.pointsSpent;
    this.protocolNetPoints += child.protocolNetPoints;
    this.costUnits += parseUsdUnits(child.costUsd);
    this.lastFinishedAt = laterOf(this.lastFinishedAt, child.responseTimestamp);
  }

  /** @param firstIds the first child ids by (`requestTimestamp`, id), at most the embed cap */
  summary(firstIds: readonly string[]): ChildrenSummary['generations'] {
    return {
      finished: {
        outcomes: this.outcomes,
        pointsSpent: this.pointsSpent,
        protocolNetPoints: this.protocolNetPoints,
        costUsd: formatUsdUnits(this.costUnits),
      },
      finishedPieces: this.finishedPieces,
      lastFinishedAt: this.lastFinishedAt,
      unfinishedCount: this.unfinishedCount,
      unfinishedPieces: this.unfinishedPieces,
      firstIds,
    };
  }
}

/** Cast pieces of a cook. */
export class CastPieceTally {
  private completed = 0;
  private failed = 0;
  private cancelled = 0;
  private lastFinishedAt: Date | null = null;
  private unfinishedCount = 0;

  add(cast: Pick<Cast, 'status' | 'completedAt'>): void {
    if (cast.status === 'running') {
      this.unfinishedCount += 1;
      return;
    }
    if (cast.status === 'completed') this.completed += 1;
    else if (cast.status === 'failed') this.failed += 1;
    else this.cancelled += 1;
    this.lastFinishedAt = laterOf(this.lastFinishedAt, cast.completedAt);
  }

  /** @param firstIds the first cast ids by (`startedAt`, id), at most the embed cap */
  summary(firstIds: readonly string[]): NonNullable<ChildrenSummary['casts']> {
    return {
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      lastFinishedAt: this.lastFinishedAt,
      unfinishedCount: this.unfinishedCount,
      firstIds,
    };
  }
}
