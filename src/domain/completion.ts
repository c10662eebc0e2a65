/**
 * When a repeated `completeGeneration` contradicts the completion already stored. A generation ends
 * once; a retry of the same completion (a lost reply, a duplicate event) gets the stored record and
 * counts nothing twice, while a call that says something else about how it ended is refused: the
 * first completion stands. The figures compared are those the roll-up counted: the status, the
 * points spent, the net points and the cost (compared as amounts, so "0.10" repeats "0.1").
 * Payloads, times and run ids may differ between a call and its retry and are not compared.
 *
 * Pure: compares the stored figures with the call's (after its defaults are applied) and names the
 * first field that differs, in the order above, or `null` when the call repeats the completion.
 */
import { compareUsd, type UsdAmount } from './money.js';
import type { GenerationStatus } from './status.js';

/** The figures of a completion that make it the completion it is. */
export interface CompletionFigures {
  readonly status: GenerationStatus;
  readonly pointsSpent: number;
  readonly protocolNetPoints: number;
  readonly costUsd: UsdAmount;
}

/** The first field in which a repeated completion differs from the stored one, with both values as text. */
export interface CompletionMismatch {
  readonly field: keyof CompletionFigures;
  readonly stored: string;
  readonly given: string;
}

export function completionMismatch(stored: CompletionFigures, given: CompletionFigures): CompletionMismatch | null {
  if (stored.status !== given.status) return { field: 'status', stored: stored.status, given: given.status };
  if (stored.pointsSpent !== given.pointsSpent) {
    return { field: 'pointsSpent', stored: String(stored.pointsSpent), given: String(given.pointsSpent) };
  }
  if (stored.protocolNetPoints !== given.protocolNetPoints) {
    return { field: 'protocolNetPoints', stored: String(stored.protocolNetPoints), given: String(given.protocolNetPoints) };
  }
  if (compareUsd(stored.costUsd, given.costUsd) !== 0) return { field: 'costUsd', stored: stored.costUsd, given: given.costUsd };
  return null;
}
