/**
 * Accounts in the documents: the mapping of the domain's account records (src/domain/accounts)
 * to MongoDB documents and back. Dollars are Decimal128s built from the canonical decimal string,
 * as everywhere in this adapter (money.ts); signed, since a balance may go below zero through a
 * recorded overdraft.
 *
 * - account (`genledgerAccounts`): `{ _id: accountId, balance, held, available, spent,
 *   entryCount, version, updatedAt, pending }`. `pending` is the entries of the account's last
 *   write, written in that same write (apply.ts says why); `version: 0` is an account created
 *   empty for a fenced write to match against, which nothing has moved yet.
 * - ledger entry (`genledgerLedgerEntries`): `{ accountId, sequence, key, kind, amount, fromHold,
 *   cause, balanceAfter, heldAfter, at }`, unique by (accountId, sequence) and (accountId, key).
 * - budget (`genledgerBudgets`): `{ _id: "<kind>:<parentId>", parentKind, parentId, limit, held,
 *   spent, version, genledgerInProgress }`.
 * - a generation's hold, on the generation's own document: `genledgerHold: { accountId, units,
 *   budgets, status }`.
 */
import { Decimal128, type Document } from 'mongodb';
import type { Account, AccountAmount, Budget, Hold, LedgerEntry, Units } from 'genledger';
import { fromStoredId, toStoredId, type StoredId } from '../ids.js';
import { readSignedUsd, toDecimal128 } from '../money.js';

/** Nothing, in both units (the domain's zero amount). */
export const ZERO_AMOUNT: AccountAmount = Object.freeze({ points: 0, costUsd: '0' });

export interface AmountDocument {
  points: number;
  costUsd: Decimal128;
}

export interface UnitsDocument {
  points?: number;
  costUsd?: Decimal128;
}

export interface EntryDocument extends Document {
  accountId: StoredId;
  sequence: number;
  /** What makes the entry unique in its account: `movement:<idempotencyKey>`, or `<kind>:<generationId>`. */
  key: string;
  kind: LedgerEntry['kind'];
  amount: AmountDocument;
  fromHold: AmountDocument | null;
  cause: { kind: 'movement'; reason: string; idempotencyKey: string } | { kind: 'generation'; generationId: StoredId };
  balanceAfter: AmountDocument;
  heldAfter: AmountDocument;
  at: Date;
}

export interface AccountDocument extends Document {
  _id: StoredId;
  balance: AmountDocument;
  held: AmountDocument;
  available: AmountDocument;
  spent: AmountDocument;
  entryCount: number;
  version: number;
  updatedAt: Date | null;
  pending: EntryDocument[];
}

export interface StoredHoldDocument {
  accountId: StoredId;
  units: UnitsDocument;
  budgets: { kind: 'cast' | 'cook'; id: StoredId }[];
  status: Hold['status'];
}

function corrupt(what: string, raw: unknown): never {
  throw new Error(`[genledger] [mongo] ${what} is not as genledger writes it: ${JSON.stringify(raw)}`);
}

export function toAmountDocument(amount: AccountAmount): AmountDocument {
  return { points: amount.points, costUsd: toDecimal128(amount.costUsd) };
}

export function fromAmountDocument(raw: unknown): AccountAmount {
  const value = raw as Partial<AmountDocument> | null | undefined;
  const costUsd = readSignedUsd(value?.costUsd);
  if (typeof value?.points !== 'number' || costUsd === null) return corrupt('an account amount', raw);
  return { points: value.points, costUsd };
}

export function toUnitsDocument(units: Units): UnitsDocument {
  return { ...(units.points !== undefined && { points: units.points }), ...(units.costUsd !== undefined && { costUsd: toDecimal128(units.costUsd) }) };
}

export function fromUnitsDocument(raw: unknown): Units {
  const value = (raw ?? {}) as UnitsDocument;
  const costUsd = value.costUsd === undefined ? undefined : readSignedUsd(value.costUsd);
  if (costUsd === null) return corrupt('a hold or a budget limit', raw);
  return { ...(typeof value.points === 'number' && { points: value.points }), ...(costUsd !== undefined && { costUsd }) };
}

/** The unique key of an entry in its account. */
export function entryKey(entry: LedgerEntry): string {
  return entry.cause.kind === 'movement' ? movementKey(entry.cause.idempotencyKey) : generationKey(entry.kind, generationOf(entry));
}

/**
 * The generation an entry names. This store declares `capabilities.parentHolds: false`, so the
 * tracker never hands it a parent hold, and no entry it writes names a parent.
 */
function generationOf(entry: LedgerEntry): string {
  if (entry.cause.kind !== 'generation') throw new Error(`[genledger] the MongoDB store keeps no parent holds (capabilities.parentHolds is false): entry ${entry.sequence} of "${entry.accountId}" names a ${entry.cause.kind}`);
  return entry.cause.generationId;
}

