/**
 * One in-memory table: records by id, an idempotency-key index, and a write primitive that runs a
 * reducer synchronously. JavaScript runs each write to completion before any other code, so every
 * write is atomic however many async calls are in flight, which is the guarantee a database gives
 * the other adapters with a conditional update.
 *
 * Reducers build a new record for every write, so a record handed to a caller never changes under
 * it. Records are typed read-only; JSON given by the caller (metadata, payloads) is copied and
 * frozen on the way in, so neither side can change the other's. Records themselves are not frozen:
 * freezing every write cost a tenth of the tracker's time in the benchmarks.
 */
import { ConflictError } from 'genledger';
import type { Insertion, WriteResult } from 'genledger/adapter';

export interface TableRecord {
  readonly id: string;
  readonly idempotencyKey: string | null;
  readonly status: string;
}

export class Table<T extends TableRecord> {
  private readonly rows = new Map<string, T>();
  private readonly byIdempotencyKey = new Map<string, string>();

  constructor(
    private readonly entity: string,
    private readonly onStore: (previous: T | undefined, next: T) => void,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  clear(): void {
    this.rows.clear();
    this.byIdempotencyKey.clear();
  }

  get(ids: readonly string[]): T[] {
    const found: T[] = [];
    for (const id of new Set(ids)) {
      const record = this.rows.get(id);
      if (record) found.push(record);
    }
    return found;
  }

  /** The stored record holding this idempotency key, or `null`. */
  findByIdempotencyKey(key: string): T | null {
    const id = this.byIdempotencyKey.get(key);
    return id === undefined ? null : this.rows.get(id)!;
  }

  /** The stored record with this id (no array, no set: for single-record paths). */
  find(id: string): T | undefined {
    return this.rows.get(id);
  }

  insert(record: T): Insertion<T> {
    const existing = this.existingFor(record);
    if (existing !== null) return { created: false, record: existing };
    this.store(undefined, record);
    if (record.idempotencyKey !== null) this.byIdempotencyKey.set(record.idempotencyKey, record.id);
    return { created: true, record };
  }

  /**
   * What stands in the way of `insert(record)`: the record that holds its idempotency key (an
   * insert would return it), or a `ConflictError` (thrown) for an id already stored; `null` when
   * the insert would store `record`. Writes nothing.
   */
  existingFor(record: T): T | null {
    if (record.idempotencyKey !== null) {
      const existingId = this.byIdempotencyKey.get(record.idempotencyKey);
      if (existingId !== undefined) return this.rows.get(existingId)!;
    }
    if (this.rows.has(record.id)) throw new ConflictError('id', `a ${this.entity} with id "${record.id}" already exists`);
    return null;
  }

  /** Runs `reduce` on the stored record and stores its result if it changed; `null` when missing. */
  write(id: string, reduce: (record: T) => WriteResult<T>): WriteResult<T> | null {
    const current = this.rows.get(id);
    if (!current) return null;
    const result = reduce(current);
    // The stored record is the reducer's new record itself (fresh, and read-only from here on).
    if (result.changed) this.store(current, result.record);
    return result;
  }

  /** Stores `next` as the new version of the record with its id: a write decided, in the same synchronous step, on the version stored now. */
  storeDecided(next: T): void {
    this.store(this.rows.get(next.id), next);
  }

  /** Replaces a record only if its version is still `expectedVersion`. */
  replaceIfVersion(id: string, expectedVersion: number, next: T & { version: number }): T | null {
    const current = this.rows.get(id) as (T & { version: number }) | undefined;
    if (!current || current.version !== expectedVersion) return null;
    this.store(current, next);
    return next;
  }

  private store(previous: T | undefined, next: T): void {
    this.rows.set(next.id, next);
    this.onStore(previous, next);
  }
}

const EMPTY_OBJECT = Object.freeze({});

/** A deep, frozen copy of a JSON value, so the caller's object and the stored one never alias. */
export function snapshotJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (!Array.isArray(value) && isEmpty(value)) return EMPTY_OBJECT as T;
  return deepFreeze(structuredClone(value));
}

/** Whether an object has no enumerable keys (without building the array of its keys). */
function isEmpty(value: object): boolean {
  for (const _key in value) return false;
  return true;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
