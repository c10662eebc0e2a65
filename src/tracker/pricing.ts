/**
 * Costs from usage, their explanation, and re-pricing, driven through the port. What a price
 * means is the domain's (`src/domain/pricing.ts`); what an adjustment writes is the domain's
 * `adjust` composite, run by the store as one atomic operation (`adjustGeneration`).
 */
import { z } from 'zod';
import { dateSchema, idSchema, labelSchema } from '../domain/fields.js';
import { derivePointsSpent } from '../domain/points.js';
import { formatUsdUnits, parseSignedUsdUnits, type UsdAmount } from '../domain/money.js';
import {
  costSourceOf,
  usdDifference,
  type CostAdjustment,
  type CostBasis,
  type CostProvenance,
  type CostSource,
  type Usage,
} from '../domain/pricing.js';
import type { Generation } from '../domain/records.js';
import type { CostAdjustmentResult, CostCorrection } from '../domain/rollup/adjustment.js';
import { TERMINAL_GENERATION_STATUSES, isTerminalGenerationStatus } from '../domain/status.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { TrackerContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { PricingKey } from './price-book.js';
import { emitCastWrite, emitCookWrite } from './rollup.js';
import { FAN_OUT, forEachLimited } from './concurrency.js';

/** The cost figures of one completion, and their provenance. */
export interface CompletionCost {
  readonly costUsd: UsdAmount;
  readonly pointsSpent: number;
  readonly costProvenance: CostProvenance;
}

const NO_ADJUSTMENTS: readonly CostAdjustment[] = Object.freeze([]);

/**
 * A provenance the tracker just built, frozen throughout (the usage is the tracker's parsed copy;
 * a basis from the price table comes frozen, with a `Date` of its own). A store may keep a frozen
 * provenance as it is rather than copy it (the memory store does): on the completion path that
 * copy was most of the time pricing added.
 */
function frozenProvenance(source: CostSource, usage: Usage, basis: CostBasis | null, unpricedReason: string | null): CostProvenance {
  return Object.freeze({ source, usage: Object.freeze(usage), basis, unpricedReason, original: null, adjustments: NO_ADJUSTMENTS });
}

/** `basis` for points the host gave: no rate (they are not derived, and a re-price keeps them). */
function hostPointsBasis(basis: CostBasis): CostBasis {
  return Object.freeze({ ...basis, pointsPerUsd: null });
}

/**
 * The pricing key of a generation: remembered when this tracker recorded it (no promise: this is
 * on every priced completion), else read (one store read). `null` with no table.
 */
export function pricingKeyFor(context: TrackerContext, generationId: string): PricingKey | null | Promise<PricingKey> {
  if (context.prices.empty) return null;
  return context.prices.take(generationId) ?? readPricingKey(context, generationId);
}

async function readPricingKey(context: TrackerContext, generationId: string): Promise<PricingKey> {
  const [generation] = await context.repository.generations.get([generationId]);
  if (generation === undefined) throw new NotFoundError('generation', generationId, 'generationId');
  return generation;
}

/**
 * The cost of a completion given `usage`: the host's `costUsd` when it gave one (source
 * `reported`, usage kept), else computed from the version in force at the generation's request
 * time (`computed`), else 0 and `unpriced`, with the reason. Points: the host's, else derived
 * with the version's rate (or the tracker's).
 */
