/**
 * The status vocabularies and the generation status machine.
 *
 * Status words drifted in the system this replaces (`success` in one file, `completed` in another),
 * and a parent counting "completed" children missed every "success" one. Only the canonical words
 * below are ever written or accepted. The legacy words exist only in stored MongoDB documents, so
 * they are read there: adapters/mongo/status-words.ts, published as `genledger/mongo/legacy`.
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

export function isTerminalGenerationStatus(status: GenerationStatus): status is TerminalGenerationStatus {
  return (TERMINAL_GENERATION_STATUSES as readonly string[]).includes(status);
}

export function isTerminalParentStatus(status: CastStatus | CookStatus): status is TerminalParentStatus {
  return (TERMINAL_PARENT_STATUSES as readonly string[]).includes(status);
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
