/**
 * JSON fields (`metadata`, payloads, `errorDetails`) between records and documents. The library
 * writes them as the plain JSON they are. Legacy documents may hold BSON values inside them (an
 * ObjectId under `metadata.castId`, a Date under `metadata.jobStartTime`); those are read into
 * their JSON spelling (hex id, ISO date, decimal string), so a record is always plain JSON.
 */
import type { JsonObject, JsonValue } from 'genledger';

function fromBsonValue(value: unknown, depth: number): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return depth > 64 ? null : value.map((item) => fromBsonValue(item, depth + 1));
  if (typeof value === 'object') {
    const bsonType = (value as { _bsontype?: unknown })._bsontype;
    if (typeof bsonType === 'string') return fromBsonType(bsonType, value);
    if (depth > 64) return null;
    const result: JsonObject = {};
    for (const [key, inner] of Object.entries(value)) result[key] = fromBsonValue(inner, depth + 1);
    return result;
  }
  return String(value);
}

function fromBsonType(bsonType: string, value: object): JsonValue {
  switch (bsonType) {
    case 'ObjectId':
      return (value as { toHexString(): string }).toHexString();
    case 'Long':
    case 'Int32':
    case 'Double':
      return Number((value as { valueOf(): unknown }).valueOf());
    case 'Binary':
      return (value as { toString(encoding: string): string }).toString('base64');
    default:
      // Decimal128, Timestamp, BSONRegExp, Code...: their own string form.
      return String(value);
  }
}

/** A stored JSON value read back as plain JSON. */
export function readJson(raw: unknown): JsonValue {
  return fromBsonValue(raw, 0);
}

/** A stored JSON object read back; anything else (legacy junk) reads as `fallback`. */
export function readJsonObject(raw: unknown, fallback: JsonObject | null): JsonObject | null {
  const value = readJson(raw);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : fallback;
}
