/**
 * Query conditions shared by the writes and the reads. Like the expressions, each one matches a
 * stored value exactly when the reader would read the value that the domain rule needs, legacy
 * documents included. Range conditions carry their `$type`, so a null never satisfies `$lt`.
 */
import type { Document } from 'mongodb';
import { toStoredId, type StoredId } from './ids.js';

/** The stored instant at `path` is before `instant`. */
export function dateBefore(path: string, instant: Date): Document {
  return { [path]: { $type: 'date', $lt: instant } };
}

export function notADate(path: string): Document {
  return { [path]: { $not: { $type: 'date' } } };
}

export function notANumber(path: string): Document {
  return { [path]: { $not: { $type: 'number' } } };
}

/** The list at `path` holds fewer than `count` entries (or is not a list). */
export function fewerThan(path: string, count: number): Document {
  return count <= 0 ? { _id: { $exists: false } } : { [`${path}.${count - 1}`]: { $exists: false } };
}

/** `inFlightCount` as read (the stored count, else the open entries at `openPath`) is below `cap`. */
export function inFlightBelow(openPath: string, cap: number): Document {
  return { $or: [{ inFlightCount: { $type: 'number', $lt: cap } }, { $and: [notANumber('inFlightCount'), fewerThan(openPath, cap)] }] };
}

/** `inFlightCount` as read is 0. */
export function nothingInFlight(openPath: string): Document {
  return { $or: [{ inFlightCount: 0 }, { $and: [notANumber('inFlightCount'), fewerThan(openPath, 1)] }] };
}

/**
 * A generation's `updatedAt` as read is before `cutoff`: the stored `updatedAt`, else (legacy) its
 * `responseTimestamp`, else its `requestTimestamp`, else the time in its ObjectId (`idTimeBefore`).
 */
export function generationUpdatedBefore(cutoff: Date, idTimeBefore: boolean): Document {
  const branches: Document[] = [
    dateBefore('updatedAt', cutoff),
    { $and: [notADate('updatedAt'), dateBefore('responseTimestamp', cutoff)] },
    { $and: [notADate('updatedAt'), notADate('responseTimestamp'), dateBefore('requestTimestamp', cutoff)] },
  ];
  if (idTimeBefore) branches.push({ $and: [notADate('updatedAt'), notADate('responseTimestamp'), notADate('requestTimestamp')] });
  return { $or: branches };
}

/** A parent's `updatedAt` as read is before `cutoff`: the stored one, else (legacy) its `startedAt`. */
export function parentUpdatedBefore(cutoff: Date): Document {
  return { $or: [dateBefore('updatedAt', cutoff), { $and: [notADate('updatedAt'), dateBefore('startedAt', cutoff)] }] };
}

/** Combines conditions; `$and` keeps two `$or`s apart. */
export function allOf(...conditions: Document[]): Document {
  return conditions.length === 1 ? conditions[0]! : { $and: conditions };
}

/**
 * Not hidden: a document stored with `version: 0` is a creation under way (rollup/create.ts),
 * which no read reports and no write but its creation's touches.
 */
export const VISIBLE: Document = { version: { $ne: 0 } };

/**
 * The `_id`s sorted after `id` (`direction` 1) or before it (-1) in the order `sort: { _id }` uses:
 * BSON's, numbers < strings < ObjectIds (and the other types after strings). `$gt`/`$lt` alone
 * compare within one BSON type only, so after a string id (a tracker's first page starts after
 * id "") they would skip every ObjectId, and before an ObjectId every string. The types after
 * strings are said as "not null, number or string", which mingo's checks understand too (its
 * `$type: 'objectId'` matches nothing). One `$or` branch each.
 */
export function idsBeyond(id: StoredId, direction: 1 | -1): Document[] {
  const isString = typeof id === 'string';
  if (direction === 1) {
    return isString ? [{ _id: { $gt: id } }, { _id: { $not: { $type: ['null', 'number', 'string'] } } }] : [{ _id: { $gt: id } }];
  }
  return [{ _id: { $lt: id } }, { _id: { $type: isString ? ['number'] : ['number', 'string'] } }];
}

/** `_id > afterId` in the order MongoDB sorts ids (see {@link idsBeyond}). */
export function idAfter(afterId: string | undefined): Document {
  if (afterId === undefined) return {};
  return { $or: idsBeyond(toStoredId(afterId), 1) };
}
