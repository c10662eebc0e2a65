/**
 * What each roll-up message does to a cast. Pure: the memory adapter runs these as its writes, and
 * the database adapters' conditional updates are checked against them.
 */
import { elapsedMs } from '../duration.js';
import { addCanonicalUsd } from '../money.js';
import { addOutcome, type Cast } from '../records.js';
import type { ChildAttachment, GenerationContribution } from './contribution.js';
import { changedFrom, unchanged, type AttachResult, type ParentTransition, type WriteResult } from './write-result.js';
import { castStatusAfterStep } from './rules.js';

/** Records a step under a running cast that has room for it. */
export function attachToCast(cast: Cast, attachment: ChildAttachment): AttachResult<Cast> {
  if (cast.openSteps.some((open) => open.id === attachment.childId)) return { outcome: 'already-attached', record: cast };
  if (cast.status !== 'running') return { outcome: 'closed', record: cast };
  if (cast.inFlightCount >= attachment.caps.maxInFlight) return { outcome: 'full', record: cast };
  const embed = cast.stepGenerationIds.length < attachment.caps.maxEmbeddedIds;
  return {
    outcome: 'attached',
    record: {
      ...cast,
      openSteps: cast.openSteps.concat({ id: attachment.childId, kind: 'generation', since: attachment.at }),
      stepGenerationIds: embed ? cast.stepGenerationIds.concat(attachment.childId) : cast.stepGenerationIds,
      inFlightCount: cast.inFlightCount + 1,
      version: cast.version + 1,
      updatedAt: attachment.at,
    },
  };
}

/** Forgets a step that was attached but never stored. Finished steps are never detached. */
export function detachFromCast(cast: Cast, childId: string, at: Date): WriteResult<Cast> {
  if (!cast.openSteps.some((open) => open.id === childId)) return unchanged(cast);
  return changedFrom(cast, {
    ...cast,
    openSteps: cast.openSteps.filter((open) => open.id !== childId),
    stepGenerationIds: cast.stepGenerationIds.filter((id) => id !== childId),
    inFlightCount: cast.inFlightCount - 1,
    version: cast.version + 1,
    updatedAt: at,
  });
}

/**
 * Applies a finished step once: only while the step is still open in the cast, and the entry is
 * removed in the same write. Money always lands, even on a cast that already ended (a step that
 * finishes after its cast failed still cost what it cost); the status moves only while running.
 */
export function applyToCast(cast: Cast, contribution: GenerationContribution, at: Date): WriteResult<Cast> {
  if (!cast.openSteps.some((open) => open.id === contribution.childId)) return unchanged(cast);
  const outcomes = addOutcome(cast.outcomes, contribution.status);
  const status = cast.status === 'running' ? castStatusAfterStep(contribution.status, outcomes, cast.totalSteps) : cast.status;
  const ends = cast.status === 'running' && status !== 'running';
  return changedFrom(cast, {
    ...cast,
    status,
    outcomes,
    openSteps: cast.openSteps.filter((open) => open.id !== contribution.childId),
    inFlightCount: cast.inFlightCount - 1,
    pointsSpent: cast.pointsSpent + contribution.pointsSpent,
    protocolNetPoints: cast.protocolNetPoints + contribution.protocolNetPoints,
    costUsd: addCanonicalUsd(cast.costUsd, contribution.costUsd),
    completedAt: ends ? contribution.finishedAt : cast.completedAt,
    durationMs: ends ? elapsedMs(cast.startedAt, contribution.finishedAt) : cast.durationMs,
    version: cast.version + 1,
    updatedAt: at,
  });
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
  return changedFrom(cast, {
    ...cast,
    status,
    completedAt: at,
    durationMs: elapsedMs(cast.startedAt, at),
    version: cast.version + 1,
    updatedAt: at,
  });
}
