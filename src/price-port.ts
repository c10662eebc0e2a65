/**
 * The stored price table part of the repository port (`LedgerRepository.prices`): a table saved
 * through the store, so every process sharing it prices with the same one.
 *
 * Each save is a new document, `revision` 1, 2, 3...: an earlier revision is never rewritten, so
 * the store keeps the history of every table in force (each table holds the effective-dated
 * versions the domain prices with, and a computed cost names its version). A store declares it
 * with `capabilities.prices`; without it, the tracker refuses stored tables with an
 * `UnsupportedError`.
 * @experimental
 */
import type { PriceTableInput } from './domain/pricing.js';

/** One saved table. */
export interface StoredPriceTable {
  /** 1 for the first table saved, then one more per save. */
  readonly revision: number;
  /** The table in its canonical form (`storablePriceTable`): prices as decimal text, dates as `Date`s. */
  readonly table: PriceTableInput;
  /** When it was saved (the saving tracker's clock). */
  readonly savedAt: Date;
}

export interface PriceTableStore {
  /** The latest revision, or `null` when no table was ever saved. */
  latest(): Promise<StoredPriceTable | null>;
  /** One revision (for history), or `null`. */
  get(revision: number): Promise<StoredPriceTable | null>;
  /**
   * Stores `record` as a new document if no document holds its `revision` yet, in one atomic
   * operation (a unique key, never check-then-write). `false`: that revision exists (another
   * process saved it first) and nothing was written. Nothing is ever overwritten.
   */
  append(record: StoredPriceTable): Promise<boolean>;
}
