/**
 * Builds new records from validated input, with every default and derivation in one place. The id
 * and the time are arguments: the domain never makes either.
 */
import type { z } from 'zod';
import { initialDeliveryStatus, NO_NOTIFICATION_PLATFORM } from './delivery.js';
import type { recordGenerationInputSchema, startCastInputSchema, startCookInputSchema } from './inputs.js';
import { ZERO_OUTCOMES, type Cast, type Cook, type Generation } from './records.js';

/** Links a new generation inherits from the parents that accepted it. */
export interface GenerationLinks {
  readonly castId: string | null;
  readonly cookId: string | null;
  readonly spellId: string | null;
  readonly collectionId: string | null;
}

export function newGeneration(
  input: z.output<typeof recordGenerationInputSchema>,
  id: string,
  now: Date,
  links: GenerationLinks,
): Generation {
  const requestTimestamp = input.requestTimestamp ?? now;
  const status = input.status ?? 'pending';
  const notificationPlatform = input.notificationPlatform ?? NO_NOTIFICATION_PLATFORM;
  return {
    id,
    masterAccountId: input.masterAccountId,
    toolId: input.toolId,
    toolDisplayName: input.toolDisplayName,
    serviceName: input.serviceName,
    sessionId: input.sessionId ?? null,
    initiatingEventId: input.initiatingEventId ?? null,
    platformSpecificRunId: input.platformSpecificRunId ?? null,
    status,
    requestTimestamp,
    startedAt: status === 'processing' ? requestTimestamp : null,
    responseTimestamp: null,
    durationMs: null,
    progress: 0,
    pointsSpent: 0,
    protocolNetPoints: 0,
    costUsd: '0',
    costProvenance: null,
    notificationPlatform,
    deliveryStatus: initialDeliveryStatus(notificationPlatform),
    deliveryAttempts: 0,
    deliveryTimestamp: null,
    deliveryError: null,
    deliveryStrategy: input.deliveryStrategy ?? null,
    castId: links.castId,
    cookId: links.cookId,
    spellId: links.spellId,
    collectionId: links.collectionId,
    requestPayload: input.requestPayload ?? null,
    responsePayload: null,
    artifactUrls: [],
    errorDetails: null,
    metadata: input.metadata ?? {},
    idempotencyKey: input.idempotencyKey ?? null,
    version: 1,
    updatedAt: now,
  };
}

/** What every new parent starts with: running, nothing in flight, zero money (never null: `$inc` on null was a production bug). */
function newParentFields(
  input: { startedAt?: Date | undefined; metadata?: Cast['metadata'] | undefined; idempotencyKey?: string | null | undefined },
  now: Date,
) {
  return {
    status: 'running' as const,
    inFlightCount: 0,
    outcomes: ZERO_OUTCOMES,
    pointsSpent: 0,
    protocolNetPoints: 0,
    costUsd: '0',
    startedAt: input.startedAt ?? now,
    completedAt: null,
    durationMs: null,
    updatedAt: now,
    version: 1,
    metadata: input.metadata ?? {},
    idempotencyKey: input.idempotencyKey ?? null,
  };
}

export function newCast(
  input: z.output<typeof startCastInputSchema>,
  id: string,
  now: Date,
  cook: { id: string; collectionId: string } | null,
): Cast {
  return {
    id,
    spellId: input.spellId,
    initiatorAccountId: input.initiatorAccountId,
    totalSteps: input.totalSteps ?? null,
    cookId: cook?.id ?? null,
    collectionId: cook?.collectionId ?? null,
    stepGenerationIds: [],
    ...newParentFields(input, now),
  };
}

export function newCook(input: z.output<typeof startCookInputSchema>, id: string, now: Date): Cook {
  return {
    id,
    collectionId: input.collectionId,
    initiatorAccountId: input.initiatorAccountId,
    targetSupply: input.targetSupply,
    generatedCount: 0,
    failedCount: 0,
    cancelledCount: 0,
    openGenerationCount: 0,
    generationIds: [],
    castIds: [],
    ...newParentFields(input, now),
  };
}
