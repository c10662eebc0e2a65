/**
 * What mingo lacks for the adapter's pipelines: Decimal128. mingo's `$add` accepts only JS numbers
 * and dates, and its `$convert`/`$toDecimal` turn a value into a JS double, which is exactly the
 * float arithmetic the library exists to avoid. These three operators replace mingo's when (and only
 * when) a decimal is involved, with exact decimal arithmetic on the BSON Decimal128 values, following
 * MongoDB's documented semantics:
 *
 * - `$add` with a Decimal128 argument: the exact decimal sum, as a Decimal128;
 * - `$convert` to `'decimal'` / `$toDecimal`: a Decimal128 as is; a numeric string exactly; a double
 *   through 15 significant digits (what MongoDB keeps when it converts a double to a decimal);
 *   null or missing gives `onNull`, anything else `onError`.
 *
 * Everything else in a filter or an update is evaluated by mingo itself. So the fake checks MongoDB
 * semantics as mingo implements them, plus these modelled decimal operators; the real server is
 * checked by the same suite wherever a mongod is available.
 */
import { Context, evalExpr } from 'mingo/core';
import type { Options } from 'mingo/types';
import * as mingoAccumulators from 'mingo/operators/accumulator';
import * as mingoExpressions from 'mingo/operators/expression';
import * as mingoPipeline from 'mingo/operators/pipeline';
import * as mingoProjection from 'mingo/operators/projection';
import * as mingoQuery from 'mingo/operators/query';
import { Decimal128 } from 'mongodb';

interface ExactDecimal {
  readonly coefficient: bigint;
  readonly exponent: number;
}

const DECIMAL_TEXT = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function isDecimal128(value: unknown): value is Decimal128 {
  return typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'Decimal128';
}

function parseExact(text: string): ExactDecimal | null {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match) return null;
  const [, sign, whole = '0', fraction = '', exponent = '0'] = match;
  const coefficient = BigInt(whole + fraction);
  return { coefficient: sign === '-' ? -coefficient : coefficient, exponent: Number(exponent) - fraction.length };
}

function toDecimal128(value: ExactDecimal): Decimal128 {
  return Decimal128.fromString(`${value.coefficient}E${value.exponent >= 0 ? '+' : ''}${value.exponent}`);
}

/** A value as an exact decimal, or `undefined` when it is not a number MongoDB would convert. */
function exactOf(value: unknown): ExactDecimal | undefined {
  if (isDecimal128(value)) return parseExact(value.toString()) ?? undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? (parseExact(value.toPrecision(15)) ?? undefined) : undefined;
  if (typeof value === 'string') return parseExact(value) ?? undefined;
  return undefined;
}

function addExact(left: ExactDecimal, right: ExactDecimal): ExactDecimal {
  const exponent = Math.min(left.exponent, right.exponent);
  const scale = (value: ExactDecimal) => value.coefficient * 10n ** BigInt(value.exponent - exponent);
  return { coefficient: scale(left) + scale(right), exponent };
}

type Operator = (document: unknown, expression: unknown, options: Options) => unknown;
const mingoAdd = mingoExpressions.$add as Operator;
const mingoConvert = mingoExpressions.$convert as Operator;

const $add: Operator = (document, expression, options) => {
  const values = evalExpr(document, expression, options);
  if (!Array.isArray(values) || !values.some(isDecimal128)) return mingoAdd(document, expression, options);
  let sum: ExactDecimal = { coefficient: 0n, exponent: 0 };
  for (const value of values) {
    if (value === null || value === undefined) return null;
    const exact = exactOf(value);
    if (exact === undefined || typeof value === 'string') throw new Error(`$add only supports numeric or date types, not ${typeof value}`);
    sum = addExact(sum, exact);
  }
  return toDecimal128(sum);
};

function convertToDecimal(input: unknown, onNull: () => unknown, onError: () => unknown): unknown {
  if (input === null || input === undefined) return onNull();
  const exact = exactOf(input);
  if (exact === undefined) return onError();
  return toDecimal128(exact);
}

const $convert: Operator = (document, expression, options) => {
  const spec = expression as { input: unknown; to: unknown; onError?: unknown; onNull?: unknown };
  const to = evalExpr(document, spec.to, options);
  if (to !== 'decimal' && to !== 19) return mingoConvert(document, expression, options);
  const input = evalExpr(document, spec.input, options);
  const fallback = (key: 'onNull' | 'onError') => () => {
    if (!(key in spec)) throw new Error(`$convert: cannot convert ${String(input)} to decimal`);
    return evalExpr(document, spec[key], options);
  };
  return convertToDecimal(input, fallback('onNull'), fallback('onError'));
};

const $toDecimal: Operator = (document, expression, options) => {
  const input = evalExpr(document, expression, options);
  return convertToDecimal(input, () => null, () => {
    throw new Error(`$toDecimal: cannot convert ${String(input)} to decimal`);
  });
};

/**
 * mingo's operators with the three above in place of its own. Built with `Context.init`, because
 * merging contexts (`Context.from`, and mingo's top-level functions, which merge the caller's
 * context into the default one) keeps the operator registered first: an override would be ignored.
 * So the fake uses mingo's low-level `Query` and `updater` with this context.
 */
export const decimalContext: Context = Context.init({
  accumulator: mingoAccumulators as never,
  expression: { ...mingoExpressions, $add, $convert, $toDecimal } as never,
  pipeline: mingoPipeline as never,
  projection: mingoProjection as never,
  query: mingoQuery as never,
});

/** Exposed for the fake's own tests. */
export const decimalOperators = { exactOf, addExact };
