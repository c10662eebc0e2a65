/**
 * The inputs of the tracker's public methods, as zod schemas. Objects are strict: an unknown key
 * (a typo such as `costUSD`) is refused rather than silently dropped, because a dropped cost is
 * lost money. Optional context fields accept `null` as "absent", as production callers send it.
 */
import { budgetInputSchema, holdInputSchema } from './accounts/inputs.js';
import { z } from 'zod';
import {
  costInputSchema,
  dateSchema,
  errorDetailsSchema,
  idSchema,
  labelSchema,
  metadataSchema,
  netPointsSchema,
  payloadSchema,
  pointsSchema,
  progressSchema,
  runIdSchema,
  textSchema,
  urlSchema,
} from './fields.js';
import { LIMITS } from './limits.js';
import { usageSchema } from './pricing.js';
import { DELIVERY_OUTCOMES, GENERATION_STATUSES, TERMINAL_GENERATION_STATUSES } from './status.js';

const optionalId = idSchema.nullish();

export const recordGenerationInputSchema = z.strictObject({
  masterAccountId: idSchema,
  toolId: idSchema,
  toolDisplayName: labelSchema,
  serviceName: labelSchema,
  sessionId: optionalId,
  initiatingEventId: optionalId,
  platformSpecificRunId: runIdSchema.nullish(),
  /** The cast this generation is a step of. Its cook, if any, is found from the cast. */
  castId: optionalId,
  /** The cook this generation is a piece of (or, with `castId`, must equal the cast's cook). */
  cookId: optionalId,
  /** `processing` records a generation that has already started. @default 'pending' */
  status: z.enum(['pending', 'processing']).optional(),
  /** @default the tracker's clock */
  requestTimestamp: dateSchema.optional(),
  /** `none` (or absent) means nobody is notified, and delivery is `skipped`. @default 'none' */
  notificationPlatform: labelSchema.nullish(),
  deliveryStrategy: labelSchema.nullish(),
  requestPayload: payloadSchema.nullish(),
  metadata: metadataSchema.optional(),
  /** A retry with the same key returns the generation the first call recorded and writes nothing. */
  idempotencyKey: optionalId,
  /** Reserves these units from `masterAccountId` with the generation (stores with accounts); see docs/concepts.md. */
  hold: holdInputSchema.optional(),
});
export type RecordGenerationInput = z.input<typeof recordGenerationInputSchema>;

export const completeGenerationInputSchema = z.strictObject({
  status: z.enum(TERMINAL_GENERATION_STATUSES, {
    error: `must be one of ${TERMINAL_GENERATION_STATUSES.join(', ')}`,
  }),
  /** Whole points charged; derived from the cost when the tracker has a points rate, else 0. */
  pointsSpent: pointsSchema.optional(),
  /** @default 0 */
  protocolNetPoints: netPointsSchema.optional(),
  /** Exact dollars, as a decimal string (preferred) or a number. @default "0" */
  costUsd: costInputSchema.optional(),
  /**
   * What the run metered, by unit (`{ inputTokens: 1200, images: 2 }`): stored with the cost's
   * provenance. Without `costUsd`, the cost is computed from it with the tracker's price table.
   */
  usage: usageSchema.optional(),
  responsePayload: payloadSchema.nullish(),
  artifactUrls: z.array(urlSchema).max(LIMITS.artifactUrls).optional(),
  errorDetails: errorDetailsSchema.nullish(),
  platformSpecificRunId: runIdSchema.optional(),
  /** @default the tracker's clock */
  responseTimestamp: dateSchema.optional(),
});
export type CompleteGenerationInput = z.input<typeof completeGenerationInputSchema>;

export const progressInputSchema = z.strictObject({
  progress: progressSchema,
  /** The provider's own words for what it is doing ("sampling 12/30"); carried on the event only. */
  liveStatus: labelSchema.nullish(),
});
export type ProgressInput = z.input<typeof progressInputSchema>;

