/**
 * The account reducers: every change to an account is one ledger entry, and `appendEntry` is the
 * one place an entry's effect on the account is computed. Replaying an account's entries from zero
 * (`replayEntries`) therefore gives exactly its stored figures, which is what reconcile checks.
 *
 * Entry effects (`amount` is never negative):
 *
 * | kind      | balance  | held          | spent   |
 * |-----------|----------|---------------|---------|
 * | credit    | + amount |               |         |
 * | debit     | - amount |               |         |
 * | hold      |          | + amount      |         |
 * | capture   | - amount | - fromHold    | + amount|
 * | release   |          | - amount      |         |
 * | overdraft |          |               |         |  (records how far a capture went below zero)
 *
 * Pure: no clock (`at` is passed in), no ids (an entry is named by its account and sequence).
 */
import {
  addAmounts,
  amountOf,
  amountsEqual,
  exceededUnit,
  isZeroAmount,
  minAmount,
  nonNegative,
  restrictTo,
  subtractAmounts,
  ZERO_AMOUNT,
  type AccountAmount,
  type Units,
} from './amounts.js';
import type { Account, EntryCause, LedgerEntry, LedgerEntryKind } from './records.js';

export function emptyAccount(accountId: string): Account {
  return { accountId, balance: ZERO_AMOUNT, held: ZERO_AMOUNT, available: ZERO_AMOUNT, spent: ZERO_AMOUNT, entryCount: 0, version: 0, updatedAt: null };
}

interface EntryEffect {
  readonly balance: AccountAmount;
  readonly held: AccountAmount;
  readonly spent: AccountAmount;
}

function effectOf(kind: LedgerEntryKind, amount: AccountAmount, fromHold: AccountAmount | null): EntryEffect {
  switch (kind) {
    case 'credit':
      return { balance: amount, held: ZERO_AMOUNT, spent: ZERO_AMOUNT };
    case 'debit':
      return { balance: subtractAmounts(ZERO_AMOUNT, amount), held: ZERO_AMOUNT, spent: ZERO_AMOUNT };
    case 'hold':
      return { balance: ZERO_AMOUNT, held: amount, spent: ZERO_AMOUNT };
    case 'capture':
      return { balance: subtractAmounts(ZERO_AMOUNT, amount), held: subtractAmounts(ZERO_AMOUNT, fromHold ?? ZERO_AMOUNT), spent: amount };
    case 'release':
      return { balance: ZERO_AMOUNT, held: subtractAmounts(ZERO_AMOUNT, amount), spent: ZERO_AMOUNT };
    case 'overdraft':
      return { balance: ZERO_AMOUNT, held: ZERO_AMOUNT, spent: ZERO_AMOUNT };
  }
}

/** What an entry does to the account figures it starts from. */
function applyEffect(account: Account, kind: LedgerEntryKind, amount: AccountAmount, fromHold: AccountAmount | null): Account {
  const effect = effectOf(kind, amount, fromHold);
  const balance = addAmounts(account.balance, effect.balance);
  const held = addAmounts(account.held, effect.held);
  return { ...account, balance, held, available: subtractAmounts(balance, held), spent: addAmounts(account.spent, effect.spent) };
}

export interface AppendedEntry {
  readonly account: Account;
  readonly entry: LedgerEntry;
}

/** Appends one entry to the account: the entry and the account after it. */
export function appendEntry(
  account: Account,
  kind: LedgerEntryKind,
  amount: AccountAmount,
  cause: EntryCause,
  at: Date,
  fromHold: AccountAmount | null = null,
): AppendedEntry {
  const applied = applyEffect(account, kind, amount, fromHold);
  const sequence = account.entryCount + 1;
  const next: Account = { ...applied, entryCount: sequence, version: account.version + 1, updatedAt: at };
  const entry: LedgerEntry = {
    accountId: account.accountId,
    sequence,
    kind,
    amount,
    fromHold: kind === 'capture' ? (fromHold ?? ZERO_AMOUNT) : null,
    cause,
    balanceAfter: next.balance,
    heldAfter: next.held,
    at,
  };
  return { account: next, entry };
}

/** An account's figures rebuilt from its entries alone, oldest first. */
export function replayEntries(accountId: string, entries: Iterable<LedgerEntry>): Account {
  let account = emptyAccount(accountId);
  for (const entry of entries) {
    account = { ...applyEffect(account, entry.kind, entry.amount, entry.fromHold), entryCount: entry.sequence, updatedAt: entry.at };
  }
  return account;
}