export function costOfUsage(
  context: TrackerContext,
  key: PricingKey | null,
  usage: Usage,
  given: { readonly costUsd?: UsdAmount | undefined; readonly pointsSpent?: number | undefined },
): CompletionCost {
  if (given.costUsd !== undefined) {
    const pointsSpent = derivePointsSpent({ pointsSpent: given.pointsSpent, costUsd: given.costUsd, pointsPerUsd: context.pointsPerUsd });
    return { costUsd: given.costUsd, pointsSpent, costProvenance: frozenProvenance('reported', usage, null, null) };
  }
  const priced = key === null ? { priced: false as const, reason: 'no price table (createTracker({ prices }) or tracker.setPrices())' } : context.prices.price(key.toolId, key.serviceName, usage, key.requestTimestamp);
  if (!priced.priced) return { costUsd: '0', pointsSpent: given.pointsSpent ?? 0, costProvenance: frozenProvenance('unpriced', usage, null, priced.reason) };
  if (given.pointsSpent === undefined) return { costUsd: priced.costUsd, pointsSpent: priced.pointsSpent, costProvenance: frozenProvenance('computed', usage, priced.basis, null) };
  return { costUsd: priced.costUsd, pointsSpent: given.pointsSpent, costProvenance: frozenProvenance('computed', usage, hostPointsBasis(priced.basis), null) };
}

/** The figures a completion first stored (before any adjustment): what a retried completion is compared with. */
export function firstCompletionFigures(generation: Generation): { readonly costUsd: UsdAmount; readonly pointsSpent: number } {
  const original = generation.costProvenance?.original;
  return original ? { costUsd: original.costUsd, pointsSpent: original.pointsSpent } : generation;
}

/** Whether two usages name the same quantities. */
export function sameUsage(left: Usage | null | undefined, right: Usage | null | undefined): boolean {
  if (left == null || right == null) return left == right;
  const leftUnits = Object.keys(left);
  return leftUnits.length === Object.keys(right).length && leftUnits.every((unit) => right[unit] === left[unit]);
}

/** `costExplanation`: a generation's cost, line by line. */
export interface CostExplanation {
  readonly generationId: string;
  readonly source: CostSource;
  readonly costUsd: UsdAmount;
  readonly pointsSpent: number;
  readonly usage: Usage | null;
  readonly basis: CostBasis | null;
  readonly original: CostProvenance['original'];
  readonly adjustments: readonly CostAdjustment[];
  /** The formula, one line per step, for a person to read. */
  readonly lines: readonly string[];
}

const dollars = (amount: string) => (amount.startsWith('-') ? `-$${amount.slice(1)}` : `$${amount}`);
const signed = (amount: string) => (amount.startsWith('-') ? dollars(amount) : `+$${amount}`);

function basisLines(costUsd: UsdAmount, pointsSpent: number, basis: CostBasis): string[] {
  const lines: string[] = [];
  for (const line of basis.lines) {
    const bands = line.bands.map((band) => `${band.quantity} × ${dollars(band.unitPriceUsd)}`).join(' + ');
    lines.push(`${line.unit}: ${bands} = ${dollars(line.amountUsd)}`);
  }
  const entry = basis.serviceName === null ? `tool "${basis.toolId}"` : `tool "${basis.toolId}" on "${basis.serviceName}"`;
  lines.push(`total: ${dollars(costUsd)} (price version "${basis.versionId}" of ${entry}, in force from ${basis.effectiveFrom.toISOString()})`);
  lines.push(basis.pointsPerUsd === null ? `points: ${pointsSpent} (given by the host)` : `points: ceil(${dollars(costUsd)} × ${basis.pointsPerUsd}) = ${pointsSpent}`);
  return lines;
}

