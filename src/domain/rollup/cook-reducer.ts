/**
 * What each roll-up message does to a cook. Pure, like the cast reducer. A cook keeps two sets of
 * open children: its pieces in flight (generations and casts), which drive its piece counts and
 * completion, and every generation below it in flight, which gates its money, so a step inside a
 * cast piece adds its points and cost to the cook exactly once.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { addOutcome, type Cook, type OpenChild } from '../records.js';
import type { ChildAttachment, ChildContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { cookIsOpen, cookReachedSupply, cookStatusOnFinish, pieceCounterFor } from './rules.js';

function hasOpen(list: readonly OpenChild[], id: string): boolean {
  return list.some((open) => open.id === id);
}

/**
 * Records a child under a cook. New pieces need a running cook (a paused cook takes no new pieces);
 * a step of a cast piece that is already in flight may still be recorded while the cook is paused.
 */
export function attachToCook(cook: Cook, attachment: ChildAttachment): AttachResult<Cook> {
  const { childId, kind, piece, caps, at } = attachment;
  const alreadyOpen = piece ? hasOpen(cook.openPieces, childId) : hasOpen(cook.openGenerations, childId);
  if (alreadyOpen) return { outcome: 'already-attached', record: cook };
  const accepts = piece ? cook.status === 'running' : cookIsOpen(cook.status);
  if (!accepts) return { outcome: 'closed', record: cook };
  const inFlight = piece ? cook.inFlightCount : cook.openGenerations.length;
  if (inFlight >= caps.maxInFlight) return { outcome: 'full', record: cook };

  const entry: OpenChild = { id: childId, kind, since: at };
  const isGeneration = kind === 'generation';
  const embedGeneration = isGeneration && cook.generationIds.length < caps.maxEmbeddedIds;
  const embedCast = !isGeneration && cook.castIds.length < caps.maxEmbeddedIds;
  return {
    outcome: 'attached',
    record: {
      ...cook,
      openPieces: piece ? cook.openPieces.concat(entry) : cook.openPieces,
      openGenerations: isGeneration ? cook.openGenerations.concat(entry) : cook.openGenerations,
      generationIds: embedGeneration ? cook.generationIds.concat(childId) : cook.generationIds,
      castIds: embedCast ? cook.castIds.concat(childId) : cook.castIds,
      inFlightCount: piece ? cook.inFlightCount + 1 : cook.inFlightCount,
      version: cook.version + 1,
      updatedAt: at,
    },
  };
}

/**
 * Forgets a child that was attached but never stored. If that leaves a cook with its supply made
 * and nothing in flight, it completes in the same write, as it would have on its last piece.
 */
export function detachFromCook(cook: Cook, childId: string, at: Date): WriteResult<Cook> {
  const wasPiece = hasOpen(cook.openPieces, childId);
  const wasGeneration = hasOpen(cook.openGenerations, childId);
  if (!wasPiece && !wasGeneration) return unchanged(cook);
  const inFlightCount = wasPiece ? cook.inFlightCount - 1 : cook.inFlightCount;
  const completes = wasPiece && cookIsOpen(cook.status) && cookReachedSupply({ ...cook, inFlightCount });
  return changedFrom(cook, {
    ...cook,
    status: completes ? 'completed' : cook.status,
    completedAt: completes ? at : cook.completedAt,
    durationMs: completes ? elapsedMs(cook.startedAt, at) : cook.durationMs,
    openPieces: cook.openPieces.filter((open) => open.id !== childId),
    openGenerations: cook.openGenerations.filter((open) => open.id !== childId),
    generationIds: cook.generationIds.filter((id) => id !== childId),
    castIds: cook.castIds.filter((id) => id !== childId),
    inFlightCount,
    version: cook.version + 1,
    updatedAt: at,
  });
}

/**
 * Applies a finished child once. A generation is gated by the open-generations set and adds its
 * money and outcome; if it is a piece, the same write also closes the piece. A cast is gated by
 * the open-pieces set and moves only the piece counts. The cook completes in the same write when
 * it has its supply and nothing is in flight.
 */
export function applyToCook(cook: Cook, contribution: ChildContribution, at: Date): WriteResult<Cook> {
  let next: Cook;
  if (contribution.kind === 'generation') {
    if (!hasOpen(cook.openGenerations, contribution.childId)) return unchanged(cook);
    const closesPiece = contribution.piece && hasOpen(cook.openPieces, contribution.childId);
    next = {
      ...cook,
      outcomes: addOutcome(cook.outcomes, contribution.status),
      pointsSpent: cook.pointsSpent + contribution.pointsSpent,
      protocolNetPoints: cook.protocolNetPoints + contribution.protocolNetPoints,
      costUsd: addCanonicalUsd(cook.costUsd, contribution.costUsd),
      openGenerations: cook.openGenerations.filter((open) => open.id !== contribution.childId),
    };
    if (closesPiece) next = closePiece(next, contribution.childId, pieceCounterFor(contribution.status));
  } else {
    if (!hasOpen(cook.openPieces, contribution.childId)) return unchanged(cook);
    next = closePiece(cook, contribution.childId, pieceCounterFor(contribution.status));
  }
  const completes = cookIsOpen(cook.status) && cookReachedSupply(next);
  return changedFrom(cook, {
    ...next,
    status: completes ? 'completed' : cook.status,
    completedAt: completes ? contribution.finishedAt : cook.completedAt,
    durationMs: completes ? elapsedMs(cook.startedAt, contribution.finishedAt) : cook.durationMs,
    version: cook.version + 1,
    updatedAt: at,
  });
}

function closePiece(cook: Cook, pieceId: string, counter: ReturnType<typeof pieceCounterFor>): Cook {
  return {
    ...cook,
    openPieces: cook.openPieces.filter((open) => open.id !== pieceId),
    inFlightCount: cook.inFlightCount - 1,
    [counter]: cook[counter] + 1,
  };
}

/**
 * `finish`: running|paused -> completed if any piece succeeded, else failed; `cancel`:
 * running|paused -> cancelled; `pause`: running -> paused; `resume`: paused -> running;
 * `expire`: a running cook with nothing in flight is finished as by `finish` (a paused cook is
 * idle on purpose and is left alone).
 */
export function transitionCook(cook: Cook, transition: ParentTransition, at: Date): WriteResult<Cook> {
  let status: Cook['status'] | null = null;
  if (transition === 'finish' && cookIsOpen(cook.status)) status = cookStatusOnFinish(cook.generatedCount);
  else if (transition === 'cancel' && cookIsOpen(cook.status)) status = 'cancelled';
  else if (transition === 'pause' && cook.status === 'running') status = 'paused';
  else if (transition === 'resume' && cook.status === 'paused') status = 'running';
  else if (transition === 'expire' && cook.status === 'running' && cook.inFlightCount === 0)
    status = cookStatusOnFinish(cook.generatedCount);
  if (status === null) return unchanged(cook);
  const ends = status === 'completed' || status === 'failed' || status === 'cancelled';
  return changedFrom(cook, {
    ...cook,
    status,
    completedAt: ends ? at : cook.completedAt,
    durationMs: ends ? elapsedMs(cook.startedAt, at) : cook.durationMs,
    version: cook.version + 1,
    updatedAt: at,
  });
}
