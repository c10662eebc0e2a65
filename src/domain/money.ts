/**
 * Exact US-dollar amounts.
 *
 * The system this library replaces summed costs with `parseFloat`, so 0.1 + 0.2 came out as
 * 0.30000000000000004 and long sums drifted. Here an amount is a canonical decimal string at every
 * boundary (records, the repository port, events) and a `bigint` count of 10^-18 dollars inside
 * arithmetic, so sums are exact however many terms they have.
 *
 * Canonical form: no sign, no exponent, no leading zeros in the integer part, no trailing zeros in
 * the fraction, and no dot when the fraction is empty: `"0"`, `"12"`, `"0.0001"`.
 */

/** A canonical decimal string of US dollars, e.g. `"0.0042"`. See {@link toUsdAmount}. */
export type UsdAmount = string;

/** Most fraction digits an amount may carry (10^-18 dollars); more would be silently rounded, so it is refused. */
export const USD_FRACTION_DIGITS = 18;

/** Largest cost a single generation may report, in dollars. Sums of many may exceed it. */
export const MAX_SINGLE_COST_USD = '1000000000';

const SCALE = 10n ** BigInt(USD_FRACTION_DIGITS);
const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;
/** The spelling every stored amount has; read without the general path (it is on every roll-up). */
const PLAIN_PATTERN = /^(\d{1,21})(?:\.(\d{1,18}))?$/;

/** Why an amount could not be read; the caller turns it into a typed error naming its field. */
export class InvalidAmountError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidAmountError';
  }
}

/**
 * Reads an amount given as a decimal string or a JS number into 10^-18 dollar units.
 *
 * Numbers are read as the nearest decimal of 15 significant digits (`toPrecision(15)`, trailing
 * zeros dropped): 15 digits is what a double keeps of any decimal (DBL_DIG), so every number a
 * caller wrote as a decimal of up to 15 significant digits reads back as exactly that decimal
 * (`0.1` is `"0.1"`), and the binary noise of float arithmetic beyond them is dropped (`0.1 + 0.2`,
 * which JavaScript holds as 0.30000000000000004, is `"0.3"`). For more digits than that, pass a
 * string: strings are read exactly, to 18 fraction digits.
 */
export function parseUsdUnits(input: string | number): bigint {
  if (typeof input === 'string') {
    const plain = PLAIN_PATTERN.exec(input);
    if (plain) {
      const fraction = plain[2];
      return BigInt(plain[1]!) * SCALE + (fraction === undefined ? 0n : BigInt(fraction.padEnd(USD_FRACTION_DIGITS, '0')));
    }
  }
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new InvalidAmountError(`must be a finite number, got ${String(input)}`);
    text = input.toPrecision(15);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    throw new InvalidAmountError(`must be a decimal string or a number, got ${typeof input}`);
  }
  if (text.startsWith('-')) {
    // "-0" is still zero; anything else negative is not a cost.
    if (/^-0*(\.0*)?$/.test(text)) return 0n;
    throw new InvalidAmountError(`must not be negative, got "${text}"`);
  }
  if (text.startsWith('+')) text = text.slice(1);
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) throw new InvalidAmountError(`must be a plain decimal like "0.0042", got "${truncate(text)}"`);
  const [, integerDigits = '0', fractionDigits = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) {
    throw new InvalidAmountError(`exponent out of range in "${truncate(text)}"`);
  }
  // Shift the decimal point by the exponent, then pad or check the fraction to the fixed scale.
  let digits = integerDigits + fractionDigits;
  let pointPosition = integerDigits.length + exponent;
  if (pointPosition < 0) {
    digits = '0'.repeat(-pointPosition) + digits;
    pointPosition = 0;
  }
  if (pointPosition > digits.length) {
    digits = digits + '0'.repeat(pointPosition - digits.length);
  }
  const whole = digits.slice(0, pointPosition) || '0';
  const fraction = digits.slice(pointPosition).replace(/0+$/, '');
  if (fraction.length > USD_FRACTION_DIGITS) {
    throw new InvalidAmountError(
      `has more than ${USD_FRACTION_DIGITS} fraction digits ("${truncate(text)}"); round it explicitly before recording`,
    );
  }
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(USD_FRACTION_DIGITS, '0') || '0');
}