/** The explanation of a generation's cost as stored. */
export function explainGenerationCost(generation: Generation): CostExplanation {
  const provenance = generation.costProvenance ?? null;
  const source = costSourceOf(generation);
  const lines: string[] = [];
  const usage = provenance?.usage ?? null;
  if (!isTerminalGenerationStatus(generation.status)) lines.push(`not finished (${generation.status}): no cost yet`);
  if (usage !== null) lines.push(`usage: ${Object.entries(usage).map(([unit, quantity]) => `${unit} ${quantity}`).join(', ') || 'none'}`);
  const original = provenance?.original ?? null;
  const first = original ?? { source, costUsd: generation.costUsd, pointsSpent: generation.pointsSpent, basis: provenance?.basis ?? null };
  if (first.source === 'computed' && first.basis !== null) lines.push(...basisLines(first.costUsd, first.pointsSpent, first.basis));
  else if (first.source === 'unpriced') lines.push(`unpriced: ${provenance?.unpricedReason ?? original?.source ?? 'no price in force'}; cost ${dollars(first.costUsd)}, points ${first.pointsSpent}`);
  else if (first.source === 'backfilled' && provenance?.backfill !== undefined) {
    lines.push(`backfilled: ${dollars(first.costUsd)}, points ${first.pointsSpent} (written by the legacy backfill at ${provenance.backfill.at.toISOString()})`);
    for (const figure of provenance.backfill.figures) lines.push(`${figure.field}: the legacy record held ${figure.was} (${figure.repair})`);
  } else if (provenance === null) {
    // A host's cost without usage, or a record written before provenance was kept (legacy data).
    lines.push(`${first.source}: ${dollars(first.costUsd)}, points ${first.pointsSpent} (given by the host; no provenance stored with it)`);
  } else lines.push(`${first.source}: ${dollars(first.costUsd)}, points ${first.pointsSpent}${first.source === 'reported' ? ' (given by the host)' : ''}`);
  for (const adjustment of provenance?.adjustments ?? []) {
    lines.push(
      `adjusted ${adjustment.at.toISOString()} (${adjustment.reason}, ${adjustment.fromVersionId === null ? 'unpriced' : `"${adjustment.fromVersionId}"`} -> "${adjustment.toVersionId}"): ` +
        `${dollars(adjustment.previousCostUsd)} -> ${dollars(adjustment.costUsd)} (${signed(adjustment.deltaUsd)}), points ${adjustment.previousPointsSpent} -> ${adjustment.pointsSpent}`,
    );
  }
  if (original !== null && provenance?.basis) {
    lines.push('now:');
    lines.push(...basisLines(generation.costUsd, generation.pointsSpent, provenance.basis));
  }
  return {
    generationId: generation.id,
    source,
    costUsd: generation.costUsd,
    pointsSpent: generation.pointsSpent,
    usage,
    basis: provenance?.basis ?? null,
    original,
    adjustments: provenance?.adjustments ?? [],
    lines,
  };
}

export const repriceInputSchema = z
  .strictObject({
    toolId: idSchema,
    /** Only generations run by this service. */
    serviceName: labelSchema.optional(),
    /** Generations requested at or after this instant. */
    from: dateSchema,
    /** ... and before this one. */
    to: dateSchema,
    /** `true`: report the differences and write nothing. `false`: apply each as an adjustment. */
    dryRun: z.boolean({ error: 'must be true or false (say it: a re-price that writes is never a default)' }),
    /** From `nextCursor` of the previous page. */
    cursor: z.string().nullish(),
    /** Generations of the tool read per page. @default 500 */
    limit: z.number().int().min(1).max(5_000).optional(),
    /** Called after each page with the position reached (a progress report for long runs). */
    onProgress: z.custom<(progress: RepriceProgress) => void>((value) => typeof value === 'function', { error: 'must be a function (progress) => void' }).optional(),
  })
  .refine((input) => input.from < input.to, { path: ['to'], message: 'must be after from' });
export type RepriceInput = z.input<typeof repriceInputSchema>;

export interface RepriceProgress {
  /** Generations of the tool read in this call so far (of any service). */
  readonly scanned: number;
  /** Generations whose cost differs under the current table. */
  readonly differing: number;
  /** The request time reached. */
  readonly reached: Date | null;
}

/** One generation whose cost differs under the current table. */
export interface RepriceDifference {
  readonly generationId: string;
  readonly castId: string | null;
  readonly cookId: string | null;
  readonly masterAccountId: string;
  readonly fromVersionId: string | null;
  readonly toVersionId: string;
  readonly previousCostUsd: UsdAmount;
  readonly costUsd: UsdAmount;
  /** Signed: `costUsd - previousCostUsd`. */
  readonly deltaUsd: string;
  readonly previousPointsSpent: number;
  readonly pointsSpent: number;
  readonly deltaPoints: number;
  /** Whether this call applied it (always `false` in a dry run). */
  readonly applied: boolean;
}

