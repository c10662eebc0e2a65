/**
 * What each roll-up message does to a cook. Pure, like the cast reducer. A cook keeps two sets of
 * open children: its pieces in flight (generations and casts), which drive its piece counts and
 * completion, and every generation below it in flight, which gates its money, so a step inside a
 * cast piece adds its points and cost to the cook exactly once.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { appended, copyCook, hasOpenEntry, withoutEntry, type Draft } from '../record-copies.js';
import { addOutcome, type Cook, type OpenChild } from '../records.js';
import type { ChildAttachment, ChildContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { cookIsOpen, cookReachedSupply, cookStatusOnFinish, pieceCounterFor } from './rules.js';

/**
 * Records a child under a cook. New pieces need a running cook (a paused cook takes no new pieces);
 * a step of a cast piece that is already in flight may still be recorded while the cook is paused.
 */
export function attachToCook(cook: Cook, attachment: ChildAttachment): AttachResult<Cook> {
  const { childId, kind, piece, caps, at } = attachment;
  const alreadyOpen = piece ? hasOpenEntry(cook.openPieces, childId) : hasOpenEntry(cook.openGenerations, childId);
  if (alreadyOpen) return { outcome: 'already-attached', record: cook };
  const accepts = piece ? cook.status === 'running' : cookIsOpen(cook.status);
  if (!accepts) return { outcome: 'closed', record: cook };
  const inFlight = piece ? cook.inFlightCount : cook.openGenerations.length;
  if (inFlight >= caps.maxInFlight) return { outcome: 'full', record: cook };

  const entry: OpenChild = { id: childId, kind, since: at };
  const next = copyCook(cook);
  if (piece) {
    next.openPieces = appended(cook.openPieces, entry);
    next.inFlightCount = cook.inFlightCount + 1;
  }
  if (kind === 'generation') {
    next.openGenerations = appended(cook.openGenerations, entry);
    if (cook.generationIds.length < caps.maxEmbeddedIds) next.generationIds = appended(cook.generationIds, childId);
  } else if (cook.castIds.length < caps.maxEmbeddedIds) {
    next.castIds = appended(cook.castIds, childId);
  }
  next.version = cook.version + 1;
  next.updatedAt = at;
  return { outcome: 'attached', record: next };
}

/**
 * Forgets a child that was attached but never stored. If that leaves a cook with its supply made
 * and nothing in flight, it completes in the same write, as it would have on its last piece.
 */
export function detachFromCook(cook: Cook, childId: string, at: Date): WriteResult<Cook> {
  const wasPiece = hasOpenEntry(cook.openPieces, childId);
  const wasGeneration = hasOpenEntry(cook.openGenerations, childId);
  if (!wasPiece && !wasGeneration) return unchanged(cook);
  const inFlightCount = wasPiece ? cook.inFlightCount - 1 : cook.inFlightCount;
  const completes = wasPiece && cookIsOpen(cook.status) && cookReachedSupply({ ...cook, inFlightCount });
  const next = copyCook(cook);
  if (completes) {
    next.status = 'completed';
    next.completedAt = at;
    next.durationMs = elapsedMs(cook.startedAt, at);
  }
  next.openPieces = withoutEntry(cook.openPieces, childId);
  next.openGenerations = withoutEntry(cook.openGenerations, childId);
  next.generationIds = cook.generationIds.filter((id) => id !== childId);
  next.castIds = cook.castIds.filter((id) => id !== childId);
  next.inFlightCount = inFlightCount;
  next.version = cook.version + 1;
  next.updatedAt = at;
  return changedFrom(cook, next);
}

/**
 * Applies a finished child once. A generation is gated by the open-generations set and adds its
 * money and outcome; if it is a piece, the same write also closes the piece. A cast is gated by
 * the open-pieces set and moves only the piece counts. The cook completes in the same write when
 * it has its supply and nothing is in flight.
 */
export function applyToCook(cook: Cook, contribution: ChildContribution, at: Date): WriteResult<Cook> {
  const gate = contribution.kind === 'generation' ? cook.openGenerations : cook.openPieces;
  if (!hasOpenEntry(gate, contribution.childId)) return unchanged(cook);
  const next = copyCook(cook);
  if (contribution.kind === 'generation') {
    next.outcomes = addOutcome(cook.outcomes, contribution.status);
    next.pointsSpent = cook.pointsSpent + contribution.pointsSpent;
    next.protocolNetPoints = cook.protocolNetPoints + contribution.protocolNetPoints;
    next.costUsd = addCanonicalUsd(cook.costUsd, contribution.costUsd);
    next.openGenerations = withoutEntry(cook.openGenerations, contribution.childId);
    if (contribution.piece && hasOpenEntry(cook.openPieces, contribution.childId)) closePiece(next, contribution.childId, pieceCounterFor(contribution.status));
  } else {
    closePiece(next, contribution.childId, pieceCounterFor(contribution.status));
  }
  if (cookIsOpen(cook.status) && cookReachedSupply(next)) {
    next.status = 'completed';
    next.completedAt = contribution.finishedAt;
    next.durationMs = elapsedMs(cook.startedAt, contribution.finishedAt);
  }
  next.version = cook.version + 1;
  next.updatedAt = at;
  return changedFrom(cook, next);
}

function closePiece(next: Draft<Cook>, pieceId: string, counter: ReturnType<typeof pieceCounterFor>): void {
  next.openPieces = withoutEntry(next.openPieces, pieceId);
  next.inFlightCount -= 1;
  next[counter] += 1;
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
  const next = copyCook(cook);
  next.status = status;
  if (status === 'completed' || status === 'failed' || status === 'cancelled') {
    next.completedAt = at;
    next.durationMs = elapsedMs(cook.startedAt, at);
  }
  next.version = cook.version + 1;
  next.updatedAt = at;
  return changedFrom(cook, next);
}
