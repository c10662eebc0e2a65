/**
 * A hold taken at creation: what a store decides, in the same atomic operation that stores the
 * generation, about the generation's account and its parents' budgets. The budgets are asked
 * first (cast, then cook), then the account; a refusal from any of them means nothing is written,
 * the generation included (`limited`). A child on a held parent's own account draws on the
 * parent's reservation instead of the account's `available` (see parent-hold.ts).
 */
import { amountOf, exceededUnit, type Units } from './amounts.js';
import { holdInBudget, type BudgetRefusal } from './budget.js';
import { emptyAccount, takeHold, type Shortfall } from './ledger.js';
import { drawFromReservation, drawingBudget } from './parent-hold.js';
import type { Account, Budget, Hold, LedgerEntry } from './records.js';

/** What a creation carries for accounts: a generation's hold, a parent's budget. */
export interface CreationAccounting {
  /**
   * Generations: the units to reserve from `masterAccountId`. Casts and cooks (stores with
   * `capabilities.parentHolds`): the parent hold, reserved from `initiatorAccountId` (see parent-hold.ts).
   */
  readonly hold?: Units | null | undefined;
  /** Casts and cooks: the budget their children's holds count against. */
  readonly budget?: Units | null | undefined;
}

/** A creation refused for money: the account's shortfall or a parent's budget. Nothing was written. */
export interface LimitedInsertion {
  readonly outcome: 'limited';
  readonly limit: Shortfall | BudgetRefusal;
}

export type HoldDecision =
  | {
      readonly outcome: 'held';
      /** The hold to keep until settlement; `null` when the generation brings none (allowed only under no budget). */
      readonly hold: Hold | null;
      /** The account after the hold, and the hold's entry; `null` without a hold. */
      readonly account: Account | null;
      readonly entry: LedgerEntry | null;
      /** The budgets as they stand after counting the hold, to store. */
      readonly budgets: readonly Budget[];
    }
  | LimitedInsertion;

/**
 * Decides a generation's hold at creation.
 *
 * @param account the generation's account as stored, `null` when it has none yet
 * @param budgets the budgets of the parents the generation joins (its cast's, then its cook's), as stored
 * @param units the hold the generation brings, `null` for none
 * @returns `held` with what to store, or `limited` (store nothing)
 */
export function holdAtCreation(
  accountId: string,
  account: Account | null,
  budgets: readonly Budget[],
  units: Units | null,
  generationId: string,
  at: Date,
): HoldDecision {
  const counted: Budget[] = [];
  for (const budget of budgets) {
    const decided = holdInBudget(budget, units);
    if (decided.outcome !== 'counted') return { outcome: 'limited', limit: decided };
    counted.push(decided.budget);
  }
  const budgetRefs = budgets.map((budget) => ({ kind: budget.parentKind, id: budget.parentId }));
  if (units === null) {
    // Only reachable with no budget (a budget refuses a child without a hold).
    return { outcome: 'held', hold: null, account: null, entry: null, budgets: counted };
  }
  // A child on a held parent's own account draws on its reservation (see parent-hold.ts).
  const drawing = drawingBudget(counted, accountId);
  if (drawing !== null) {
    const drawn = drawFromReservation(drawing, units);
    // A guard: a hold the budget counted always fits in the reservation's free part.
    if (drawn === null) return { outcome: 'limited', limit: { outcome: 'overBudget', budget: drawing, unit: exceededUnitOfDraw(drawing, units), requested: amountOf(units), held: true } };
    const withDraw = counted.map((budget) => (budget === drawing ? drawn.budget : budget));
    const hold: Hold = { generationId, accountId, units, budgets: budgetRefs, drawsOn: { kind: drawing.parentKind, id: drawing.parentId }, status: 'held' };
    if (drawn.beyond === null) return { outcome: 'held', hold, account: null, entry: null, budgets: withDraw };
    const beyond = takeHold(account ?? emptyAccount(accountId), drawn.beyond, generationId, at);
    if (beyond.outcome !== 'held') return { outcome: 'limited', limit: beyond };
    return { outcome: 'held', hold, account: beyond.account, entry: beyond.entry, budgets: withDraw };
  }
  const taken = takeHold(account ?? emptyAccount(accountId), units, generationId, at);
  if (taken.outcome !== 'held') return { outcome: 'limited', limit: taken };
  return { outcome: 'held', hold: { generationId, accountId, units, budgets: budgetRefs, status: 'held' }, account: taken.account, entry: taken.entry, budgets: counted };
}

function exceededUnitOfDraw(budget: Budget, units: Units): 'points' | 'costUsd' {
  return exceededUnit(amountOf(units), budget.reservation?.free ?? amountOf({}), budget.limit) ?? 'points';
}
