/**
 * Status words as the documents spell them. Only canonical words are written, but the production
 * collections hold every word the old code used (`completed`, `error`, `queued`, `in_progress`...).
 * The write filters and the reader share the lists below, so a write's condition and the record a
 * read returns always agree on what a stored word means: a `queued` generation is pending to both.
 *
 * Each word is matched as written, capitalised and upper-cased. Spellings beyond those (stray
 * spaces) are read through the core normalisers but are not matched by write filters until the
 * backfill rewrites them; the audit counts them as legacy status words.
 */
import {
  normalizeCastStatus,
  normalizeCookStatus,
  normalizeDeliveryStatus,
  normalizeGenerationStatus,
  type CastStatus,
  type CookStatus,
  type DeliveryStatus,
  type GenerationStatus,
} from '../../src/domain/status.js';

function spellings(words: readonly string[]): string[] {
  const all = words.flatMap((word) => [word, word.charAt(0).toUpperCase() + word.slice(1), word.toUpperCase()]);
  return [...new Set(all)];
}

export const GENERATION_WORDS: Readonly<Record<GenerationStatus, readonly string[]>> = {
  pending: spellings(['pending', 'queued']),
  processing: spellings(['processing', 'running', 'in_progress']),
  success: spellings(['success', 'completed', 'succeeded']),
  failed: spellings(['failed', 'error']),
  cancelled_by_user: spellings(['cancelled_by_user', 'cancelled', 'canceled']),
  timeout: spellings(['timeout']),
};

/** Words of an open (pending or processing) generation. */
export const OPEN_GENERATION_WORDS: readonly string[] = [...GENERATION_WORDS.pending, ...GENERATION_WORDS.processing];

const PARENT_RUNNING = spellings(['running', 'pending', 'processing', 'in_progress', 'queued']);
const PARENT_COMPLETED = spellings(['completed', 'success', 'succeeded']);
const PARENT_FAILED = spellings(['failed', 'error']);
const PARENT_CANCELLED = spellings(['cancelled', 'canceled', 'cancelled_by_user']);

export const CAST_WORDS: Readonly<Record<CastStatus, readonly string[]>> = {
  running: PARENT_RUNNING,
  completed: PARENT_COMPLETED,
  failed: PARENT_FAILED,
  cancelled: PARENT_CANCELLED,
};

export const COOK_WORDS: Readonly<Record<CookStatus, readonly string[]>> = {
  ...CAST_WORDS,
  paused: spellings(['paused']),
};

/** Words of a cook that takes children (running or paused). */
export const OPEN_COOK_WORDS: readonly string[] = [...COOK_WORDS.running, ...COOK_WORDS.paused];

export const PENDING_DELIVERY_WORDS: readonly string[] = spellings(['pending']);

function lookUp<S extends string>(table: Readonly<Record<S, readonly string[]>>, raw: unknown): S | null {
  if (typeof raw !== 'string') return null;
  for (const [status, words] of Object.entries(table) as [S, readonly string[]][]) if (words.includes(raw)) return status;
  return null;
}

/**
 * A stored generation status. A word nobody knows (or no status at all) reads as `failed`: the
 * record is finished with an outcome the library cannot name, never silently reopened.
 */
export function readGenerationStatus(raw: unknown): GenerationStatus {
  return lookUp(GENERATION_WORDS, raw) ?? normalizeGenerationStatus(raw) ?? 'failed';
}

export function readCastStatus(raw: unknown): CastStatus {
  return lookUp(CAST_WORDS, raw) ?? normalizeCastStatus(raw) ?? 'failed';
}

export function readCookStatus(raw: unknown): CookStatus {
  return lookUp(COOK_WORDS, raw) ?? normalizeCookStatus(raw) ?? 'failed';
}

/** A stored delivery status, canonical or legacy (`failed` = `dropped`); `null` when absent or unknown. */
export function readDeliveryStatusWord(raw: unknown): DeliveryStatus | null {
  return normalizeDeliveryStatus(raw);
}
