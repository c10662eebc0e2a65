/**
 * Fast paths for the inputs of the hot tracker methods (`recordGeneration`, `reportProgress`,
 * `completeGeneration`, `startCast`, `startCook`).
 *
 * Each takes the raw input and returns what the zod schema in `inputs.ts` would return, or
 * `undefined` when it cannot tell, and then the caller parses with zod, which decides. A fast path
 * only ever accepts inputs that are plainly valid (a plain object, known keys, values of the
 * common forms) and returns the values zod returns for every field (dates copied, costs
 * canonical), as one object with every field of the schema (an absent optional field is
 * `undefined`, as reading it from zod's output gives; the tracker only ever reads fields).
 * Anything else, valid or not (JSON payloads, metadata, unusual strings, numbers spelled with
 * exponents, extra keys), goes to zod, so the two paths can never disagree about what is valid:
 * test/tracker/input-fast-paths.test.ts checks that on random inputs.
 *
 * Why: zod's strict objects are most of the cost of a tracked generation on the memory store.
 * Measured (issue 14, in one process, interleaved): parsing a `recordGeneration` and a
 * `completeGeneration` input costs about 12 µs with the schemas and about 0.9 µs here, of about
 * 35 µs for the whole record+complete pair. It is speed only, so it sits beside the tracker that
 * uses it and not in the domain, whose schemas (domain/inputs.ts) stay the one rule.
 */
import type { z } from 'zod';
import {
  completeGenerationInputSchema,
  progressInputSchema,
  recordGenerationInputSchema,
  startCastInputSchema,
  startCookInputSchema,
} from '../domain/inputs.js';
import { LIMITS } from '../domain/limits.js';
import { MAX_USAGE_UNITS } from '../domain/pricing.js';

// Subsets of what the field schemas accept, checked by scanning the string once (cheaper than a
// regular expression for short strings). Surrogates are left to zod (which accepts paired ones),
// as is every control character in an id.

