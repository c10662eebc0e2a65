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

async function checkStored<T extends Versioned>(collection: Collection<Document>, read: (document: Document) => T, record: T, operation: string, log: StoredImageLog) {
  const document = await collection.findOne({ _id: toStoredId(record.id) as never });
  if (document === null) throw new Error(`[stored-image check] ${operation}: ${record.id} is gone after the write`);
  const stored = read(document);
  if (stored.version !== record.version) {
    log.overtaken += 1;
    return;
  }
  log.compared += 1;
  if (!isDeepStrictEqual(stored, record)) {
    const differing = Object.keys(record).filter((key) => !isDeepStrictEqual((stored as Record<string, unknown>)[key], (record as Record<string, unknown>)[key]));
    const detail = differing.map((key) => `${key}: stored ${JSON.stringify((stored as Record<string, unknown>)[key])}, reducer ${JSON.stringify((record as Record<string, unknown>)[key])}`);
    throw new Error(`[stored-image check] ${operation} on ${record.id}: the stored document differs from the reducer's result: ${detail.join('; ')}`);
  }
}

function wrapStore<S extends object, T extends Versioned>(
  store: S,
  collection: Collection<Document>,
  read: (document: Document) => T,
  storeName: string,
  log: StoredImageLog,
): S {
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(store) as (keyof S & string)[]) {
    const method = store[key];
    if (typeof method !== 'function') continue;
    wrapped[key] = async (...args: unknown[]) => {
      const result = (await (method as (...parameters: unknown[]) => Promise<unknown>).apply(store, args)) as
        | { changed?: boolean; outcome?: string; record?: T }
        | null;
      const wrote = result !== null && typeof result === 'object' && (result.changed === true || result.outcome === 'attached');
      if (wrote && result.record) await checkStored(collection, read, result.record, `${storeName}.${key}`, log);
      return result;
    };
  }
  return wrapped as S;
}

export function withStoredImageCheck<R extends LedgerRepository>(
  repository: R,
  collections: { generations: Collection<Document>; casts: Collection<Document>; cooks: Collection<Document> },
  log: StoredImageLog,
): R {
  return {
    ...repository,
    generations: wrapStore(repository.generations, collections.generations, fromGenerationDocument as (document: Document) => Generation, 'generations', log),
    casts: wrapStore(repository.casts, collections.casts, fromCastDocument as (document: Document) => Cast, 'casts', log),
    cooks: wrapStore(repository.cooks, collections.cooks, fromCookDocument as (document: Document) => Cook, 'cooks', log),
  };
}
