/**
 * Stored price tables in memory: revisions kept in a map by number, each a copy (the caller's
 * objects and the stored ones never alias). An existing revision is never replaced.
 */
import type { PriceTableStore, StoredPriceTable } from 'genledger/adapter';

export function memoryPriceTables(): { readonly store: PriceTableStore; clear(): void } {
  const revisions = new Map<number, StoredPriceTable>();
  let latest: StoredPriceTable | null = null;
  const copy = (record: StoredPriceTable): StoredPriceTable => structuredClone(record);
  return {
    store: {
      async latest() {
        return latest === null ? null : copy(latest);
      },
      async get(revision) {
        const record = revisions.get(revision);
        return record === undefined ? null : copy(record);
      },
      async append(record) {
        if (revisions.has(record.revision)) return false;
        const stored = copy(record);
        revisions.set(record.revision, stored);
        if (latest === null || stored.revision > latest.revision) latest = stored;
        return true;
      },
    },
    clear() {
      revisions.clear();
      latest = null;
    },
  };
}
