/**
 * What an account store keeps: accounts, their append-only ledger entries, the holds of
 * generations in flight and the budgets of parents. Every figure on an account is explained by its
 * entries: replaying them (see `replayEntries`) gives the account's balance, held and spent amounts.
 */
import { z } from 'zod';
import { dateSchema, idSchema, labelSchema } from '../fields.js';
import { accountAmountSchema, unitsSchema } from './amounts.js';

export const accountSchema = z
  .object({
    accountId: idSchema,
    /** Credits minus debits minus captures. Below zero only after an `overdraft` entry. */
    balance: accountAmountSchema,
    /** Reserved by holds of generations still in flight. */
    held: accountAmountSchema,
    /** `balance - held`: what a new hold or debit may take. */
    available: accountAmountSchema,
    /** Everything captured so far. */
    spent: accountAmountSchema,
    /** Ledger entries written; the last entry's `sequence`. */
    entryCount: z.number().int().min(0),
    version: z.number().int().min(0),
    updatedAt: dateSchema.nullable(),
  })
  .readonly();
/** One account's figures, in points and exact dollars. An account nobody moved yet is all zeros. */
export type Account = z.infer<typeof accountSchema>;

export const LEDGER_ENTRY_KINDS = ['credit', 'debit', 'hold', 'capture', 'release', 'overdraft'] as const;
export type LedgerEntryKind = (typeof LEDGER_ENTRY_KINDS)[number];

export const entryCauseSchema = z.discriminatedUnion('kind', [
  /** A host's `credit()` or `debit()`: its reason and idempotency key. */
  z.object({ kind: z.literal('movement'), reason: labelSchema, idempotencyKey: idSchema }).readonly(),
  /** A generation's hold, or its settlement (capture, release, overdraft). */
  z.object({ kind: z.literal('generation'), generationId: idSchema }).readonly(),
  /** A parent hold (`startCast`/`startCook({ hold })`), or the release of what it had left when the parent ended. */
  z.object({ kind: z.literal('parent'), parentKind: z.enum(['cast', 'cook']), parentId: idSchema }).readonly(),
]);
export type EntryCause = z.infer<typeof entryCauseSchema>;

export const ledgerEntrySchema = z
  .object({
    accountId: idSchema,
    /** 1, 2, 3, ... per account, in the order written. */
    sequence: z.number().int().min(1),
    kind: z.enum(LEDGER_ENTRY_KINDS),
    /**
     * What moved, never negative: credited, debited, held, captured (all of it charged to the
     * balance), released, or (overdraft) how far the charge went past the available amount.
     */
    amount: accountAmountSchema,
    /** Captures only: the part of `amount` that came out of the generation's hold (the rest came from `available`). */
    fromHold: accountAmountSchema.nullable(),
    cause: entryCauseSchema,
    /** The account's balance and held amount after this entry. */
    balanceAfter: accountAmountSchema,
    heldAfter: accountAmountSchema,
    at: dateSchema,
  })
  .readonly();
/** One movement on an account, naming what caused it. */
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/** A parent's budget: a limit in the units it names, and what its children hold and spent. */
export const budgetSchema = z
  .object({
    parentKind: z.enum(['cast', 'cook']),
    parentId: idSchema,
    limit: unitsSchema,
    held: accountAmountSchema,
    spent: accountAmountSchema,
    /**
     * A parent hold's reservation (absent: a plain budget). The parent holds `limit` on `accountId`
     * from its creation; `free` is the part of it no open child drew and no capture took, released
     * once when the parent ends (`status` then `released`). See parent-hold.ts.
     */
    reservation: z
      .object({ accountId: idSchema, free: accountAmountSchema, status: z.enum(['held', 'released']) })
      .readonly()
      .nullish(),
  })
  .readonly();
export type Budget = z.infer<typeof budgetSchema>;

/** A generation's hold, kept until its settlement captures and releases it. */
export const holdSchema = z
  .object({
    generationId: idSchema,
    accountId: idSchema,
    /** The units reserved; a unit it does not name is never charged by it. */
    units: unitsSchema,
    /** The budgets (the generation's cast and cook) that counted this hold. */
    budgets: z.array(z.object({ kind: z.enum(['cast', 'cook']), id: idSchema }).readonly()).readonly(),
    /**
     * The parent whose reservation this hold drew from (a child of a held parent on the parent's
     * own account): its units the parent names were never reserved again; absent for any other hold.
     */
    drawsOn: z.object({ kind: z.enum(['cast', 'cook']), id: idSchema }).readonly().nullish(),
    status: z.enum(['held', 'settled']),
  })
  .readonly();
export type Hold = z.infer<typeof holdSchema>;