/** What reconciling an account found (`reconcileFigures`). */
export interface AccountReconciliation {
  /** The account as stored before (`null`: none stored). */
  readonly stored: Account | null;
  /** The figures rebuilt from the account's entries, to store when they differed. */
  readonly rebuilt: Account;
  /** Whether the stored figures differed from the rebuilt ones (and are to be replaced). */
  readonly drift: boolean;
}

/**
 * Checks an account's stored figures against its entries (all of them, oldest first). On drift,
 * `rebuilt` is the replayed figures as the account's next version, written at `at`, for the store
 * to keep; otherwise it is the stored account unchanged.
 */
export function reconcileFigures(accountId: string, stored: Account | null, entries: Iterable<LedgerEntry>, at: Date): AccountReconciliation {
  const replayed = replayEntries(accountId, entries);
  if (stored === null) return { stored, rebuilt: { ...replayed, updatedAt: null }, drift: false };
  const same =
    amountsEqual(stored.balance, replayed.balance) &&
    amountsEqual(stored.held, replayed.held) &&
    amountsEqual(stored.available, replayed.available) &&
    amountsEqual(stored.spent, replayed.spent) &&
    stored.entryCount === replayed.entryCount;
  return same ? { stored, rebuilt: stored, drift: false } : { stored, rebuilt: { ...replayed, version: stored.version + 1, updatedAt: at }, drift: true };
}

/** The account cannot cover a request: in `unit`, `requested` is more than `available`. */
export interface Shortfall {
  readonly outcome: 'insufficient';
  readonly account: Account;
  readonly unit: 'points' | 'costUsd';
  readonly requested: AccountAmount;
  readonly available: AccountAmount;
}

/** Whether the available amount covers `units` in every unit they name; the shortfall when not. */
export function coverageOf(account: Account, units: Units): Shortfall | null {
  const requested = amountOf(units);
  const unit = exceededUnit(requested, account.available, units);
  return unit === null ? null : { outcome: 'insufficient', account, unit, requested, available: account.available };
}

/** A credit or a debit the host asked for. */
export interface MovementRequest {
  readonly kind: 'credit' | 'debit';
  readonly accountId: string;
  readonly units: Units;
  readonly reason: string;
  readonly idempotencyKey: string;
}

export type MovementResult =
  | { readonly outcome: 'applied'; readonly account: Account; readonly entry: LedgerEntry }
  | { readonly outcome: 'existing'; readonly account: Account; readonly entry: LedgerEntry }
  | Shortfall;

/** A credit, or a debit the available amount covers (a debit never takes an account below zero). */
export function applyMovement(account: Account, request: MovementRequest, at: Date): MovementResult {
  if (request.kind === 'debit') {
    const shortfall = coverageOf(account, request.units);
    if (shortfall !== null) return shortfall;
  }
  const cause: EntryCause = { kind: 'movement', reason: request.reason, idempotencyKey: request.idempotencyKey };
  return { outcome: 'applied', ...appendEntry(account, request.kind, amountOf(request.units), cause, at) };
}

/**
 * Whether a movement repeating `entry`'s idempotency key is the same request; the first field that
 * differs otherwise.
 */
export function movementDifference(entry: LedgerEntry, request: MovementRequest): { field: string; stored: string; requested: string } | null {
  const requested = amountOf(request.units);
  if (entry.kind !== request.kind) return { field: 'kind', stored: entry.kind, requested: request.kind };
  if (entry.amount.points !== requested.points) return { field: 'points', stored: String(entry.amount.points), requested: String(requested.points) };
  if (entry.amount.costUsd !== requested.costUsd) return { field: 'costUsd', stored: entry.amount.costUsd, requested: requested.costUsd };
  return null;
}

/** A hold taken, or the shortfall that refused it (nothing written). */
export type HoldTaken = { readonly outcome: 'held'; readonly account: Account; readonly entry: LedgerEntry } | Shortfall;

/** Reserves `units` for a generation when the available amount covers them. */
export function takeHold(account: Account, units: Units, generationId: string, at: Date): HoldTaken {
  return reserve(account, units, { kind: 'generation', generationId }, at);
}

/** Reserves `units` for `cause` (a generation, or a parent hold) when the available amount covers them. */
export function reserve(account: Account, units: Units, cause: EntryCause, at: Date): HoldTaken {
  const shortfall = coverageOf(account, units);
  if (shortfall !== null) return shortfall;
  return { outcome: 'held', ...appendEntry(account, 'hold', amountOf(units), cause, at) };
}

