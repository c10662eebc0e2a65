/**
 * The conditional updates on a generation. Each is a filter (the domain rule's precondition, as
 * the stored document spells it) and an update pipeline (what the domain reducer changes). The
 * status never moves unless the filter matched, and the filter and the update run as one atomic
 * `findOneAndUpdate` on one document.
 */
import type { Document } from 'mongodb';
import type { DeliveryReport, GenerationOutcome, ProgressReport } from 'genledger/adapter';
import { elapsed, dateOr, literal, numberOr, touch } from './expressions.js';
import { allOf, generationUpdatedBefore } from './filters.js';
import { idTimestamp } from './ids.js';
import { toDecimal128 } from './money.js';
import { GENERATION_WORDS, OPEN_GENERATION_WORDS, PENDING_DELIVERY_WORDS } from './status-words.js';

/** One conditional update: applied only where `filter` matches (besides `_id`). */
export interface WritePlan {
  readonly filter: Document;
  readonly update: Document[];
}

const isOpen: Document = { status: { $in: [...OPEN_GENERATION_WORDS] } };

/** `startGeneration`: pending -> processing. */
export function startPlan(at: Date): WritePlan {
  return {
    filter: { status: { $in: [...GENERATION_WORDS.pending] } },
    update: [{ $set: { status: 'processing', startedAt: literal(at), ...touch(at) } }],
  };
}

/** `recordGenerationProgress`: an open generation whose progress as read is not ahead of the report. */
export function progressPlan(report: ProgressReport): WritePlan {
  const notAhead: Document = {
    $or: [{ progress: { $type: 'number', $lte: report.progress } }, { progress: { $type: 'number', $gt: 1 } }, { progress: { $not: { $type: 'number' } } }],
  };
  return {
    filter: allOf(isOpen, notAhead),
    update: [
      {
        $set: {
          status: 'processing',
          startedAt: { $cond: [{ $eq: [{ $type: '$startedAt' }, 'date'] }, '$startedAt', literal(report.at)] },
          progress: literal(report.progress),
          ...touch(report.at),
        },
      },
    ],
  };
}

/** `finishGeneration`: sets the terminal status and every derived figure, once. */
export function finishPlan(id: string, outcome: GenerationOutcome): WritePlan {
  const conditions: Document[] = [isOpen];
  if (outcome.onlyIfUpdatedBefore) {
    conditions.push(generationUpdatedBefore(outcome.onlyIfUpdatedBefore, idTimestamp(id) < outcome.onlyIfUpdatedBefore));
  }
  const set: Document = {
    status: outcome.status,
    pointsSpent: literal(outcome.pointsSpent),
    protocolNetPoints: literal(outcome.protocolNetPoints),
    costUsd: literal(toDecimal128(outcome.costUsd)),
    responseTimestamp: literal(outcome.responseTimestamp),
    durationMs: elapsed(dateOr('requestTimestamp', idTimestamp(id)), literal(outcome.responseTimestamp)),
    ...touch(outcome.at),
  };
  if (outcome.costProvenance !== undefined) set.costProvenance = literal(outcome.costProvenance);
  if (outcome.status === 'success') set.progress = 1;
  if (outcome.responsePayload !== undefined) set.responsePayload = literal(outcome.responsePayload);
  if (outcome.artifactUrls !== undefined) set.artifactUrls = literal([...outcome.artifactUrls]);
  if (outcome.errorDetails !== undefined) set.errorDetails = literal(outcome.errorDetails);
  if (outcome.platformSpecificRunId !== undefined) set.platformSpecificRunId = literal(outcome.platformSpecificRunId);
  return { filter: allOf(...conditions), update: [{ $set: set }] };
}

const KNOWN_DELIVERY_WORDS = ['skipped', 'pending', 'sent', 'dropped', 'failed'].flatMap((word) => [word, word.charAt(0).toUpperCase() + word.slice(1), word.toUpperCase()]);

/**
 * `recordGenerationDelivery`: a finished generation whose delivery reads as `pending`: stored as
 * `pending`, or (legacy) not stored at all on a record with a platform to notify and no sign of a
 * delivery (no `deliveryTimestamp`, no `deliveryError`).
 */
export function deliveryPlan(report: DeliveryReport): WritePlan {
  const pendingDelivery: Document = {
    $or: [
      { deliveryStatus: { $in: [...PENDING_DELIVERY_WORDS] } },
      {
        deliveryStatus: { $nin: KNOWN_DELIVERY_WORDS },
        notificationPlatform: { $type: 'string', $nin: ['', 'none'] },
        deliveryTimestamp: { $not: { $type: 'date' } },
        $nor: [{ deliveryError: { $type: 'string', $ne: '' } }],
      },
    ],
  };
  const attempts = report.attempts ?? { $add: [{ $max: [0, { $trunc: [numberOr('deliveryAttempts', 0), 0] }] }, 1] };
  return {
    filter: allOf({ status: { $nin: [...OPEN_GENERATION_WORDS] } }, pendingDelivery),
    update: [
      {
        $set: {
          deliveryStatus: report.outcome,
          deliveryAttempts: typeof attempts === 'number' ? literal(attempts) : attempts,
          deliveryTimestamp: literal(report.at),
          deliveryError: literal(report.error),
          ...touch(report.at),
        },
      },
    ],
  };
}
