/**
 * Ids between the port (opaque strings) and the production documents (ObjectIds).
 *
 * The production collections key every record by an ObjectId and link records by ObjectId
 * (`masterAccountId`, `spellId`, `stepGenerationIds`...). A port id that is exactly an ObjectId's
 * hex spelling (24 lowercase hex digits) is stored as that ObjectId, so the library's records join
 * with the existing ones; any other id is stored as the string it is. Uppercase hex stays a string:
 * an ObjectId reads back lowercase, and an id must read back exactly as it was given.
 */
import { ObjectId } from 'mongodb';

/** What an id is stored as. */
export type StoredId = ObjectId | string;

/** Any stored document, of any era: only its `_id` is known to be there. */
export interface StoredDocument {
  _id: StoredId;
  [field: string]: unknown;
}

const OBJECT_ID_HEX = /^[0-9a-f]{24}$/;

export function isObjectIdHex(id: string): boolean {
  return OBJECT_ID_HEX.test(id);
}

export function toStoredId(id: string): StoredId {
  return isObjectIdHex(id) ? ObjectId.createFromHexString(id) : id;
}

export function toStoredIdOrNull(id: string | null): StoredId | null {
  return id === null ? null : toStoredId(id);
}

function isObjectIdLike(value: unknown): value is { toHexString(): string } {
  return typeof value === 'object' && value !== null && (value as { _bsontype?: unknown })._bsontype === 'ObjectId';
}

/** Reads a stored id (an ObjectId, a string, or a legacy number) back into the port's string; `null` when absent. */
export function fromStoredId(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string') return raw.length > 0 ? raw : null;
  if (isObjectIdLike(raw)) return raw.toHexString();
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  if (typeof raw === 'object' && '_id' in raw) return fromStoredId((raw as { _id: unknown })._id);
  return null;
}

/**
 * When the document was made, read from its `_id` when that is an ObjectId (4 bytes of seconds),
 * else the epoch. Used as the last fallback for a legacy document without its timestamps; the
 * writes use the same fallback, computed here from the id they are given.
 */
export function idTimestamp(id: string): Date {
  return isObjectIdHex(id) ? new Date(Number.parseInt(id.slice(0, 8), 16) * 1000) : new Date(0);
}
