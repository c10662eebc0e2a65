/**
 * `createTracker()`: the API host services call. It validates every input at the edge (invalid
 * input writes nothing), makes ids and times from the injected generator and clock, drives the
 * repository port, and emits typed events after each write lands.
 */
import { z } from 'zod';
import { newCast, newCook, newGeneration, type GenerationLinks } from '../domain/builders.js';
import { idSchema } from '../domain/fields.js';
import { checkDelivery } from '../domain/delivery.js';
import {
  completeGenerationInputSchema,
  deliveryInputSchema,
  listGenerationsInputSchema,
  progressInputSchema,
  reconcileInputSchema,
  recordGenerationInputSchema,
  startCastInputSchema,
  startCookInputSchema,
  sweepInputSchema,
  type CompleteGenerationInput,
  type DeliveryInput,
  type ListGenerationsInput,
  type ProgressInput,
  type ReconcileInput,
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
} from '../domain/input-fast-paths.js';
import { compareUsd } from '../domain/money.js';
import { derivePointsSpent } from '../domain/points.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { ChildAttachment } from '../domain/rollup/contribution.js';
import type { ParentTransition, WriteResult } from '../domain/rollup/write-result.js';
import { ConflictError, GenledgerError, IdempotencyConflictError, IllegalTransitionError, NotFoundError, RepositoryError, ValidationError } from '../errors.js';
import { castRequestDifference, cookRequestDifference, generationRequestDifference, type RequestDifference } from '../domain/idempotency.js';
import type { Insertion } from '../port.js';
import { cancelCastChildren, cancelCookChildren } from './cancellation.js';
import { systemClock } from './clock.js';
import type { TrackerContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { TrackerEventBus, type ListenerErrorHandler, type TrackerEventName, type TrackerListener } from './events.js';
import { guardRepository } from './guard.js';
import { consoleLogger } from './logger.js';
import { parseTrackerOptions, type TrackerOptions } from './options.js';
import { watchChanges, type Watch, type WatchFilter, type WatchOptions } from './watch.js';
import { resolveIdGenerator } from './ids.js';
import { reconcileCast, reconcileCook, sweepStale, type ReconcileReport, type SweepReport } from './maintenance.js';
import { parseId, parseInput, parseInputFast } from './parse.js';
import { attachRefusal, emitCastEnding, emitCastWrite, emitCookWrite, emitGenerationChange, finishAndSettle } from './rollup.js';

export type { TrackerLimits, TrackerOptions } from './options.js';

export interface ListGenerationsPage {
  readonly items: readonly Generation[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}

export interface SweepStaleOptions extends SweepInput {
  /**
   * Also finish parents left idle: running, nothing in flight, no write for `olderThanMs`. A cook
   * is finished as by `finishCook`; a cast completes if it declared no `totalSteps`, else fails.
   * @default true
   */
  readonly finishIdleParents?: boolean;
}

export interface ReconcileOptions {
  /**
   * Accepted and ignored.
   * @deprecated parents keep no open entries since 0.2.0, so there is no recording under way to wait for.
   */
  readonly graceMs?: number;
}

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
}

const watchFilterSchema = z.strictObject({
  cookId: idSchema.optional(),
  castId: idSchema.optional(),
  masterAccountId: idSchema.optional(),
});

/** A generation named a cast and a cook, and the cast belongs to another cook (or to none). */
function castOfAnotherCook(castId: string, cast: Cast): ValidationError {
  return new ValidationError([
    {
      field: 'input.cookId',
      reason: `cast "${castId}" belongs to cook ${cast.cookId === null ? 'none' : `"${cast.cookId}"`}`,
    },
  ]);
}

/**
 * The answer to a creation whose `idempotencyKey` is already taken: the record the key made, when
 * this is the same request (see src/domain/idempotency.ts), else an `IdempotencyConflictError`.
 */
function repeatOf<T extends { readonly id: string; readonly idempotencyKey: string | null }>(
  entity: 'generation' | 'cast' | 'cook',
  stored: T,
  difference: RequestDifference | null,
): T {
  if (difference === null) return stored;
  throw new IdempotencyConflictError(entity, stored.id, stored.idempotencyKey ?? '', difference);
}

/** The record holding `key` in `store`, or `null` (and no read) without a key. */
async function keyHolder<T>(store: { findByIdempotencyKey(key: string): Promise<T | null> }, key: string | null | undefined): Promise<T | null> {
  return key === undefined || key === null ? null : store.findByIdempotencyKey(key);
}

/**
 * A parent refused a keyed creation. If the key is taken after all (the first call's record,
 * committed while this one was deciding), that record is the answer, as for any repeat;
 * otherwise the refusal stands.
 */
async function refusalUnlessRepeated<T>(
  refusal: unknown,
  store: { findByIdempotencyKey(key: string): Promise<T | null> },
  key: string | null | undefined,
  answer: (stored: T) => T,
): Promise<T> {
  // A store failure is no refusal: the host retries it as it is.
  if (key === undefined || key === null || !(refusal instanceof GenledgerError) || refusal instanceof RepositoryError) throw refusal;
  const holder = await keyHolder(store, key);
  if (holder === null) throw refusal;
  return answer(holder);
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
  };
  const { repository } = context;

  async function getOne<T>(store: { get(ids: readonly string[]): Promise<T[]> }, id: string): Promise<T | null> {
    const [record] = await store.get([id]);
    return record ?? null;
  }

  /**
   * The events of a new generation or cast and of the parents it was attached to (as they stood
   * after the attach), whichever way the store made them; returns the new record.
   */
  function announceCreated<T extends Generation | Cast>(record: T, cast: Cast | null, cook: Cook | null): T {
    if ('toolId' in record) emitGenerationChange(context, 'recorded', record);
    else emitCastWrite(context, 'started', { changed: true, record, previousStatus: 'running' });
    if (cast) emitCastWrite(context, 'childRecorded', { changed: true, record: cast, previousStatus: cast.status });
    if (cook) emitCookWrite(context, 'childRecorded', { changed: true, record: cook, previousStatus: cook.status });
    return record;
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

  /**
   * Host-driven cast transitions. A repeat of a transition that already happened is a success
   * (and finishes what a crash may have left); anything else from a terminal status is illegal.
   */
  async function transitionCastByHost(
    castIdInput: string,
    transition: ParentTransition,
    accepted: readonly Cast['status'][],
  ): Promise<Cast> {
    const castId = parseId(castIdInput, 'castId');
    const ending = await repository.casts.transition(castId, transition, clock.now());
    if (ending === null) throw new NotFoundError('cast', castId, 'castId');
    const cast = ending.cast.record;
    if (!ending.cast.changed && !accepted.includes(cast.status)) {
      throw new IllegalTransitionError('cast', castId, cast.status, accepted[0]!);
    }
    // The cast's end and, for a cook piece, its apply to the cook: one store operation.
    emitCastEnding(context, transition === 'cancel' ? 'cancelled' : 'finished', ending);
    if (cast.status !== 'cancelled') return cast;
    await cancelCastChildren(context, castId);
    return (await getOne(repository.casts, castId)) ?? cast;
  }

  /** Cancels the open steps of a cast cancelled by one of its steps, if any are left (a crash cut the cascade short). */
  async function resumeStepCancellation(castId: string): Promise<void> {
    const cast = await getOne(repository.casts, castId);
    if (cast !== null && cast.status === 'cancelled' && cast.inFlightCount > 0) await cancelCastChildren(context, castId);
  }

  async function transitionCookByHost(
    cookIdInput: string,
    transition: ParentTransition,
    accepted: readonly Cook['status'][],
  ): Promise<Cook> {
    const cookId = parseId(cookIdInput, 'cookId');
    const result = requireWrite(await repository.cooks.transition(cookId, transition, clock.now()), 'cook', cookId, 'cookId');
    const cook = result.record;
    if (!result.changed && !accepted.includes(cook.status)) {
      throw new IllegalTransitionError('cook', cookId, cook.status, accepted[0]!);
    }
    const change = { finish: 'finished', cancel: 'cancelled', pause: 'paused', resume: 'resumed', expire: 'finished' } as const;
    if (result.changed) emitCookWrite(context, change[transition], result);
    if (cook.status !== 'cancelled') return cook;
    await cancelCookChildren(context, cookId);
    return (await getOne(repository.cooks, cookId)) ?? cook;
  }

  return {
    async startCook(input) {
      const parsed = parseInputFast(startCookInputFast, startCookInputSchema, input, 'input');
      const cook = newCook(parsed, context.ids('cook'), clock.now());
      const inserted = await repository.cooks.insert(cook);
      if (!inserted.created) return repeatOf('cook', inserted.record, cookRequestDifference(parsed, inserted.record));
      emitCookWrite(context, 'started', { changed: true, record: inserted.record, previousStatus: 'running' });
      return inserted.record;
    },

    async startCast(input) {
      const parsed = parseInputFast(startCastInputFast, startCastInputSchema, input, 'input');
      const id = context.ids('cast');
      const now = clock.now();
      const key = parsed.idempotencyKey;
      const repeat = (stored: Cast) => repeatOf('cast', stored, castRequestDifference(parsed, stored));
      if (!parsed.cookId) {
        const inserted = await repository.casts.insert(newCast(parsed, id, now, null));
        if (!inserted.created) return repeat(inserted.record);
        return announceCreated(inserted.record, null, null);
      }
      // One store operation: the key first, then the cook's attach and the insert, or nothing at all.
      const result = await repository.insertAttached({ kind: 'cast', record: newCast(parsed, id, now, null), cookId: parsed.cookId, at: now, caps: context.caps });
      switch (result.outcome) {
        case 'created':
          return announceCreated(result.record, null, result.cook);
        case 'existing':
          return repeat(result.record);
        case 'refused':
          return refusalUnlessRepeated(attachRefusal(context, 'cook', result.attach, parsed.cookId, true, 'input.cookId'), repository.casts, key, repeat);
        default:
          throw new Error(`[genledger] repository "${repository.name}" answered "${result.outcome}" to a cast's insertAttached()`);
      }
    },

    async recordGeneration(input) {
      const parsed = parseInputFast(recordGenerationInputFast, recordGenerationInputSchema, input, 'input');
      const id = context.ids('generation');
      const now = clock.now();
      const links: { -readonly [K in keyof GenerationLinks]: GenerationLinks[K] } = {
        castId: null,
        cookId: null,
        spellId: null,
        collectionId: null,
      };
      const key = parsed.idempotencyKey;
      const repeat = (stored: Generation) => repeatOf('generation', stored, generationRequestDifference(parsed, stored));
      if (!parsed.castId && !parsed.cookId) {
        const inserted = await repository.generations.insert(newGeneration(parsed, id, now, links));
        if (!inserted.created) return repeat(inserted.record);
        return announceCreated(inserted.record, null, null);
      }
      // One store operation: the key first, then the mismatch check, each parent's attach and the insert, or nothing at all.
      const castId = parsed.castId ?? null;
      const cookId = parsed.cookId ?? null;
      const result = await repository.insertAttached({
        kind: 'generation',
        record: newGeneration(parsed, id, now, links),
        castId,
        cookId,
        at: now,
        caps: context.caps,
      });
      switch (result.outcome) {
        case 'created':
          return announceCreated(result.record, result.cast, result.cook);
        case 'existing':
          return repeat(result.record);
        case 'mismatch':
          return refusalUnlessRepeated(castOfAnotherCook(castId!, result.cast), repository.generations, key, repeat);
        case 'refused': {
          const piece = result.parent === 'cook' && castId === null;
          const refusal = attachRefusal(context, result.parent, result.attach, result.parentId, piece, piece ? 'input.cookId' : 'input.castId');
          return refusalUnlessRepeated(refusal, repository.generations, key, repeat);
        }
        default:
          throw new Error(`[genledger] repository "${repository.name}" answered "${(result as { outcome: string }).outcome}" to insertAttached()`);
      }
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
      const costUsd = parsed.costUsd ?? '0';
      const pointsSpent = derivePointsSpent({ pointsSpent: parsed.pointsSpent, costUsd, pointsPerUsd: context.pointsPerUsd });
      const result = requireWrite(
        await finishAndSettle(context, generationId, {
          status: parsed.status,
          pointsSpent,
          protocolNetPoints: parsed.protocolNetPoints ?? 0,
          costUsd,
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
      if (generation.status !== parsed.status) {
        throw new IllegalTransitionError('generation', generationId, generation.status, parsed.status, 'input.status');
      }
      // A step cancelled by its user cancelled its cast; the cast's other open steps were to be
      // cancelled after it. A retry finishes that, as the first call would have.
      if (generation.status === 'cancelled_by_user' && generation.castId !== null) await resumeStepCancellation(generation.castId);
      const mismatch =
        generation.pointsSpent !== pointsSpent
          ? ['input.pointsSpent', String(generation.pointsSpent), String(pointsSpent)]
          : generation.protocolNetPoints !== (parsed.protocolNetPoints ?? 0)
            ? ['input.protocolNetPoints', String(generation.protocolNetPoints), String(parsed.protocolNetPoints ?? 0)]
            : compareUsd(generation.costUsd, costUsd) !== 0
              ? ['input.costUsd', generation.costUsd, costUsd]
              : null;
      if (mismatch) {
        const [field, stored, given] = mismatch as [string, string, string];
        throw new ConflictError(
          field,
          `generation "${generationId}" already finished with ${field.slice(6)} ${stored}; this call says ${given}. The first completion stands.`,
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

    finishCast: (castId) => transitionCastByHost(castId, 'finish', ['completed']),
    cancelCast: (castId) => transitionCastByHost(castId, 'cancel', ['cancelled']),
    finishCook: (cookId) => transitionCookByHost(cookId, 'finish', ['completed', 'failed']),
    cancelCook: (cookId) => transitionCookByHost(cookId, 'cancel', ['cancelled']),
    pauseCook: (cookId) => transitionCookByHost(cookId, 'pause', ['paused']),
    resumeCook: (cookId) => transitionCookByHost(cookId, 'resume', ['running']),

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
      const { finishIdleParents, ...rest } = input ?? ({} as SweepStaleOptions);
      const parsed = parseInput(sweepInputSchema, rest, 'options');
      if (finishIdleParents !== undefined && typeof finishIdleParents !== 'boolean') {
        throw new ValidationError([{ field: 'options.finishIdleParents', reason: 'must be a boolean' }]);
      }
      return sweepStale(context, {
        olderThanMs: parsed.olderThanMs,
        limit: parsed.limit ?? 1000,
        finishIdleParents: finishIdleParents ?? true,
      });
    },

    async reconcile(input, reconcileOptions = {}) {
      const parsed = parseInput(reconcileInputSchema, input, 'input');
      // `graceMs` is deprecated and ignored, but still checked: a bad value is the caller's bug.
      const graceMs = reconcileOptions.graceMs ?? 0;
      if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
        throw new ValidationError([{ field: 'options.graceMs', reason: 'must be a whole number of milliseconds, at least 0' }]);
      }
      return 'castId' in parsed ? reconcileCast(context, parsed.castId) : reconcileCook(context, parsed.cookId);
    },

    watch(filter = {}, watchOptions = {}) {
      const parsedFilter = parseInput(watchFilterSchema, filter, 'filter');
      return watchChanges(context, parsedFilter, watchOptions);
    },

    on: (event, listener) => context.bus.on(event, listener),
    once: (event, listener) => context.bus.once(event, listener),
    off: (event, listener) => context.bus.off(event, listener),
  };
}
