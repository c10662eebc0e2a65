/**
 * The status vocabularies and the generation status machine.
 *
 * Status words drifted in the system this replaces (`success` in one file, `completed` in another),
 * and a parent counting "completed" children missed every "success" one. Only the canonical words
 * below are ever written; the legacy words are read through the normalisers here and nowhere else.
 */

export const GENERATION_STATUSES = ['pending', 'processing', 'success', 'failed', 'cancelled_by_user', 'timeout'] as const;
/** Where a generation is: `pending` -> `processing` -> one terminal status. */
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

export const TERMINAL_GENERATION_STATUSES = ['success', 'failed', 'cancelled_by_user', 'timeout'] as const;
/** A status nothing leaves. */
export type TerminalGenerationStatus = (typeof TERMINAL_GENERATION_STATUSES)[number];

export const OPEN_GENERATION_STATUSES = ['pending', 'processing'] as const;
export type OpenGenerationStatus = (typeof OPEN_GENERATION_STATUSES)[number];

export const DELIVERY_STATUSES = ['skipped', 'pending', 'sent', 'dropped'] as const;
/**
 * Whether the user was told about the result. `skipped`: nobody to notify (platform `none`);
 * `pending`: to be notified; `sent` / `dropped`: notified, or given up. Never touches the
 * generation's status or its parents.
 */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const DELIVERY_OUTCOMES = ['sent', 'dropped'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export const CAST_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type CastStatus = (typeof CAST_STATUSES)[number];

export const COOK_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type CookStatus = (typeof COOK_STATUSES)[number];

export const TERMINAL_PARENT_STATUSES = ['completed', 'failed', 'cancelled'] as const;
/** A cast or cook status nothing leaves. */
export type TerminalParentStatus = (typeof TERMINAL_PARENT_STATUSES)[number];

const LEGACY_GENERATION_WORDS: Readonly<Record<string, GenerationStatus>> = {
  completed: 'success',
  succeeded: 'success',
  error: 'failed',
  cancelled: 'cancelled_by_user',
  canceled: 'cancelled_by_user',
  queued: 'pending',
  running: 'processing',
  in_progress: 'processing',
};

const LEGACY_DELIVERY_WORDS: Readonly<Record<string, DeliveryStatus>> = { failed: 'dropped' };

const LEGACY_PARENT_WORDS: Readonly<Record<string, TerminalParentStatus | 'running'>> = {
  success: 'completed',
  succeeded: 'completed',
  error: 'failed',
  canceled: 'cancelled',
  cancelled_by_user: 'cancelled',
  pending: 'running',
  processing: 'running',
  in_progress: 'running',
  queued: 'running',
};

export function isGenerationStatus(word: unknown): word is GenerationStatus {
  return typeof word === 'string' && (GENERATION_STATUSES as readonly string[]).includes(word);
}

export function isTerminalGenerationStatus(status: GenerationStatus): status is TerminalGenerationStatus {
  return (TERMINAL_GENERATION_STATUSES as readonly string[]).includes(status);
}

export function isTerminalParentStatus(status: CastStatus | CookStatus): status is TerminalParentStatus {
  return (TERMINAL_PARENT_STATUSES as readonly string[]).includes(status);
}

/**
 * Reads a generation status word, canonical or legacy, into the canonical word; `null` when the
 * word is unknown (the caller decides whether that is an error or a record to repair).
 */
export function normalizeGenerationStatus(word: unknown): GenerationStatus | null {
  if (typeof word !== 'string') return null;
  const lower = word.trim().toLowerCase();
  if (isGenerationStatus(lower)) return lower;
  return LEGACY_GENERATION_WORDS[lower] ?? null;
}

/** Whether the word is one of the legacy spellings that must be rewritten. */
export function isLegacyGenerationStatusWord(word: unknown): boolean {
  return typeof word === 'string' && !isGenerationStatus(word) && normalizeGenerationStatus(word) !== null;
}

export function normalizeDeliveryStatus(word: unknown): DeliveryStatus | null {
  if (typeof word !== 'string') return null;
  const lower = word.trim().toLowerCase();
  if ((DELIVERY_STATUSES as readonly string[]).includes(lower)) return lower as DeliveryStatus;
  return LEGACY_DELIVERY_WORDS[lower] ?? null;
}

export function normalizeCastStatus(word: unknown): CastStatus | null {
  if (typeof word !== 'string') return null;
  const lower = word.trim().toLowerCase();
  if ((CAST_STATUSES as readonly string[]).includes(lower)) return lower as CastStatus;
  return LEGACY_PARENT_WORDS[lower] ?? null;
}

export function normalizeCookStatus(word: unknown): CookStatus | null {
  if (typeof word !== 'string') return null;
  const lower = word.trim().toLowerCase();
  if ((COOK_STATUSES as readonly string[]).includes(lower)) return lower as CookStatus;
  return LEGACY_PARENT_WORDS[lower] ?? null;
}

/**
 * The generation status machine: `pending -> processing`, and either of those to any terminal
 * status. Nothing leaves a terminal status, and a status never "moves" to itself.
 */
export function canTransitionGeneration(from: GenerationStatus, to: GenerationStatus): boolean {
  if (isTerminalGenerationStatus(from)) return false;
  if (from === 'pending') return to !== 'pending';
  return isTerminalGenerationStatus(to);
}
