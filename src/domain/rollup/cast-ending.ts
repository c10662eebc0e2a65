/**
 * A cast's end and, when the cast is a cook piece, its apply to the cook, as one atomic operation
 * of the store. The gate is the cast's own move from running to a terminal status: only the write
 * that makes that move applies the piece, so a repeated `finish` or `cancel` applies nothing.
 *
 * A cast ends in three ways, each one operation: a step's settlement (`settlement.ts`), the host's
 * or the sweeper's transition (`endCast`), and reconcile's replacement of its aggregates
 * (`replaceCastAggregates`). Pure, like the reducers.
 */
import type { Cast, Cook } from '../records.js';
import { isTerminalParentStatus } from '../status.js';
import { transitionCast } from './cast-reducer.js';
import { castPieceContribution } from './contribution.js';
import { applyToCook } from './cook-reducer.js';
import { changedFrom, type ParentTransition, type WriteResult } from './write-result.js';

/** A cast's write, and the apply of the cast as a finished piece to its cook when this write ended it. */
export interface CastEnding {
  readonly cast: WriteResult<Cast>;
  /** `null` unless this write moved the cast from running to a terminal status and it is a cook piece whose cook exists. */
  readonly castPiece: WriteResult<Cook> | null;
}

/** Whether a cast write moved a cook piece from running to a terminal status (so its piece is applied now). */
export function endsCastPiece(write: WriteResult<Cast>): boolean {
  return write.changed && write.previousStatus === 'running' && isTerminalParentStatus(write.record.status) && write.record.cookId !== null;
}

function withPiece(write: WriteResult<Cast>, cook: Cook | null, at: Date): CastEnding {
  if (!endsCastPiece(write) || cook === null || cook.id !== write.record.cookId) return { cast: write, castPiece: null };
  return { cast: write, castPiece: applyToCook(cook, castPieceContribution(write.record), at) };
}

/**
 * `transitionCast`, and the piece's apply to its cook when that ended the cast.
 *
 * @param cook the cast's cook as stored (`cast.cookId`), `null` when it has none or it is gone
 */
export function endCast(cast: Cast, cook: Cook | null, transition: ParentTransition, at: Date): CastEnding {
  return withPiece(transitionCast(cast, transition, at), cook, at);
}

/**
 * Reconcile's write on a cast: `recomputed` replaces the stored aggregates if the stored `version`
 * is still `expectedVersion` (`null` otherwise: the caller recomputes and tries again), with the
 * piece's apply to its cook when the replacement moves the cast from running to a terminal status.
 */
export function replaceCastAggregates(stored: Cast, expectedVersion: number, recomputed: Cast, cook: Cook | null, at: Date): CastEnding | null {
  const next = replacedAggregates(stored, expectedVersion, recomputed, at);
  return next === null ? null : withPiece(changedFrom(stored, next), cook, at);
}

/** Reconcile's write on a cook: as {@link replaceCastAggregates}, without a parent. */
export function replaceCookAggregates(stored: Cook, expectedVersion: number, recomputed: Cook, at: Date): WriteResult<Cook> | null {
  const next = replacedAggregates(stored, expectedVersion, recomputed, at);
  return next === null ? null : changedFrom(stored, next);
}

function replacedAggregates<T extends Cast | Cook>(stored: T, expectedVersion: number, recomputed: T, at: Date): T | null {
  if (stored.version !== expectedVersion || recomputed.id !== stored.id) return null;
  return { ...recomputed, version: expectedVersion + 1, updatedAt: at };
}