/** What a generation's figures charge: its `pointsSpent` and `costUsd`. */
export interface Charge {
  readonly pointsSpent: number;
  readonly costUsd: string;
}

/**
 * The open reservation of a parent hold a child drew on (see parent-hold.ts): its units and the
 * part of it still free. While it is open, a child's unspent hold goes back to it and a charge
 * above the child's hold comes out of it before `available`.
 */
export interface ReservationPool {
  readonly units: Units;
  readonly free: AccountAmount;
}

export interface HoldSettled {
  readonly account: Account;
  /** In order: capture (when anything is charged), release (when anything is left), overdraft (when short). */
  readonly entries: readonly LedgerEntry[];
  /** What was charged, in the units the hold names. */
  readonly captured: AccountAmount;
  /** The pool's free part after this settlement; `null` without a pool. */
  readonly poolFree: AccountAmount | null;
}

/**
 * Settles a generation's hold when the generation finishes: charges what the generation records
 * (in the units the hold names, whatever its status: failed work that reports a cost is charged
 * it; a cancellation or a timeout records none, so its hold is released whole), releases the
 * rest of the hold, and when the charge is more than the hold takes the difference from the
 * available amount. If even that is short, the balance goes below zero by the shortfall and an
 * `overdraft` entry records it: never a silent negative.
 *
 * With `pool` (the hold drew on its parent's open reservation), in the pool's units: the unspent
 * part goes back to the pool instead of being released (it stays held, for the parent), and a
 * charge above the hold is taken from the pool's free part first, then from `available`.
 */
export function settleHold(account: Account, units: Units, generationId: string, charge: Charge, at: Date, pool: ReservationPool | null = null): HoldSettled {
  const cause: EntryCause = { kind: 'generation', generationId };
  const held = amountOf(units);
  const captured = restrictTo({ points: charge.pointsSpent, costUsd: charge.costUsd }, units);
  const fromOwnHold = minAmount(captured, held);
  const beyondHold = subtractAmounts(captured, fromOwnHold);
  const { taken: fromPool, returned } = pool === null ? { taken: ZERO_AMOUNT, returned: ZERO_AMOUNT } : reservationShare(units, charge, pool);
  const fromAvailable = subtractAmounts(beyondHold, fromPool);
  const shortfall = nonNegative(subtractAmounts(fromAvailable, nonNegative(account.available)));
  const unspent = subtractAmounts(held, fromOwnHold);
  const entries: LedgerEntry[] = [];
  let current = account;
  if (!isZeroAmount(captured)) {
    const written = appendEntry(current, 'capture', captured, cause, at, addAmounts(fromOwnHold, fromPool));
    current = written.account;
    entries.push(written.entry);
  }
  const released = subtractAmounts(unspent, returned);
  if (!isZeroAmount(released)) {
    const written = appendEntry(current, 'release', released, cause, at);
    current = written.account;
    entries.push(written.entry);
  }
  if (!isZeroAmount(shortfall)) {
    const written = appendEntry(current, 'overdraft', shortfall, cause, at);
    current = written.account;
    entries.push(written.entry);
  }
  return { account: current, entries, captured, poolFree: pool === null ? null : addAmounts(subtractAmounts(pool.free, fromPool), returned) };
}

/** What a drawing hold's settlement does to its reservation's free part, in the pool's units. */
export interface ReservationShare {
  /** Taken from `free` for the part of the charge above the hold. */
  readonly taken: AccountAmount;
  /** The unspent hold, given back to `free`. */
  readonly returned: AccountAmount;
}

/**
 * The reservation's part of `settleHold` with `pool`: the charge above the hold comes from the
 * pool's free part first, the unspent hold goes back to it. A store that writes the reservation
 * apart from the account (MongoDB) decides this first, then settles the account with a pool whose
 * `free` is exactly `taken`, so the account step takes what the reservation gave.
 */
export function reservationShare(units: Units, charge: Charge, pool: ReservationPool): ReservationShare {
  const held = amountOf(units);
  const captured = restrictTo({ points: charge.pointsSpent, costUsd: charge.costUsd }, units);
  const fromOwnHold = minAmount(captured, held);
  const taken = minAmount(subtractAmounts(captured, fromOwnHold), restrictTo(nonNegative(pool.free), pool.units));
  return { taken, returned: restrictTo(subtractAmounts(held, fromOwnHold), pool.units) };
}
