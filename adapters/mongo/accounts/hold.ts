/**
 * A generation's hold on its account: taken by the creation's owner once the generation's parents
 * and their budgets took it (rollup/create.ts), settled by the owner of its `settle` intent
 * (rollup/settle.ts). Each is one account write (apply.ts), made once by its gate keys whoever
 * drives it (the owner, a retry that adopted it, `recover()`), and fenced by the owner's lease.
 *
 * - take: gate key `hold:<generation>`; `takeHold` on the account as read; `insufficient` writes
 *   nothing (the creation is then undone: the generation never shows).
 * - settle: gate keys `capture:`, `release:`, `overdraft:<generation>`; `settleHold` on the
 *   account as read: capture what the generation records (in the units the hold names), release
 *   the rest, an overdraft entry when even the available amount is short. When the keys are found
 *   the settlement landed before: what it captured is read back from its capture entry.
 */
import { type Account, type AccountAmount, type Hold, type LedgerEntry, type Units } from 'genledger';
import { appendEntry, settleHold, takeHold, type Charge, type ReservationPool, type Shortfall } from 'genledger/adapter';
import { applyToAccount, type AccountCollections, type AccountFence } from './apply.js';
import { generationKey, ZERO_AMOUNT } from './documents.js';

export type AccountHold = { readonly outcome: 'held'; readonly account: Account; readonly entry: LedgerEntry; readonly wrote: boolean } | Shortfall;

/**
 * @param units what the account holds: the hold's units, or (a hold that drew on its parent's
 *   reservation) only those beyond the parent's
 */
export function takeAccountHold(collections: AccountCollections, hold: Hold, units: Units, at: Date, fence: AccountFence): Promise<AccountHold> {
  return applyToAccount<AccountHold>(
    collections,
    hold.accountId,
    [generationKey('hold', hold.generationId)],
    (account, found) => {
      const entry = found[0];
      if (entry !== undefined) return { kind: 'answer', result: { outcome: 'held', account, entry, wrote: false } };
      const taken = takeHold(account, units, hold.generationId, at);
      if (taken.outcome !== 'held') return { kind: 'answer', result: taken };
      return { kind: 'write', account: taken.account, entries: [taken.entry], result: { ...taken, wrote: true } };
    },
    fence,
  );
}

export interface AccountSettlement {
  readonly account: Account;
  readonly entries: readonly LedgerEntry[];
  readonly captured: AccountAmount;
  /** Whether this call wrote them (else they landed before, or there was nothing to write). */
  readonly wrote: boolean;
}

const SETTLEMENT_KINDS = ['capture', 'release', 'overdraft'] as const;

/**
 * @param pool the reservation's side, decided by the budget's settle write before this one
 *   (budgets.ts, `settleInBudgetDocument`): `null` for a hold that did not draw, or whose
 *   reservation was released
 */
export function settleAccountHold(collections: AccountCollections, hold: Hold, charge: Charge, at: Date, fence: AccountFence, pool: ReservationPool | null = null): Promise<AccountSettlement> {
  return applyToAccount<AccountSettlement>(
    collections,
    hold.accountId,
    SETTLEMENT_KINDS.map((kind) => generationKey(kind, hold.generationId)),
    (account, found) => {
      if (found.length > 0) {
        const capture = found.find((entry) => entry.kind === 'capture');
        return { kind: 'answer', result: { account, entries: found, captured: capture?.amount ?? ZERO_AMOUNT, wrote: false } };
      }
      const settled = settleHold(account, hold.units, hold.generationId, charge, at, pool);
      if (settled.entries.length === 0) return { kind: 'answer', result: { account, entries: [], captured: settled.captured, wrote: false } };
      return { kind: 'write', account: settled.account, entries: settled.entries, result: { ...settled, wrote: true } };
    },
    fence,
  );
}

/**
 * Releases, on the account, what an undone creation drew from a reservation released since (its
 * parent ended while the creation was under way: budgets.ts, `undoInBudget`): gate key
 * `release:<generation>` (the undone generation never settles, so the key is its only use).
 */
export function releaseUndoneDraw(collections: AccountCollections, hold: Hold, amount: AccountAmount, at: Date, fence: AccountFence): Promise<boolean> {
  return applyToAccount<boolean>(
    collections,
    hold.accountId,
    [generationKey('release', hold.generationId)],
    (account, found) => {
      if (found.length > 0) return { kind: 'answer', result: false };
      const written = appendEntry(account, 'release', amount, { kind: 'generation', generationId: hold.generationId }, at);
      return { kind: 'write', account: written.account, entries: [written.entry], result: true };
    },
    fence,
  );
}