/** The sum of the differences one parent receives (in this page). */
export interface ParentDifference {
  readonly kind: 'cast' | 'cook';
  readonly id: string;
  readonly deltaUsd: string;
  readonly deltaPoints: number;
}

/**
 * The sum of the differences of one account's generations (in this page), by `masterAccountId`.
 * A report, not a charge: applying a re-price corrects the books' cost figures (generations and
 * their parents) and writes nothing to the account's balance or ledger (docs/pricing.md).
 */
export interface AccountDifference {
  readonly masterAccountId: string;
  readonly deltaUsd: string;
  readonly deltaPoints: number;
  /** Generations of the account that differ. */
  readonly generations: number;
}

/** One page of a re-price. */
export interface RepriceReport {
  readonly dryRun: boolean;
  /** Generations of the tool read (of any service; `serviceName` is filtered after reading). */
  readonly scanned: number;
  /** Finished generations of the tool with usage, priced under the current table. */
  readonly considered: number;
  readonly differences: readonly RepriceDifference[];
  readonly parents: readonly ParentDifference[];
  /** The differences summed per account (`masterAccountId`), in order of first appearance. */
  readonly accounts: readonly AccountDifference[];
  /** Generations of the tool left alone: a reported cost (the host's figure stands), no usage, or no price in force now. */
  readonly skipped: { readonly reported: number; readonly unpricedNow: number };
  readonly totalDeltaUsd: string;
  /** Pass as `cursor` for the next page; `null` when the range is done. */
  readonly nextCursor: string | null;
}

type ParsedReprice = z.output<typeof repriceInputSchema>;

/** Attempts of one adjustment whose gate moved (a racing re-price) before giving up with a conflict. */
const ADJUST_ATTEMPTS = 8;

/** The figures a generation would have under the current table, or why it is left alone. */
function repricedFigures(context: TrackerContext, generation: Generation): { costUsd: UsdAmount; pointsSpent: number; basis: CostBasis } | 'reported' | 'unpriced' {
  const provenance = generation.costProvenance;
  if (!provenance || provenance.usage === null || provenance.source === 'reported' || provenance.source === 'backfilled') return 'reported';
  const priced = context.prices.price(generation.toolId, generation.serviceName, provenance.usage, generation.requestTimestamp);
  if (!priced.priced) return 'unpriced';
  // Points the host gave stay (the basis has no rate); derived points follow the new cost.
  const hostPoints = provenance.basis !== null ? provenance.basis.pointsPerUsd === null : provenance.original?.basis?.pointsPerUsd === null;
  return hostPoints ? { costUsd: priced.costUsd, pointsSpent: generation.pointsSpent, basis: hostPointsBasis(priced.basis) } : priced;
}

