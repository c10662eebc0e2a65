/**
 * The tracker's account calls (credit, debit, getAccount, listLedgerEntries, reconcileAccount),
 * and what accounts add to creation (a hold, a budget, and their refusals) and to settlement (the
 * `accountUpdate` event). Inputs are parsed before the store is asked; a store without accounts
 * (`capabilities.accounts: false`) is refused with an `UnsupportedError` before anything is
 * written.
 */
import type { Units } from '../domain/accounts/amounts.js';
import { emptyAccount, movementDifference, type MovementRequest } from '../domain/accounts/ledger.js';
import { listLedgerEntriesInputSchema, movementInputSchema } from '../domain/accounts/inputs.js';
import type { Account, LedgerEntry } from '../domain/accounts/records.js';
import type { Generation } from '../domain/records.js';
import { BudgetExceededError, ConflictError, InsufficientFundsError, UnsupportedError, ValidationError } from '../errors.js';
import type { AccountedSettlement, CreationAccounting, HeldCreation, LimitedInsertion, ParentHeldCreation, ReleasedReservations } from '../account-port.js';
import type { TrackerContext } from './context.js';
import { parseId, parseInput } from './parse.js';

/** A credit or debit as it landed (or, for a repeated key, as it landed the first time). */
export interface AccountMovement {
  readonly account: Account;
  readonly entry: LedgerEntry;
  /** `true` when the idempotency key had moved the account already: nothing moved this time. */
  readonly repeated: boolean;
}

