/**
 * Stored price tables on MongoDB: one document per revision in `genledgerPriceTables`
 * (`collections.priceTables`), `{ _id: revision, table, savedAt }`, inserted and never updated.
 * The `_id` is the revision, so the collection's own unique `_id` index refuses a second revision
 * `n`: two processes saving at once leave one document, and the other's insert fails with E11000
 * (reported as `false`). BSON keeps the table's dates as dates.
 */
import type { Collection, Db } from 'mongodb';
import type { PriceTableInput } from 'genledger';
import { reviveStoredPriceTable, type PriceTableStore, type StoredPriceTable } from 'genledger/adapter';
import { isDuplicateKeyError } from './conditional-write.js';

/** A stored revision as MongoDB holds it. */
export interface PriceTableDocument {
  /** The revision. */
  _id: number;
  table: PriceTableInput;
  savedAt: Date;
}

export function toPriceTableDocument(record: StoredPriceTable): PriceTableDocument {
  return { _id: record.revision, table: record.table, savedAt: record.savedAt };
}

export function fromPriceTableDocument(document: PriceTableDocument): StoredPriceTable {
  // A table written as JSON by other tools (dates as text) reads the same.
  return { revision: document._id, table: reviveStoredPriceTable(document.table) as PriceTableInput, savedAt: document.savedAt };
}

export function mongoPriceTables(db: Db, collectionName: string): PriceTableStore {
  const collection: Collection<PriceTableDocument> = db.collection<PriceTableDocument>(collectionName);
  return {
    async latest() {
      // Served by the _id index, walked backwards.
      const [document] = await collection.find({}, { sort: { _id: -1 }, limit: 1 }).toArray();
      return document === undefined ? null : fromPriceTableDocument(document);
    },
    async get(revision) {
      const document = await collection.findOne({ _id: revision });
      return document === null ? null : fromPriceTableDocument(document);
    },
    async append(record) {
      try {
        await collection.insertOne(toPriceTableDocument(record));
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
  };
}
