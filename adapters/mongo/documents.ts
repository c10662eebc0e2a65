/**
 * Records <-> documents: `toDocument` writes the canonical production shape, `fromDocument` reads
 * any document of any era into a record.
 *
 * Written documents keep the production field names (`generationOutputs`, `casts`, `cooks`) with
 * `_id`s and links as ObjectIds where the id is ObjectId-shaped, `costUsd` as Decimal128, and
 * canonical status words. Legacy documents are read, never required: a missing field reads as the
 * value the library would have written (documented per field below and in docs/mongodb.md), legacy
 * status words and cost types are normalised, and links kept under `metadata` (`castId`, `cookId`,
 * `collectionId`, `spellId`, `spell._id`) are read when the top-level field is absent.
 *
 * The write pipelines (generation-writes.ts, parent-writes.ts) read missing fields with the same
 * defaults, so a record read before a write and the document after it always agree.
 */
import type { Decimal128, Document } from 'mongodb';
import {
  type JsonObject,
  type JsonValue,
  type Cast,
  type Cook,
  type Generation,
  type OutcomeCounts,
  isTerminalGenerationStatus,
  isTerminalParentStatus,
  type DeliveryStatus,
  type GenerationStatus,
  type CostProvenance,
} from 'genledger';
import { elapsedMs, readStoredCostProvenance } from 'genledger/adapter';
import { readJson, readJsonObject } from './bson-json.js';
import { fromStoredId, idTimestamp, toStoredId, toStoredIdOrNull, type StoredId } from './ids.js';
import { readUsd, toDecimal128 } from './money.js';
import { readCastStatus, readCookStatus, readDeliveryStatusWord, readGenerationStatus } from './status-words.js';

/** What kind of child an open entry is for. */
export type OpenChildKind = 'generation' | 'cast';

/**
 * An open child entry as 0.1.0 (and this adapter's option (a)) stored in a parent's `openSteps`,
 * `openPieces` or `openGenerations`. No longer written: such lists are read (their lengths stand
 * in for counts a legacy document lacks) until `recover()` or reconcile rebuilds the parent and
 * `$unset`s them (rollup/reconcile.ts).
 */
export interface OpenChildDocument {
  id: StoredId;
  kind: OpenChildKind;
  since: Date;
}

/**
 * A roll-up operation in progress on a parent (rollup/intents.ts): the child `c`, the operation
 * `k`, the lease `u` its write was fenced by, and `x: true` once an attach was undone.
 */
export interface InProgressEntry {
  c: StoredId;
  /** The operation: `adjust:<n>` is the child's n-th cost adjustment (rollup/adjust.ts), one key per adjustment. */
  k: 'attach' | 'settle' | 'piece' | `adjust:${number}`;
  u: Date;
  x?: true;
}

/** A `generationOutputs` document as this adapter writes it. */
export interface GenerationDocument extends Document {
  _id: StoredId;
  masterAccountId: StoredId;
  toolId: string;
  toolDisplayName: string;
  serviceName: string;
  sessionId: StoredId | null;
  initiatingEventId: StoredId | null;
  platformSpecificRunId: string | null;
  status: GenerationStatus;
  requestTimestamp: Date;
  startedAt: Date | null;
  responseTimestamp: Date | null;
  durationMs: number | null;
  progress: number;
  pointsSpent: number;
  protocolNetPoints: number;
  costUsd: Decimal128;
  /** Where the cost came from (usage, price version, adjustments): a subdocument, amounts as decimal strings; absent on older documents. */
  costProvenance?: CostProvenance | null;
  notificationPlatform: string;
  deliveryStatus: DeliveryStatus;
  deliveryAttempts: number;
  deliveryTimestamp: Date | null;
  deliveryError: string | null;
  deliveryStrategy: string | null;
  castId: StoredId | null;
  cookId: StoredId | null;
  spellId: StoredId | null;
  collectionId: string | null;
  requestPayload: JsonValue | null;
  responsePayload: JsonValue | null;
  artifactUrls: string[];
  errorDetails: JsonObject | null;
  metadata: JsonObject;
  idempotencyKey: string | null;
  version: number;
  updatedAt: Date;
}

