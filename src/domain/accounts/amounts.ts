/**
 * Account amounts: a pair of integer points and exact US dollars, the two units an account keeps.
 *
 * Holds and budgets name the units they cover (`points`, `costUsd` or both); a unit a hold does not
 * name is neither reserved nor charged by it. Balances may go below zero only through a recorded
 * overdraft (see `settleHold` in ledger.ts), so the stored figures are signed; what a caller asks to move or
 * hold never is.
 */
import { z } from 'zod';
import { costInputSchema } from '../fields.js';
import { formatUsdUnits, parseSignedUsdUnits, type UsdAmount } from '../money.js';

/** A signed canonical decimal of dollars (`"-0.5"`, `"12"`), as stored on an account. */
export const signedUsdSchema = z
  .string()
  .regex(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/, 'must be a canonical decimal string')
  .refine((text) => text !== '-0', 'must be a canonical decimal string');

/** Points and dollars together: an account's balance, its held amount, what it spent. */
export const accountAmountSchema = z
  .object({
    points: z.number().int().refine(Number.isSafeInteger, 'must be a safe integer'),
    costUsd: signedUsdSchema,
  })
  .readonly();
export type AccountAmount = z.infer<typeof accountAmountSchema>;

export const ZERO_AMOUNT: AccountAmount = Object.freeze({ points: 0, costUsd: '0' });

/**
 * What a hold, a movement or a budget names: at least one unit, each non-negative.
 */
export const unitsInputSchema = z
  .strictObject({
    points: z.number({ error: 'must be a number' }).int('must be a whole number of points').min(0, 'must not be negative').refine(Number.isSafeInteger, 'must be a safe integer').optional(),
    costUsd: costInputSchema.optional(),
  })
  .refine((units) => units.points !== undefined || units.costUsd !== undefined, {
    message: 'must name points, costUsd or both',
  });

/** Units a request names: a unit it does not name is absent. */
export interface Units {
  readonly points?: number | undefined;
  readonly costUsd?: UsdAmount | undefined;
}

export const unitsSchema = z
  .object({ points: z.number().int().min(0).optional(), costUsd: signedUsdSchema.optional() })
  .readonly();

/** The named units as an amount (an unnamed unit is 0). */
export function amountOf(units: Units): AccountAmount {
  return { points: units.points ?? 0, costUsd: units.costUsd ?? '0' };
}

export function addAmounts(left: AccountAmount, right: AccountAmount): AccountAmount {
  return { points: left.points + right.points, costUsd: addSignedUsd(left.costUsd, right.costUsd) };
}

/**
 * Exact sum of two signed canonical amounts. Most accounts move in one unit only, so one side is
 * usually "0": that sum is the other side, with no bigint work (it was most of a hold's cost).
 */
function addSignedUsd(left: UsdAmount, right: UsdAmount): UsdAmount {
  if (right === '0') return left;
  if (left === '0') return right;
  return formatUsdUnits(parseSignedUsdUnits(left) + parseSignedUsdUnits(right));
}

export function subtractAmounts(left: AccountAmount, right: AccountAmount): AccountAmount {
  return addAmounts(left, negateAmount(right));
}

export function negateAmount(amount: AccountAmount): AccountAmount {
  return { points: amount.points === 0 ? 0 : -amount.points, costUsd: negateUsd(amount.costUsd) };
}

export function isZeroAmount(amount: AccountAmount): boolean {
  return amount.points === 0 && amount.costUsd === '0';
}

export function amountsEqual(left: AccountAmount, right: AccountAmount): boolean {
  return left.points === right.points && left.costUsd === right.costUsd;
}

/** The smaller of two amounts, unit by unit. */
export function minAmount(left: AccountAmount, right: AccountAmount): AccountAmount {
  const leftUsd = parseSignedUsdUnits(left.costUsd);
  const rightUsd = parseSignedUsdUnits(right.costUsd);
  return { points: Math.min(left.points, right.points), costUsd: leftUsd <= rightUsd ? left.costUsd : right.costUsd };
}

/** Each unit clamped at zero from below. */
export function nonNegative(amount: AccountAmount): AccountAmount {
  return { points: Math.max(amount.points, 0), costUsd: parseSignedUsdUnits(amount.costUsd) < 0n ? '0' : amount.costUsd };
}

/**
 * The units of `amount` that `units` names; the others are 0. A hold charges only what it names:
 * a hold in points captures the generation's points, never its dollars.
 */
export function restrictTo(amount: AccountAmount, units: Units): AccountAmount {
  return { points: units.points === undefined ? 0 : amount.points, costUsd: units.costUsd === undefined ? '0' : amount.costUsd };
}

/**
 * The first named unit in which `requested` exceeds `limit` (both signed), or `null` when every
 * named unit fits.
 */
export function exceededUnit(requested: AccountAmount, limit: AccountAmount, named: Units): 'points' | 'costUsd' | null {
  if (named.points !== undefined && requested.points > limit.points) return 'points';
  if (named.costUsd !== undefined && parseSignedUsdUnits(requested.costUsd) > parseSignedUsdUnits(limit.costUsd)) return 'costUsd';
  return null;
}

function negateUsd(amount: UsdAmount): UsdAmount {
  if (amount === '0') return amount;
  return amount.startsWith('-') ? amount.slice(1) : `-${amount}`;
}
