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
import { compilePriceTable, pointsRate, priceCompiled, priceTableSchema, type CompiledPriceTable, type PointsRate, type PriceTable, type PricedUsage, type Usage } from '../domain/pricing.js';
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

export class PriceBook {
  /** The table held, compiled when it was taken (a completion prices from it without reading the table again). */
  private compiled: CompiledPriceTable;
  private readonly rate: PointsRate | null;
  private storedRevision: number | null = null;
  private storedSavedAt: Date | null = null;
  private readonly keys = new Map<string, PricingKey>();

  constructor(
    table: PriceTable,
    /** The tracker's `pointsPerUsd`, for versions without their own rate. */
    readonly pointsPerUsd: UsdAmount | null,
  ) {
    this.compiled = compilePriceTable(table);
    this.rate = pointsRate(pointsPerUsd);
  }

  get table(): PriceTable {
    return this.compiled.table;
  }

  /** Whether any price is configured (without one, usage is unpriced and nothing needs a key). */
  get empty(): boolean {
    return this.compiled.table.length === 0;
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
    this.compiled = compilePriceTable(parsePriceTable(table, argument));
    this.storedRevision = null;
    this.storedSavedAt = null;
  }

  /**
   * Takes a stored revision (already parsed) unless the book holds that one or a later one: a
   * slow read never puts an older table back. Whether it took it.
   */
  adopt(table: PriceTable, revision: number, savedAt: Date): boolean {
    if (this.storedRevision !== null && this.storedRevision >= revision) return false;
    this.compiled = compilePriceTable(table);
    this.storedRevision = revision;
    this.storedSavedAt = savedAt;
    return true;
  }

  /** `priceUsage` under the table held, compiled once (see `compilePriceTable`). */
  price(toolId: string, serviceName: string, usage: Usage, at: Date): PricedUsage {
    return priceCompiled(this.compiled, toolId, serviceName, usage, at, this.rate);
  }

  remember(generation: Generation): void {
    if (this.compiled.table.length === 0) return;
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