export const deliveryInputSchema = z.strictObject({
  status: z.enum(DELIVERY_OUTCOMES, { error: `must be one of ${DELIVERY_OUTCOMES.join(', ')}` }),
  /** Attempts made in all. @default one more than recorded */
  attempts: z.number().int().min(1).max(1_000_000).optional(),
  error: textSchema.nullish(),
});
export type DeliveryInput = z.input<typeof deliveryInputSchema>;

export const startCastInputSchema = z.strictObject({
  spellId: idSchema,
  initiatorAccountId: idSchema,
  /** When set, the cast completes by itself once this many steps succeeded. */
  totalSteps: z.number().int().min(1).max(LIMITS.totalSteps).nullish(),
  /** The cook this cast is a piece of. */
  cookId: optionalId,
  metadata: metadataSchema.optional(),
  /** @default the tracker's clock */
  startedAt: dateSchema.optional(),
  idempotencyKey: optionalId,
  /** The most the cast's steps may hold plus spend (stores with accounts); see docs/concepts.md. */
  budget: budgetInputSchema.optional(),
  /**
   * A parent hold: reserves these units from `initiatorAccountId` with the cast, and is its budget
   * (stores with `capabilities.parentHolds`; not with `budget`, not on a cook's piece); see docs/concepts.md.
   */
  hold: holdInputSchema.optional(),
});
export type StartCastInput = z.input<typeof startCastInputSchema>;

export const startCookInputSchema = z.strictObject({
  collectionId: idSchema,
  initiatorAccountId: idSchema,
  targetSupply: z.number().int().min(1).max(LIMITS.targetSupply),
  metadata: metadataSchema.optional(),
  /** @default the tracker's clock */
  startedAt: dateSchema.optional(),
  idempotencyKey: optionalId,
  /** The most the cook's generations may hold plus spend (stores with accounts); see docs/concepts.md. */
  budget: budgetInputSchema.optional(),
  /**
   * A parent hold: reserves these units from `initiatorAccountId` with the cook, and is its budget
   * (stores with `capabilities.parentHolds`; not with `budget`); see docs/concepts.md.
   */
  hold: holdInputSchema.optional(),
});
export type StartCookInput = z.input<typeof startCookInputSchema>;

export const listGenerationsInputSchema = z.strictObject({
  castId: idSchema.optional(),
  cookId: idSchema.optional(),
  masterAccountId: idSchema.optional(),
  /** Only this tool's generations. */
  toolId: idSchema.optional(),
  status: z.union([z.enum(GENERATION_STATUSES), z.array(z.enum(GENERATION_STATUSES)).min(1)]).optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(1000).optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(512).nullish(),
  /** By `requestTimestamp`, then id. @default 'desc' */
  order: z.enum(['asc', 'desc']).optional(),
});
export type ListGenerationsInput = z.input<typeof listGenerationsInputSchema>;

export const sweepInputSchema = z.strictObject({
  /** Open generations with no write for this long become `timeout`. */
  olderThanMs: z.number().int().min(1),
  /** Most generations to time out in one call. @default 1000 */
  limit: z.number().int().min(1).max(100_000).optional(),
  /**
   * Also finish parents left idle: running, nothing in flight, no write for `olderThanMs`. A cook
   * is finished as by `finishCook`; a cast completes if it declared no `totalSteps`, else fails.
   * @default true
   */
  finishIdleParents: z.boolean().optional(),
});
export type SweepInput = z.input<typeof sweepInputSchema>;

export const reconcileInputSchema = z.union([z.strictObject({ castId: idSchema }), z.strictObject({ cookId: idSchema })], {
  error: 'must be { castId } or { cookId }',
});
export type ReconcileInput = z.input<typeof reconcileInputSchema>;

/** `reconcile`'s second argument. Omitted is the same as `{}`. */
export const reconcileOptionsSchema = z
  .strictObject({
    /**
     * Accepted and ignored, but still checked: a bad value is the caller's bug.
     * @deprecated parents keep no open entries since 0.2.0, so there is no recording under way to wait for.
     */
    graceMs: z.number().int().min(0).optional(),
  })
  .optional();
export type ReconcileOptions = z.input<typeof reconcileOptionsSchema>;
