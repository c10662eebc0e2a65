/**
 * Aggregation expressions shared by the update pipelines. Each reads a stored field the way
 * documents.ts reads it (a missing or junk value gives the same default), so a pipeline computes
 * the new document from exactly the record the domain reducer sees.
 *
 * Every value that comes from a caller is wrapped in `$literal`: inside a pipeline, a string
 * starting with `$` is a field path and an object is an expression, and neither may be read as one.
 */
import type { Document } from 'mongodb';
import { ZERO_DECIMAL } from './money.js';

export function literal(value: unknown): Document {
  return { $literal: value };
}

export function field(path: string): string {
  return `$${path}`;
}

/** A stored number, or `fallback` when it is missing or not a number. */
export function numberOr(path: string, fallback: unknown): Document {
  return { $cond: [{ $isNumber: field(path) }, field(path), fallback] };
}

/** A stored array, or `[]`. */
export function arrayOr(path: string): Document {
  return { $cond: [{ $isArray: field(path) }, field(path), []] };
}

/** A stored Date, or `fallback`. */
export function dateOr(path: string, fallback: Date): Document {
  return { $cond: [{ $eq: [{ $type: field(path) }, 'date'] }, field(path), literal(fallback)] };
}

/** Whether the stored word is one of `words`. */
export function statusIn(words: readonly string[]): Document {
  return { $in: [field('status'), literal([...words])] };
}

/** `version` as read (a missing one is 1), plus one: every write bumps it. */
export function nextVersion(): Document {
  return { $add: [{ $max: [1, { $trunc: [numberOr('version', 1), 0] }] }, 1] };
}

/** The fields every write sets. */
export function touch(at: Date): Document {
  return { version: nextVersion(), updatedAt: literal(at) };
}

/** Milliseconds from `from` to `to`, never negative (as `elapsedMs`). */
export function elapsed(from: unknown, to: unknown): Document {
  return { $max: [0, { $subtract: [to, from] }] };
}

/**
 * A parent's stored cost as an exact decimal: Decimal128 as is, a legacy number or numeric string
 * converted, null or missing or junk as 0, a negative one as 0. Never `$inc` on the raw field:
 * `$inc` on the `null` that production created parents with fails, which is how cast costs were lost.
 */
export function storedCost(): Document {
  return {
    $let: {
      vars: { cost: { $convert: { input: field('costUsd'), to: 'decimal', onError: ZERO_DECIMAL, onNull: ZERO_DECIMAL } } },
      in: { $cond: [{ $lt: ['$$cost', ZERO_DECIMAL] }, ZERO_DECIMAL, '$$cost'] },
    },
  };
}

/** The id list at `path` without this id. */
export function withoutId(path: string, storedId: unknown): Document {
  return { $filter: { input: arrayOr(path), cond: { $ne: ['$$this', literal(storedId)] } } };
}

/** The id list at `path` with this id appended while it holds fewer than `cap` ids; otherwise unchanged. */
export function appendIfRoom(path: string, storedId: unknown, cap: number): Document {
  return { $cond: [{ $lt: [{ $size: arrayOr(path) }, cap] }, { $concatArrays: [arrayOr(path), [literal(storedId)]] }, field(path)] };
}

/** `inFlightCount` as read: the stored count, or the number of open entries at `openPath`. */
export function inFlightCount(openPath: string): Document {
  return numberOr('inFlightCount', { $size: arrayOr(openPath) });
}
