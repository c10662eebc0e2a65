/**
 * Running one write of the port: one atomic conditional update on one document, and what to
 * return from it.
 *
 * The update is sent with `returnDocument: 'before'`, and the result the port returns is the domain
 * reducer run on that before-image. Why the before-image: MongoDB returns one image, and the port
 * must report `previousStatus` (the status before the write), which only the before-image holds
 * without adding a bookkeeping field to every production document. The after-image the reducer
 * computes from it is exactly what the update stored: the filter guaranteed the reducer's
 * precondition held on that very document, the update ran atomically on it, and the update does
 * what the reducer does (which is what the conformance suite checks, reading the stored document
 * back after every write).
 *
 * When the filter matches nothing, the document is read once to tell "missing" (`null`) from "the
 * rule says no" (the reducer's unchanged result, e.g. an apply whose child was already applied).
 * That read is off the hot path: it only happens for repeats and refusals. If the reducer says the
 * write would change the document after all, another write got in between: the update is tried
 * again, a few times.
 */
import type { Collection, Document, UpdateFilter } from 'mongodb';
import { toStoredId, type StoredDocument } from './ids.js';

/** How many times a write is tried when the document keeps changing between its update and the diagnosing read. */
const ATTEMPTS = 4;

export interface ConditionalUpdate {
  readonly filter: Document;
  readonly update: Document[] | UpdateFilter<StoredDocument>;
}

export interface WriteTarget<TRecord> {
  readonly collection: Collection<StoredDocument>;
  readonly read: (document: Document) => TRecord;
  /** `"generation"`, `"cast"`, `"cook"`, for messages. */
  readonly entity: string;
}

/**
 * Runs `plan` on the document with this id and returns `reduce` of the record it applied to.
 * `wrote` says whether a reducer result is a change. `plan` is `null` for calls the domain never
 * lets change anything (pausing a cast): then only the read happens.
 */
export async function conditionalWrite<TRecord, TResult>(
  target: WriteTarget<TRecord>,
  id: string,
  plan: ConditionalUpdate | null,
  reduce: (record: TRecord) => TResult,
  wrote: (result: TResult) => boolean,
): Promise<TResult | null> {
  const _id = toStoredId(id);
  for (let attempt = 1; ; attempt += 1) {
    if (plan !== null) {
      const before = await target.collection.findOneAndUpdate({ ...plan.filter, _id }, plan.update, { returnDocument: 'before' });
      if (before !== null) {
        const result = reduce(target.read(before));
        if (!wrote(result)) {
          // The filter said the rule applies and the reducer says it does not: the filter is wrong
          // for this document. Say so loudly rather than report a write that did not happen.
          throw new Error(
            `[genledger] [mongo] the conditional update on ${target.entity} "${id}" matched a document the domain rule leaves unchanged; its stored fields are outside what the adapter recognises (run the legacy audit)`,
          );
        }
        return result;
      }
    }
    const current = await target.collection.findOne({ _id });
    if (current === null) return null;
    const result = reduce(target.read(current));
    if (!wrote(result)) return result;
    if (plan === null || attempt >= ATTEMPTS) {
      throw new Error(
        plan === null
          ? `[genledger] [mongo] no update is defined for a write the domain says changes ${target.entity} "${id}"`
          : `[genledger] [mongo] the conditional update on ${target.entity} "${id}" did not match although the domain rule applies; either the document kept changing (${ATTEMPTS} attempts) or a stored value is spelt in a way the adapter's filters do not recognise (run the legacy audit and backfill)`,
      );
    }
  }
}

/** Whether a driver error is a duplicate key (E11000). */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
