/**
 * Parent budgets: a cast or a cook may cap what its children hold and spend, in the units it
 * names. The rule that makes the cap exact is that a child under a budgeted parent must bring a
 * hold naming every unit the budget limits: the hold is counted against the budget in the same
 * atomic operation that stores the child, so `spent + held` never passes the limit however many
 * children are created at once. A child without such a hold is refused, since its cost would only
 * be known after it ran.
 *
 * At settlement the child's hold leaves `held` and what it was charged joins `spent`. A child
 * charged more than it held (see `settleHold`) is still counted in full (the money was spent), and
 * the budget then refuses new children until it has room again: a hold is the promise that keeps
 * the cap, so hold what a child may cost.
 */
import { addAmounts, amountOf, exceededUnit, restrictTo, subtractAmounts, ZERO_AMOUNT, type AccountAmount, type Units } from './amounts.js';
import type { Budget } from './records.js';

export function newBudget(parentKind: 'cast' | 'cook', parentId: string, limit: Units): Budget {
  return { parentKind, parentId, limit, held: ZERO_AMOUNT, spent: ZERO_AMOUNT };
}

/** Why a budget refuses a child: the unit, and the figures that would pass the limit. */
export interface BudgetRefusal {
  readonly outcome: 'overBudget';
  readonly budget: Budget;
  /** The unit the child's hold would take past the limit, or that the child does not hold at all. */
  readonly unit: 'points' | 'costUsd';
  /** What the child holds (zero in a unit it does not name). */
  readonly requested: AccountAmount;
  /** `false` when the child brings no hold in `unit`. */
  readonly held: boolean;
}

/** The budget with the child's hold counted, or why it refuses the child. */
export function holdInBudget(budget: Budget, hold: Units | null): { readonly outcome: 'counted'; readonly budget: Budget } | BudgetRefusal {
  const requested = hold === null ? ZERO_AMOUNT : amountOf(hold);
  for (const unit of ['points', 'costUsd'] as const) {
    if (budget.limit[unit] !== undefined && (hold === null || hold[unit] === undefined)) return { outcome: 'overBudget', budget, unit, requested, held: false };
  }
  const wouldUse = addAmounts(addAmounts(budget.spent, budget.held), requested);
  const unit = exceededUnit(wouldUse, amountOf(budget.limit), budget.limit);
  if (unit !== null) return { outcome: 'overBudget', budget, unit, requested, held: true };
  return { outcome: 'counted', budget: { ...budget, held: addAmounts(budget.held, restrictTo(requested, budget.limit)) } };
}

/** The budget after a child's settlement: its hold leaves `held`, what it was charged joins `spent`. */
export function settleInBudget(budget: Budget, hold: Units, captured: AccountAmount): Budget {
  return {
    ...budget,
    held: subtractAmounts(budget.held, restrictTo(amountOf(hold), budget.limit)),
    spent: addAmounts(budget.spent, restrictTo(captured, budget.limit)),
  };
}
