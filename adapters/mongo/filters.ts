/**
 * Query conditions shared by the writes and the reads. Like the expressions, each one matches a
 * stored value exactly when the reader would read the value that the domain rule needs, legacy
 * documents included. Range conditions carry their `$type`, so a null never satisfies `$lt`.
 */
import type { Document } from 'mongodb';
import { isObjectIdHex, toStoredId } from './ids.js';

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

/** `_id > afterId` in the order MongoDB sorts ids (strings before ObjectIds). */
export function idAfter(afterId: string | undefined): Document {
  if (afterId === undefined) return {};
  if (isObjectIdHex(afterId)) return { _id: { $gt: toStoredId(afterId) } };
  return { $or: [{ _id: { $type: 'string', $gt: afterId } }, { _id: { $type: 'objectId' } }] };
}
