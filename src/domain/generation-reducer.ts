/**
 * What each write does to a generation. Pure: the memory adapter runs these as its writes, and the
 * database adapters' conditional updates are checked against them. Each write changes the record
 * only from the statuses the machine allows; otherwise it reports `changed: false` with the record
 * as it stands, and the tracker decides whether that is a harmless repeat or an error.
 */
import { checkDelivery } from './delivery.js';
import { elapsedMs } from './duration.js';
import type { JsonObject, JsonValue } from './json.js';
import type { UsdAmount } from './money.js';
import type { CostProvenance } from './pricing.js';
import type { Generation } from './records.js';
import { changedFrom, unchanged, type WriteResult } from './rollup/write-result.js';
import { isTerminalGenerationStatus, type DeliveryOutcome, type TerminalGenerationStatus } from './status.js';

/** The terminal transition, with every figure already derived and validated. */
export interface GenerationOutcome {
  readonly status: TerminalGenerationStatus;
  readonly pointsSpent: number;
  readonly protocolNetPoints: number;
  readonly costUsd: UsdAmount;
  /** Where the cost came from (see `CostProvenance`); `undefined` keeps what is stored. */
  readonly costProvenance?: CostProvenance | null | undefined;
  readonly responseTimestamp: Date;
  /** `undefined` keeps what is stored. */
  readonly responsePayload?: JsonValue | null | undefined;
  readonly artifactUrls?: readonly string[] | undefined;
  readonly errorDetails?: JsonObject | null | undefined;
  readonly platformSpecificRunId?: string | undefined;
  /** When the write happens (`updatedAt`). */
  readonly at: Date;
  /**
   * Finish only if nothing was written to the generation since this instant. The sweeper passes
   * its cut-off so that a progress report racing the sweep keeps the generation alive.
   */
  readonly onlyIfUpdatedBefore?: Date | undefined;
}

export interface ProgressReport {
  readonly progress: number;
  readonly at: Date;
}

export interface DeliveryReport {
  readonly outcome: DeliveryOutcome;
  /** Attempts made in all; defaults to one more than recorded. */
  readonly attempts?: number | undefined;
  readonly error: string | null;
  readonly at: Date;
}

/** pending -> processing, stamping `startedAt`. Already started or finished: unchanged. */
export function startGeneration(generation: Generation, at: Date): WriteResult<Generation> {
  if (generation.status !== 'pending') return unchanged(generation);
  const next = { ...generation };
  next.status = 'processing';
  next.startedAt = at;
  next.version = generation.version + 1;
  next.updatedAt = at;
  return changedFrom(generation, next);
}

/**
 * Records progress while the generation is open. Progress only moves forward: a report older than
 * the stored one (reordered webhooks) or after the end changes nothing. A report on a pending
 * generation also starts it.
 */
export function recordGenerationProgress(generation: Generation, report: ProgressReport): WriteResult<Generation> {
  if (isTerminalGenerationStatus(generation.status) || report.progress < generation.progress) {
    return unchanged(generation);
  }
  const next = { ...generation };
  next.status = 'processing';
  next.startedAt = generation.startedAt ?? report.at;
  next.progress = report.progress;
  next.version = generation.version + 1;
  next.updatedAt = report.at;
  return changedFrom(generation, next);
}

/**
 * The terminal transition: sets status, figures, `responseTimestamp` and `durationMs` once. A
 * finished generation is never changed again.
 */
export function finishGeneration(generation: Generation, outcome: GenerationOutcome): WriteResult<Generation> {
  if (isTerminalGenerationStatus(generation.status)) return unchanged(generation);
  if (outcome.onlyIfUpdatedBefore && !(generation.updatedAt < outcome.onlyIfUpdatedBefore)) {
    return unchanged(generation);
  }
  const next = { ...generation };
  next.status = outcome.status;
  next.pointsSpent = outcome.pointsSpent;
  next.protocolNetPoints = outcome.protocolNetPoints;
  next.costUsd = outcome.costUsd;
  if (outcome.costProvenance !== undefined) next.costProvenance = outcome.costProvenance;
  next.responseTimestamp = outcome.responseTimestamp;
  next.durationMs = elapsedMs(generation.requestTimestamp, outcome.responseTimestamp);
  if (outcome.status === 'success') next.progress = 1;
  if (outcome.responsePayload !== undefined) next.responsePayload = outcome.responsePayload;
  if (outcome.artifactUrls != null) next.artifactUrls = outcome.artifactUrls;
  if (outcome.errorDetails !== undefined) next.errorDetails = outcome.errorDetails;
  if (outcome.platformSpecificRunId != null) next.platformSpecificRunId = outcome.platformSpecificRunId;
  next.version = generation.version + 1;
  next.updatedAt = outcome.at;
  return changedFrom(generation, next);
}

/** Records the delivery outcome on a finished generation that has someone to notify. Status and parents are untouched. */
export function recordGenerationDelivery(generation: Generation, report: DeliveryReport): WriteResult<Generation> {
  if (!checkDelivery(generation, report.outcome).allowed) return unchanged(generation);
  const next = { ...generation };
  next.deliveryStatus = report.outcome;
  next.deliveryAttempts = report.attempts ?? generation.deliveryAttempts + 1;
  next.deliveryTimestamp = report.at;
  next.deliveryError = report.error;
  next.version = generation.version + 1;
  next.updatedAt = report.at;
  return changedFrom(generation, next);
}
