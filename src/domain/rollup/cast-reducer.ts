/**
 * What each roll-up message does to a cast. Pure: the memory adapter runs these as its writes, and
 * the database adapters' conditional updates are checked against them.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { appended, copyCast, hasOpenEntry, withoutEntry } from '../record-copies.js';
import { addOutcome, type Cast, type OpenChild } from '../records.js';
import type { ChildAttachment, GenerationContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { castStatusAfterStep } from './rules.js';

/** Records a step under a running cast that has room for it. */
export function attachToCast(cast: Cast, attachment: ChildAttachment): AttachResult<Cast> {
  if (hasOpenEntry(cast.openSteps, attachment.childId)) return { outcome: 'already-attached', record: cast };
  if (cast.status !== 'running') return { outcome: 'closed', record: cast };
  if (cast.inFlightCount >= attachment.caps.maxInFlight) return { outcome: 'full', record: cast };
  const next = copyCast(cast);
  next.openSteps = appended<OpenChild>(cast.openSteps, { id: attachment.childId, kind: 'generation', since: attachment.at });
  if (cast.stepGenerationIds.length < attachment.caps.maxEmbeddedIds) next.stepGenerationIds = appended(cast.stepGenerationIds, attachment.childId);
  next.inFlightCount = cast.inFlightCount + 1;
  next.version = cast.version + 1;
  next.updatedAt = attachment.at;
  return { outcome: 'attached', record: next };
}

/** Forgets a step that was attached but never stored. Finished steps are never detached. */
export function detachFromCast(cast: Cast, childId: string, at: Date): WriteResult<Cast> {
  if (!hasOpenEntry(cast.openSteps, childId)) return unchanged(cast);
  const next = copyCast(cast);
  next.openSteps = withoutEntry(cast.openSteps, childId);
  next.stepGenerationIds = cast.stepGenerationIds.filter((id) => id !== childId);
  next.inFlightCount = cast.inFlightCount - 1;
  next.version = cast.version + 1;
  next.updatedAt = at;
  return changedFrom(cast, next);
}

/**
 * Applies a finished step once: only while the step is still open in the cast, and the entry is
 * removed in the same write. Money always lands, even on a cast that already ended (a step that
 * finishes after its cast failed still cost what it cost); the status moves only while running.
 */
export function applyToCast(cast: Cast, contribution: GenerationContribution, at: Date): WriteResult<Cast> {
  if (!hasOpenEntry(cast.openSteps, contribution.childId)) return unchanged(cast);
  const next = copyCast(cast);
  next.outcomes = addOutcome(cast.outcomes, contribution.status);
  if (cast.status === 'running') {
    next.status = castStatusAfterStep(contribution.status, next.outcomes, cast.totalSteps);
    if (next.status !== 'running') {
      next.completedAt = contribution.finishedAt;
      next.durationMs = elapsedMs(cast.startedAt, contribution.finishedAt);
    }
  }
  next.openSteps = withoutEntry(cast.openSteps, contribution.childId);
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
  const next = copyCast(cast);
  next.status = status;
  next.completedAt = at;
  next.durationMs = elapsedMs(cast.startedAt, at);
  next.version = cast.version + 1;
  next.updatedAt = at;
  return changedFrom(cast, next);
}
