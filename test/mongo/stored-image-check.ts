/**
 * Makes every write of the adapter prove itself against the stored document. The adapter returns
 * the domain reducer's after-image (computed from the before-image MongoDB returned); this wrapper
 * reads the document back right after each write that changed something and requires that it reads
 * as exactly that record. So each write of the conformance suite checks the filter and the update
 * pipeline that MongoDB (or mingo) really evaluated, not just the reducer.
 *
 * A later write may land between a write and this read (the suite races calls on purpose); the
 * check compares only when the stored `version` is still the one the write produced.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Collection, Document } from 'mongodb';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import type { LedgerRepository } from '../../src/port.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { toStoredId } from '../../adapters/mongo/ids.js';

export interface StoredImageLog {
  /** Writes whose stored document was compared. */
  compared: number;
  /** Writes that a later write overtook before the read. */
  overtaken: number;
}

type Versioned = { id: string; version: number };

/**
 * The value as data: objects rebuilt as plain objects, so a JSON payload the host passed with a
 * null prototype (`Object.create(null)`) compares equal to the plain object BSON reads back. Dates
 * and arrays keep their kind.
 */
function asData(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(asData);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, asData(inner)]));
}

async function checkStored<T extends Versioned>(collection: Collection<Document>, read: (document: Document) => T, record: T, operation: string, log: StoredImageLog) {
  const document = await collection.findOne({ _id: toStoredId(record.id) as never });
  if (document === null) throw new Error(`[stored-image check] ${operation}: ${record.id} is gone after the write`);
  const stored = read(document);
  if (stored.version !== record.version) {
    log.overtaken += 1;
    return;
  }
  log.compared += 1;
  if (!isDeepStrictEqual(asData(stored), asData(record))) {
    const differing = Object.keys(record).filter((key) => !isDeepStrictEqual(asData((stored as Record<string, unknown>)[key]), asData((record as Record<string, unknown>)[key])));
    const detail = differing.map((key) => `${key}: stored ${JSON.stringify((stored as Record<string, unknown>)[key])}, reducer ${JSON.stringify((record as Record<string, unknown>)[key])}`);
    throw new Error(`[stored-image check] ${operation} on ${record.id}: the stored document differs from the reducer's result: ${detail.join('; ')}`);
  }
}

type Kind = 'generation' | 'cast' | 'cook';
type Collections = { generations: Collection<Document>; casts: Collection<Document>; cooks: Collection<Document> };

function kindOf(record: object): Kind {
  if ('toolId' in record) return 'generation';
  if ('spellId' in record) return 'cast';
  return 'cook';
}

const READERS: Record<Kind, (document: Document) => Versioned> = {
  generation: fromGenerationDocument as (document: Document) => Generation,
  cast: fromCastDocument as (document: Document) => Cast,
  cook: fromCookDocument as (document: Document) => Cook,
};

/**
 * The records a port call reports as written: a write result that changed, a creation's record
 * and the parents it attached to, a settlement's or a cast ending's writes that changed.
 */
function writtenRecords(result: unknown): Versioned[] {
  if (result === null || typeof result !== 'object') return [];
  const value = result as Record<string, unknown>;
  if (value.outcome === 'created' || value.outcome === 'attached') {
    return [value.record, value.cast, value.cook].filter((record): record is Versioned => typeof record === 'object' && record !== null);
  }
  if ('changed' in value) return value.changed === true && value.record ? [value.record as Versioned] : [];
  // A Settlement or a CastEnding: each of its writes.
  return ['generation', 'cast', 'cook', 'castPiece'].flatMap((key) => (key in value ? writtenRecords(value[key]) : []));
}

async function checkAll(collections: Collections, result: unknown, operation: string, log: StoredImageLog): Promise<void> {
  for (const record of writtenRecords(result)) {
    const kind = kindOf(record);
    const collection = kind === 'generation' ? collections.generations : kind === 'cast' ? collections.casts : collections.cooks;
    await checkStored(collection, READERS[kind], record, operation, log);
  }
}

function wrapMethods<S extends object>(store: S, collections: Collections, storeName: string, log: StoredImageLog): S {
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(store) as (keyof S & string)[]) {
    const method = store[key];
    if (typeof method !== 'function') continue;
    wrapped[key] = async (...args: unknown[]) => {
      const result = await (method as (...parameters: unknown[]) => Promise<unknown>).apply(store, args);
      await checkAll(collections, result, `${storeName}.${key}`, log);
      return result;
    };
  }
  return wrapped as S;
}

export function withStoredImageCheck<R extends LedgerRepository>(repository: R, collections: Collections, log: StoredImageLog): R {
  const top = wrapMethods(
    { insertAttached: repository.insertAttached, settleGeneration: repository.settleGeneration.bind(repository) },
    collections,
    'repository',
    log,
  );
  return {
    ...repository,
    generations: wrapMethods(repository.generations, collections, 'generations', log),
    casts: wrapMethods(repository.casts, collections, 'casts', log),
    cooks: wrapMethods(repository.cooks, collections, 'cooks', log),
    insertAttached: top.insertAttached,
    settleGeneration: top.settleGeneration,
  };
}