interface ParentDocumentFields extends Document {
  _id: StoredId;
  initiatorAccountId: StoredId;
  collectionId: string | null;
  outcomes: OutcomeCounts;
  pointsSpent: number;
  protocolNetPoints: number;
  costUsd: Decimal128;
  inFlightCount: number;
  startedAt: Date;
  completedAt: Date | null;
  durationMs: number | null;
  updatedAt: Date;
  version: number;
  metadata: JsonObject;
  idempotencyKey: string | null;
}

/** A `casts` document as this adapter writes it. */
export interface CastDocument extends ParentDocumentFields {
  spellId: StoredId;
  totalSteps: number | null;
  cookId: StoredId | null;
  status: Cast['status'];
  stepGenerationIds: StoredId[];
  /** The roll-up operations in progress on this parent (rollup/intents.ts); empty at rest. */
  genledgerInProgress: InProgressEntry[];
}

/** A `cooks` document as this adapter writes it. */
export interface CookDocument extends ParentDocumentFields {
  collectionId: string;
  targetSupply: number;
  status: Cook['status'];
  generatedCount: number;
  failedCount: number;
  cancelledCount: number;
  openGenerationCount: number;
  /** The roll-up operations in progress on this parent (rollup/intents.ts); empty at rest. */
  genledgerInProgress: InProgressEntry[];
  generationIds: StoredId[];
  castIds: StoredId[];
}

// ---------------------------------------------------------------------------------------------
// Writing

function storedIds(ids: readonly string[]): StoredId[] {
  return ids.map(toStoredId);
}

export function toGenerationDocument(generation: Generation): GenerationDocument {
  return {
    _id: toStoredId(generation.id),
    masterAccountId: toStoredId(generation.masterAccountId),
    toolId: generation.toolId,
    toolDisplayName: generation.toolDisplayName,
    serviceName: generation.serviceName,
    sessionId: toStoredIdOrNull(generation.sessionId),
    initiatingEventId: toStoredIdOrNull(generation.initiatingEventId),
    platformSpecificRunId: generation.platformSpecificRunId,
    status: generation.status,
    requestTimestamp: generation.requestTimestamp,
    startedAt: generation.startedAt,
    responseTimestamp: generation.responseTimestamp,
    durationMs: generation.durationMs,
    progress: generation.progress,
    pointsSpent: generation.pointsSpent,
    protocolNetPoints: generation.protocolNetPoints,
    costUsd: toDecimal128(generation.costUsd),
    costProvenance: generation.costProvenance ?? null,
    notificationPlatform: generation.notificationPlatform,
    deliveryStatus: generation.deliveryStatus,
    deliveryAttempts: generation.deliveryAttempts,
    deliveryTimestamp: generation.deliveryTimestamp,
    deliveryError: generation.deliveryError,
    deliveryStrategy: generation.deliveryStrategy,
    castId: toStoredIdOrNull(generation.castId),
    cookId: toStoredIdOrNull(generation.cookId),
    spellId: toStoredIdOrNull(generation.spellId),
    collectionId: generation.collectionId,
    requestPayload: generation.requestPayload,
    responsePayload: generation.responsePayload,
    artifactUrls: [...generation.artifactUrls],
    errorDetails: generation.errorDetails,
    metadata: generation.metadata,
    idempotencyKey: generation.idempotencyKey,
    version: generation.version,
    updatedAt: generation.updatedAt,
  };
}

function parentDocumentFields(parent: Cast | Cook): ParentDocumentFields {
  return {
    _id: toStoredId(parent.id),
    initiatorAccountId: toStoredId(parent.initiatorAccountId),
    collectionId: parent.collectionId,
    outcomes: { ...parent.outcomes },
    pointsSpent: parent.pointsSpent,
    protocolNetPoints: parent.protocolNetPoints,
    costUsd: toDecimal128(parent.costUsd),
    inFlightCount: parent.inFlightCount,
    startedAt: parent.startedAt,
    completedAt: parent.completedAt,
    durationMs: parent.durationMs,
    updatedAt: parent.updatedAt,
    version: parent.version,
    metadata: parent.metadata,
    idempotencyKey: parent.idempotencyKey,
  };
}

export function toCastDocument(cast: Cast): CastDocument {
  return {
    ...parentDocumentFields(cast),
    spellId: toStoredId(cast.spellId),
    totalSteps: cast.totalSteps,
    cookId: toStoredIdOrNull(cast.cookId),
    status: cast.status,
    stepGenerationIds: storedIds(cast.stepGenerationIds),
    // Empty at rest: an entry lives only while a roll-up onto this cast is under way.
    genledgerInProgress: [],
  };
}

