/**
 * `createTracker()`: the API host services call. A facade: it validates every input at the edge
 * (invalid input writes nothing) and hands the work to the module that owns it, each taking the
 * shared context (clock, ids, guarded store, events): creation.ts, transitions.ts, rollup.ts
 * (settlement), cancellation.ts, maintenance.ts, watch.ts. Events are emitted after a write lands.
 */
import { checkDelivery } from '../domain/delivery.js';
import {
  completeGenerationInputSchema,
  deliveryInputSchema,
  listGenerationsInputSchema,
  progressInputSchema,
  reconcileInputSchema,
  reconcileOptionsSchema,
  recordGenerationInputSchema,
  startCastInputSchema,
  startCookInputSchema,
  sweepInputSchema,
  type CompleteGenerationInput,
  type DeliveryInput,
  type ListGenerationsInput,
  type ProgressInput,
  type ReconcileInput,
  type ReconcileOptions,
  type RecordGenerationInput,
  type StartCastInput,
  type StartCookInput,
  type SweepInput,
} from '../domain/inputs.js';
import {
  completeGenerationInputFast,
  progressInputFast,
  recordGenerationInputFast,
  startCastInputFast,
  startCookInputFast,
} from './input-fast-paths.js';
import { completionMismatch } from '../domain/completion.js';
import { derivePointsSpent } from '../domain/points.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { WriteResult } from '../domain/rollup/write-result.js';
import { ConflictError, IllegalTransitionError, NotFoundError } from '../errors.js';
import { resumeStepCancellation } from './cancellation.js';
import { systemClock } from './clock.js';
import type { TrackerContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { TrackerEventBus, type ListenerErrorHandler, type TrackerEventName, type TrackerListener } from './events.js';
import { guardRepository } from './guard.js';
import { consoleLogger } from './logger.js';
import { parseTrackerOptions, type TrackerOptions } from './options.js';
import { watchChanges, watchFilterSchema, watchOptionsSchema, type Watch, type WatchFilter, type WatchOptions } from './watch.js';
import { resolveIdGenerator } from './ids.js';
import { reconcileCast, reconcileCook, sweepStale, type ReconcileReport, type SweepReport } from './maintenance.js';
import { parseId, parseInput, parseInputFast } from './parse.js';
import { createCast, createCook, createGeneration } from './creation.js';
import { getAccount, listLedgerEntries, moveAccount, reconcileAccount, type AccountMovement, type AccountReconcileReport, type LedgerEntryPage } from './accounts.js';
import type { ListLedgerEntriesInput, MovementInput } from '../domain/accounts/inputs.js';
import type { Account } from '../domain/accounts/records.js';
import { emitGenerationChange, finishAndSettle } from './rollup.js';
import { castTransitions, cookTransitions, transitionByHost } from './transitions.js';
import { PriceBook } from './price-book.js';
import { followStoredPrices, parseSetPricesOptions, refreshPrices, requireStoredPrices, savePrices, type PricesState } from './stored-prices.js';
import {
  costOfUsage,
  explainGenerationCost,
  firstCompletionFigures,
  pricingKeyFor,
  reprice,
  repriceInputSchema,
  sameUsage,
  type CompletionCost,
  type CostExplanation,
  type RepriceInput,
  type RepriceReport,
} from './pricing.js';
import type { PriceTableInput } from '../domain/pricing.js';

export type { TrackerLimits, TrackerOptions } from './options.js';
export type { AccountMovement, LedgerEntryPage, AccountReconcileReport } from './accounts.js';

export interface ListGenerationsPage {
  readonly items: readonly Generation[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

/** `sweepStale`'s options: {@link SweepInput} (the schema `sweepInputSchema`). */
export type SweepStaleOptions = SweepInput;
export type { ReconcileOptions };

/** The tracker: every method validates its input and throws typed errors (`GenledgerError`). */
export interface Tracker {
  /** Starts a cook toward a collection's target supply. */
  startCook(input: StartCookInput): Promise<Cook>;
  /** Starts a cast of a spell, optionally as a piece of a running cook. */
  startCast(input: StartCastInput): Promise<Cast>;
  /** Records a generation (pending, or processing), optionally as a cast step or a cook piece. */
  recordGeneration(input: RecordGenerationInput): Promise<Generation>;
  /** Moves a pending generation to processing. Repeated or late calls change nothing. */
  startGeneration(generationId: string): Promise<Generation>;
  /** Records progress (0..1). Progress only moves forward; reports after the end are ignored. */
  reportProgress(generationId: string, input: ProgressInput): Promise<Generation>;
  /**
   * Ends a generation with a terminal status, its points, exact cost and payloads, and rolls it up
   * into its cast and cook once. Repeating the same completion returns the stored record and counts
   * nothing twice; a completion that contradicts the stored one throws.
   */
  completeGeneration(generationId: string, input: CompleteGenerationInput): Promise<Generation>;
  /** Records whether the finished generation's result reached the user. Never touches status or parents. */
  recordDelivery(generationId: string, input: DeliveryInput): Promise<Generation>;
  /** Completes a running cast (steps still in flight keep running, and still count when they end). */
  finishCast(castId: string): Promise<Cast>;
  /** Cancels a running cast and its open steps. */
  cancelCast(castId: string): Promise<Cast>;
  /** Finishes a cook early: `completed` if any piece succeeded, else `failed`. */
  finishCook(cookId: string): Promise<Cook>;
  /** Cancels a cook, its open pieces and everything open below them. */
  cancelCook(cookId: string): Promise<Cook>;
  /** Pauses a running cook: it takes no new pieces until resumed; pieces in flight go on. */
  pauseCook(cookId: string): Promise<Cook>;
  resumeCook(cookId: string): Promise<Cook>;
  getGeneration(generationId: string): Promise<Generation | null>;
  getCast(castId: string): Promise<Cast | null>;
  getCook(cookId: string): Promise<Cook | null>;
  /** Pages through generations by cast, cook, account and status, by `requestTimestamp`. */
  listGenerations(input?: ListGenerationsInput): Promise<ListGenerationsPage>;
  /**
   * Finishes store operations a crash left half done (stores with `recover()`), times out
   * generations with no write for `olderThanMs` (with their roll-ups), resumes the cancellation of
   * cancelled parents that still have children open, finishes idle parents, and reconciles parents
   * the store flags for repair. Run it on a schedule.
   */
  sweepStale(options: SweepStaleOptions): Promise<SweepReport>;
  /** Recomputes a parent's aggregates from its children and repairs any difference. */
  reconcile(input: ReconcileInput, options?: ReconcileOptions): Promise<ReconcileReport>;
  on<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  once<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): () => void;
  off<E extends TrackerEventName>(event: E, listener: TrackerListener<E>): void;
  /**
   * The same events as `on()`, for changes made by any tracker sharing the store (other
   * processes included), read from the store's change feed; as listeners or an async iterator.
   * Throws a `ConflictError` when the repository has no change feed.
   * @experimental
   */
  watch(filter?: WatchFilter, options?: WatchOptions): Watch;
  /**
   * Replaces the price table (checked whole: a wrong table throws a `ValidationError` and the old
   * one stays). Completions from now on use it; costs already stored change only through
   * `reprice()`. Each process holds its own table: refresh every process sharing the store.
   */
  setPrices(prices: PriceTableInput, options?: { readonly store?: false | undefined }): void;
  /**
   * With `{ store: true }` (stores with `capabilities.prices`, else an `UnsupportedError`): checks
   * the table whole (a wrong one writes nothing), appends it to the store as its next revision
   * (never rewriting an earlier one; the same table as the latest appends nothing), and prices
   * with it. Other processes take it at their next `refreshPrices()` (or `pricesRefreshMs`). A
   * save racing another process's is a `ConflictError` on `prices`.
   * @experimental
   */
  setPrices(prices: PriceTableInput, options: { readonly store: true }): Promise<PricesState>;
  /**
   * Reads the latest table stored through the repository and prices with it when it is newer than
   * the one held (stores with `capabilities.prices`, else an `UnsupportedError`). A wrong stored
   * table is a `ValidationError` and the table held stays.
   * @experimental
   */
  refreshPrices(): Promise<PricesState>;
  /** Stops the `pricesRefreshMs` timer (nothing when there is none). */
  stopPriceRefresh(): void;
  /** A generation's cost line by line: usage, prices and bands, version, points, adjustments. */
  explainCost(generationId: string): Promise<CostExplanation>;
  /**
   * Recomputes, under the current table, the costs of finished generations of a tool requested in
   * [`from`, `to`), one page per call (`nextCursor`), and reports the differences per generation
   * and per parent. With `dryRun: false`, applies each as an adjustment (the generation keeps its
   * first figures; its cast and cook receive the difference exactly); a second run changes nothing.
   * Stores without `adjustGeneration` refuse `dryRun: false` with a `ConflictError` (memory,
   * PostgreSQL and MongoDB have it).
   * @experimental
   */
  reprice(input: RepriceInput): Promise<RepriceReport>;
  /**
   * Adds to an account's balance (a grant, a top-up): one ledger entry. A retry with the same
   * `idempotencyKey` returns the first call's entry and moves nothing. Stores with accounts only
   * (else `UnsupportedError`).
   */
  credit(accountId: string, input: MovementInput): Promise<AccountMovement>;
  /** Takes from an account's balance (a refund, a correction); `InsufficientFundsError` when `available` is short. */
  debit(accountId: string, input: MovementInput): Promise<AccountMovement>;
  /** The account's balance, held, available and spent amounts (all zero for an account never moved). */
  getAccount(accountId: string): Promise<Account>;
  /** Pages through an account's ledger entries, oldest first. */
  listLedgerEntries(input: ListLedgerEntriesInput): Promise<LedgerEntryPage>;
  /** Rebuilds an account's figures from its ledger entries, reports drift and repairs it. */
  reconcileAccount(accountId: string): Promise<AccountReconcileReport>;
}

export function createTracker(options: TrackerOptions): Tracker {
  const resolved = parseTrackerOptions(options);
  const clock = resolved.clock ?? systemClock;
  const logger = resolved.logger ?? consoleLogger;
  const onListenerError: ListenerErrorHandler =
    resolved.onListenerError ?? ((error, event) => logger.error(`[genledger] a "${event}" listener threw`, { error }));
  const context: TrackerContext = {
    repository: guardRepository(resolved.repository),
    clock,
    ids: resolveIdGenerator(resolved.ids, resolved.repository.ids, clock),
    bus: new TrackerEventBus(onListenerError),
    caps: resolved.caps,
    pointsPerUsd: resolved.pointsPerUsd,
    logger,
    prices: new PriceBook(resolved.prices, resolved.pointsPerUsd),
  };
  const { repository } = context;
  // One implementation of setPrices' two forms: in-process (returns nothing) or stored (a promise).
  const setPrices = ((prices: PriceTableInput, setOptions?: { readonly store?: boolean | undefined }): Promise<PricesState> | undefined => {
    const { store } = parseSetPricesOptions(setOptions);
    if (store) return savePrices(context, prices);
    context.prices.replace(prices, 'prices');
    return undefined;
  }) as Tracker['setPrices'];
  let stopPriceRefresh = () => undefined as void;
  if (resolved.pricesRefreshMs !== undefined) {
    requireStoredPrices(context);
    stopPriceRefresh = followStoredPrices(context, resolved.pricesRefreshMs);
  }

  async function getOne<T>(store: { get(ids: readonly string[]): Promise<T[]> }, id: string): Promise<T | null> {
    const [record] = await store.get([id]);
    return record ?? null;
  }

  function requireWrite<T extends { status: string }>(
    result: WriteResult<T> | null,
    entity: 'generation' | 'cast' | 'cook',
    id: string,
    field: string,
  ): WriteResult<T> {
    if (result === null) throw new NotFoundError(entity, id, field);
    return result;
  }

  return {
    startCook: async (input) => createCook(context, parseInputFast(startCookInputFast, startCookInputSchema, input, 'input')),
    startCast: async (input) => createCast(context, parseInputFast(startCastInputFast, startCastInputSchema, input, 'input')),
    async recordGeneration(input) {
      const generation = await createGeneration(context, parseInputFast(recordGenerationInputFast, recordGenerationInputSchema, input, 'input'));
      context.prices.remember(generation);
      return generation;
    },

    async startGeneration(generationIdInput) {
      const generationId = parseId(generationIdInput, 'generationId');
      const result = requireWrite(
        await repository.generations.start(generationId, clock.now()),
        'generation',
        generationId,
        'generationId',
      );
      if (result.changed) emitGenerationChange(context, 'started', result.record);
      return result.record;
    },

    async reportProgress(generationIdInput, input) {
      const generationId = parseId(generationIdInput, 'generationId');
      const parsed = parseInputFast(progressInputFast, progressInputSchema, input, 'input');
      const at = clock.now();
      const result = requireWrite(
        await repository.generations.recordProgress(generationId, { progress: parsed.progress, at }),
        'generation',
        generationId,
        'generationId',
      );
      const generation = result.record;
      if (result.changed) {
        if (result.previousStatus === 'pending') emitGenerationChange(context, 'started', generation);
        if (context.bus.has('generationProgress'))
          context.bus.emit('generationProgress', {
            generation,
            progress: generation.progress,
            liveStatus: parsed.liveStatus ?? null,
            castId: generation.castId,
            cookId: generation.cookId,
          });
      }
      return generation;
    },

    async completeGeneration(generationIdInput, input) {
      const generationId = parseId(generationIdInput, 'generationId');
      const parsed = parseInputFast(completeGenerationInputFast, completeGenerationInputSchema, input, 'input');
      const now = clock.now();
      let priced: CompletionCost | null = null;
      if (parsed.usage !== undefined) {
        const key = parsed.costUsd === undefined ? pricingKeyFor(context, generationId) : null;
        priced = costOfUsage(context, key instanceof Promise ? await key : key, parsed.usage, parsed);
      }
      const costUsd = priced?.costUsd ?? parsed.costUsd ?? '0';
      const pointsSpent = priced?.pointsSpent ?? derivePointsSpent({ pointsSpent: parsed.pointsSpent, costUsd, pointsPerUsd: context.pointsPerUsd });
      const result = requireWrite(
        await finishAndSettle(context, generationId, {
          status: parsed.status,
          pointsSpent,
          protocolNetPoints: parsed.protocolNetPoints ?? 0,
          costUsd,
          ...(priced === null ? {} : { costProvenance: priced.costProvenance }),
          responseTimestamp: parsed.responseTimestamp ?? now,
          responsePayload: parsed.responsePayload,
          artifactUrls: parsed.artifactUrls,
          errorDetails: parsed.errorDetails,
          platformSpecificRunId: parsed.platformSpecificRunId,
          at: now,
        }),
        'generation',
        generationId,
        'generationId',
      );
      // Finished now (with its roll-ups, in the same store operation), or finished before. A
      // repeat must match the stored completion.
      const generation = result.record;
      if (result.changed) return generation;
      // Compared with the figures first stored (a re-price may have adjusted them since). A cost
      // computed from usage is compared by its usage: the table may have changed since.
      const first = firstCompletionFigures(generation);
      const computedFromUsage = parsed.usage !== undefined && parsed.costUsd === undefined;
      if (computedFromUsage && generation.status === parsed.status && !sameUsage(generation.costProvenance?.usage, parsed.usage)) {
        throw new ConflictError('input.usage', `generation "${generationId}" already finished with other usage; the first completion stands.`);
      }
      const mismatch = completionMismatch(
        { ...generation, ...first },
        {
          status: parsed.status,
          pointsSpent: computedFromUsage ? (parsed.pointsSpent ?? first.pointsSpent) : pointsSpent,
          protocolNetPoints: parsed.protocolNetPoints ?? 0,
          costUsd: computedFromUsage ? first.costUsd : costUsd,
        },
      );
      if (mismatch?.field === 'status') {
        throw new IllegalTransitionError('generation', generationId, generation.status, parsed.status, 'input.status');
      }
      // A step cancelled by its user cancelled its cast; the cast's other open steps were to be
      // cancelled after it. A retry finishes that, as the first call would have.
      if (generation.status === 'cancelled_by_user' && generation.castId !== null) await resumeStepCancellation(context, generation.castId);
      if (mismatch) {
        throw new ConflictError(
          `input.${mismatch.field}`,
          `generation "${generationId}" already finished with ${mismatch.field} ${mismatch.stored}; this call says ${mismatch.given}. The first completion stands.`,
        );
      }
      return generation;
    },

    async recordDelivery(generationIdInput, input) {
      const generationId = parseId(generationIdInput, 'generationId');
      const parsed = parseInput(deliveryInputSchema, input, 'input');
      const result = requireWrite(
        await repository.generations.recordDelivery(generationId, {
          outcome: parsed.status,
          attempts: parsed.attempts,
          error: parsed.error ?? null,
          at: clock.now(),
        }),
        'generation',
        generationId,
        'generationId',
      );
      if (result.changed) {
        emitGenerationChange(context, 'delivery', result.record);
        return result.record;
      }
      const check = checkDelivery(result.record, parsed.status);
      if (!check.allowed && !check.repeat) {
        throw new IllegalTransitionError(
          'generation',
          generationId,
          result.record.deliveryStatus,
          parsed.status,
          'input.status',
          check.reason,
        );
      }
      return result.record;
    },

    finishCast: (castId) => transitionByHost(context, castTransitions, castId, 'finish', ['completed']),
    cancelCast: (castId) => transitionByHost(context, castTransitions, castId, 'cancel', ['cancelled']),
    finishCook: (cookId) => transitionByHost(context, cookTransitions, cookId, 'finish', ['completed', 'failed']),
    cancelCook: (cookId) => transitionByHost(context, cookTransitions, cookId, 'cancel', ['cancelled']),
    pauseCook: (cookId) => transitionByHost(context, cookTransitions, cookId, 'pause', ['paused']),
    resumeCook: (cookId) => transitionByHost(context, cookTransitions, cookId, 'resume', ['running']),

    async getGeneration(generationId) {
      return getOne(repository.generations, parseId(generationId, 'generationId'));
    },
    async getCast(castId) {
      return getOne(repository.casts, parseId(castId, 'castId'));
    },
    async getCook(cookId) {
      return getOne(repository.cooks, parseId(cookId, 'cookId'));
    },

    async listGenerations(input = {}) {
      const parsed = parseInput(listGenerationsInputSchema, input, 'input');
      const limit = parsed.limit ?? 50;
      const statuses = parsed.status === undefined ? undefined : Array.isArray(parsed.status) ? parsed.status : [parsed.status];
      const rows = await repository.generations.list({
        castId: parsed.castId,
        cookId: parsed.cookId,
        masterAccountId: parsed.masterAccountId,
        toolId: parsed.toolId,
        statuses,
        order: parsed.order ?? 'desc',
        limit: limit + 1,
        after: parsed.cursor === undefined || parsed.cursor === null ? undefined : decodeCursor(parsed.cursor),
      });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },

    async sweepStale(input) {
      const parsed = parseInput(sweepInputSchema, input, 'options');
      return sweepStale(context, {
        olderThanMs: parsed.olderThanMs,
        limit: parsed.limit ?? 1000,
        finishIdleParents: parsed.finishIdleParents ?? true,
      });
    },

    async reconcile(input, reconcileOptions) {
      const parsed = parseInput(reconcileInputSchema, input, 'input');
      parseInput(reconcileOptionsSchema, reconcileOptions, 'options');
      return 'castId' in parsed ? reconcileCast(context, parsed.castId) : reconcileCook(context, parsed.cookId);
    },

    watch(filter = {}, watchOptions = {}) {
      return watchChanges(context, parseInput(watchFilterSchema, filter, 'filter'), parseInput(watchOptionsSchema, watchOptions, 'options'));
    },

    setPrices,

    refreshPrices: () => refreshPrices(context),
    stopPriceRefresh: () => stopPriceRefresh(),

    async explainCost(generationIdInput) {
      const generationId = parseId(generationIdInput, 'generationId');
      const generation = await getOne(repository.generations, generationId);
      if (generation === null) throw new NotFoundError('generation', generationId, 'generationId');
      return explainGenerationCost(generation);
    },

    async reprice(input) {
      return reprice(context, parseInput(repriceInputSchema, input, 'input'));
    },

    credit: (accountId, input) => moveAccount(context, 'credit', accountId, input),
    debit: (accountId, input) => moveAccount(context, 'debit', accountId, input),
    getAccount: (accountId) => getAccount(context, accountId),
    listLedgerEntries: (input) => listLedgerEntries(context, input),
    reconcileAccount: (accountId) => reconcileAccount(context, accountId),

    on: (event, listener) => context.bus.on(event, listener),
    once: (event, listener) => context.bus.once(event, listener),
    off: (event, listener) => context.bus.off(event, listener),
  };
}
