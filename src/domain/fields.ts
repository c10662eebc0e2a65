/**
 * Field schemas shared by the record schemas and the input schemas, so a limit is written once.
 */
import { z } from 'zod';
import { findJsonProblem, type JsonObject, type JsonValue } from './json.js';
import { unstorableTextReason } from './text.js';
import { LIMITS } from './limits.js';
import { InvalidAmountError, MAX_SINGLE_COST_USD, parseUsdUnits, toUsdAmount, type UsdAmount } from './money.js';

/**
 * Refuses strings no store can keep exactly (U+0000, unpaired surrogates). The schemas below give
 * their `max` check `abort: true`, so a string over its length limit is refused without this scan
 * or any other check reading it: the time to refuse is bounded by the limit, not by the string.
 */
function storable(schema: z.ZodString) {
  return schema.superRefine((text, context) => {
    const reason = unstorableTextReason(text);
    if (reason) context.addIssue({ code: 'custom', message: reason });
  });
}

/** An opaque id: non-empty, at most {@link LIMITS.idLength} characters, no control characters. */
export const idSchema = storable(
  z
    .string()
    .min(1, 'must not be empty')
    .max(LIMITS.idLength, { error: `must be at most ${LIMITS.idLength} characters`, abort: true })
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters'),
);

export const labelSchema = storable(
  z
    .string()
    .min(1, 'must not be empty')
    .max(LIMITS.labelLength, { error: `must be at most ${LIMITS.labelLength} characters`, abort: true }),
);

export const textSchema = storable(
  z.string().max(LIMITS.textLength, { error: `must be at most ${LIMITS.textLength} characters`, abort: true }),
);

/**
 * A valid `Date` (an `Invalid Date` is refused, not stored) between 1970 and 9999, which every
 * store keeps exactly (PostgreSQL refuses years before 4713 BC; checking at the edge means no store
 * refuses a write halfway through a call). Parsed into a copy, so a caller that later mutates its
 * `Date` cannot change what was recorded.
 */
export const dateSchema = z
  .date({ error: 'must be a valid Date' })
  .min(new Date(LIMITS.earliestDate), `must not be before ${LIMITS.earliestDate}`)
  .max(new Date(LIMITS.latestDate), `must not be after ${LIMITS.latestDate}`)
  .transform((date) => new Date(date.getTime()));

export const pointsSchema = z
  .number({ error: 'must be a number' })
  .int('must be a whole number of points')
  .min(0, 'must not be negative')
  .max(LIMITS.pointsPerGeneration, `must be at most ${LIMITS.pointsPerGeneration}`);

export const netPointsSchema = z
  .number({ error: 'must be a number' })
  .int('must be a whole number of points')
  .min(-LIMITS.pointsPerGeneration, `must be at least -${LIMITS.pointsPerGeneration}`)
  .max(LIMITS.pointsPerGeneration, `must be at most ${LIMITS.pointsPerGeneration}`);

/** A whole-number total of points on a record; sums may exceed one generation's limit. */
export const pointsTotalSchema = z.number().int().refine(Number.isSafeInteger, 'must be a safe integer');

export const progressSchema = z.number({ error: 'must be a number' }).min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

export const countSchema = z.number().int().min(0);

/**
 * A cost given by a caller: a decimal string (`"0.0042"`) or a number (read through its shortest
 * spelling), at least 0, at most {@link MAX_SINGLE_COST_USD}, at most 18 fraction digits. Parses to
 * the canonical {@link UsdAmount}.
 */
export const costInputSchema = z
  .union([z.string(), z.number()], { error: 'must be a decimal string like "0.0042" or a number' })
  .transform((value, context): UsdAmount => {
    try {
      const amount = toUsdAmount(value);
      if (parseUsdUnits(amount) > parseUsdUnits(MAX_SINGLE_COST_USD)) {
        context.addIssue({ code: 'custom', message: `must be at most ${MAX_SINGLE_COST_USD}` });
        return z.NEVER;
      }
      return amount;
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof InvalidAmountError ? error.reason : 'is not an amount' });
      return z.NEVER;
    }
  });

/** A stored amount: already canonical. */
export const usdAmountSchema = z.string().refine((text) => {
  try {
    return toUsdAmount(text) === text;
  } catch {
    return false;
  }
}, 'must be a canonical decimal string');

function jsonSchema<T extends JsonValue>(maxBytes: number) {
  return z.custom<T>().superRefine((value, context) => {
    const problem = findJsonProblem(value, maxBytes);
    if (problem) context.addIssue({ code: 'custom', message: problem.reason, path: [...problem.path] });
  });
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object for `metadata`. */
export const metadataSchema = jsonSchema<JsonObject>(LIMITS.metadataBytes).refine(isPlainObject, 'must be a JSON object');

/** Any JSON value for a payload. */
export const payloadSchema = jsonSchema<JsonValue>(LIMITS.payloadBytes);

/** A JSON object describing an error. */
export const errorDetailsSchema = jsonSchema<JsonObject>(LIMITS.payloadBytes).refine(isPlainObject, 'must be a JSON object');

export const urlSchema = storable(
  z
    .string()
    .min(1)
    .max(LIMITS.urlLength, { error: `must be at most ${LIMITS.urlLength} characters`, abort: true }),
);

/** A provider's run id. */
export const runIdSchema = storable(z.string().min(1).max(512, { abort: true }));