export interface LedgerEntryPage {
  readonly items: readonly LedgerEntry[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

/** What `reconcileAccount` found: the account rebuilt from its entries, and whether the stored figures had drifted. */
export interface AccountReconcileReport {
  readonly accountId: string;
  readonly drift: boolean;
  /** The stored figures before (an all-zero account when none was stored). */
  readonly before: Account;
  /** The figures now stored, rebuilt from the ledger. */
  readonly after: Account;
}

function requireAccounts(context: TrackerContext, operation: string): void {
  if (!context.repository.capabilities.accounts) throw new UnsupportedError(context.repository.name, operation);
}

/** The hold or budget a creation carries, checked against the store's capability; `{}` for none. */
export function creationAccounting(context: TrackerContext, parsed: { readonly hold?: Units | undefined; readonly budget?: Units | undefined }, operation: string): CreationAccounting {
  if (parsed.hold === undefined && parsed.budget === undefined) return NO_ACCOUNTING;
  requireAccounts(context, `${operation}({ ${parsed.hold === undefined ? 'budget' : 'hold'} })`);
  return parsed.hold === undefined ? { budget: parsed.budget } : { hold: parsed.hold };
}

/**
 * A cast's or cook's accounting: a budget, or a parent hold (which is its own budget, so the two
 * together are refused rather than reconciled); a hold needs `capabilities.parentHolds`, and a
 * cook's piece takes none (its steps draw on the cook's). Checked before anything is written.
 */
export function parentCreationAccounting(
  context: TrackerContext,
  parsed: { readonly hold?: Units | undefined; readonly budget?: Units | undefined; readonly cookId?: string | null | undefined },
  operation: 'startCast' | 'startCook',
): CreationAccounting {
  if (parsed.hold === undefined) return creationAccounting(context, parsed, operation);
  if (parsed.budget !== undefined) {
    throw new ValidationError([{ field: 'input.budget', reason: 'a parent hold is its own budget (its limit is the hold): give hold or budget, not both' }]);
  }
  if (parsed.cookId !== undefined && parsed.cookId !== null) {
    throw new ValidationError([{ field: 'input.hold', reason: "a cook's cast piece takes no parent hold: hold on the cook, and the piece's steps draw on it" }]);
  }
  requireAccounts(context, `${operation}({ hold })`);
  if (!context.repository.capabilities.parentHolds) {
    throw new UnsupportedError(
      context.repository.name,
      `${operation}({ hold })`,
      `the ${context.repository.name} store does not support parent holds yet (capabilities.parentHolds is false): ${operation}({ hold }) is not available`,
    );
  }
  return { hold: parsed.hold };
}

const NO_ACCOUNTING: CreationAccounting = Object.freeze({});

/** The typed error for a creation the account or a parent's budget refused. */
export function limitedError(result: LimitedInsertion, accounting: CreationAccounting): InsufficientFundsError | BudgetExceededError {
  const limit = result.limit;
  if (limit.outcome === 'insufficient') return new InsufficientFundsError(limit.account.accountId, limit.unit, limit.requested, limit.available, 'input.hold');
  return new BudgetExceededError(limit.budget.parentKind, limit.budget.parentId, limit.unit, limit.budget, limit.requested, limit.held, accounting.hold ? 'input.hold' : `input.${limit.budget.parentKind}Id`);
}

/** Emits the hold a creation took, if anyone listens. */
export function announceHold(context: TrackerContext, record: unknown, created: HeldCreation): void {
  const held = created.held;
  if (!held || held.account === null || held.entry === null || !context.bus.has('accountUpdate')) return;
  context.bus.emit('accountUpdate', { change: 'held', account: held.account, entries: [held.entry], generationId: (record as Generation).id });
}

/** Emits the parent hold a cast's or cook's creation took, if anyone listens. */
export function announceParentHold(context: TrackerContext, created: ParentHeldCreation): void {
  const held = created.held;
  if (!held || !context.bus.has('accountUpdate')) return;
  context.bus.emit('accountUpdate', { change: 'held', account: held.account, entries: [held.entry], generationId: null });
}

/**
 * Emits the capture and release a settlement wrote, if anyone listens. A settlement that wrote no
 * entry (a child whose whole hold went back to its parent's reservation, nothing charged) changed
 * no account figure, and emits nothing.
 */
export function announceSettledHold(context: TrackerContext, settlement: AccountedSettlement): void {
  const hold = settlement.hold;
  if (!hold || hold.entries.length === 0 || !context.bus.has('accountUpdate')) return;
  context.bus.emit('accountUpdate', { change: 'settled', account: hold.account, entries: hold.entries, generationId: hold.hold.generationId });
}

/**
 * Emits the parent reservations a write released (a parent with a hold reached a terminal status),
 * if anyone listens: one `settled` update per release, after the write's own events.
 */
export function announceReleases(context: TrackerContext, written: ReleasedReservations | null): void {
  const releases = written?.releases;
  if (releases === undefined || !context.bus.has('accountUpdate')) return;
  for (const release of releases) {
    if (release.entries.length > 0) context.bus.emit('accountUpdate', { change: 'settled', account: release.account, entries: release.entries, generationId: null });
  }
}

export async function moveAccount(context: TrackerContext, kind: 'credit' | 'debit', accountIdInput: unknown, input: unknown): Promise<AccountMovement> {
  const accountId = parseId(accountIdInput, 'accountId');
  const parsed = parseInput(movementInputSchema, input, 'input');
  requireAccounts(context, kind);
  const request: MovementRequest = { kind, accountId, units: parsed.units, reason: parsed.reason, idempotencyKey: parsed.idempotencyKey };
  const result = await context.repository.accounts.move(request, context.clock.now());
  switch (result.outcome) {
    case 'applied':
      if (context.bus.has('accountUpdate')) context.bus.emit('accountUpdate', { change: kind, account: result.account, entries: [result.entry], generationId: null });
      return { account: result.account, entry: result.entry, repeated: false };
    case 'existing': {
      const difference = movementDifference(result.entry, request);
      if (difference !== null) {
        throw new ConflictError(
          'input.idempotencyKey',
          `"${request.idempotencyKey}" already moved account "${accountId}" (${difference.field} ${difference.stored}); this call asks for ${difference.field} ${difference.requested}. A key names one request: use a new key for a new request`,
        );
      }
      return { account: result.account, entry: result.entry, repeated: true };
    }
    case 'insufficient':
      throw new InsufficientFundsError(accountId, result.unit, result.requested, result.available, 'input');
    default:
      throw new Error(`[genledger] repository "${context.repository.name}" answered "${(result as { outcome: string }).outcome}" to accounts.move()`);
  }
}

export async function getAccount(context: TrackerContext, accountIdInput: unknown): Promise<Account> {
  const accountId = parseId(accountIdInput, 'accountId');
  requireAccounts(context, 'getAccount');
  return (await context.repository.accounts.get(accountId)) ?? emptyAccount(accountId);
}

export async function listLedgerEntries(context: TrackerContext, input: unknown): Promise<LedgerEntryPage> {
  const parsed = parseInput(listLedgerEntriesInputSchema, input, 'input');
  requireAccounts(context, 'listLedgerEntries');
  const limit = parsed.limit ?? 100;
  const afterSequence = parsed.cursor === undefined || parsed.cursor === null ? 0 : Number(parsed.cursor);
  const rows = await context.repository.accounts.listEntries({ accountId: parsed.accountId, afterSequence, limit: limit + 1 });
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? String(last.sequence) : null };
}

export async function reconcileAccount(context: TrackerContext, accountIdInput: unknown): Promise<AccountReconcileReport> {
  const accountId = parseId(accountIdInput, 'accountId');
  requireAccounts(context, 'reconcileAccount');
  const result = await context.repository.accounts.reconcile(accountId, context.clock.now());
  if (result.drift && context.bus.has('accountUpdate')) context.bus.emit('accountUpdate', { change: 'reconciled', account: result.rebuilt, entries: [], generationId: null });
  return { accountId, drift: result.drift, before: result.stored ?? emptyAccount(accountId), after: result.rebuilt };
}
