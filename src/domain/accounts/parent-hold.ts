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
import { addAmounts, amountOf, exceededUnit, isZeroAmount, restrictTo, subtractAmounts, ZERO_AMOUNT, type AccountAmount, type Units } from './amounts.js';
import { newBudget, settleInBudget } from './budget.js';
import { appendEntry, emptyAccount, reservationShare, reserve, type Charge, type ReservationPool, type Shortfall } from './ledger.js';
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
  return { outcome: 'held', account: taken.account, entry: taken.entry, budget: parentHoldBudget(parentKind, parentId, accountId, units) };
}

/** A new parent hold's budget: its limit is the hold, its reservation all free. */
export function parentHoldBudget(parentKind: 'cast' | 'cook', parentId: string, accountId: string, units: Units): Budget {
  return { ...newBudget(parentKind, parentId, units), reservation: { accountId, free: amountOf(units), status: 'held' } };
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
  return { budget: { ...budget, reservation: { ...reservation, free: subtractAmounts(reservation.free, inside) } }, beyond: unitsBeyond(budget.limit, units) };
}

/** The units of a drawing hold the parent's (`limit`) do not name, reserved from `available` as any hold; `null` when there are none. */
export function unitsBeyond(limit: Units, units: Units): Units | null {
  const beyondPoints = limit.points === undefined ? units.points : undefined;
  const beyondUsd = limit.costUsd === undefined ? units.costUsd : undefined;
  return beyondPoints === undefined && beyondUsd === undefined ? null : { points: beyondPoints, costUsd: beyondUsd };
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

/**
 * A drawn hold given back at its creation's undo (a store that writes the reservation and the
 * account apart, MongoDB, undoes a child the account refused after its budget drew): while the
 * reservation is open the drawn part goes back to `free`; once it was released, the drawn part
 * is still held on the account for nobody, and `release` is what to release there.
 */
export function returnDraw(budget: Budget, units: Units): { readonly budget: Budget; readonly release: AccountAmount | null } {
  const reservation = budget.reservation;
  const drawn = restrictTo(amountOf(units), budget.limit);
  if (!reservation || reservation.status !== 'held') return { budget, release: isZeroAmount(drawn) ? null : drawn };
  return { budget: { ...budget, reservation: { ...reservation, free: addAmounts(reservation.free, drawn) } }, release: null };
}

/** A drawing child's settlement in its parent's budget, decided before its account's (see `settleInReservation`). */
export interface ReservationSettlement {
  /** The budget after it: the hold counted out, the charge counted in, and while the reservation is open its `free` moved. */
  readonly budget: Budget;
  /** The pool to settle the account with (`settleHold`): `free` is exactly what the charge takes from the reservation; `null` once the reservation was released (settle as any hold). */
  readonly pool: ReservationPool | null;
}

/**
 * The reservation's side of a drawing child's settlement, for a store that writes the budget
 * (carrying the reservation) and the account apart: the budget write decides what the charge
 * takes from `free` and what goes back to it (`reservationShare`, as `settleGenerationHold`
 * does in one step), then the account settles with `pool` and takes exactly that.
 */
export function settleInReservation(budget: Budget, units: Units, charge: Charge): ReservationSettlement {
  const captured = restrictTo({ points: charge.pointsSpent, costUsd: charge.costUsd }, units);
  const counted = settleInBudget(budget, units, captured);
  const reservation = budget.reservation;
  if (!reservation || reservation.status !== 'held') return { budget: counted, pool: null };
  const share = reservationShare(units, charge, { units: budget.limit, free: reservation.free });
  const free = addAmounts(subtractAmounts(reservation.free, share.taken), share.returned);
  return { budget: { ...counted, reservation: { ...reservation, free } }, pool: { units: budget.limit, free: share.taken } };
}
