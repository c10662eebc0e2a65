/**
 * Price tables stored through the repository (`LedgerRepository.prices`, stores with
 * `capabilities.prices`): `setPrices(table, { store: true })` appends the table as the next
 * revision, `refreshPrices()` takes the latest revision into this tracker's price book, and with
 * `pricesRefreshMs` a timer does so on its own. The completion path reads the book only: a cost
 * computed from usage asks the store nothing (docs/pricing.md, "Stored tables").
 */
import { z } from 'zod';
import { reviveStoredPriceTable, storablePriceTable, type PriceTable } from '../domain/pricing.js';
import { ConflictError, UnsupportedError } from '../errors.js';
import type { PriceTableStore, StoredPriceTable } from '../price-port.js';
import type { TrackerContext } from './context.js';
import { parsePriceTable } from './price-book.js';
import { parseInput } from './parse.js';

/** What the tracker prices with, after a save or a refresh. */
export interface PricesState {
  /** The stored revision in use; `null` when the table was given in-process (or none is stored). */
  readonly revision: number | null;
  /** When that revision was saved; `null` as `revision`. */
  readonly savedAt: Date | null;
  /** Whether this call changed the table the tracker prices with. */
  readonly changed: boolean;
}

export const setPricesOptionsSchema = z
  .strictObject({
    /** `true`: append the table to the store as its next revision, then price with it. @default false */
    store: z.boolean().optional(),
  })
  .optional();

function priceStore(context: TrackerContext, operation: string): PriceTableStore {
  const { repository } = context;
  if (repository.capabilities.prices !== true || repository.prices === undefined) {
    throw new UnsupportedError(
      repository.name,
      `prices.${operation}`,
      `the ${repository.name} store does not keep price tables (capabilities.prices is not true): ${operation} is not available; pass the table to createTracker({ prices }) or setPrices(table) in each process`,
    );
  }
  return repository.prices;
}

/** Refuses `pricesRefreshMs` on a store without stored tables, when the tracker is made. */
export function requireStoredPrices(context: TrackerContext): void {
  priceStore(context, 'latest');
}

/** A stored revision parsed; a wrong one is a `ValidationError` on `prices (stored revision N)`. */
function parseStored(stored: StoredPriceTable): PriceTable {
  return parsePriceTable(reviveStoredPriceTable(stored.table), `prices (stored revision ${stored.revision})`);
}

const sameTable = (left: PriceTable, right: PriceTable) => JSON.stringify(storablePriceTable(left)) === JSON.stringify(storablePriceTable(right));

/**
 * `setPrices(table, { store: true })`: checks the table whole (a wrong one writes nothing), appends
 * it as the latest revision + 1 unless it equals the latest (then nothing is written), and prices
 * with it. Another process saving the same revision first is a `ConflictError` on `prices`.
 */
export async function savePrices(context: TrackerContext, input: unknown): Promise<PricesState> {
  const store = priceStore(context, 'append');
  const table = parsePriceTable(input, 'prices');
  const latest = await store.latest();
  if (latest !== null && sameTable(parseStored(latest), table)) {
    const changed = context.prices.adopt(table, latest.revision, latest.savedAt);
    return { ...heldRevision(context), changed };
  }
  const record: StoredPriceTable = { revision: (latest?.revision ?? 0) + 1, table: storablePriceTable(table), savedAt: context.clock.now() };
  if (!(await store.append(record))) {
    throw new ConflictError('prices', `another process saved price table revision ${record.revision} first; refreshPrices() reads it, then save again if yours should replace it`);
  }
  context.prices.adopt(table, record.revision, record.savedAt);
  return { revision: record.revision, savedAt: record.savedAt, changed: true };
}

/** `refreshPrices()`: the latest stored revision into the price book (a wrong stored table throws and the book keeps its table). */
export async function refreshPrices(context: TrackerContext): Promise<PricesState> {
  const latest = await priceStore(context, 'latest').latest();
  const changed = latest !== null && latest.revision > (context.prices.revision ?? 0) ? context.prices.adopt(parseStored(latest), latest.revision, latest.savedAt) : false;
  return { ...heldRevision(context), changed };
}

/** The revision the book prices with and when it was saved (both `null` for an in-process table). */
function heldRevision(context: TrackerContext): { revision: number | null; savedAt: Date | null } {
  return { revision: context.prices.revision, savedAt: context.prices.savedAt };
}

/**
 * Re-reads the stored table every `intervalMs`, the first time at once, until stopped. The timer
 * never keeps the process alive (`unref`) and holds the tracker weakly (a `WeakRef` to its context):
 * a tracker the host dropped is collected, and its timer finds it gone and stops polling the store.
 * A failed read is logged and the book keeps its table.
 */
export function followStoredPrices(context: TrackerContext, intervalMs: number): () => void {
  const tracker = new WeakRef(context);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    (timer as { unref?: () => void }).unref?.();
  };
  // Only `tick` and `schedule` outlive a read, and neither holds the context between reads.
  function tick(): void {
    timer = undefined;
    const held = tracker.deref();
    if (stopped || held === undefined) return;
    refreshInBackground(held).finally(schedule);
  }
  tick();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

async function refreshInBackground(context: TrackerContext): Promise<void> {
  try {
    await refreshPrices(context);
  } catch (error) {
    context.logger.warn('[genledger] could not refresh the stored price table; pricing with the table held', { error });
  }
}

export function parseSetPricesOptions(options: unknown): { store: boolean } {
  return { store: parseInput(setPricesOptionsSchema, options, 'options')?.store ?? false };
}
