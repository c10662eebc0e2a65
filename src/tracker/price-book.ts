/**
 * The tracker's price table, held in the process: computing a cost from usage reads it from here
 * and asks the store nothing. The host replaces it with `tracker.setPrices(table)` (each process
 * sharing a store holds its own copy: refresh every process, e.g. on a config push or a timer,
 * then run `reprice` for what was priced before; see docs/pricing.md, "Refreshing the table").
 *
 * A cost is computed from the version in force at the generation's `requestTimestamp`, for its
 * `toolId` and `serviceName`: fields `completeGeneration` is not given. The book remembers them for
 * the generations this tracker recorded (a bounded map, oldest dropped first), so the common case
 * (recorded and completed by the same process) costs no read; a completion of a generation this
 * process did not record, or no longer remembers, reads it once.
 */
import type { z } from 'zod';
import type { UsdAmount } from '../domain/money.js';
import { priceTableSchema, priceUsageWith, type PriceEntry, type PriceTable, type PricedUsage, type Usage } from '../domain/pricing.js';
import type { Generation } from '../domain/records.js';
import { parseInput } from './parse.js';

/** What pricing needs of a generation; fixed when it is recorded. */
export interface PricingKey {
  readonly toolId: string;
  readonly serviceName: string;
  readonly requestTimestamp: Date;
}

/** Generations whose pricing key is remembered; beyond it, the oldest is forgotten (and read if completed). */
export const REMEMBERED_PRICING_KEYS = 10_000;

/** A tool's entries: its entry for every service, and those for one service. */
interface ToolPrices {
  general: PriceEntry | null;
  readonly byService: Map<string, PriceEntry>;
}

/** The table's entries by tool, so a cost finds its entry without scanning every tool's. */
function indexByTool(table: PriceTable): Map<string, ToolPrices> {
  const index = new Map<string, ToolPrices>();
  for (const entry of table) {
    let prices = index.get(entry.toolId);
    if (prices === undefined) index.set(entry.toolId, (prices = { general: null, byService: new Map() }));
    if (entry.serviceName === undefined) prices.general = entry;
    else prices.byService.set(entry.serviceName, entry);
  }
  return index;
}

export class PriceBook {
  private current: PriceTable;
  private byTool: Map<string, ToolPrices>;
  private storedRevision: number | null = null;
  private storedSavedAt: Date | null = null;
  private readonly keys = new Map<string, PricingKey>();

  constructor(
    table: PriceTable,
    /** The tracker's `pointsPerUsd`, for versions without their own rate. */
    readonly pointsPerUsd: UsdAmount | null,
  ) {
    this.current = table;
    this.byTool = indexByTool(table);
  }

  get table(): PriceTable {
    return this.current;
  }

  /** Whether any price is configured (without one, usage is unpriced and nothing needs a key). */
  get empty(): boolean {
    return this.current.length === 0;
  }

  /** The stored revision the table is (`null`: a table given in-process). */
  get revision(): number | null {
    return this.storedRevision;
  }

  /** When the stored revision the table is was saved (`null` as `revision`). */
  get savedAt(): Date | null {
    return this.storedSavedAt;
  }

  /** Replaces the table; `argument` names it in the `ValidationError` a wrong table throws. */
  replace(table: unknown, argument: string): void {
    this.current = parsePriceTable(table, argument);
    this.byTool = indexByTool(this.current);
    this.storedRevision = null;
    this.storedSavedAt = null;
  }

  /**
   * Takes a stored revision (already parsed) unless the book holds that one or a later one: a
   * slow read never puts an older table back. Whether it took it.
   */
  adopt(table: PriceTable, revision: number, savedAt: Date): boolean {
    if (this.storedRevision !== null && this.storedRevision >= revision) return false;
    this.current = table;
    this.byTool = indexByTool(table);
    this.storedRevision = revision;
    this.storedSavedAt = savedAt;
    return true;
  }

  /**
   * `priceUsage` under the table held, its entry found through the index by tool (the service's
   * own entry, else the tool's entry for every service, as `findPriceEntry` chooses).
   */
  price(toolId: string, serviceName: string, usage: Usage, at: Date): PricedUsage {
    const prices = this.byTool.get(toolId);
    const entry = prices === undefined ? null : (prices.byService.get(serviceName) ?? prices.general);
    return priceUsageWith(entry, toolId, usage, at, this.pointsPerUsd);
  }

  remember(generation: Generation): void {
    if (this.current.length === 0) return;
    if (this.keys.size >= REMEMBERED_PRICING_KEYS) {
      const oldest = this.keys.keys().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    this.keys.set(generation.id, { toolId: generation.toolId, serviceName: generation.serviceName, requestTimestamp: generation.requestTimestamp });
  }

  /** The remembered key, forgotten once the generation is finished (it is not priced again by a completion). */
  take(generationId: string): PricingKey | undefined {
    const key = this.keys.get(generationId);
    if (key !== undefined) this.keys.delete(generationId);
    return key;
  }
}

/** Checks a price table with its schema: a wrong one is a `ValidationError` naming the field (`options.prices.0.versions.1.units.images`). */
export function parsePriceTable(table: unknown, argument: string): z.output<typeof priceTableSchema> {
  return parseInput(priceTableSchema, table, argument);
}
