/**
 * Fast paths for the inputs of the hot tracker methods (`recordGeneration`, `startGeneration`'s
 * siblings `reportProgress` and `completeGeneration`, `startCast`, `startCook`).
 *
 * Each takes the raw input and returns what the zod schema in `inputs.ts` would return, or
 * `undefined` when it cannot tell, and then the caller parses with zod, which decides. A fast path
 * only ever accepts inputs that are plainly valid (a plain object, known keys, values of the
 * common forms) and builds the same output zod builds (keys in schema order, present keys only,
 * dates copied, costs canonical). Anything else, valid or not (JSON payloads, metadata, unusual
 * strings, numbers spelled with exponents, extra keys), goes to zod, so the two paths can never
 * disagree about what is valid: test/tracker/input-fast-paths.test.ts checks that on random inputs.
 *
 * Why: zod's strict objects cost more than a microsecond per call, about a fifth of a tracked
 * generation on the memory store.
 */
import type { z } from 'zod';
import type {
  completeGenerationInputSchema,
  progressInputSchema,
  recordGenerationInputSchema,
  startCastInputSchema,
  startCookInputSchema,
} from './inputs.js';
import { LIMITS } from './limits.js';

// Subsets of what the field schemas accept, written as one regular expression each. Surrogates
// are left to zod (which accepts paired ones), as is every control character in an id.
const PLAIN_ID = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]{1,128}$/;
const PLAIN_LABEL = /^[^\u0000\uD800-\uDFFF]{1,256}$/;
const PLAIN_RUN_ID = /^[^\u0000\uD800-\uDFFF]{1,512}$/;
/** A canonical amount below 1,000,000,000 (the per-generation maximum): no sign, no exponent, no padding zeros. */
const CANONICAL_COST = /^(?:0|[1-9]\d{0,8})(?:\.\d{0,17}[1-9])?$/;

const EARLIEST = Date.parse(LIMITS.earliestDate);
const LATEST = Date.parse(LIMITS.latestDate);

/** Returned by a field check that cannot decide: the whole input goes to zod. */
const UNDECIDED = Symbol('undecided');
type Check = (value: unknown) => unknown;

const id: Check = (value) => (typeof value === 'string' && PLAIN_ID.test(value) ? value : UNDECIDED);
const label: Check = (value) => (typeof value === 'string' && PLAIN_LABEL.test(value) ? value : UNDECIDED);
const runId: Check = (value) => (typeof value === 'string' && PLAIN_RUN_ID.test(value) ? value : UNDECIDED);

function optional(check: Check): Check {
  return (value) => (value === undefined ? undefined : check(value));
}
function nullish(check: Check): Check {
  return (value) => (value === undefined || value === null ? value : check(value));
}
/** A JSON field the fast path does not look into: only absent (or null, where allowed) passes. */
const absent: Check = (value) => (value === undefined ? undefined : UNDECIDED);
const absentOrNull: Check = (value) => (value === undefined || value === null ? value : UNDECIDED);

function wholeNumber(min: number, max: number): Check {
  return (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : UNDECIDED);
}
function oneOf(words: readonly string[]): Check {
  return (value) => (typeof value === 'string' && words.includes(value) ? value : UNDECIDED);
}
/** `dateSchema`: a valid Date between the limits, parsed into a copy. */
const date: Check = (value) => {
  if (!(value instanceof Date)) return UNDECIDED;
  const time = value.getTime();
  return time >= EARLIEST && time <= LATEST ? new Date(time) : UNDECIDED;
};
/** `costInputSchema` for amounts already spelled canonically (as most callers send them). */
const cost: Check = (value) => {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  return text !== null && CANONICAL_COST.test(text) ? text : UNDECIDED;
};
const progress: Check = (value) => (typeof value === 'number' && value >= 0 && value <= 1 ? value : UNDECIDED);

/** A strict object of `fields`, in the schema's key order. */
function strictObject<T>(fields: Record<string, Check>): (input: unknown) => T | undefined {
  const keys = Object.keys(fields);
  const checks = keys.map((key) => fields[key]!);
  const known = new Set(keys);
  return (input) => {
    if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return undefined;
    const given = input as Record<string, unknown>;
    // zod refuses any enumerable key it does not know (inherited ones too): leave those to it.
    for (const key in given) if (!known.has(key)) return undefined;
    const output: Record<string, unknown> = {};
    for (let index = 0; index < keys.length; index += 1) {
      const key = keys[index]!;
      const present = Object.prototype.hasOwnProperty.call(given, key);
      // An absent key is checked as `undefined`: fine when optional, undecided when required.
      const value = checks[index]!(present ? given[key] : undefined);
      if (value === UNDECIDED) return undefined;
      if (present) output[key] = value;
    }
    return output as T;
  };
}

type Fast<S extends z.ZodType> = (input: unknown) => z.output<S> | undefined;

export const recordGenerationInputFast: Fast<typeof recordGenerationInputSchema> = strictObject({
  masterAccountId: id,
  toolId: id,
  toolDisplayName: label,
  serviceName: label,
  sessionId: nullish(id),
  initiatingEventId: nullish(id),
  platformSpecificRunId: nullish(runId),
  castId: nullish(id),
  cookId: nullish(id),
  status: optional(oneOf(['pending', 'processing'])),
  requestTimestamp: optional(date),
  notificationPlatform: nullish(label),
  deliveryStrategy: nullish(label),
  requestPayload: absentOrNull,
  metadata: absent,
  idempotencyKey: nullish(id),
});

export const completeGenerationInputFast: Fast<typeof completeGenerationInputSchema> = strictObject({
  status: oneOf(['success', 'failed', 'cancelled_by_user', 'timeout']),
  pointsSpent: optional(wholeNumber(0, LIMITS.pointsPerGeneration)),
  protocolNetPoints: optional(wholeNumber(-LIMITS.pointsPerGeneration, LIMITS.pointsPerGeneration)),
  costUsd: optional(cost),
  responsePayload: absentOrNull,
  artifactUrls: absent,
  errorDetails: absentOrNull,
  platformSpecificRunId: optional(runId),
  responseTimestamp: optional(date),
});

export const progressInputFast: Fast<typeof progressInputSchema> = strictObject({
  progress,
  liveStatus: nullish(label),
});

export const startCastInputFast: Fast<typeof startCastInputSchema> = strictObject({
  spellId: id,
  initiatorAccountId: id,
  totalSteps: nullish(wholeNumber(1, LIMITS.totalSteps)),
  cookId: nullish(id),
  metadata: absent,
  startedAt: optional(date),
  idempotencyKey: nullish(id),
});

export const startCookInputFast: Fast<typeof startCookInputSchema> = strictObject({
  collectionId: id,
  initiatorAccountId: id,
  targetSupply: wholeNumber(1, LIMITS.targetSupply),
  metadata: absent,
  startedAt: optional(date),
  idempotencyKey: nullish(id),
});
