/**
 * What each roll-up message does to a cook. Pure and ungated, like the cast reducer: the caller
 * guarantees each message is applied once. A cook counts its pieces in flight (`inFlightCount`:
 * generations and casts), which drive its piece counts and completion, and every generation below
 * it still open (`openGenerationCount`: pieces and the steps of cast pieces), whose points and
 * cost reach the cook directly when each finishes.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { addOutcome, type Cook } from '../records.js';
import type { ChildAttachment, ChildContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { cookIsOpen, cookReachedSupply, cookStatusOnFinish, pieceCounterFor } from './rules.js';

/**
 * Records a child under a cook. New pieces need a running cook (a paused cook takes no new pieces);
 * a step of a cast piece that is already in flight may still be recorded while the cook is paused.
 * The cap counts pieces in flight for a piece, and open generations below the cook for a step.
 */
export function attachToCook(cook: Cook, attachment: ChildAttachment): AttachResult<Cook> {
  const { childId, kind, piece, caps, at } = attachment;
  const accepts = piece ? cook.status === 'running' : cookIsOpen(cook.status);
  if (!accepts) return { outcome: 'closed', record: cook };
  const inFlight = piece ? cook.inFlightCount : cook.openGenerationCount;
  if (inFlight >= caps.maxInFlight) return { outcome: 'full', record: cook };

  const next = { ...cook };
  if (piece) next.inFlightCount = cook.inFlightCount + 1;
  if (kind === 'generation') {
    next.openGenerationCount = cook.openGenerationCount + 1;
    if (cook.generationIds.length < caps.maxEmbeddedIds) next.generationIds = [...cook.generationIds, childId];
  } else if (cook.castIds.length < caps.maxEmbeddedIds) {
    next.castIds = [...cook.castIds, childId];
  }
  next.version = cook.version + 1;
  next.updatedAt = at;
  return { outcome: 'attached', record: next };
}

/**
 * Applies a finished child (unconditionally: call it once per child, in the operation that moved
 * the child to its terminal status). A generation adds its money and outcome and leaves the open
 * generations; if it is a piece, the same write also closes the piece. A cast piece moves only the
 * piece counts. The cook completes in the same write when it has its supply and nothing is in
 * flight.
 */
export function applyToCook(cook: Cook, contribution: ChildContribution, at: Date): WriteResult<Cook> {
  const next = { ...cook };
  if (contribution.kind === 'generation') {
    next.outcomes = addOutcome(cook.outcomes, contribution.status);
    next.pointsSpent = cook.pointsSpent + contribution.pointsSpent;
    next.protocolNetPoints = cook.protocolNetPoints + contribution.protocolNetPoints;
    next.costUsd = addCanonicalUsd(cook.costUsd, contribution.costUsd);
    next.openGenerationCount = cook.openGenerationCount - 1;
  }
  if (contribution.kind === 'cast' || contribution.piece) {
    next.inFlightCount = cook.inFlightCount - 1;
    const counter = pieceCounterFor(contribution.status);
    next[counter] = cook[counter] + 1;
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
  const next = { ...cook };
  next.status = status;
  if (status === 'completed' || status === 'failed' || status === 'cancelled') {
    next.completedAt = at;
    next.durationMs = elapsedMs(cook.startedAt, at);
  }
  next.version = cook.version + 1;
  next.updatedAt = at;
  return changedFrom(cook, next);
}
