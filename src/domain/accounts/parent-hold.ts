/**
 * Parent holds: `startCast({ hold })` / `startCook({ hold })` reserve an amount from the parent's
 * `initiatorAccountId` for its children, in the same atomic operation that stores the parent.
 *
 * The rules (docs/concepts.md, "Parent holds"):
 *
 * - The hold is also the parent's budget: its limit is the hold's units, so every child must bring
 *   a hold naming them, counted against the budget exactly like a plain budget's (spent + held
 *   never passes the limit).
 * - The budget keeps the reservation beside it: the account it is on, and its `free` part (the
 *   reservation minus what open children drew and what captures took from it).
 * - A child on the parent's own account draws its hold, in the parent's units, from `free`: the
 *   account's `held` does not grow (the money is reserved once). Units its hold names beyond the
 *   parent's are reserved from `available` as any hold. A child on another account holds on its
 *   own account as always.
 * - Settling a drawing child while the parent is open: what it was charged is captured from the
 *   account's held; what it held and did not spend goes back to `free`; a charge above its hold
 *   comes from `free` first, then `available`, then an overdraft entry (`settleHold`'s pool).
 * - When the parent ends (any terminal status), `free` is released once, by one `release` entry
 *   naming the parent. Children still open keep their part held; when they settle later, what they
 *   did not spend is released to `available`.
 *
 * Why `free` can always cover a child the budget accepted: free = limit - (held by open drawing
 * children) - (captured from the reservation) >= limit - budget.held - budget.spent, since a
 * budget counts every child's hold and whole charge. So the budget's check is the only one a
 * drawing child needs (the check below is a guard, never the deciding refusal).
 */
import { amountOf, exceededUnit, isZeroAmount, restrictTo, subtractAmounts, ZERO_AMOUNT, type Units } from './amounts.js';
import { newBudget } from './budget.js';
import { appendEntry, emptyAccount, reserve, type Shortfall } from './ledger.js';
import type { Account, Budget, EntryCause, LedgerEntry } from './records.js';

/** A parent hold taken: the account after it, its entry, and the parent's budget carrying the reservation. */
export type ParentHoldDecision =
  | { readonly outcome: 'held'; readonly account: Account; readonly entry: LedgerEntry; readonly budget: Budget }
  | { readonly outcome: 'limited'; readonly limit: Shortfall };

export function parentCause(parentKind: 'cast' | 'cook', parentId: string): EntryCause {
  return { kind: 'parent', parentKind, parentId };
}

/**
 * Decides a parent hold at the parent's creation: reserves `units` from the account when its
 * `available` covers them (`limited` otherwise: store nothing, the parent included).
 *
 * @param account the parent's `initiatorAccountId` account as stored, `null` when it has none yet
 */
export function parentHoldAtCreation(
  parentKind: 'cast' | 'cook',
  parentId: string,
  accountId: string,
  account: Account | null,
  units: Units,
  at: Date,
): ParentHoldDecision {
  const taken = reserve(account ?? emptyAccount(accountId), units, parentCause(parentKind, parentId), at);
  if (taken.outcome !== 'held') return { outcome: 'limited', limit: taken };
  const budget: Budget = { ...newBudget(parentKind, parentId, units), reservation: { accountId, free: amountOf(units), status: 'held' } };
  return { outcome: 'held', account: taken.account, entry: taken.entry, budget };
}

/** The budget, among a child's parents' (cast first, then cook), whose open reservation a hold on `accountId` draws from; `null` for none. */
export function drawingBudget(budgets: readonly Budget[], accountId: string): Budget | null {
  return budgets.find((budget) => budget.reservation?.status === 'held' && budget.reservation.accountId === accountId) ?? null;
}

/** A child's hold as it draws on a parent's reservation: the part inside it, and the units left to reserve from `available` (`null`: none). */
export interface Draw {
  /** The budget with the drawn part taken out of its `free`. */
  readonly budget: Budget;
  /** Units the hold names that the parent's do not, reserved from the account as any hold; `null` when there are none. */
  readonly beyond: Units | null;
}

/**
 * Draws a child's hold (`units`) from `budget`'s open reservation; `null` when `free` does not
 * cover it (never, for a hold the budget counted: see the module comment).
 */
export function drawFromReservation(budget: Budget, units: Units): Draw | null {
  const reservation = budget.reservation;
  if (!reservation || reservation.status !== 'held') return null;
  const inside = restrictTo(amountOf(units), budget.limit);
  if (exceededUnit(inside, reservation.free, budget.limit) !== null) return null;
  const beyondPoints = budget.limit.points === undefined ? units.points : undefined;
  const beyondUsd = budget.limit.costUsd === undefined ? units.costUsd : undefined;
  const beyond = beyondPoints === undefined && beyondUsd === undefined ? null : { points: beyondPoints, costUsd: beyondUsd };
  return { budget: { ...budget, reservation: { ...reservation, free: subtractAmounts(reservation.free, inside) } }, beyond };
}

/** What releasing a parent's reservation wrote. */
export interface ParentRelease {
  readonly budget: Budget;
  readonly account: Account;
  /** The one `release` entry naming the parent, or none when nothing was left free. */
  readonly entries: readonly LedgerEntry[];
}

/**
 * Releases what a parent's reservation has left free, once, when the parent reaches a terminal
 * status: `null` when the budget has no reservation or it was released already (nothing to write).
 *
 * @param account the reservation's account as stored
 */
export function releaseReservation(budget: Budget, account: Account | null, at: Date): ParentRelease | null {
  const reservation = budget.reservation;
  if (!reservation || reservation.status !== 'held') return null;
  const released: Budget = { ...budget, reservation: { ...reservation, free: ZERO_AMOUNT, status: 'released' } };
  const current = account ?? emptyAccount(reservation.accountId);
  if (isZeroAmount(reservation.free)) return { budget: released, account: current, entries: [] };
  const written = appendEntry(current, 'release', reservation.free, parentCause(budget.parentKind, budget.parentId), at);
  return { budget: released, account: written.account, entries: [written.entry] };
}
