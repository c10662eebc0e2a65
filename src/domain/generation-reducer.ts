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
import type { Generation } from './records.js';
import { changedFrom, unchanged, type WriteResult } from './rollup/write-result.js';
import { isTerminalGenerationStatus, type DeliveryOutcome, type TerminalGenerationStatus } from './status.js';

/** The terminal transition, with every figure already derived and validated. */
export interface GenerationOutcome {
  readonly status: TerminalGenerationStatus;
  readonly pointsSpent: number;
  readonly protocolNetPoints: number;
  readonly costUsd: UsdAmount;
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
  return changedFrom(generation, { ...generation, status: 'processing', startedAt: at, version: generation.version + 1, updatedAt: at });
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
  return changedFrom(generation, {
    ...generation,
    status: 'processing',
    startedAt: generation.startedAt ?? report.at,
    progress: report.progress,
    version: generation.version + 1,
    updatedAt: report.at,
  });
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
  return changedFrom(generation, {
    ...generation,
    status: outcome.status,
    pointsSpent: outcome.pointsSpent,
    protocolNetPoints: outcome.protocolNetPoints,
    costUsd: outcome.costUsd,
    responseTimestamp: outcome.responseTimestamp,
    durationMs: elapsedMs(generation.requestTimestamp, outcome.responseTimestamp),
    progress: outcome.status === 'success' ? 1 : generation.progress,
    responsePayload: outcome.responsePayload === undefined ? generation.responsePayload : outcome.responsePayload,
    artifactUrls: outcome.artifactUrls ?? generation.artifactUrls,
    errorDetails: outcome.errorDetails === undefined ? generation.errorDetails : outcome.errorDetails,
    platformSpecificRunId: outcome.platformSpecificRunId ?? generation.platformSpecificRunId,
    version: generation.version + 1,
    updatedAt: outcome.at,
  });
}

/** Records the delivery outcome on a finished generation that has someone to notify. Status and parents are untouched. */
export function recordGenerationDelivery(generation: Generation, report: DeliveryReport): WriteResult<Generation> {
  if (!checkDelivery(generation, report.outcome).allowed) return unchanged(generation);
  return changedFrom(generation, {
    ...generation,
    deliveryStatus: report.outcome,
    deliveryAttempts: report.attempts ?? generation.deliveryAttempts + 1,
    deliveryTimestamp: report.at,
    deliveryError: report.error,
    version: generation.version + 1,
    updatedAt: report.at,
  });
}
