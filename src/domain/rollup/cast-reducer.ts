/**
 * What each roll-up message does to a cast. Pure and ungated: the caller guarantees that each
 * message is applied once (the child's own transition is the gate; see `settlement.ts`). The
 * memory adapter runs these as its writes, and the database adapters' writes are checked against
 * them.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { addOutcome, type Cast } from '../records.js';
import type { ChildAttachment, GenerationContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { castStatusAfterStep } from './rules.js';

/** Records a step under a running cast that has room for it. */
export function attachToCast(cast: Cast, attachment: ChildAttachment): AttachResult<Cast> {
  if (cast.status !== 'running') return { outcome: 'closed', record: cast };
  if (cast.inFlightCount >= attachment.caps.maxInFlight) return { outcome: 'full', record: cast };
  const next = { ...cast };
  if (cast.stepGenerationIds.length < attachment.caps.maxEmbeddedIds) next.stepGenerationIds = [...cast.stepGenerationIds, attachment.childId];
  next.inFlightCount = cast.inFlightCount + 1;
  next.version = cast.version + 1;
  next.updatedAt = attachment.at;
  return { outcome: 'attached', record: next };
}

/**
 * Applies a finished step (unconditionally: call it once per step, in the operation that moved the
 * step to its terminal status). Money always lands, even on a cast that already ended (a step that
 * finishes after its cast failed still cost what it cost); the status moves only while running.
 */
export function applyToCast(cast: Cast, contribution: GenerationContribution, at: Date): WriteResult<Cast> {
  const next = { ...cast };
  next.outcomes = addOutcome(cast.outcomes, contribution.status);
  if (cast.status === 'running') {
    next.status = castStatusAfterStep(contribution.status, next.outcomes, cast.totalSteps);
    if (next.status !== 'running') {
      next.completedAt = contribution.finishedAt;
      next.durationMs = elapsedMs(cast.startedAt, contribution.finishedAt);
    }
  }
  next.inFlightCount = cast.inFlightCount - 1;
  next.pointsSpent = cast.pointsSpent + contribution.pointsSpent;
  next.protocolNetPoints = cast.protocolNetPoints + contribution.protocolNetPoints;
  next.costUsd = addCanonicalUsd(cast.costUsd, contribution.costUsd);
  next.version = cast.version + 1;
  next.updatedAt = at;
  return changedFrom(cast, next);
}

/**
 * `finish`: running -> completed; `cancel`: running -> cancelled; `expire`: a running cast with
 * nothing in flight -> completed when it declared no `totalSteps` (as if its host had finished
 * it), otherwise failed (it never reached them). Anything else changes nothing.
 */
export function transitionCast(cast: Cast, transition: ParentTransition, at: Date): WriteResult<Cast> {
  if (cast.status !== 'running') return unchanged(cast);
  let status: Cast['status'];
  if (transition === 'finish') status = 'completed';
  else if (transition === 'cancel') status = 'cancelled';
  else if (transition === 'expire' && cast.inFlightCount === 0) status = cast.totalSteps === null ? 'completed' : 'failed';
  else return unchanged(cast);
  const next = { ...cast };
  next.status = status;
  next.completedAt = at;
  next.durationMs = elapsedMs(cast.startedAt, at);
  next.version = cast.version + 1;
  next.updatedAt = at;
  return changedFrom(cast, next);
}
