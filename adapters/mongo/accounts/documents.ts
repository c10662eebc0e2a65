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
 *   spent, version, genledgerInProgress }`, and for a parent hold `reservation: { accountId, free,
 *   status, released? }` (`released`: what the release took from `free`, for the account's entry).
 * - a generation's hold, on the generation's own document: `genledgerHold: { accountId, units,
 *   budgets, drawsOn?, status }`.
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
  /** What makes the entry unique in its account: `movement:<idempotencyKey>`, `<kind>:<generationId>`, or `<kind>:parent:<parentKind>:<parentId>`. */
  key: string;
  kind: LedgerEntry['kind'];
  amount: AmountDocument;
  fromHold: AmountDocument | null;
  cause:
    | { kind: 'movement'; reason: string; idempotencyKey: string }
    | { kind: 'generation'; generationId: StoredId }
    | { kind: 'parent'; parentKind: 'cast' | 'cook'; parentId: StoredId };
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
  /** The parent whose reservation the hold drew on (parent-hold.ts in the domain); absent for any other hold. */
  drawsOn?: { kind: 'cast' | 'cook'; id: StoredId };
  status: Hold['status'];
}

/** A parent hold's reservation, on its budget document. */
export interface ReservationDocument {
  accountId: StoredId;
  free: AmountDocument;
  status: 'held' | 'released';
  /** Set by the release (with `status: 'released'`): what it took from `free`, the amount of the account's `release` entry. */
  released?: AmountDocument;
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
  const cause = entry.cause;
  if (cause.kind === 'movement') return movementKey(cause.idempotencyKey);
  if (cause.kind === 'parent') return parentKey(entry.kind, cause.parentKind, cause.parentId);
  return generationKey(entry.kind, cause.generationId);
}

export const movementKey = (idempotencyKey: string) => `movement:${idempotencyKey}`;
export const generationKey = (kind: LedgerEntry['kind'], generationId: string) => `${kind}:${generationId}`;
/** A parent hold's entries: its `hold` at the parent's creation, its `release` at the parent's end. */
export const parentKey = (kind: LedgerEntry['kind'], parentKind: 'cast' | 'cook', parentId: string) => `${kind}:parent:${parentKind}:${parentId}`;

function toCauseDocument(cause: LedgerEntry['cause']): EntryDocument['cause'] {
  if (cause.kind === 'movement') return { ...cause };
  if (cause.kind === 'parent') return { kind: 'parent', parentKind: cause.parentKind, parentId: toStoredId(cause.parentId) };
  return { kind: 'generation', generationId: toStoredId(cause.generationId) };
}

function fromCauseDocument(cause: EntryDocument['cause'], document: Document): LedgerEntry['cause'] {
  if (cause.kind === 'movement') return { kind: 'movement', reason: cause.reason, idempotencyKey: cause.idempotencyKey };
  if (cause.kind === 'parent') return { kind: 'parent', parentKind: cause.parentKind, parentId: fromStoredId(cause.parentId) ?? corrupt('a ledger entry', document) };
  return { kind: 'generation', generationId: fromStoredId(cause.generationId) ?? corrupt('a ledger entry', document) };
}

export function toEntryDocument(entry: LedgerEntry): EntryDocument {
  return {
    accountId: toStoredId(entry.accountId),
    sequence: entry.sequence,
    key: entryKey(entry),
    kind: entry.kind,
    amount: toAmountDocument(entry.amount),
    fromHold: entry.fromHold === null ? null : toAmountDocument(entry.fromHold),
    cause: toCauseDocument(entry.cause),
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
    cause: fromCauseDocument(cause, document),
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
  const budget: Budget = { parentKind: document.parentKind, parentId, limit: fromUnitsDocument(document.limit), held: fromAmountDocument(document.held), spent: fromAmountDocument(document.spent) };
  const raw = document.reservation as ReservationDocument | undefined | null;
  if (raw === undefined || raw === null) return budget;
  const accountId = fromStoredId(raw.accountId);
  if (accountId === null || (raw.status !== 'held' && raw.status !== 'released')) return corrupt('a parent hold\'s reservation', raw);
  return { ...budget, reservation: { accountId, free: fromAmountDocument(raw.free), status: raw.status } };
}

/** A reservation as its budget document stores it (`released`: what its release took, set by the release). */
export function toReservationDocument(reservation: NonNullable<Budget['reservation']>, released?: AccountAmount): ReservationDocument {
  return { accountId: toStoredId(reservation.accountId), free: toAmountDocument(reservation.free), status: reservation.status, ...(released !== undefined && { released: toAmountDocument(released) }) };
}

/** What a released reservation's release took from `free` (`null`: not released yet). */
export function releasedAmount(document: Document | null): AccountAmount | null {
  const raw = document?.reservation as ReservationDocument | undefined | null;
  if (raw?.status !== 'released') return null;
  return raw.released === undefined ? ZERO_AMOUNT : fromAmountDocument(raw.released);
}

export function toStoredHold(hold: Hold): StoredHoldDocument {
  return {
    accountId: toStoredId(hold.accountId),
    units: toUnitsDocument(hold.units),
    budgets: hold.budgets.map((ref) => ({ kind: ref.kind, id: toStoredId(ref.id) })),
    ...(hold.drawsOn && { drawsOn: { kind: hold.drawsOn.kind, id: toStoredId(hold.drawsOn.id) } }),
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
    ...(raw.drawsOn && { drawsOn: { kind: raw.drawsOn.kind, id: fromStoredId(raw.drawsOn.id) ?? corrupt('a generation\'s hold', raw) } }),
    status: raw.status,
  };
}
