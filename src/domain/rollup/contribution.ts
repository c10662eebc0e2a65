/**
 * What a child hands to a parent: when it is recorded (an attachment) and when it finishes (a
 * contribution). These are the messages of the roll-up; the reducers in this folder say what they
 * do to a parent, and the composites (`creation.ts`, `settlement.ts`, `cast-ending.ts`) say which
 * of them one atomic operation runs. The gate that makes each happen once is the child's own
 * transition (its insert, its move to a terminal status), never an entry in the parent.
 */
import type { Cast, Generation } from '../records.js';
import type { TerminalGenerationStatus, TerminalParentStatus } from '../status.js';
import type { UsdAmount } from '../money.js';

/** Caps that keep a parent document bounded however many children it has. */
export interface ParentCaps {
  /** Most children a parent may have in flight at once; recording one more fails with a conflict. */
  readonly maxInFlight: number;
  /** Most child ids embedded in a parent's id lists; beyond it, children are found by query. */
  readonly maxEmbeddedIds: number;
}

/**
 * A child being recorded under a parent. The attach is part of the child's creation: the store
 * checks the parents and inserts the child in one atomic operation (see `createAttached`), so a
 * child is never stored under a parent that refused it and an attach happens once (the child's
 * insert is the gate).
 *
 * - `kind: 'generation', piece: false`: a cast step, or (for a cook) a generation inside a cast piece.
 * - `kind: 'generation', piece: true`: a generation that is itself a cook piece.
 * - `kind: 'cast'` (cooks only): a cast that is a cook piece.
 */
export interface ChildAttachment {
  readonly childId: string;
  readonly kind: 'generation' | 'cast';
  readonly piece: boolean;
  readonly at: Date;
  readonly caps: ParentCaps;
}

/** What an attach did: `closed` when the parent no longer takes children, `full` at {@link ParentCaps.maxInFlight}. */
export type AttachOutcome = 'attached' | 'closed' | 'full';

/** A finished generation's figures, applied once to each of its parents. */
export interface GenerationContribution {
  readonly kind: 'generation';
  readonly childId: string;
  readonly status: TerminalGenerationStatus;
  readonly pointsSpent: number;
  readonly protocolNetPoints: number;
  readonly costUsd: UsdAmount;
  readonly finishedAt: Date;
  /** Whether the generation is itself a cook piece (it has a cook and no cast). */
  readonly piece: boolean;
}

/**
 * A finished cast's outcome, applied once to its cook. Carries no money: each step's points and
 * cost reached the cook directly when the step finished.
 */
export interface CastPieceContribution {
  readonly kind: 'cast';
  readonly childId: string;
  readonly status: TerminalParentStatus;
  readonly finishedAt: Date;
}

export type ChildContribution = GenerationContribution | CastPieceContribution;

/** The contribution of a finished generation. Throws if it has not finished. */
export function generationContribution(generation: Generation): GenerationContribution {
  if (generation.responseTimestamp === null || generation.status === 'pending' || generation.status === 'processing') {
    throw new Error(`generation ${generation.id} has not finished`);
  }
  return {
    kind: 'generation',
    childId: generation.id,
    status: generation.status,
    pointsSpent: generation.pointsSpent,
    protocolNetPoints: generation.protocolNetPoints,
    costUsd: generation.costUsd,
    finishedAt: generation.responseTimestamp,
    piece: generation.castId === null,
  };
}

/** The contribution of a finished cast to its cook. Throws if it has not finished. */
export function castPieceContribution(cast: Cast): CastPieceContribution {
  if (cast.status === 'running' || cast.completedAt === null) throw new Error(`cast ${cast.id} has not finished`);
  return { kind: 'cast', childId: cast.id, status: cast.status, finishedAt: cast.completedAt };
}
