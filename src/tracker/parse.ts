/** The validation edge: every public input goes through one of these before anything is written. */
import type { z } from 'zod';
import { idSchema } from '../domain/fields.js';
import { ValidationError } from '../errors.js';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, argument: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, argument);
  return result.data;
}

/**
 * `parseInput` behind a fast path (`input-fast-paths.ts`) that returns zod's output for
 * plainly valid inputs and `undefined` for anything it cannot decide, which zod then parses.
 */
export function parseInputFast<S extends z.ZodType>(
  fast: (value: unknown) => z.output<S> | undefined,
  schema: S,
  value: unknown,
  argument: string,
): z.output<S> {
  const parsed = fast(value);
  return parsed === undefined ? parseInput(schema, value, argument) : parsed;
}

// No control characters and no surrogates at all: anything else takes zod's path, which decides.
const PLAIN_ID = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]{1,128}$/;

/**
 * Whether `value` is an id `idSchema` surely accepts, without going through zod. `false` decides
 * nothing: ask `idSchema`.
 */
export function isPlainId(value: unknown): value is string {
  return typeof value === 'string' && PLAIN_ID.test(value);
}

/**
 * Validates an id argument. Ids arrive on every call, so a well-formed one is accepted without
 * going through zod; anything else gets zod's exact issue, so the two paths never disagree.
 */
export function parseId(value: unknown, argument: string): string {
  if (isPlainId(value)) return value;
  return parseInput(idSchema, value, argument);
}
