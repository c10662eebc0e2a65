/**
 * Where a cost comes from: usage (named quantities a tool metered), a dated price table, and the
 * provenance every finished generation keeps, so each cost can be explained line by line and
 * re-priced without a silent overwrite.
 *
 * A price table lists, per `toolId` (and optionally per `serviceName`), effective-dated versions;
 * each version prices units (`inputTokens`, `images`, ...) in exact decimal dollars per unit,
 * flat or in graduated tiers. The cost of a usage is computed from the version in force at the
 * generation's `requestTimestamp`, in integers of 10^-18 dollars: no float ever touches it.
 *
 * Pure: the table is data the host supplies; no clock, no I/O.
 */
import { z } from 'zod';
import { dateSchema, idSchema, labelSchema, usdAmountSchema } from './fields.js';
import { formatUsdUnits, InvalidAmountError, MAX_SINGLE_COST_USD, parseSignedUsdUnits, parseUsdUnits, reduceRate, toUsdAmount, type ReducedRate, type UsdAmount } from './money.js';
import { derivePointsFromUnits } from './points.js';

/** A unit a tool meters: a name like `inputTokens`, `images`, `seconds`. */
export const usageUnitSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a unit name of letters, digits and _ (at most 64), starting with a letter');

/** Most units one usage may name. */
export const MAX_USAGE_UNITS = 32;

/** Named, non-negative whole quantities: `{ inputTokens: 1200, outputTokens: 350 }`. */
export const usageSchema = z
  .record(usageUnitSchema, z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER))
  .refine((usage) => Object.keys(usage).length <= MAX_USAGE_UNITS, `must name at most ${MAX_USAGE_UNITS} units`);
export type Usage = Readonly<Record<string, number>>;

/** A decimal amount read once, when the table is parsed: its canonical text and its 10^-18 dollar units. */
export interface ParsedAmount {
  readonly usd: UsdAmount;
  readonly units: bigint;
}

/** A price per unit given by the host: an exact decimal string (a number would carry float noise into a price). */
const unitPriceTextSchema = z.string({ error: 'must be a decimal string like "0.000003"' }).transform((value, context): ParsedAmount => {
  try {
    const units = parseUsdUnits(value);
    return { usd: formatUsdUnits(units), units };
  } catch (error) {
    context.addIssue({ code: 'custom', message: error instanceof InvalidAmountError ? error.reason : 'is not an amount' });
    return z.NEVER;
  }
});

/** One band of a graduated price: quantities up to `upTo` (inclusive, counted from 0), `null` for the last band. */
const tierSchema = z.strictObject({
  upTo: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable(),
  usd: unitPriceTextSchema,
});

const tieredPriceSchema = z
    .strictObject({ tiers: z.array(tierSchema).min(1).max(16) })
    .superRefine(({ tiers }, context) => {
      tiers.forEach((tier, index) => {
        const last = index === tiers.length - 1;
        if (last !== (tier.upTo === null)) {
          context.addIssue({ code: 'custom', path: ['tiers', index, 'upTo'], message: last ? 'must be null on the last tier' : 'must be a number on every tier but the last' });
        }
        const previous = tiers[index - 1]?.upTo;
        if (tier.upTo !== null && previous != null && tier.upTo <= previous) {
          context.addIssue({ code: 'custom', path: ['tiers', index, 'upTo'], message: 'must be greater than the previous tier\'s upTo' });
        }
      });
    });

/** What a host writes for a unit's price. */
export type UnitPriceInput = string | { readonly tiers: readonly { readonly upTo: number | null; readonly usd: string }[] };

/**
 * A unit's price: flat (`"0.000003"`) or graduated tiers, ascending, the last one open (`upTo: null`).
 * Chosen by the value's kind (an object is tiers, anything else a flat price), so a wrong price is
 * told what is wrong with it (`must be a decimal string like "0.000003"`, `tiers.2.upTo: must be
 * null on the last tier`) rather than zod's "Invalid input" for a union none of whose options matched.
 */
export const unitPriceSchema = z.custom<UnitPriceInput>(() => true).transform((value, context): UnitPrice => {
  const result = (value !== null && typeof value === 'object' ? tieredPriceSchema : unitPriceTextSchema).safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});
export type UnitPrice = ParsedAmount | z.output<typeof tieredPriceSchema>;

