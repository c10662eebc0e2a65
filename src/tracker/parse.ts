/** The validation edge: every public input goes through one of these before anything is written. */
import type { z } from 'zod';
import { idSchema } from '../domain/fields.js';
import { ValidationError } from '../errors.js';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, argument: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, argument);
  return result.data;
}

export function parseId(value: unknown, argument: string): string {
  return parseInput(idSchema, value, argument);
}
