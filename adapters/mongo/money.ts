/**
 * Money in the documents: `costUsd` is written as a Decimal128 built from the canonical decimal
 * string, so MongoDB adds it exactly (34 significant digits; the domain caps amounts at 18
 * fraction digits). Legacy documents hold numbers, numeric strings, Decimal128s or null; each is
 * read into a canonical amount here, by the same rule the update pipelines use to convert them
 * (`$convert` to decimal), so a parent read before a write and after it agree.
 */
import { Decimal128 } from 'mongodb';
import { USD_FRACTION_DIGITS, type UsdAmount } from 'genledger';
import { formatUsdUnits } from 'genledger/adapter';

/** Writes a canonical amount as a Decimal128. */
export function toDecimal128(amount: UsdAmount): Decimal128 {
  return Decimal128.fromString(amount);
}

export const ZERO_DECIMAL: Decimal128 = Decimal128.fromString('0');

const PLAIN_DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const SCALE_DIGITS = USD_FRACTION_DIGITS;

/**
 * Reads decimal text of any length into 10^-18 dollar units, rounding half up beyond 18 fraction
 * digits (only junk legacy values have more). `null` for text that is not a plain decimal.
 */
function decimalTextToUnits(text: string): bigint | null {
  const match = PLAIN_DECIMAL.exec(text);
  if (!match) return null;
  const [, sign, integerDigits = '0', fractionDigits = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 6200) return null;
  const digits = BigInt(integerDigits + fractionDigits);
  // value = digits * 10^(exponent - fractionDigits.length); units = value * 10^18
  const shift = exponent - fractionDigits.length + SCALE_DIGITS;
  let units: bigint;
  if (shift >= 0) {
    if (shift > 60) return null; // beyond any amount a document can hold sensibly
    units = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    units = (digits + divisor / 2n) / divisor;
  }
  return sign === '-' ? -units : units;
}

function unitsToAmount(units: bigint | null): UsdAmount {
  // A negative or unreadable cost is not a cost: it reads as 0 (the audit reports it).
  if (units === null || units < 0n) return '0';
  return formatUsdUnits(units);
}

/**
 * Reads a stored `costUsd` of any era:
 * - Decimal128: exactly;
 * - a JS number (legacy double): through 15 significant digits, the precision MongoDB's
 *   `$convert`/`$toDecimal` keeps for a double, so `0.1` is `"0.1"` and `0.30000000000000004`
 *   (float drift) is `"0.3"`;
 * - a numeric string: exactly;
 * - null, missing, negative or unreadable: `"0"`.
 */
export function readUsd(raw: unknown): UsdAmount {
  if (raw === null || raw === undefined) return '0';
  if (typeof raw === 'number') return Number.isFinite(raw) ? unitsToAmount(decimalTextToUnits(raw.toPrecision(15))) : '0';
  if (typeof raw === 'string') return unitsToAmount(decimalTextToUnits(raw));
  if (typeof raw === 'object' && (raw as { _bsontype?: unknown })._bsontype === 'Decimal128') {
    return unitsToAmount(decimalTextToUnits(String(raw)));
  }
  return '0';
}

/**
 * Reads a signed amount this adapter wrote as a Decimal128 (an account's balance may be below zero
 * after an overdraft entry): exactly, sign kept. `null` for anything else, which no account
 * document written by genledger holds.
 */
export function readSignedUsd(raw: unknown): UsdAmount | null {
  if (typeof raw !== 'object' || raw === null || (raw as { _bsontype?: unknown })._bsontype !== 'Decimal128') return null;
  const units = decimalTextToUnits(String(raw));
  return units === null ? null : formatUsdUnits(units);
}

/** What kind of legacy cost a document holds, for the audit. */
export function costKind(raw: unknown): 'decimal' | 'number' | 'string' | 'null' | 'other' {
  if (raw === null || raw === undefined) return 'null';
  if (typeof raw === 'number') return 'number';
  if (typeof raw === 'string') return 'string';
  if (typeof raw === 'object' && (raw as { _bsontype?: unknown })._bsontype === 'Decimal128') return 'decimal';
  return 'other';
}