export const priceVersionSchema = z.strictObject({
  /** Names this version in every cost it computes (`costBasis.versionId`); unique in the table. */
  id: idSchema,
  /** In force for generations requested at or after this instant, until the next version's. */
  effectiveFrom: dateSchema,
  /** Dollars per unit. A usage naming a unit not listed here is unpriced. */
  units: z.record(usageUnitSchema, unitPriceSchema).refine((units) => Object.keys(units).length >= 1, 'must price at least one unit'),
  /** Points per dollar for costs this version computes; omitted: the tracker's `pointsPerUsd`. */
  pointsPerUsd: unitPriceTextSchema.transform((rate) => rate.usd).optional(),
});
export type PriceVersion = z.output<typeof priceVersionSchema>;

export const priceEntrySchema = z.strictObject({
  toolId: idSchema,
  /** Prices this tool only when run by this service; an entry without it prices the tool's other services. */
  serviceName: labelSchema.optional(),
  versions: z.array(priceVersionSchema).min(1, 'must have at least one version'),
});
export type PriceEntry = z.output<typeof priceEntrySchema>;

/** The whole table: entries by tool (and service), version ids unique, dates unique per entry. */
export const priceTableSchema = z.array(priceEntrySchema).superRefine((entries, context) => {
  const keys = new Set<string>();
  const versionIds = new Set<string>();
  entries.forEach((entry, index) => {
    const key = JSON.stringify([entry.toolId, entry.serviceName ?? null]);
    if (keys.has(key)) context.addIssue({ code: 'custom', path: [index, 'toolId'], message: `prices "${entry.toolId}"${entry.serviceName ? ` for "${entry.serviceName}"` : ''} twice` });
    keys.add(key);
    const dates = new Set<number>();
    entry.versions.forEach((version, versionIndex) => {
      if (versionIds.has(version.id)) context.addIssue({ code: 'custom', path: [index, 'versions', versionIndex, 'id'], message: `"${version.id}" names another version too` });
      versionIds.add(version.id);
      if (dates.has(version.effectiveFrom.getTime())) context.addIssue({ code: 'custom', path: [index, 'versions', versionIndex, 'effectiveFrom'], message: 'is the effectiveFrom of another version of this entry' });
      dates.add(version.effectiveFrom.getTime());
    });
  });
});
export type PriceTable = z.output<typeof priceTableSchema>;
export type PriceTableInput = z.input<typeof priceTableSchema>;

/** One band of one line: `quantity` units at `unitPriceUsd` each. */
export interface PriceBand {
  readonly quantity: number;
  readonly unitPriceUsd: UsdAmount;
  readonly amountUsd: UsdAmount;
}

/** One unit of a usage priced: its quantity, the bands it fell in, and their sum. */
export interface PriceLine {
  readonly unit: string;
  readonly quantity: number;
  readonly bands: readonly PriceBand[];
  readonly amountUsd: UsdAmount;
}

/** What a computed cost was computed from: the version, and every line of the sum. */
export interface CostBasis {
  readonly toolId: string;
  /** The entry's service, `null` for the tool's entry for every service. */
  readonly serviceName: string | null;
  readonly versionId: string;
  readonly effectiveFrom: Date;
  readonly lines: readonly PriceLine[];
  /** The rate points were derived with; `null` when the host gave the points. */
  readonly pointsPerUsd: UsdAmount | null;
}

/**
 * How a usage was priced: a cost with its basis and the points derived with the basis's rate (0
 * without one), or the reason it has no price.
 */
export type PricedUsage =
  | { readonly priced: true; readonly costUsd: UsdAmount; readonly pointsSpent: number; readonly basis: CostBasis }
  | { readonly priced: false; readonly reason: string };

/**
 * `reported` by the host, `computed` from usage, `backfilled` by the legacy tools, `repriced` from
 * one version to another, `unpriced`: usage with no price in force (cost 0 until re-priced).
 */
export const COST_SOURCES = ['reported', 'computed', 'backfilled', 'repriced', 'unpriced'] as const;
export type CostSource = (typeof COST_SOURCES)[number];