export const movementKey = (idempotencyKey: string) => `movement:${idempotencyKey}`;
export const generationKey = (kind: LedgerEntry['kind'], generationId: string) => `${kind}:${generationId}`;

export function toEntryDocument(entry: LedgerEntry): EntryDocument {
  return {
    accountId: toStoredId(entry.accountId),
    sequence: entry.sequence,
    key: entryKey(entry),
    kind: entry.kind,
    amount: toAmountDocument(entry.amount),
    fromHold: entry.fromHold === null ? null : toAmountDocument(entry.fromHold),
    cause: entry.cause.kind === 'movement' ? { ...entry.cause } : { kind: 'generation', generationId: toStoredId(generationOf(entry)) },
    balanceAfter: toAmountDocument(entry.balanceAfter),
    heldAfter: toAmountDocument(entry.heldAfter),
    at: entry.at,
  };
}

export function fromEntryDocument(document: Document): LedgerEntry {
  const cause = document.cause as EntryDocument['cause'];
  const accountId = fromStoredId(document.accountId);
  if (accountId === null || cause === undefined) return corrupt('a ledger entry', document);
  return {
    accountId,
    sequence: document.sequence as number,
    kind: document.kind as LedgerEntry['kind'],
    amount: fromAmountDocument(document.amount),
    fromHold: document.fromHold === null || document.fromHold === undefined ? null : fromAmountDocument(document.fromHold),
    cause: cause.kind === 'movement' ? { kind: 'movement', reason: cause.reason, idempotencyKey: cause.idempotencyKey } : { kind: 'generation', generationId: fromStoredId(cause.generationId) ?? corrupt('a ledger entry', document) },
    balanceAfter: fromAmountDocument(document.balanceAfter),
    heldAfter: fromAmountDocument(document.heldAfter),
    at: document.at as Date,
  };
}

/** The figures of an account write (`$set`), its entries as `pending`. */
export function toAccountFigures(account: Account, pending: readonly LedgerEntry[]): Omit<AccountDocument, '_id'> {
  return {
    balance: toAmountDocument(account.balance),
    held: toAmountDocument(account.held),
    available: toAmountDocument(account.available),
    spent: toAmountDocument(account.spent),
    entryCount: account.entryCount,
    version: account.version,
    updatedAt: account.updatedAt,
    pending: pending.map(toEntryDocument),
  };
}

export function fromAccountDocument(document: Document): Account {
  const accountId = fromStoredId(document._id);
  if (accountId === null) return corrupt('an account', document);
  return {
    accountId,
    balance: fromAmountDocument(document.balance),
    held: fromAmountDocument(document.held),
    available: fromAmountDocument(document.available),
    spent: fromAmountDocument(document.spent),
    entryCount: document.entryCount as number,
    version: document.version as number,
    updatedAt: (document.updatedAt as Date | null | undefined) ?? null,
  };
}

/** The entries an account document carries from its last write. */
export function pendingEntries(document: Document | null): EntryDocument[] {
  const raw = document?.pending;
  return Array.isArray(raw) ? (raw as EntryDocument[]) : [];
}

export const budgetId = (kind: 'cast' | 'cook', parentId: string) => `${kind}:${parentId}`;

export function fromBudgetDocument(document: Document): Budget {
  const parentId = fromStoredId(document.parentId);
  if (parentId === null || (document.parentKind !== 'cast' && document.parentKind !== 'cook')) return corrupt('a budget', document);
  return { parentKind: document.parentKind, parentId, limit: fromUnitsDocument(document.limit), held: fromAmountDocument(document.held), spent: fromAmountDocument(document.spent) };
}

export function toStoredHold(hold: Hold): StoredHoldDocument {
  return {
    accountId: toStoredId(hold.accountId),
    units: toUnitsDocument(hold.units),
    budgets: hold.budgets.map((ref) => ({ kind: ref.kind, id: toStoredId(ref.id) })),
    status: hold.status,
  };
}

/** The hold stored on a generation document, or `null` when it has none. */
export function readStoredHold(document: Document | null): Hold | null {
  const raw = document?.genledgerHold as StoredHoldDocument | undefined;
  if (raw === undefined || raw === null) return null;
  const generationId = fromStoredId(document!._id);
  const accountId = fromStoredId(raw.accountId);
  if (generationId === null || accountId === null) return corrupt('a generation\'s hold', raw);
  return {
    generationId,
    accountId,
    units: fromUnitsDocument(raw.units),
    budgets: (raw.budgets ?? []).map((ref) => ({ kind: ref.kind, id: fromStoredId(ref.id) ?? corrupt('a generation\'s hold', raw) })),
    status: raw.status,
  };
}
