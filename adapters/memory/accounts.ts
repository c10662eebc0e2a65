/**
 * The memory store's accounts: balances, their ledger entries, the holds of generations in flight
 * and parents' budgets, each in a `Map` keyed by its id, so taking or settling a hold reads and
 * writes a fixed number of entries (the account, the hold, at most two budgets) however many
 * holds an account has open. The repository calls `decideHold`/`storeHold` inside its
 * `insertAttached` step and `settle` inside its `settleGeneration` step: one synchronous step each,
 * so a hold is taken with its generation and settled with its terminal transition, or neither.
 * A parent hold is taken by the parent's insert step (`decideParentHold`/`storeParentHold`) and
 * released by the step that moves the parent to a terminal status (`releaseParent`).
 */
import { ConflictError, type Account, type Budget, type Generation, type Hold, type LedgerEntry, type Units } from 'genledger';
import {
  applyMovement,
  holdAtCreation,
  newBudget,
  parentHoldAtCreation,
  reconcileFigures,
  releaseReservation,
  replayEntries,
  settleGenerationHold,
  type AccountStore,
  type BudgetRef,
  type HoldDecision,
  type HoldSettlement,
  type ParentHoldDecision,
  type ParentRelease,
} from 'genledger/adapter';

export interface MemoryAccounts {
  readonly store: AccountStore;
  /** The hold decision for a generation `createAttached` accepted (its links set): its parents' budgets, then its account. */
  decideHold(generation: Generation, units: Units | null, at: Date): HoldDecision | null;
  storeHold(decision: Extract<HoldDecision, { outcome: 'held' }>): void;
  storeBudget(kind: 'cast' | 'cook', id: string, limit: Units): void;
  /** The parent hold for a new cast or cook (`parentHoldAtCreation` on its account as stored). */
  decideParentHold(kind: 'cast' | 'cook', id: string, accountId: string, units: Units, at: Date): ParentHoldDecision;
  storeParentHold(decision: Extract<ParentHoldDecision, { outcome: 'held' }>): void;
  /** Releases a parent's reservation when it ended (once: a released or absent one writes nothing). */
  releaseParent(kind: 'cast' | 'cook', id: string, at: Date): ParentRelease | null;
  /** Settles the generation's hold, if it has one still held: stores and returns what it wrote. */
  settle(generation: Generation, at: Date): HoldSettlement | null;
  /** Overwrites an account's stored figures (tests prove reconcile finds drift with it). */
  tamper(accountId: string, figures: Partial<Account>): void;
  clear(): void;
}

const budgetKey = (kind: 'cast' | 'cook', id: string) => `${kind}:${id}`;

/**
 * @param changed hears every stored change to an account (an entry appended, reconcile's rewrite),
 *   after it is stored: the repository logs it on its change feed
 */