/** A version ready to price: its instant as a number, its units in a map, its points rate read. */
interface CompiledVersion {
  readonly version: PriceVersion;
  readonly from: number;
  /** A `Map`, not the record: a unit named like an `Object.prototype` member (`constructor`) is not priced by it. */
  readonly units: ReadonlyMap<string, UnitPrice>;
  /** The version's own points rate; `null`: the caller's. */
  readonly rate: PointsRate | null;
}

/** An entry ready to price: its versions, latest first. */
export interface CompiledPriceEntry {
  readonly entry: PriceEntry;
  readonly versions: readonly CompiledVersion[];
}

/** A tool's entries: its entry for every service, and those for one service. */
interface CompiledToolPrices {
  general: CompiledPriceEntry | null;
  readonly byService: Map<string, CompiledPriceEntry>;
}

/**
 * A price table compiled once, when it is loaded, into what pricing one usage reads: entries by
 * tool (and service), versions latest first with their instants as numbers, units in maps, points
 * rates reduced (`reduceRate`). {@link priceCompiled} prices from it; {@link priceUsage} and {@link findPriceEntry}
 * compile the given table's entries for the tool asked about, so there is one way to choose an entry, a version and a price.
 */
export interface CompiledPriceTable {
  readonly table: PriceTable;
  readonly byTool: ReadonlyMap<string, CompiledToolPrices>;
}

/** A points rate (points per dollar) as text and as the fraction points are derived with, read once. */
export interface PointsRate {
  readonly usd: UsdAmount;
  readonly reduced: ReducedRate;
}

/** `rate` read once for {@link priceCompiled}; `null` for none. */
export function pointsRate(rate: UsdAmount | null): PointsRate | null {
  return rate === null ? null : { usd: rate, reduced: reduceRate(parseUsdUnits(rate)) };
}

function compilePriceEntry(entry: PriceEntry): CompiledPriceEntry {
  return {
    entry,
    versions: entry.versions
      .map((version) => ({
        version,
        from: version.effectiveFrom.getTime(),
        units: new Map(Object.entries(version.units)),
        rate: pointsRate(version.pointsPerUsd ?? null),
      }))
      .sort((left, right) => right.from - left.from),
  };
}

export function compilePriceTable(table: PriceTable): CompiledPriceTable {
  const byTool = new Map<string, CompiledToolPrices>();
  for (const entry of table) {
    const compiled = compilePriceEntry(entry);
    let prices = byTool.get(entry.toolId);
    if (prices === undefined) byTool.set(entry.toolId, (prices = { general: null, byService: new Map() }));
    if (entry.serviceName === undefined) prices.general = compiled;
    else prices.byService.set(entry.serviceName, compiled);
  }
  return { table, byTool };
}

/** The entry pricing `toolId` for `serviceName`: the service's own entry, else the tool's entry for every service. */
export function compiledEntryFor(compiled: CompiledPriceTable, toolId: string, serviceName: string): CompiledPriceEntry | null {
  const prices = compiled.byTool.get(toolId);
  return prices === undefined ? null : (prices.byService.get(serviceName) ?? prices.general);
}

/**
 * `table` compiled for one tool: only its entries (in table order, so the choice is the whole
 * table's). A one-off price or lookup then costs a scan of the table, not compiling every entry of
 * every tool (on a table of 1,000 tools that was over 1 ms a call, against some 10 us).
 */
function compiledForTool(table: PriceTable, toolId: string): CompiledPriceTable {
  return compilePriceTable(table.filter((entry) => entry.toolId === toolId));
}

/** The entry pricing `toolId` for `serviceName` (see {@link compiledEntryFor}). */
export function findPriceEntry(table: PriceTable, toolId: string, serviceName: string): PriceEntry | null {
  return compiledEntryFor(compiledForTool(table, toolId), toolId, serviceName)?.entry ?? null;
}

/** The version in force at `instant`: the latest `effectiveFrom` at or before it. */
function compiledVersionAt(entry: CompiledPriceEntry, instant: number): CompiledVersion | null {
  for (const version of entry.versions) if (version.from <= instant) return version;
  return null;
}

/** One band, frozen: `quantity` units at `price` each. */
function frozenBand(quantity: number, price: ParsedAmount, units: bigint): PriceBand {
  return Object.freeze({ quantity, unitPriceUsd: price.usd, amountUsd: formatUsdUnits(units) });
}