/** Signed 10^-18 dollar units of a signed canonical decimal (`"-0.5"`): a difference, or an account's figure. */
export function parseSignedUsdUnits(amount: string): bigint {
  if (amount === '0') return 0n; // most account figures name one unit: the other is "0"
  return amount.startsWith('-') ? -parseUsdUnits(amount.slice(1)) : parseUsdUnits(amount);
}

/** `"000...0"`: the zeros a fraction below 10^-k dollars starts with, sliced rather than built. */
const FRACTION_ZEROS = '0'.repeat(USD_FRACTION_DIGITS);

/**
 * Formats 10^-18 dollar units as a canonical {@link UsdAmount}: the units' decimal digits with the
 * dot placed 18 from the right and trailing zeros cut. It works on the digit string alone (one
 * `toString`, slices, no bigint division or regex): it runs for every line of every computed cost.
 */
export function formatUsdUnits(units: bigint): UsdAmount {
  if (units === 0n) return '0';
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString();
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 48) end -= 1; // units are non-zero: a non-zero digit stops it
  const dot = digits.length - USD_FRACTION_DIGITS;
  let text: string;
  if (dot <= 0) text = `0.${FRACTION_ZEROS.slice(0, -dot)}${digits.slice(0, end)}`;
  else if (end <= dot) text = end === digits.length ? digits : digits.slice(0, dot);
  else text = `${digits.slice(0, dot)}.${digits.slice(dot, end)}`;
  return negative ? `-${text}` : text;
}

/** Reads any accepted spelling into the canonical one: `toUsdAmount(0.1)` is `"0.1"`, `toUsdAmount("1.50")` is `"1.5"`. */
export function toUsdAmount(input: string | number): UsdAmount {
  return formatUsdUnits(parseUsdUnits(input));
}

/** Exact sum of amounts. `sumUsd(["0.1", "0.2"])` is `"0.3"`. */
export function sumUsd(amounts: Iterable<UsdAmount>): UsdAmount {
  let total = 0n;
  for (const amount of amounts) total += parseUsdUnits(amount);
  return formatUsdUnits(total);
}

/** Exact sum of two amounts, in canonical form. */
export function addUsd(left: UsdAmount | number, right: UsdAmount | number): UsdAmount {
  return formatUsdUnits(parseUsdUnits(left) + parseUsdUnits(right));
}

/**
 * Exact sum of two amounts already in canonical form (stored amounts), for the roll-up reducers:
 * most costs roll into a parent still at zero, or are zero themselves, and skip the arithmetic.
 */
export function addCanonicalUsd(left: UsdAmount, right: UsdAmount): UsdAmount {
  if (right === '0') return left;
  if (left === '0') return right;
  return addSmallCanonical(left, right) ?? formatUsdUnits(parseUsdUnits(left) + parseUsdUnits(right));
}

/** Digits a double holds exactly as an integer (2^53 is about 9.007e15): sums of two 15-digit integers stay below it. */
const EXACT_DIGITS = 15;

/**
 * Where the dot is in a canonical amount (its length when there is none), or -1 when the text is
 * not canonical (digits, at most one dot, no leading zero before another digit, no trailing zero
 * or empty fraction after the dot).
 */
function canonicalDot(text: string): number {
  const length = text.length;
  if (length === 0) return -1;
  let dot = length;
  for (let index = 0; index < length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 46) {
      if (dot !== length || index === 0) return -1;
      dot = index;
    } else if (code < 48 || code > 57) {
      return -1;
    }
  }
  if (dot > 1 && text.charCodeAt(0) === 48) return -1;
  if (dot < length && (dot === length - 1 || text.charCodeAt(length - 1) === 48)) return -1;
  return dot;
}

