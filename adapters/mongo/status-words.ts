/**
 * Status words as the documents spell them. Only canonical words are written, but the production
 * collections hold every word the old code used (`completed`, `error`, `queued`, `in_progress`...).
 * The tables below are the one place those words are known: the write filters match their
 * spellings, the reader and the normalisers look words up in them, and `genledger/mongo/legacy`
 * publishes them. So a write's condition and the record a read returns always agree on what a
 * stored word means: a `queued` generation is pending to both.
 *
 * Each word is matched as written, capitalised and upper-cased. Spellings beyond those (stray
 * spaces) are read through the normalisers but are not matched by write filters until the
 * backfill rewrites them; the audit counts them as legacy status words.
 */
import type { CastStatus, CookStatus, DeliveryStatus, GenerationStatus, TerminalParentStatus } from 'genledger';

/** Per canonical status, the words that mean it: the canonical word first, then the legacy ones. */
const GENERATION_STATUS_WORDS: Readonly<Record<GenerationStatus, readonly string[]>> = {
  pending: ['pending', 'queued'],
  processing: ['processing', 'running', 'in_progress'],
  success: ['success', 'completed', 'succeeded'],
  failed: ['failed', 'error'],
  cancelled_by_user: ['cancelled_by_user', 'cancelled', 'canceled'],
  timeout: ['timeout'],
};

const CAST_STATUS_WORDS: Readonly<Record<CastStatus, readonly string[]>> = {
  running: ['running', 'pending', 'processing', 'in_progress', 'queued'],
  completed: ['completed', 'success', 'succeeded'],
  failed: ['failed', 'error'],
  cancelled: ['cancelled', 'canceled', 'cancelled_by_user'],
};

const COOK_STATUS_WORDS: Readonly<Record<CookStatus, readonly string[]>> = { ...CAST_STATUS_WORDS, paused: ['paused'] };

const DELIVERY_STATUS_WORDS: Readonly<Record<DeliveryStatus, readonly string[]>> = {
  skipped: ['skipped'],
  pending: ['pending'],
  sent: ['sent'],
  dropped: ['dropped', 'failed'],
};

function spellings(words: readonly string[]): string[] {
  const all = words.flatMap((word) => [word, word.charAt(0).toUpperCase() + word.slice(1), word.toUpperCase()]);
  return [...new Set(all)];
}

function spelt<S extends string>(table: Readonly<Record<S, readonly string[]>>): Readonly<Record<S, readonly string[]>> {
  const spelt = {} as Record<S, readonly string[]>;
  for (const status of Object.keys(table) as S[]) spelt[status] = spellings(table[status]);
  return spelt;
}

/** The legacy words of a table (every word but the canonical one), each with the status it means. */
function legacyWords<S extends string>(table: Readonly<Record<S, readonly string[]>>): Readonly<Record<string, S>> {
  const entries = (Object.entries(table) as [S, readonly string[]][]).flatMap(([status, words]) =>
    words.filter((word) => word !== status).map((word) => [word, status] as const),
  );
  return Object.freeze(Object.fromEntries(entries) as Record<string, S>);
}

/** Legacy generation status words and the canonical status each means (`completed` -> `success`). */
export const LEGACY_GENERATION_WORDS: Readonly<Record<string, GenerationStatus>> = legacyWords(GENERATION_STATUS_WORDS);
/** Legacy delivery status words and the canonical status each means (`failed` -> `dropped`). */
export const LEGACY_DELIVERY_WORDS: Readonly<Record<string, DeliveryStatus>> = legacyWords(DELIVERY_STATUS_WORDS);
/** Legacy cast and cook status words and the canonical status each means (`success` -> `completed`). */
export const LEGACY_PARENT_WORDS: Readonly<Record<string, TerminalParentStatus | 'running'>> = legacyWords(CAST_STATUS_WORDS);

export const GENERATION_WORDS: Readonly<Record<GenerationStatus, readonly string[]>> = spelt(GENERATION_STATUS_WORDS);

/** Words of an open (pending or processing) generation. */
export const OPEN_GENERATION_WORDS: readonly string[] = [...GENERATION_WORDS.pending, ...GENERATION_WORDS.processing];

export const CAST_WORDS: Readonly<Record<CastStatus, readonly string[]>> = spelt(CAST_STATUS_WORDS);

export const COOK_WORDS: Readonly<Record<CookStatus, readonly string[]>> = spelt(COOK_STATUS_WORDS);

/** Words of a cook that takes children (running or paused). */
export const OPEN_COOK_WORDS: readonly string[] = [...COOK_WORDS.running, ...COOK_WORDS.paused];

export const PENDING_DELIVERY_WORDS: readonly string[] = spellings(DELIVERY_STATUS_WORDS.pending);

function lookUp<S extends string>(table: Readonly<Record<S, readonly string[]>>, raw: unknown): S | null {
  if (typeof raw !== 'string') return null;
  for (const [status, words] of Object.entries(table) as [S, readonly string[]][]) if (words.includes(raw)) return status;
  return null;
}

/** A word in any case and with stray spaces, looked up in a table of lower-case words. */
function normalize<S extends string>(table: Readonly<Record<S, readonly string[]>>, word: unknown): S | null {
  return typeof word === 'string' ? lookUp(table, word.trim().toLowerCase()) : null;
}

/**
 * Reads a generation status word, canonical or legacy, in any case, into the canonical word;
 * `null` when the word is unknown (the caller decides whether that is an error or a record to repair).
 */
export function normalizeGenerationStatus(word: unknown): GenerationStatus | null {
  return normalize(GENERATION_STATUS_WORDS, word);
}

/** Whether the word means a generation status but is not written as the canonical word (the backfill rewrites it). */
export function isLegacyGenerationStatusWord(word: unknown): boolean {
  return typeof word === 'string' && !Object.hasOwn(GENERATION_STATUS_WORDS, word) && normalizeGenerationStatus(word) !== null;
}

/** Reads a delivery status word, canonical or legacy (`failed` = `dropped`); `null` when unknown. */
export function normalizeDeliveryStatus(word: unknown): DeliveryStatus | null {
  return normalize(DELIVERY_STATUS_WORDS, word);
}

/** Reads a cast status word, canonical or legacy (`success` = `completed`, `in_progress` = `running`); `null` when unknown. */
export function normalizeCastStatus(word: unknown): CastStatus | null {
  return normalize(CAST_STATUS_WORDS, word);
}

/** Reads a cook status word, canonical or legacy, as {@link normalizeCastStatus} does, `paused` included; `null` when unknown. */
export function normalizeCookStatus(word: unknown): CookStatus | null {
  return normalize(COOK_STATUS_WORDS, word);
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
