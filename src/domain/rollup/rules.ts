/**
 * The parent status rules of DESIGN.md, as pure functions of counts. Every adapter evaluates the
 * same rules inside its conditional write (a MongoDB pipeline `$cond`, a SQL `CASE`), so a parent
 * never sits with counts that say "done" and a status that says "running".
 */
import type { OutcomeCounts } from '../records.js';
import type { CastStatus, CookStatus, TerminalGenerationStatus, TerminalParentStatus } from '../status.js';

/**
 * A running cast's status after one of its steps finished: `failed` on a failed or timed-out step,
 * `cancelled` on a step cancelled by the user, `completed` once `totalSteps` steps succeeded,
 * otherwise still `running`.
 */
export function castStatusAfterStep(
  stepStatus: TerminalGenerationStatus,
  outcomesAfter: OutcomeCounts,
  totalSteps: number | null,
): CastStatus {
  if (stepStatus === 'failed' || stepStatus === 'timeout') return 'failed';
  if (stepStatus === 'cancelled_by_user') return 'cancelled';
  if (totalSteps !== null && outcomesAfter.success >= totalSteps) return 'completed';
  return 'running';
}

/** Which cook piece counter a finished piece moves. */
export type PieceCounter = 'generatedCount' | 'failedCount' | 'cancelledCount';

export function pieceCounterFor(status: TerminalGenerationStatus | TerminalParentStatus): PieceCounter {
  switch (status) {
    case 'success':
    case 'completed':
      return 'generatedCount';
    case 'failed':
    case 'timeout':
      return 'failedCount';
    case 'cancelled_by_user':
    case 'cancelled':
      return 'cancelledCount';
  }
}

/** A cook completes by itself once it has its supply and nothing is in flight (also while paused). */
export function cookReachedSupply(cook: { generatedCount: number; inFlightCount: number; targetSupply: number }): boolean {
  return cook.generatedCount >= cook.targetSupply && cook.inFlightCount === 0;
}

export function cookIsOpen(status: CookStatus): boolean {
  return status === 'running' || status === 'paused';
}

/** When the host finishes a cook early: `completed` if any piece succeeded, otherwise `failed`. */
export function cookStatusOnFinish(generatedCount: number): 'completed' | 'failed' {
  return generatedCount > 0 ? 'completed' : 'failed';
}