/**
 * Prices `quantity` units, flat or band by band (graduated: each band prices the units inside it),
 * and puts the line in `lines`, kept sorted by unit name. Returns the line's 10^-18 dollar units.
 * Every object is built frozen: a store may keep them as they are.
 */
function addLine(lines: PriceLine[], unit: string, quantity: number, price: UnitPrice): bigint {
  let line: PriceLine;
  let total: bigint;
  if (!('tiers' in price)) {
    // Flat: one band, whose amount is the line's.
    total = BigInt(quantity) * price.units;
    const band = frozenBand(quantity, price, total);
    line = Object.freeze({ unit, quantity, bands: Object.freeze([band]), amountUsd: band.amountUsd });
  } else {
    const bands: PriceBand[] = [];
    total = 0n;
    let below = 0;
    for (const tier of price.tiers) {
      if (below >= quantity) break;
      const top = tier.upTo === null ? quantity : Math.min(tier.upTo, quantity);
      const units = BigInt(top - below) * tier.usd.units;
      total += units;
      bands.push(frozenBand(top - below, tier.usd, units));
      below = top;
    }
    if (bands.length === 0) bands.push(frozenBand(0, price.tiers[0]!.usd, 0n));
    line = Object.freeze({ unit, quantity, bands: Object.freeze(bands), amountUsd: formatUsdUnits(total) });
  }
  // Insertion by unit name (a usage names a few units): the lines come out in `sort()`'s order.
  let index = lines.length;
  lines.push(line);
  while (index > 0 && lines[index - 1]!.unit > unit) {
    lines[index] = lines[index - 1]!;
    index -= 1;
  }
  lines[index] = line;
  return total;
}

/**
 * The exact cost of `usage` for `toolId` run by `serviceName`, requested at `at`, under `table`,
 * with the lines it was computed from. Unpriced (with the reason) when no entry prices the tool,
 * no version is in force at `at`, or the usage names a unit the version does not price.
 *
 * @param pointsPerUsd the tracker's rate, used when the version has none; `null`: no points derived
 */
export function priceUsage(
  table: PriceTable,
  toolId: string,
  serviceName: string,
  usage: Usage,
  at: Date,
  pointsPerUsd: UsdAmount | null = null,
): PricedUsage {
  return priceCompiled(compiledForTool(table, toolId), toolId, serviceName, usage, at, pointsRate(pointsPerUsd));
}

/**
 * {@link priceUsage} under a table compiled once ({@link compilePriceTable}): what a tracker runs
 * on every completion with usage. The basis and its lines are new objects, frozen, with an
 * `effectiveFrom` of their own (the table's `Date` stays the table's).
 */
export function priceCompiled(compiled: CompiledPriceTable, toolId: string, serviceName: string, usage: Usage, at: Date, fallbackRate: PointsRate | null = null): PricedUsage {
  const entry = compiledEntryFor(compiled, toolId, serviceName);
  if (entry === null) return { priced: false, reason: `no price for tool "${toolId}"` };
  const inForce = compiledVersionAt(entry, at.getTime());
  if (inForce === null) return { priced: false, reason: `no version of tool "${toolId}"'s price in force at ${at.toISOString()}` };
  const { version } = inForce;
  const lines: PriceLine[] = [];
  let total = 0n;
  let unpriced: string | null = null;
  for (const unit in usage) {
    if (!Object.hasOwn(usage, unit)) continue;
    const price = inForce.units.get(unit);
    // The first unpriced unit in name order is the one named, whatever order the usage lists them in.
    if (price === undefined) {
      if (unpriced === null || unit < unpriced) unpriced = unit;
    } else if (unpriced === null) {
      total += addLine(lines, unit, usage[unit]!, price);
    }
  }
  if (unpriced !== null) return { priced: false, reason: `price version "${version.id}" does not price unit "${unpriced}"` };
  if (total > MAX_SINGLE_COST_UNITS) {
    return { priced: false, reason: `the usage costs ${formatUsdUnits(total)} under version "${version.id}", more than one generation may (${MAX_SINGLE_COST_USD})` };
  }
  const rate = inForce.rate ?? fallbackRate;
  return {
    priced: true,
    costUsd: formatUsdUnits(total),
    pointsSpent: rate === null ? 0 : derivePointsFromUnits(total, rate.reduced),
    basis: Object.freeze({
      toolId: entry.entry.toolId,
      serviceName: entry.entry.serviceName ?? null,
      versionId: version.id,
      effectiveFrom: new Date(inForce.from),
      lines: Object.freeze(lines),
      pointsPerUsd: rate === null ? null : rate.usd,
    }),
  };
}