/** 1..128 characters, none of them a control character (U+0000-U+001F, U+007F) or a surrogate. */
function plainId(text: string): boolean {
  const length = text.length;
  if (length === 0 || length > LIMITS.idLength) return false;
  for (let index = 0; index < length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/** 1..`max` characters, none of them U+0000 or a surrogate. */
function plainText(text: string, max: number): boolean {
  const length = text.length;
  if (length === 0 || length > max) return false;
  for (let index = 0; index < length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/** A canonical amount below 1,000,000,000 (the per-generation maximum): no sign, no exponent, no padding zeros. */
const CANONICAL_COST = /^(?:0|[1-9]\d{0,8})(?:\.\d{0,17}[1-9])?$/;

const EARLIEST = Date.parse(LIMITS.earliestDate);
const LATEST = Date.parse(LIMITS.latestDate);

/** A plain object (as object literals are) whose every enumerable key is one of `known`. */
function plainObjectOf(input: unknown, known: ReadonlySet<string>): input is Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return false;
  // zod refuses any enumerable key it does not know (inherited ones too): leave those to it.
  for (const key in input) if (!known.has(key)) return false;
  return true;
}

// Field checks: whether zod's field schema surely accepts the value as it is.
const isId = (value: unknown): value is string => typeof value === 'string' && plainId(value);
const isOptionalId = (value: unknown) => value === undefined || value === null || isId(value);
const isLabel = (value: unknown): value is string => typeof value === 'string' && plainText(value, LIMITS.labelLength);
const isOptionalLabel = (value: unknown) => value === undefined || value === null || isLabel(value);
const isRunId = (value: unknown): value is string => typeof value === 'string' && plainText(value, 512);
const isNullish = (value: unknown) => value === undefined || value === null;
function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Returned by a converting check that cannot decide. */
const UNDECIDED = Symbol('undecided');

/** `dateSchema.optional()`: a valid Date between the limits, parsed into a copy. */
function optionalDate(value: unknown): Date | undefined | typeof UNDECIDED {
  if (value === undefined) return undefined;
  // Only a plain Date: a subclass or an own valueOf/getTime could answer zod's range check (which
  // compares through valueOf) differently from getTime, so such values are left to zod.
  if (!(value instanceof Date) || Object.getPrototypeOf(value) !== Date.prototype) return UNDECIDED;
  if (Object.hasOwn(value, 'valueOf') || Object.hasOwn(value, 'getTime')) return UNDECIDED;
  const time = value.getTime();
  return time >= EARLIEST && time <= LATEST ? new Date(time) : UNDECIDED;
}

/** `costInputSchema.optional()` for amounts already spelled canonically (as most callers send them). */
function optionalCost(value: unknown): string | undefined | typeof UNDECIDED {
  if (value === undefined) return undefined;
  // A number is read to 15 significant digits (see parseUsdUnits); its shortest spelling is that
  // reading only when it has no more digits than that, so longer ones are left to the schema.
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  if (text === null || !CANONICAL_COST.test(text)) return UNDECIDED;
  return typeof value === 'number' && text.replace(/^[0.]+/, '').replace('.', '').length > 15 ? UNDECIDED : text;
}

const HOLD_KEYS: ReadonlySet<string> = new Set(['points', 'costUsd']);

/**
 * `holdInputSchema.optional()` for plainly valid holds: whole points and/or a canonical cost, at
 * least one. The hold is copied into the output whole: a fast path that dropped it would let the
 * generation run unlimited.
 */
function optionalHold(value: unknown): { points?: number; costUsd?: string } | undefined | typeof UNDECIDED {
  if (value === undefined) return undefined;
  if (!plainObjectOf(value, HOLD_KEYS)) return UNDECIDED;
  const { points, costUsd } = value;
  if (points !== undefined && !isWhole(points, 0, Number.MAX_SAFE_INTEGER)) return UNDECIDED;
  const cost = optionalCost(costUsd);
  if (cost === UNDECIDED || (points === undefined && cost === undefined)) return UNDECIDED;
  if (points === undefined) return { costUsd: cost };
  return cost === undefined ? { points: points as number } : { points: points as number, costUsd: cost };
}

// One function per schema, reading each field once by name (as zod reads it) and returning one
// object literal: several times cheaper than a generic loop over the fields.

type Fast<S extends z.ZodType> = (input: unknown) => z.output<S> | undefined;

const RECORD_GENERATION_KEYS: ReadonlySet<string> = new Set(Object.keys(recordGenerationInputSchema.shape));
export const recordGenerationInputFast: Fast<typeof recordGenerationInputSchema> = (input) => {
  if (!plainObjectOf(input, RECORD_GENERATION_KEYS)) return undefined;
  const {
    masterAccountId,
    toolId,
    toolDisplayName,
    serviceName,
    sessionId,
    initiatingEventId,
    platformSpecificRunId,
    castId,
    cookId,
    status,
  } = input;
  const { requestTimestamp, notificationPlatform, deliveryStrategy, requestPayload, metadata, idempotencyKey, hold } = input;
  if (!isId(masterAccountId) || !isId(toolId) || !isLabel(toolDisplayName) || !isLabel(serviceName)) return undefined;
  if (
    !isOptionalId(sessionId) ||
    !isOptionalId(initiatingEventId) ||
    !isOptionalId(castId) ||
    !isOptionalId(cookId) ||
    !isOptionalId(idempotencyKey)
  )
    return undefined;
  if (!(isNullish(platformSpecificRunId) || isRunId(platformSpecificRunId))) return undefined;
  if (!(status === undefined || status === 'pending' || status === 'processing')) return undefined;
  if (!isOptionalLabel(notificationPlatform) || !isOptionalLabel(deliveryStrategy)) return undefined;
  // JSON is left to zod: only absent (or null, where allowed) passes here.
  if (!isNullish(requestPayload) || metadata !== undefined) return undefined;
  const requestTimestampCopy = optionalDate(requestTimestamp);
  if (requestTimestampCopy === UNDECIDED) return undefined;
  const holdCopy = optionalHold(hold);
  if (holdCopy === UNDECIDED) return undefined;
  return {
    masterAccountId,
    toolId,
    toolDisplayName,
    serviceName,
    sessionId,
    initiatingEventId,
    platformSpecificRunId,
    castId,
    cookId,
    status,
    requestTimestamp: requestTimestampCopy,
    notificationPlatform,
    deliveryStrategy,
    requestPayload,
    metadata,
    idempotencyKey,
    hold: holdCopy,
  } as z.output<typeof recordGenerationInputSchema>;
};

const TERMINAL: ReadonlySet<unknown> = new Set(['success', 'failed', 'cancelled_by_user', 'timeout']);
const PLAIN_UNIT = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/**
 * Unit names already found plain: a host meters a handful (`inputTokens`, `images`), and this
 * check runs for each on every completion with usage. Bounded: past it, names are tested each time.
 */
const PLAIN_UNITS_SEEN = new Set<string>();
const MAX_PLAIN_UNITS_SEEN = 1024;
function isPlainUnit(unit: string): boolean {
  if (PLAIN_UNITS_SEEN.has(unit)) return true;
  if (!PLAIN_UNIT.test(unit)) return false;
  if (PLAIN_UNITS_SEEN.size < MAX_PLAIN_UNITS_SEEN) PLAIN_UNITS_SEEN.add(unit);
  return true;
}

/** A copy of `usage` when `usageSchema` surely accepts it (own unit names, whole quantities, at most MAX_USAGE_UNITS); `undefined` when absent. */
function optionalUsage(value: unknown): Record<string, number> | undefined | typeof UNDECIDED {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return UNDECIDED;
  const copy: Record<string, number> = {};
  let units = 0;
  for (const unit in value) {
    const quantity = (value as Record<string, unknown>)[unit];
    if (!Object.hasOwn(value, unit) || !isPlainUnit(unit) || !isWhole(quantity, 0, Number.MAX_SAFE_INTEGER)) return UNDECIDED;
    if ((units += 1) > MAX_USAGE_UNITS) return UNDECIDED;
    copy[unit] = quantity as number;
  }
  return copy;
}
const COMPLETE_GENERATION_KEYS: ReadonlySet<string> = new Set(Object.keys(completeGenerationInputSchema.shape));
export const completeGenerationInputFast: Fast<typeof completeGenerationInputSchema> = (input) => {
  if (!plainObjectOf(input, COMPLETE_GENERATION_KEYS)) return undefined;
  const {
    status,
    pointsSpent,
    protocolNetPoints,
    costUsd,
    responsePayload,
    artifactUrls,
    errorDetails,
    platformSpecificRunId,
    responseTimestamp,
  } = input;
  if (!TERMINAL.has(status)) return undefined;
  if (!(pointsSpent === undefined || isWhole(pointsSpent, 0, LIMITS.pointsPerGeneration))) return undefined;
  if (!(protocolNetPoints === undefined || isWhole(protocolNetPoints, -LIMITS.pointsPerGeneration, LIMITS.pointsPerGeneration)))
    return undefined;
  if (!(platformSpecificRunId === undefined || isRunId(platformSpecificRunId))) return undefined;
  if (!isNullish(responsePayload) || artifactUrls !== undefined || !isNullish(errorDetails)) return undefined;
  const cost = optionalCost(costUsd);
  const responseTimestampCopy = optionalDate(responseTimestamp);
  const usage = optionalUsage(input.usage);
  if (cost === UNDECIDED || responseTimestampCopy === UNDECIDED || usage === UNDECIDED) return undefined;
  return {
    status,
    pointsSpent,
    protocolNetPoints,
    costUsd: cost,
    usage,
    responsePayload,
    artifactUrls,
    errorDetails,
    platformSpecificRunId,
    responseTimestamp: responseTimestampCopy,
  } as z.output<typeof completeGenerationInputSchema>;
};

const PROGRESS_KEYS: ReadonlySet<string> = new Set(Object.keys(progressInputSchema.shape));
export const progressInputFast: Fast<typeof progressInputSchema> = (input) => {
  if (!plainObjectOf(input, PROGRESS_KEYS)) return undefined;
  const { progress, liveStatus } = input;
  if (!(typeof progress === 'number' && progress >= 0 && progress <= 1) || !isOptionalLabel(liveStatus)) return undefined;
  return { progress, liveStatus } as z.output<typeof progressInputSchema>;
};

// A budget or a hold takes zod's path (a cast or cook is started rarely): this fast path copies only the fields it knows.
const START_CAST_KEYS: ReadonlySet<string> = new Set(Object.keys(startCastInputSchema.shape).filter((key) => key !== 'budget' && key !== 'hold'));
export const startCastInputFast: Fast<typeof startCastInputSchema> = (input) => {
  if (!plainObjectOf(input, START_CAST_KEYS)) return undefined;
  const { spellId, initiatorAccountId, totalSteps, cookId, metadata, startedAt, idempotencyKey } = input;
  if (!isId(spellId) || !isId(initiatorAccountId) || !isOptionalId(cookId) || !isOptionalId(idempotencyKey)) return undefined;
  if (!(isNullish(totalSteps) || isWhole(totalSteps, 1, LIMITS.totalSteps)) || metadata !== undefined) return undefined;
  const startedAtCopy = optionalDate(startedAt);
  if (startedAtCopy === UNDECIDED) return undefined;
  // Only taken without a budget or a hold (their keys are not in START_CAST_KEYS).
  return { spellId, initiatorAccountId, totalSteps, cookId, metadata, startedAt: startedAtCopy, idempotencyKey, budget: undefined, hold: undefined } as z.output<
    typeof startCastInputSchema
  >;
};

// As for a cast: a budget or a hold takes zod's path.
const START_COOK_KEYS: ReadonlySet<string> = new Set(Object.keys(startCookInputSchema.shape).filter((key) => key !== 'budget' && key !== 'hold'));
export const startCookInputFast: Fast<typeof startCookInputSchema> = (input) => {
  if (!plainObjectOf(input, START_COOK_KEYS)) return undefined;
  const { collectionId, initiatorAccountId, targetSupply, metadata, startedAt, idempotencyKey } = input;
  if (!isId(collectionId) || !isId(initiatorAccountId) || !isOptionalId(idempotencyKey)) return undefined;
  if (!isWhole(targetSupply, 1, LIMITS.targetSupply) || metadata !== undefined) return undefined;
  const startedAtCopy = optionalDate(startedAt);
  if (startedAtCopy === UNDECIDED) return undefined;
  return { collectionId, initiatorAccountId, targetSupply, metadata, startedAt: startedAtCopy, idempotencyKey, budget: undefined, hold: undefined } as z.output<
    typeof startCookInputSchema
  >;
};
