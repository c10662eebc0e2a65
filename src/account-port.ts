/**
 * The accounts part of the repository port (`LedgerRepository.accounts`), and what accounts add to
 * the creation and settlement operations. See src/domain/accounts for what each operation decides.
 *
 * A store with `capabilities.accounts: false` still has an `accounts` object, whose every call
 * rejects with an `UnsupportedError` naming the store (`unsupportedAccountStore`); the tracker
 * checks the capability first and never passes a hold or a budget to such a store.
 */
import type { Account, Budget, LedgerEntry } from './domain/accounts/records.js';
import type { AccountReconciliation, MovementRequest, MovementResult } from './domain/accounts/ledger.js';
import type { HoldSettlement } from './domain/accounts/settlement.js';
import type { Settlement } from './domain/rollup/settlement.js';
import type { HoldDecision } from './domain/accounts/creation.js';
import type { ParentHoldDecision, ParentRelease } from './domain/accounts/parent-hold.js';
import { UnsupportedError } from './errors.js';

export type { CreationAccounting, LimitedInsertion, HoldDecision } from './domain/accounts/creation.js';
export type { MovementRequest, MovementResult, HoldSettlement, ParentHoldDecision, ParentRelease };

/** A page of one account's ledger entries, by sequence. */
export interface LedgerEntryQuery {
  readonly accountId: string;
  /** Only entries with a greater sequence (0 from the start). */
  readonly afterSequence: number;
  readonly limit: number;
}

/** What `accounts.reconcile` found and did (see `reconcileFigures`). */
export type { AccountReconciliation };

/** A parent's budget, by kind and id. */
export interface BudgetRef {
  readonly kind: 'cast' | 'cook';
  readonly id: string;
}

/**
 * Accounts: balances, their append-only ledger entries, and parents' budgets. Holds are taken by
 * `insertAttached` and settled by `settleGeneration` (same atomic operations as the records).
 */
export interface AccountStore {
  /**
   * A credit, or a debit when `available` covers it (`insufficient` otherwise, nothing written),
   * as ONE atomic operation with its entry (see `applyMovement`). The key is unique per account
   * and checked first: a repeated key writes nothing and returns the key's entry (`existing`).
   */
  move(request: MovementRequest, at: Date): Promise<MovementResult>;
  /** The account as stored, or `null` when nothing ever moved it. */
  get(accountId: string): Promise<Account | null>;
  /** Entries of one account by sequence, oldest first. */
  listEntries(query: LedgerEntryQuery): Promise<LedgerEntry[]>;
  /** Rebuilds the account's figures from its entries (`reconcileFigures`) and stores them when they drifted. */
  reconcile(accountId: string, at: Date): Promise<AccountReconciliation>;
  /** A parent's budget, or `null` when it has none. */
  getBudget(parent: BudgetRef): Promise<Budget | null>;
}

/** What a created generation's `insertAttached` reports beside the record: the hold it took, when it took one. */
export interface HeldCreation {
  /** The hold decision the store applied (`null`/absent: no hold and no budget concerned it). */
  readonly held?: Extract<HoldDecision, { outcome: 'held' }> | null | undefined;
}

/** What a parent's `insert` with a hold reports beside the record: the hold it took (absent for a repeated key or no hold). */
export interface ParentHeldCreation {
  readonly held?: Extract<ParentHoldDecision, { outcome: 'held' }> | null | undefined;
}

/**
 * What a write that may end a parent reports beside its result: the parent reservations it released
 * (`releaseReservation`, stores with `capabilities.parentHolds`), so the tracker can tell its
 * `accountUpdate` listeners in process. Absent or empty: it released none. A store that releases
 * without reporting it here loses no money (the release is in the books and on the change feed,
 * so `tracker.watch()` reports it); only the in-process event is missing.
 */
export interface ReleasedReservations {
  /** One per parent this write ended whose reservation still had a free part: its one `release` entry and the account after it. */
  readonly releases?: readonly ParentRelease[] | undefined;
}

/** What `settleGeneration` reports: the settlement and, when the generation had a hold this call settled, its settlement. */
export type AccountedSettlement = Settlement &
  ReleasedReservations & {
    /** The hold this settlement captured and released; `null`/absent when the generation had none or it was settled before. */
    readonly hold?: HoldSettlement | null | undefined;
  };

/**
 * The `accounts` of a store that does not keep accounts (`capabilities.accounts: false`): every call
 * rejects with an `UnsupportedError` naming the store and the call.
 */
export function unsupportedAccountStore(repositoryName: string): AccountStore {
  const refuse = (operation: string) => () => Promise.reject(new UnsupportedError(repositoryName, `accounts.${operation}`));
  return { move: refuse('move'), get: refuse('get'), listEntries: refuse('listEntries'), reconcile: refuse('reconcile'), getBudget: refuse('getBudget') };
}
