/** The account calls' inputs, as zod schemas: what the tracker parses before anything is written. */
import { z } from 'zod';
import { idSchema, labelSchema } from '../fields.js';
import { unitsInputSchema } from './amounts.js';

/** `tracker.credit()` / `tracker.debit()`: at least one of points and costUsd, why, and a key that makes a retry safe. */
export const movementInputSchema = z
  .strictObject({
    points: z.unknown().optional(),
    costUsd: z.unknown().optional(),
    /** Why the account moves ("top-up", "refund of order 42"); kept on the ledger entry. */
    reason: labelSchema,
    /** A retry with the same key (for the same account) returns the first call's entry and moves nothing. */
    idempotencyKey: idSchema,
  })
  .transform((input, context) => {
    const units = unitsInputSchema.safeParse({ ...(input.points === undefined ? {} : { points: input.points }), ...(input.costUsd === undefined ? {} : { costUsd: input.costUsd }) });
    if (!units.success) {
      for (const issue of units.error.issues) context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return { units: units.data, reason: input.reason, idempotencyKey: input.idempotencyKey };
  });
export type MovementInput = z.input<typeof movementInputSchema>;

/** `recordGeneration({ hold })`: the units to reserve from the generation's `masterAccountId`. */
export const holdInputSchema = unitsInputSchema;
export type HoldInput = z.input<typeof holdInputSchema>;

/** `startCast({ budget })` / `startCook({ budget })`: the most its children may hold plus spend. */
export const budgetInputSchema = unitsInputSchema;
export type BudgetInput = z.input<typeof budgetInputSchema>;

export const listLedgerEntriesInputSchema = z.strictObject({
  accountId: idSchema,
  /** `nextCursor` of the previous page. */
  cursor: z.string().regex(/^\d{1,15}$/, 'must be a nextCursor from listLedgerEntries()').nullish(),
  /** @default 100 */
  limit: z.number().int().min(1).max(1000).optional(),
});
export type ListLedgerEntriesInput = z.input<typeof listLedgerEntriesInputSchema>;