/** One page of `tracker.reprice()`. */
export async function reprice(context: TrackerContext, input: ParsedReprice): Promise<RepriceReport> {
  const { repository } = context;
  if (!input.dryRun && typeof repository.adjustGeneration !== 'function') {
    throw new ConflictError(
      'input.dryRun',
      `repository "${repository.name}" cannot adjust generations (it has no adjustGeneration), so a re-price can only be a dry run: pass dryRun: true`,
    );
  }
  const pageSize = input.limit ?? 500;
  const after = input.cursor ? decodeCursor(input.cursor) : { requestTimestamp: input.from, id: '' };
  // The store filters by tool (an index on tool, request time, id): a page costs the tool's
  // generations, not every tool's in the range.
  const page = await repository.generations.list({ order: 'asc', toolId: input.toolId, statuses: TERMINAL_GENERATION_STATUSES, limit: pageSize, after });
  const differences: RepriceDifference[] = [];
  const parents = new Map<string, { kind: 'cast' | 'cook'; id: string; units: bigint; points: number }>();
  let considered = 0;
  let reported = 0;
  let unpricedNow = 0;
  let scanned = 0;
  let reached: Date | null = null;
  let total = 0n;
  let ended = page.length < pageSize;
  const accounts = new Map<string, { units: bigint; points: number; generations: number }>();
  const addToParent = (kind: 'cast' | 'cook', id: string | null, deltaUsd: string, deltaPoints: number) => {
    if (id === null) return;
    const key = `${kind}:${id}`;
    const entry = parents.get(key) ?? { kind, id, units: 0n, points: 0 };
    entry.units += parseSignedUsdUnits(deltaUsd);
    entry.points += deltaPoints;
    parents.set(key, entry);
  };
  let last: Generation | undefined;
  const ofTool: Generation[] = [];
  for (const listed of page) {
    if (listed.requestTimestamp >= input.to) {
      ended = true;
      break;
    }
    scanned += 1;
    last = listed;
    reached = listed.requestTimestamp;
    if (listed.toolId === input.toolId && (input.serviceName === undefined || listed.serviceName === input.serviceName)) ofTool.push(listed);
  }
  const outcomes = await repricePage(context, ofTool, input.dryRun);
  for (const difference of outcomes) {
    if (difference === 'reported') reported += 1;
    else if (difference === 'unpriced') unpricedNow += 1;
    else {
      considered += 1;
      if (difference === null) continue;
      differences.push(difference);
      total += parseSignedUsdUnits(difference.deltaUsd);
      addToParent('cast', difference.castId, difference.deltaUsd, difference.deltaPoints);
      addToParent('cook', difference.cookId, difference.deltaUsd, difference.deltaPoints);
      const account = accounts.get(difference.masterAccountId) ?? { units: 0n, points: 0, generations: 0 };
      account.units += parseSignedUsdUnits(difference.deltaUsd);
      account.points += difference.deltaPoints;
      account.generations += 1;
      accounts.set(difference.masterAccountId, account);
    }
  }
  input.onProgress?.({ scanned, differing: differences.length, reached });
  return {
    dryRun: input.dryRun,
    scanned,
    considered,
    differences,
    parents: [...parents.values()].map((entry) => ({ kind: entry.kind, id: entry.id, deltaUsd: formatUsdUnits(entry.units), deltaPoints: entry.points })),
    accounts: [...accounts].map(([masterAccountId, entry]) => ({ masterAccountId, deltaUsd: formatUsdUnits(entry.units), deltaPoints: entry.points, generations: entry.generations })),
    skipped: { reported, unpricedNow },
    totalDeltaUsd: formatUsdUnits(total),
    nextCursor: ended || last === undefined ? null : encodeCursor(last),
  };
}

type Outcome = RepriceDifference | null | 'reported' | 'unpriced';

/** What re-pricing `generation` asks: left alone (why), nothing differing (`null`), or its correction. */
function correctionFor(
  context: TrackerContext,
  generation: Generation,
): 'reported' | 'unpriced' | null | { correction(): CostCorrection; difference(applied: boolean): RepriceDifference } {
  const figures = repricedFigures(context, generation);
  if (typeof figures === 'string') return figures;
  const deltaUsd = usdDifference(generation.costUsd, figures.costUsd);
  const deltaPoints = figures.pointsSpent - generation.pointsSpent;
  if (deltaUsd === '0' && deltaPoints === 0) return null;
  return {
    // Read the clock only when it is applied (a dry run reads none).
    correction: () => ({
      expectedAdjustments: generation.costProvenance?.adjustments.length ?? 0,
      costUsd: figures.costUsd,
      pointsSpent: figures.pointsSpent,
      basis: figures.basis,
      at: context.clock.now(),
    }),
    difference: (applied) => ({
      generationId: generation.id,
      castId: generation.castId,
      cookId: generation.cookId,
      masterAccountId: generation.masterAccountId,
      fromVersionId: generation.costProvenance?.basis?.versionId ?? null,
      toVersionId: figures.basis.versionId,
      previousCostUsd: generation.costUsd,
      costUsd: figures.costUsd,
      deltaUsd,
      previousPointsSpent: generation.pointsSpent,
      pointsSpent: figures.pointsSpent,
      deltaPoints,
      applied,
    }),
  };
}