const MAX_SINGLE_COST_UNITS = parseUsdUnits(MAX_SINGLE_COST_USD);

const priceBandSchema = z.strictObject({ quantity: z.number().int().min(0), unitPriceUsd: usdAmountSchema, amountUsd: usdAmountSchema });
const priceLineSchema = z.strictObject({ unit: usageUnitSchema, quantity: z.number().int().min(0), bands: z.array(priceBandSchema).readonly(), amountUsd: usdAmountSchema });
export const costBasisSchema = z.strictObject({
  toolId: idSchema,
  serviceName: labelSchema.nullable(),
  versionId: idSchema,
  effectiveFrom: dateSchema,
  lines: z.array(priceLineSchema).readonly(),
  pointsPerUsd: usdAmountSchema.nullable(),
});

/** A signed whole number of 10^-18 dollars, as text: `"-0.25"`, `"0.1"`, `"0"`. */
const signedUsdSchema = z.string().regex(/^-?\d+(\.\d*[1-9])?$/, 'must be a signed canonical decimal');

/**
 * One correction of a finished generation's figures (a re-price): what they were, what they are,
 * and the differences its parents received. Appended, never rewritten.
 */
export const costAdjustmentSchema = z.strictObject({
  reason: z.literal('reprice'),
  fromVersionId: idSchema.nullable(),
  toVersionId: idSchema,
  previousCostUsd: usdAmountSchema,
  costUsd: usdAmountSchema,
  deltaUsd: signedUsdSchema,
  previousPointsSpent: z.number().int().min(0),
  pointsSpent: z.number().int().min(0),
  deltaPoints: z.number().int(),
  at: dateSchema,
});
export type CostAdjustment = z.output<typeof costAdjustmentSchema>;

/** The figures a completion first stored, kept when a re-price changes them. */
export const originalCostSchema = z.strictObject({
  source: z.enum(COST_SOURCES),
  costUsd: usdAmountSchema,
  pointsSpent: z.number().int().min(0),
  basis: costBasisSchema.nullable(),
});

/** One figure the legacy backfill wrote: the field, what the legacy record held there, and the repair. */
const backfilledFigureSchema = z.strictObject({
  field: z.enum(['costUsd', 'pointsSpent', 'protocolNetPoints']),
  /** What the legacy record held, as text: a number as JavaScript prints it (`0.30000000000000004`), a string in quotes, `null`, `missing`. */
  was: z.string().max(200),
  /** The legacy problem repaired (`float-cost`, `null-cost`, `string-cost`, `missing-points`; docs/mongodb.md lists them). */
  repair: z.string().max(64),
});

/** What the legacy backfill wrote into a finished generation's cost figures, and when (source `backfilled`). */
export const costBackfillSchema = z.strictObject({
  at: dateSchema,
  figures: z.array(backfilledFigureSchema).min(1).readonly(),
});
export type CostBackfill = z.output<typeof costBackfillSchema>;

/**
 * A finished generation's cost provenance (`Generation.costProvenance`): where its cost came from,
 * the usage and the lines it was computed from, what it first was and every adjustment since.
 * `null` on a generation that is open, or whose host reported a cost and no usage (`reported`).
 */
export const costProvenanceSchema = z.strictObject({
  source: z.enum(COST_SOURCES),
  usage: usageSchema.nullable(),
  basis: costBasisSchema.nullable(),
  /** Why it is unpriced (source `unpriced`), else `null`. */
  unpricedReason: z.string().nullable(),
  /** The first completion's figures, once an adjustment changed them; `null` until then. */
  original: originalCostSchema.nullable(),
  adjustments: z.array(costAdjustmentSchema).readonly(),
  /** Source `backfilled`: what the legacy backfill found and wrote. Absent on every other provenance. */
  backfill: costBackfillSchema.optional(),
});
export type CostProvenance = z.output<typeof costProvenanceSchema>;

/** Where a generation's cost came from: its provenance's source, `reported` for a cost with none. */
export function costSourceOf(generation: { readonly costProvenance?: CostProvenance | null | undefined }): CostSource {
  return generation.costProvenance?.source ?? 'reported';
}

