/**
 * The records genledger keeps: generations, casts and cooks, as zod schemas and the types inferred
 * from them. These are what the tracker returns, what events carry and what crosses the repository
 * port. Money is a canonical decimal string ({@link UsdAmount}); points are integers; timestamps are
 * `Date`s; ids are opaque strings.
 */
import { z } from 'zod';
import {
  countSchema,
  dateSchema,
  errorDetailsSchema,
  idSchema,
  labelSchema,
  metadataSchema,
  payloadSchema,
  pointsTotalSchema,
  progressSchema,
  urlSchema,
  usdAmountSchema,
} from './fields.js';
import { costProvenanceSchema } from './pricing.js';
import {
  CAST_STATUSES,
  COOK_STATUSES,
  DELIVERY_STATUSES,
  GENERATION_STATUSES,
  TERMINAL_GENERATION_STATUSES,
  type TerminalGenerationStatus,
} from './status.js';

export const generationStatusSchema = z.enum(GENERATION_STATUSES);
export const terminalGenerationStatusSchema = z.enum(TERMINAL_GENERATION_STATUSES);
export const deliveryStatusSchema = z.enum(DELIVERY_STATUSES);
export const castStatusSchema = z.enum(CAST_STATUSES);
export const cookStatusSchema = z.enum(COOK_STATUSES);

/** Children finished with each terminal status. */
export const outcomeCountsSchema = z
  .object({
    success: countSchema,
    failed: countSchema,
    cancelled_by_user: countSchema,
    timeout: countSchema,
  })
  .readonly();
export type OutcomeCounts = z.infer<typeof outcomeCountsSchema>;

export const ZERO_OUTCOMES: OutcomeCounts = Object.freeze({ success: 0, failed: 0, cancelled_by_user: 0, timeout: 0 });

export function addOutcome(counts: OutcomeCounts, status: TerminalGenerationStatus, by = 1): OutcomeCounts {
  // A fixed-shape literal: a computed key after a spread makes V8 build a slower object.
  return {
    success: status === 'success' ? counts.success + by : counts.success,
    failed: status === 'failed' ? counts.failed + by : counts.failed,
    cancelled_by_user: status === 'cancelled_by_user' ? counts.cancelled_by_user + by : counts.cancelled_by_user,
    timeout: status === 'timeout' ? counts.timeout + by : counts.timeout,
  };
}

const nullableId = idSchema.nullable();

export const generationSchema = z
  .object({
    id: idSchema,
    masterAccountId: idSchema,
    toolId: idSchema,
    toolDisplayName: labelSchema,
    serviceName: labelSchema,
    sessionId: nullableId,
    initiatingEventId: nullableId,
    platformSpecificRunId: z.string().max(512).nullable(),
    status: generationStatusSchema,
    requestTimestamp: dateSchema,
    startedAt: dateSchema.nullable(),
    responseTimestamp: dateSchema.nullable(),
    durationMs: z.number().int().min(0).nullable(),
    progress: progressSchema,
    pointsSpent: z.number().int().min(0),
    protocolNetPoints: z.number().int(),
    costUsd: usdAmountSchema,
    /** Where the cost came from (usage, price version, adjustments); `null` or absent: reported, or not finished. See docs/pricing.md. */
    costProvenance: costProvenanceSchema.nullable().optional(),
    notificationPlatform: labelSchema,
    deliveryStatus: deliveryStatusSchema,
    deliveryAttempts: countSchema,
    deliveryTimestamp: dateSchema.nullable(),
    deliveryError: z.string().nullable(),
    deliveryStrategy: z.string().nullable(),
    castId: nullableId,
    cookId: nullableId,
    spellId: nullableId,
    collectionId: nullableId,
    requestPayload: payloadSchema.nullable(),
    responsePayload: payloadSchema.nullable(),
    artifactUrls: z.array(urlSchema).readonly(),
    errorDetails: errorDetailsSchema.nullable(),
    metadata: metadataSchema,
    idempotencyKey: nullableId,
    version: z.number().int().min(1),
    updatedAt: dateSchema,
  })
  .readonly();
/**
 * One tool or model run. `durationMs`, `responseTimestamp`, points and cost are set once, at the
 * terminal transition. `castId`/`cookId` link it to its parents; `spellId`/`collectionId` are
 * copied from them when it is recorded so events can name them without another read.
 */
export type Generation = z.infer<typeof generationSchema>;

const parentMoney = {
  outcomes: outcomeCountsSchema,
  pointsSpent: pointsTotalSchema,
  protocolNetPoints: pointsTotalSchema,
  costUsd: usdAmountSchema,
};

const parentTimes = {
  startedAt: dateSchema,
  completedAt: dateSchema.nullable(),
  durationMs: z.number().int().min(0).nullable(),
  updatedAt: dateSchema,
  version: z.number().int().min(1),
  metadata: metadataSchema,
  idempotencyKey: nullableId,
};

export const castSchema = z
  .object({
    id: idSchema,
    spellId: idSchema,
    initiatorAccountId: idSchema,
    totalSteps: z.number().int().min(1).nullable(),
    cookId: nullableId,
    collectionId: nullableId,
    status: castStatusSchema,
    /** Step generation ids in the order they were recorded, up to the store's cap; find the rest with `listGenerations({ castId })`. */
    stepGenerationIds: z.array(idSchema).readonly(),
    /** Steps recorded and not yet finished. */
    inFlightCount: countSchema,
    ...parentMoney,
    ...parentTimes,
  })
  .readonly();
/** One run of a multi-step spell; its steps are generations. */
export type Cast = z.infer<typeof castSchema>;

export const cookSchema = z
  .object({
    id: idSchema,
    collectionId: idSchema,
    initiatorAccountId: idSchema,
    targetSupply: z.number().int().min(1),
    status: cookStatusSchema,
    /** Pieces that succeeded (a cast piece counts when the cast completes). */
    generatedCount: countSchema,
    /** Pieces that failed or timed out. */
    failedCount: countSchema,
    /** Pieces cancelled. */
    cancelledCount: countSchema,
    /** Pieces (generations and casts) recorded and not yet finished. */
    inFlightCount: countSchema,
    /** Every generation below the cook still pending or processing: generation pieces and the steps of cast pieces. */
    openGenerationCount: countSchema,
    /** Generation ids below the cook in the order recorded, up to the store's cap; find the rest with `listGenerations({ cookId })`. */
    generationIds: z.array(idSchema).readonly(),
    /** Cast piece ids in the order recorded, up to the store's cap. */
    castIds: z.array(idSchema).readonly(),
    ...parentMoney,
    ...parentTimes,
  })
  .readonly();
/** One batch run toward a collection's target supply; its pieces are generations or casts. */
export type Cook = z.infer<typeof cookSchema>;

export type ParentKind = 'cast' | 'cook';
export type ParentRecord<K extends ParentKind = ParentKind> = K extends 'cast' ? Cast : Cook;
export type EntityKind = 'generation' | ParentKind;