/** The events of an adjustment that changed the generation (after its write landed). */
function emitAdjusted(context: TrackerContext, result: CostAdjustmentResult): void {
  const bus = context.bus;
  const adjusted = result.generation.record;
  if (bus.has('generationUpdate')) bus.emit('generationUpdate', { change: 'costAdjusted', generation: adjusted, castId: adjusted.castId, cookId: adjusted.cookId });
  if (result.cast?.changed) emitCastWrite(context, 'costAdjusted', result.cast);
  if (result.cook?.changed) emitCookWrite(context, 'costAdjusted', result.cook);
}

/**
 * A page's outcomes, in its order. A store with `adjustGenerations` gets the page's corrections in
 * one call (each keeps its own gate; a closed one is retried as `repriceOne` does); otherwise each
 * adjustment is one atomic store operation on its own, so the page runs with a bounded fan-out
 * (any order leaves the same books; the report keeps the page's order).
 */
async function repricePage(context: TrackerContext, page: readonly Generation[], dryRun: boolean): Promise<Outcome[]> {
  const outcomes = new Array<Outcome>(page.length);
  const { adjustGenerations } = context.repository;
  if (dryRun || typeof adjustGenerations !== 'function') {
    await forEachLimited(
      page.map((_generation, index) => index),
      FAN_OUT,
      async (index) => {
        outcomes[index] = await repriceOne(context, page[index]!, dryRun);
      },
    );
    return outcomes;
  }
  const asked: { index: number; correction: CostCorrection; difference(applied: boolean): RepriceDifference }[] = [];
  page.forEach((generation, index) => {
    const planned = correctionFor(context, generation);
    if (planned === null || typeof planned === 'string') outcomes[index] = planned;
    else asked.push({ index, correction: planned.correction(), difference: planned.difference });
  });
  if (asked.length === 0) return outcomes;
  const results = await adjustGenerations.call(
    context.repository,
    asked.map((call) => ({ id: page[call.index]!.id, correction: call.correction })),
  );
  for (const [position, call] of asked.entries()) {
    const result = results[position] ?? null;
    if (result === null) outcomes[call.index] = null; // deleted behind the library's back
    else if (result.generation.changed) {
      emitAdjusted(context, result);
      outcomes[call.index] = call.difference(true);
    } else {
      // Its gate moved (another re-price adjusted it since the page was read): read again.
      outcomes[call.index] = await repriceOne(context, result.generation.record, false, ADJUST_ATTEMPTS - 1);
    }
  }
  return outcomes;
}

/**
 * Re-prices one generation: its difference under the current table (`null`: none), applied as an
 * adjustment unless `dryRun`. A closed gate (another re-price adjusted it since it was read) reads
 * it again and recomputes, so a racing re-price never applies a difference twice.
 */
async function repriceOne(context: TrackerContext, listed: Generation, dryRun: boolean, attempts = ADJUST_ATTEMPTS): Promise<Outcome> {
  let generation = listed;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const planned = correctionFor(context, generation);
    if (planned === null || typeof planned === 'string') return planned;
    if (dryRun) return planned.difference(false);
    const result = await context.repository.adjustGeneration!(generation.id, planned.correction());
    if (result === null) return null; // deleted behind the library's back: nothing to adjust
    if (result.generation.changed) {
      emitAdjusted(context, result);
      return planned.difference(true);
    }
    generation = result.generation.record;
  }
  throw new ConflictError(null, `generation "${listed.id}" was adjusted by others ${ADJUST_ATTEMPTS} times while this re-price computed it; run the re-price again`);
}