/** The difference `to - from` of two amounts, as a signed canonical decimal. */
export function usdDifference(from: UsdAmount, to: UsdAmount): string {
  return formatUsdUnits(parseUsdUnits(to) - parseUsdUnits(from));
}

/** `amount + delta` for a signed delta (see {@link usdDifference}); throws when the result would be negative. */
export function addSignedUsd(amount: UsdAmount, delta: string): UsdAmount {
  const sum = parseUsdUnits(amount) + parseSignedUsdUnits(delta);
  if (sum < 0n) throw new RangeError(`${amount} + ${delta} is negative`);
  return formatUsdUnits(sum);
}

/**
 * A stored provenance read back: `null` for none (SQL NULL, an absent field), else checked by its
 * schema, with its instants revived from ISO strings (JSON, jsonb) or taken as `Date`s (BSON). A
 * store that keeps the provenance as JSON reads it with this, so every store returns the same record.
 */
export function readStoredCostProvenance(value: unknown): CostProvenance | null {
  if (value === null || value === undefined) return null;
  const instant = (at: unknown) => (typeof at === 'string' ? new Date(at) : at);
  const basis = (stored: unknown) =>
    stored !== null && typeof stored === 'object' ? { ...(stored as Record<string, unknown>), effectiveFrom: instant((stored as Record<string, unknown>).effectiveFrom) } : stored;
  const stored = value as Record<string, unknown>;
  const original = stored.original as Record<string, unknown> | null | undefined;
  return costProvenanceSchema.parse({
    ...stored,
    basis: basis(stored.basis),
    original: original !== null && typeof original === 'object' ? { ...original, basis: basis(original.basis) } : original,
    adjustments: Array.isArray(stored.adjustments)
      ? stored.adjustments.map((adjustment: Record<string, unknown>) => ({ ...adjustment, at: instant(adjustment.at) }))
      : stored.adjustments,
    ...(stored.backfill !== null && typeof stored.backfill === 'object'
      ? { backfill: { ...(stored.backfill as Record<string, unknown>), at: instant((stored.backfill as Record<string, unknown>).at) } }
      : {}),
  });
}

/**
 * A parsed table in its canonical input form: every price its canonical decimal text, tiers as
 * `{ upTo, usd }`, dates as `Date`s. Parsing the result gives the same table; it is what a store
 * keeps (`LedgerRepository.prices`), so two processes saving the same table save the same value.
 */
export function storablePriceTable(table: PriceTable): PriceTableInput {
  const price = (unit: UnitPrice) => ('tiers' in unit ? { tiers: unit.tiers.map((tier) => ({ upTo: tier.upTo, usd: tier.usd.usd })) } : unit.usd);
  return table.map((entry) => ({
    toolId: entry.toolId,
    ...(entry.serviceName === undefined ? {} : { serviceName: entry.serviceName }),
    versions: entry.versions.map((version) => ({
      id: version.id,
      effectiveFrom: new Date(version.effectiveFrom.getTime()),
      units: Object.fromEntries(
        Object.keys(version.units)
          .sort()
          .map((unit) => [unit, price(version.units[unit]!)]),
      ),
      ...(version.pointsPerUsd === undefined ? {} : { pointsPerUsd: version.pointsPerUsd }),
    })),
  }));
}

/**
 * A price table read back from a store or a JSON file: each version's `effectiveFrom` written as
 * ISO text (JSON, jsonb) becomes a `Date`; a `Date` (BSON) stays. Nothing else is touched: the
 * result is checked by `priceTableSchema` where it is used, so a wrong stored table names its field.
 */
export function reviveStoredPriceTable(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((entry: unknown) => {
    if (entry === null || typeof entry !== 'object' || !Array.isArray((entry as { versions?: unknown }).versions)) return entry;
    return {
      ...entry,
      versions: (entry as { versions: unknown[] }).versions.map((version) => {
        const effectiveFrom = version !== null && typeof version === 'object' ? (version as { effectiveFrom?: unknown }).effectiveFrom : undefined;
        return typeof effectiveFrom === 'string' ? { ...(version as object), effectiveFrom: new Date(effectiveFrom) } : version;
      }),
    };
  });
}