export function memoryAccounts(changed: (account: Account) => void = () => undefined): MemoryAccounts {
  const accounts = new Map<string, Account>();
  const entries = new Map<string, LedgerEntry[]>();
  /** Movement entries by account, then idempotency key. */
  const movementKeys = new Map<string, Map<string, LedgerEntry>>();
  const holds = new Map<string, Hold>();
  const budgets = new Map<string, Budget>();

  function append(account: Account, written: readonly LedgerEntry[]): void {
    // No entry, no change (a drawing child's settlement that charged nothing, a release of nothing
    // free): the account is as stored, and its feed gets no notice of a version it already had.
    if (written.length === 0) return;
    accounts.set(account.accountId, account);
    let list = entries.get(account.accountId);
    if (list === undefined) entries.set(account.accountId, (list = []));
    list.push(...written);
    changed(account);
  }

  function budgetsOf(generation: Generation): Budget[] {
    const found: Budget[] = [];
    const castBudget = generation.castId === null ? undefined : budgets.get(budgetKey('cast', generation.castId));
    const cookBudget = generation.cookId === null ? undefined : budgets.get(budgetKey('cook', generation.cookId));
    if (castBudget) found.push(castBudget);
    if (cookBudget) found.push(cookBudget);
    return found;
  }

  const store: AccountStore = {
    async move(request, at) {
      const keyed = movementKeys.get(request.accountId)?.get(request.idempotencyKey);
      const account = accounts.get(request.accountId) ?? replayEntries(request.accountId, []);
      if (keyed !== undefined) return { outcome: 'existing', account, entry: keyed };
      const result = applyMovement(account, request, at);
      if (result.outcome !== 'applied') return result;
      append(result.account, [result.entry]);
      let keys = movementKeys.get(request.accountId);
      if (keys === undefined) movementKeys.set(request.accountId, (keys = new Map()));
      keys.set(request.idempotencyKey, result.entry);
      return result;
    },
    async get(accountId) {
      return accounts.get(accountId) ?? null;
    },
    async listEntries({ accountId, afterSequence, limit }) {
      // Sequences are 1, 2, 3, ...: entry n sits at index n - 1.
      return (entries.get(accountId) ?? []).slice(afterSequence, afterSequence + limit);
    },
    async reconcile(accountId, at) {
      const reconciled = reconcileFigures(accountId, accounts.get(accountId) ?? null, entries.get(accountId) ?? [], at);
      if (reconciled.drift) {
        accounts.set(accountId, reconciled.rebuilt);
        changed(reconciled.rebuilt);
      }
      return reconciled;
    },
    async getBudget(parent: BudgetRef) {
      return budgets.get(budgetKey(parent.kind, parent.id)) ?? null;
    },
  };

  return {
    store,
    decideHold(generation, units, at) {
      const parentBudgets = budgetsOf(generation);
      if (units === null && parentBudgets.length === 0) return null;
      return holdAtCreation(generation.masterAccountId, accounts.get(generation.masterAccountId) ?? null, parentBudgets, units, generation.id, at);
    },
    storeHold(decision) {
      // Checked before anything is written: a refused hold must not leave its budgets counted.
      if (decision.hold !== null && holds.has(decision.hold.generationId)) throw new ConflictError('id', `a hold for generation "${decision.hold.generationId}" already exists`);
      for (const budget of decision.budgets) budgets.set(budgetKey(budget.parentKind, budget.parentId), budget);
      if (decision.hold === null) return;
      holds.set(decision.hold.generationId, decision.hold);
      if (decision.account !== null && decision.entry !== null) append(decision.account, [decision.entry]);
    },
    storeBudget(kind, id, limit) {
      budgets.set(budgetKey(kind, id), newBudget(kind, id, limit));
    },
    decideParentHold(kind, id, accountId, units, at) {
      return parentHoldAtCreation(kind, id, accountId, accounts.get(accountId) ?? null, units, at);
    },
    storeParentHold(decision) {
      budgets.set(budgetKey(decision.budget.parentKind, decision.budget.parentId), decision.budget);
      append(decision.account, [decision.entry]);
    },
    releaseParent(kind, id, at) {
      const budget = budgets.get(budgetKey(kind, id));
      if (budget?.reservation == null) return null;
      const released = releaseReservation(budget, accounts.get(budget.reservation.accountId) ?? null, at);
      if (released === null) return null;
      budgets.set(budgetKey(kind, id), released.budget);
      append(released.account, released.entries);
      return released;
    },
    settle(generation, at) {
      const hold = holds.get(generation.id);
      if (hold === undefined) return null;
      const held = hold.budgets.map((ref) => budgets.get(budgetKey(ref.kind, ref.id))).filter((budget): budget is Budget => budget !== undefined);
      const settled = settleGenerationHold(hold, accounts.get(hold.accountId) ?? null, held, { pointsSpent: generation.pointsSpent, costUsd: generation.costUsd }, at);
      if (settled === null) return null;
      holds.set(hold.generationId, settled.hold);
      for (const budget of settled.budgets) budgets.set(budgetKey(budget.parentKind, budget.parentId), budget);
      append(settled.account, settled.entries);
      return settled;
    },
    tamper(accountId, figures) {
      const account = accounts.get(accountId) ?? replayEntries(accountId, []);
      accounts.set(accountId, { ...account, ...figures });
    },
    clear() {
      for (const map of [accounts, entries, movementKeys, holds, budgets]) map.clear();
    },
  };
}