export function toCookDocument(cook: Cook): CookDocument {
  return {
    ...parentDocumentFields(cook),
    collectionId: cook.collectionId,
    targetSupply: cook.targetSupply,
    status: cook.status,
    generatedCount: cook.generatedCount,
    failedCount: cook.failedCount,
    cancelledCount: cook.cancelledCount,
    openGenerationCount: cook.openGenerationCount,
    genledgerInProgress: [],
    generationIds: storedIds(cook.generationIds),
    castIds: storedIds(cook.castIds),
  };
}

/**
 * The aggregate fields of a cast, as `replaceAggregates` writes them.
 */
export function castAggregateFields(cast: Cast): Partial<CastDocument> {
  const document = toCastDocument(cast);
  return pick(document, ['status', 'completedAt', 'durationMs', 'outcomes', 'pointsSpent', 'protocolNetPoints', 'costUsd', 'stepGenerationIds', 'inFlightCount']);
}

/** The aggregate fields of a cook, as `replaceAggregates` writes them. */
export function cookAggregateFields(cook: Cook): Partial<CookDocument> {
  const document = toCookDocument(cook);
  return pick(document, [
    'status', 'completedAt', 'durationMs', 'outcomes', 'pointsSpent', 'protocolNetPoints', 'costUsd',
    'generatedCount', 'failedCount', 'cancelledCount', 'generationIds', 'castIds', 'inFlightCount', 'openGenerationCount',
  ]);
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  const result = {} as Pick<T, K>;
  for (const key of keys) result[key] = source[key];
  return result;
}

// ---------------------------------------------------------------------------------------------
// Reading. Each reader below is the rule for one field of a document of any era.

/** A stored instant; anything that is not a valid Date reads as absent. */
export function readDate(raw: unknown): Date | null {
  return raw instanceof Date && !Number.isNaN(raw.getTime()) ? new Date(raw.getTime()) : null;
}

/** A finite stored number, or `null`. */
export function readNumber(raw: unknown): number | null {
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
}

function readCount(raw: unknown, fallback: number): number {
  const value = readNumber(raw);
  return value === null ? fallback : value;
}

/** A record's `version`: a missing or unusable one reads as 1 (the version of a record never written since). */
export function readVersion(raw: unknown): number {
  return Math.max(1, Math.trunc(readCount(raw, 1)));
}

function readText(raw: unknown): string | null {
  if (typeof raw === 'string') return raw.length > 0 ? raw : null;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return null;
}

function readNullableText(raw: unknown): string | null {
  return typeof raw === 'string' ? raw : null;
}

function readMetadata(document: Document): JsonObject {
  return readJsonObject(document.metadata, {}) ?? {};
}

/** A link: the top-level field when the document has it (even as null), else the legacy spelling under `metadata`. */
function readLink(document: Document, field: string, legacy: () => unknown): string | null {
  if (field in document) return fromStoredId(document[field]);
  return fromStoredId(legacy());
}