/** The digits of a canonical amount as an integer at `scale` fraction digits (exact: at most 15 digits). */
function scaledDigits(text: string, dot: number, scale: number): number {
  let value = 0;
  for (let index = 0; index < text.length; index += 1) if (index !== dot) value = value * 10 + (text.charCodeAt(index) - 48);
  const fractionDigits = dot === text.length ? 0 : text.length - dot - 1;
  for (let pad = fractionDigits; pad < scale; pad += 1) value *= 10;
  return value;
}

/**
 * The exact sum of two canonical amounts, with plain integer arithmetic in doubles when both fit
 * in 15 digits at their common scale (a parent's running total and a child's cost, nearly
 * always); `null` otherwise, and the caller sums as bigints. Integers below 2^53 add exactly in
 * doubles, so the result is the same string the bigint path gives.
 */
function addSmallCanonical(left: string, right: string): UsdAmount | null {
  const leftDot = canonicalDot(left);
  const rightDot = canonicalDot(right);
  if (leftDot < 0 || rightDot < 0) return null;
  const scale = Math.max(left.length - leftDot - 1, right.length - rightDot - 1, 0);
  if (leftDot + scale > EXACT_DIGITS || rightDot + scale > EXACT_DIGITS) return null;
  const digits = String(scaledDigits(left, leftDot, scale) + scaledDigits(right, rightDot, scale)).padStart(scale + 1, '0');
  const wholeLength = digits.length - scale;
  let end = digits.length;
  while (end > wholeLength && digits.charCodeAt(end - 1) === 48) end -= 1;
  return end === wholeLength ? digits.slice(0, wholeLength) : `${digits.slice(0, wholeLength)}.${digits.slice(wholeLength, end)}`;
}

/** Compares two amounts: negative when left < right, 0 when equal, positive when left > right. */
export function compareUsd(left: UsdAmount, right: UsdAmount): number {
  const difference = parseUsdUnits(left) - parseUsdUnits(right);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Whether the text is already a canonical {@link UsdAmount}. */
export function isCanonicalUsd(text: string): boolean {
  try {
    return toUsdAmount(text) === text;
  } catch {
    return false;
  }
}

/**
 * Converts an amount to a JS number for display or JSON to a browser (the production websocket
 * messages carry `costUsd` as a number). Never feed the result back into arithmetic.
 */
export function usdToNumber(amount: UsdAmount): number {
  return Number(amount);
}

/** `ceil(amount * rate)` computed exactly; used to derive points from a cost. */
export function ceilUsdTimes(amount: UsdAmount, rate: UsdAmount): bigint {
  return ceilUnitsTimes(parseUsdUnits(amount), parseUsdUnits(rate));
}

const SCALE_SQUARED = SCALE * SCALE;

/** {@link ceilUsdTimes} on amounts already read into 10^-18 dollar units. */
export function ceilUnitsTimes(amountUnits: bigint, rateUnits: bigint): bigint {
  return (amountUnits * rateUnits + SCALE_SQUARED - 1n) / SCALE_SQUARED;
}

/**
 * A rate read once for {@link ceilUnitsTimesRate}: `rateUnits / 10^36` as the fraction
 * `multiplier / divisor` in lowest terms. For a rate of 1000 that is 1 / 10^15, so a cost of a few
 * dollars is divided as a one-word bigint instead of a 123-bit product by 10^36 (about 4 times
 * faster; this runs on every priced completion).
 */
export interface ReducedRate {
  readonly multiplier: bigint;
  readonly divisor: bigint;
}

export function reduceRate(rateUnits: bigint): ReducedRate {
  let [left, right] = [rateUnits, SCALE_SQUARED];
  while (right !== 0n) [left, right] = [right, left % right];
  return { multiplier: rateUnits / left, divisor: SCALE_SQUARED / left };
}

/** `ceil(amount * rate)`, the same as {@link ceilUnitsTimes} (`ceil(a·m/d)` with `m/d = rate/10^36` exactly). */
export function ceilUnitsTimesRate(amountUnits: bigint, rate: ReducedRate): bigint {
  return (amountUnits * rate.multiplier + rate.divisor - 1n) / rate.divisor;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
