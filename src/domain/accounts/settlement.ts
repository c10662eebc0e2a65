/**
 * A hold's settlement, decided in the same atomic operation as the generation's terminal
 * transition (`settleGeneration`), and only by the operation that makes that transition: the
 * generation's own move to a terminal status is the gate, so a duplicate or concurrent completion
 * captures nothing a second time. The hold's own `status` (held, then settled) is a second check a
 * store keeps beside it.
 */
import { settleInBudget } from './budget.js';
import { emptyAccount, settleHold, type Charge } from './ledger.js';
import type { AccountAmount } from './amounts.js';
import type { Account, Budget, Hold, LedgerEntry } from './records.js';

/** What settling one hold wrote. */
export interface HoldSettlement {
  readonly hold: Hold;
  readonly account: Account;
  readonly entries: readonly LedgerEntry[];
  readonly captured: AccountAmount;
  /** The budgets the hold counted against, after it (same order as `hold.budgets`, those still stored). */
  readonly budgets: readonly Budget[];
}

/**
 * Settles `hold` for its generation, finished with `charge`. `null` when the hold was settled
 * already (nothing to write).
 *
 * @param account the hold's account as stored
 * @param budgets the budgets named by `hold.budgets`, as stored (a missing one is skipped)
 */
export function settleGenerationHold(hold: Hold, account: Account | null, budgets: readonly Budget[], charge: Charge, at: Date): HoldSettlement | null {
  if (hold.status !== 'held') return null;
  // A hold that drew on its parent's reservation settles against it while the parent is open; once
  // the parent ended (its reservation released) it settles as any hold.
  const drawnOn = hold.drawsOn ? budgets.find((budget) => budget.parentKind === hold.drawsOn!.kind && budget.parentId === hold.drawsOn!.id) : undefined;
  const reservation = drawnOn?.reservation?.status === 'held' ? drawnOn.reservation : null;
  const pool = reservation === null || drawnOn === undefined ? null : { units: drawnOn.limit, free: reservation.free };
  const settled = settleHold(account ?? emptyAccount(hold.accountId), hold.units, hold.generationId, charge, at, pool);
  return {
    hold: { ...hold, status: 'settled' },
    account: settled.account,
    entries: settled.entries,
    captured: settled.captured,
    budgets: budgets.map((budget) => {
      const counted = settleInBudget(budget, hold.units, settled.captured);
      return budget === drawnOn && reservation !== null && settled.poolFree !== null ? { ...counted, reservation: { ...reservation, free: settled.poolFree } } : counted;
    }),
  };
}