function metadataValue(document: Document, ...path: string[]): unknown {
  let current: unknown = document.metadata;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function readOutcomes(raw: unknown): OutcomeCounts {
  const stored = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return {
    success: readCount(stored.success, 0),
    failed: readCount(stored.failed, 0),
    cancelled_by_user: readCount(stored.cancelled_by_user, 0),
    timeout: readCount(stored.timeout, 0),
  };
}

function readIdList(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw.map(fromStoredId).filter((id): id is string => id !== null);
}

/** How many open entries a stored list holds (not parsed: records never carry them). */
function entryCount(raw: unknown): number {
  return Array.isArray(raw) ? raw.length : 0;
}

function readArtifactUrls(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .map((item) => (typeof item === 'string' ? item : typeof item === 'object' && item !== null ? readText((item as { url?: unknown }).url) : null))
    .filter((url): url is string => url !== null && url.length > 0);
}

function readErrorDetails(raw: unknown): JsonObject | null {
  if (typeof raw === 'string') return raw.length > 0 ? { message: raw } : null;
  return readJsonObject(raw, null);
}

/** Points on a generation: a whole number >= 0; legacy fractions round up (points are charged), junk reads as 0. */
export function readGenerationPoints(raw: unknown): number {
  const value = readNumber(raw);
  return value === null ? 0 : Math.max(0, Math.ceil(value));
}

/** Net points: a whole number, rounded; junk reads as 0. */
export function readNetPoints(raw: unknown): number {
  const value = readNumber(raw);
  return value === null ? 0 : Math.round(value);
}

/** Points summed on a parent: whole, legacy fractions rounded up, never clamped (sums are added to in place). */
function readParentPoints(raw: unknown): number {
  const value = readNumber(raw);
  return value === null ? 0 : Math.ceil(value);
}

/** The delivery status a document means. See docs/mongodb.md, "Reading legacy documents". */
export function readDeliveryStatus(document: Document, notificationPlatform: string): DeliveryStatus {
  const stored = readDeliveryStatusWord(document.deliveryStatus);
  if (stored !== null) return stored;
  if (notificationPlatform === 'none') return 'skipped';
  if (readDate(document.deliveryTimestamp) !== null) return 'sent';
  if (typeof document.deliveryError === 'string' && document.deliveryError.length > 0) return 'dropped';
  return 'pending';
}

/** The platform to notify; absent or empty means nobody (`none`). */
export function readNotificationPlatform(raw: unknown): string {
  return readText(raw) ?? 'none';
}

/** Progress 0..1; a missing or out-of-range value reads as 1 for a success and 0 otherwise. */
export function readProgress(raw: unknown, status: GenerationStatus): number {
  const value = readNumber(raw);
  if (value !== null && value >= 0 && value <= 1) return value;
  return status === 'success' ? 1 : 0;
}

/**
 * When a finished legacy record answered: `responseTimestamp`, else `requestTimestamp +
 * durationMs`, else `requestTimestamp` (duration unknown, counted as 0). Only fields no later write
 * changes are used, so the answer never moves.
 */
export function readResponseTimestamp(document: Document, status: GenerationStatus, requestTimestamp: Date): Date | null {
  const stored = readDate(document.responseTimestamp);
  if (stored !== null || !isTerminalGenerationStatus(status)) return stored;
  const duration = readNumber(document.durationMs);
  return new Date(requestTimestamp.getTime() + (duration !== null && duration >= 0 ? Math.round(duration) : 0));
}

export function fromGenerationDocument(document: Document): Generation {
  const id = fromStoredId(document._id) ?? '';
  const status = readGenerationStatus(document.status);
  const requestTimestamp = readDate(document.requestTimestamp) ?? idTimestamp(id);
  const responseTimestamp = readResponseTimestamp(document, status, requestTimestamp);
  const storedDuration = readNumber(document.durationMs);
  const durationMs =
    storedDuration !== null && storedDuration >= 0
      ? Math.round(storedDuration)
      : isTerminalGenerationStatus(status) && responseTimestamp !== null
        ? elapsedMs(requestTimestamp, responseTimestamp)
        : null;
  const notificationPlatform = readNotificationPlatform(document.notificationPlatform);
  const toolId = readText(document.toolId) ?? readText(metadataValue(document, 'toolId')) ?? 'unknown';
  return {
    id,
    masterAccountId: fromStoredId(document.masterAccountId) ?? 'unknown',
    toolId,
    toolDisplayName: readText(document.toolDisplayName) ?? toolId,
    serviceName: readText(document.serviceName) ?? 'unknown',
    sessionId: fromStoredId(document.sessionId),
    initiatingEventId: fromStoredId(document.initiatingEventId),
    platformSpecificRunId: readText(document.platformSpecificRunId),
    status,
    requestTimestamp,
    startedAt: readDate(document.startedAt),
    responseTimestamp,
    durationMs,
    progress: readProgress(document.progress, status),
    pointsSpent: readGenerationPoints(document.pointsSpent),
    protocolNetPoints: readNetPoints(document.protocolNetPoints),
    costUsd: readUsd(document.costUsd),
    costProvenance: readStoredCostProvenance(document.costProvenance),
    notificationPlatform,
    deliveryStatus: readDeliveryStatus(document, notificationPlatform),
    deliveryAttempts: Math.max(0, Math.trunc(readCount(document.deliveryAttempts, 0))),
    deliveryTimestamp: readDate(document.deliveryTimestamp),
    deliveryError: readNullableText(document.deliveryError),
    deliveryStrategy: readText(document.deliveryStrategy),
    castId: readLink(document, 'castId', () => metadataValue(document, 'castId')),
    cookId: readLink(document, 'cookId', () => metadataValue(document, 'cookId')),
    spellId: readLink(document, 'spellId', () => metadataValue(document, 'spellId') ?? metadataValue(document, 'spell', '_id')),
    collectionId: readLink(document, 'collectionId', () => metadataValue(document, 'collectionId')),
    requestPayload: document.requestPayload === undefined ? null : readJson(document.requestPayload),
    responsePayload: document.responsePayload === undefined ? null : readJson(document.responsePayload),
    artifactUrls: readArtifactUrls(document.artifactUrls),
    errorDetails: readErrorDetails(document.errorDetails),
    metadata: readMetadata(document),
    idempotencyKey: readNullableText(document.idempotencyKey),
    version: readVersion(document.version),
    updatedAt: readDate(document.updatedAt) ?? responseTimestamp ?? requestTimestamp,
  };
}

interface ParentTimes {
  readonly startedAt: Date;
  readonly completedAt: Date | null;
  readonly durationMs: number | null;
  readonly updatedAt: Date;
}

/**
 * A parent's times. A legacy parent that ended without `completedAt` is read as completed at its
 * `updatedAt` (its last write), else at its start. Writes that end a parent set `completedAt`, so
 * the derivation only ever applies to documents the library has not ended itself.
 */
function readParentTimes(document: Document, id: string, terminal: boolean): ParentTimes {
  const startedAt = readDate(document.startedAt) ?? idTimestamp(id);
  const storedUpdatedAt = readDate(document.updatedAt);
  const completedAt = readDate(document.completedAt) ?? (terminal ? (storedUpdatedAt ?? startedAt) : null);
  const storedDuration = readNumber(document.durationMs);
  const durationMs = storedDuration !== null && storedDuration >= 0 ? Math.round(storedDuration) : completedAt === null ? null : elapsedMs(startedAt, completedAt);
  return { startedAt, completedAt, durationMs, updatedAt: storedUpdatedAt ?? completedAt ?? startedAt };
}

function readParentCommon(document: Document) {
  return {
    outcomes: readOutcomes(document.outcomes),
    pointsSpent: readParentPoints(document.pointsSpent),
    protocolNetPoints: readNetPoints(document.protocolNetPoints),
    costUsd: readUsd(document.costUsd),
    version: readVersion(document.version),
    metadata: readMetadata(document),
    idempotencyKey: readNullableText(document.idempotencyKey),
  };
}

export function fromCastDocument(document: Document): Cast {
  const id = fromStoredId(document._id) ?? '';
  const status = readCastStatus(document.status);
  const totalSteps = readNumber(document.totalSteps);
  return {
    id,
    spellId: fromStoredId(document.spellId) ?? fromStoredId(metadataValue(document, 'spellId')) ?? 'unknown',
    initiatorAccountId: fromStoredId(document.initiatorAccountId) ?? 'unknown',
    totalSteps: totalSteps !== null && totalSteps >= 1 ? totalSteps : null,
    cookId: readLink(document, 'cookId', () => metadataValue(document, 'cookId')),
    collectionId: readLink(document, 'collectionId', () => metadataValue(document, 'collectionId')),
    status,
    stepGenerationIds: readIdList(document.stepGenerationIds),
    inFlightCount: readCount(document.inFlightCount, entryCount(document.openSteps)),
    ...readParentCommon(document),
    ...readParentTimes(document, id, isTerminalParentStatus(status)),
  };
}

export function fromCookDocument(document: Document): Cook {
  const id = fromStoredId(document._id) ?? '';
  const status = readCookStatus(document.status);
  const targetSupply = readNumber(document.targetSupply);
  return {
    id,
    collectionId: fromStoredId(document.collectionId) ?? 'unknown',
    initiatorAccountId: fromStoredId(document.initiatorAccountId) ?? 'unknown',
    targetSupply: targetSupply !== null && targetSupply >= 1 ? targetSupply : 1,
    status,
    generatedCount: readCount(document.generatedCount, 0),
    failedCount: readCount(document.failedCount, 0),
    cancelledCount: readCount(document.cancelledCount, 0),
    inFlightCount: readCount(document.inFlightCount, entryCount(document.openPieces)),
    // Stored since option (b); a legacy document without it counts its open-generation entries.
    openGenerationCount: readCount(document.openGenerationCount, entryCount(document.openGenerations)),
    generationIds: readIdList(document.generationIds),
    castIds: readIdList(document.castIds),
    ...readParentCommon(document),
    ...readParentTimes(document, id, isTerminalParentStatus(status)),
  };
}
