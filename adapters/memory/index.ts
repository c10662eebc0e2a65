/**
 * genledger's in-memory store: records in `Map`s inside this process.
 *
 * For tests, demos, single-process tools and as the reference every other adapter is compared
 * with: each write runs the domain reducer itself. Records are lost when the process exits, and
 * two processes never share them (`capabilities.sharedAcrossProcesses` is `false`).
 *
 * ```ts
 * import { createTracker } from 'genledger';
 * import { memoryRepository } from 'genledger/memory';
 *
 * const tracker = createTracker({ repository: memoryRepository() });
 * ```
 *
 * @module
 */
import {
  recordGenerationDelivery,
  finishGeneration,
  recordGenerationProgress,
  startGeneration,
} from '../../src/domain/generation-reducer.js';
import { copyCast, copyCook, copyGeneration } from '../../src/domain/record-copies.js';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { applyToCast, attachToCast, detachFromCast, transitionCast } from '../../src/domain/rollup/cast-reducer.js';
import { applyToCook, attachToCook, detachFromCook, transitionCook } from '../../src/domain/rollup/cook-reducer.js';
import { castPieceContribution, generationContribution } from '../../src/domain/rollup/contribution.js';
import type { AttachResult, WriteResult } from '../../src/domain/rollup/write-result.js';
import type { ChildAttachment } from '../../src/domain/rollup/contribution.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../../src/domain/status.js';
import type {
  AttachedInsertion,
  GenerationOutcome,
  GenerationQuery,
  InsertAttached,
  LedgerRepository,
  NewAttachedChild,
  Settlement,
} from '../../src/port.js';
import { InProcessChangeFeed } from './change-feed.js';
import { MultiIndex } from './multi-index.js';
import { memoryParentStore } from './parent-store.js';
import { summarizeCastChildren, summarizeCookChildren } from './summaries.js';
import { snapshotJson, Table } from './table.js';

/** Options of {@link memoryRepository}. None are needed today; the object is kept for symmetry with the other adapters. */
export interface MemoryRepositoryOptions {
  /**
   * Name used in error messages.
   * @default 'memory'
   */
  readonly name?: string;
  /**
   * Offer `settleGeneration`: a finished generation and its roll-up into its cast and cook as one
   * call (one synchronous step, so atomic), instead of the tracker's sequence of port calls. Both
   * leave the same records; off, the store exercises the tracker's sequence (the path of stores
   * that cannot settle in one operation).
   * @default true
   */
  readonly settleInOneCall?: boolean;
  /**
   * Offer `insertAttached`: a new generation or cast stored and attached to its cast and cook as
   * one call (one synchronous step, so atomic), instead of the tracker's attach, attach, insert
   * (and detach on a refusal or a repeated key). Both leave the same records when the child is
   * created; when it is refused, this call writes nothing, where the sequence leaves the parent
   * that accepted first one version on (attached, then detached). Off, the store exercises the
   * tracker's sequence.
   * @default true
   */
  readonly insertInOneCall?: boolean;
}

/** The memory store, with a few inspection helpers for tests. */
export interface MemoryRepository extends LedgerRepository {
  /** How many records of each kind are stored. */
  count(): { generations: number; casts: number; cooks: number };
  /** Forgets every record. */
  clear(): void;
}

function attachmentOf(child: NewAttachedChild, piece: boolean): ChildAttachment {
  return { childId: child.record.id, kind: child.kind, piece, at: child.at, caps: child.caps };
}

function refusal(parent: 'cast' | 'cook', parentId: string, attach: AttachResult<Cast> | AttachResult<Cook> | null) {
  return { outcome: 'refused', parent, parentId, attach } as const;
}

function accepted(result: AttachResult<Cast | Cook>): boolean {
  return result.outcome === 'attached' || result.outcome === 'already-attached';
}

export function memoryRepository(options: MemoryRepositoryOptions = {}): MemoryRepository {
  const generationsByCast = new MultiIndex();
  const generationsByCook = new MultiIndex();
  const generationsByAccount = new MultiIndex();
  const castsByCook = new MultiIndex();
  const openGenerationIds = new Set<string>();
  // Parents maintenance may need to visit: open entries, or still running (and so possibly idle).
  const castsToWatch = new Set<string>();
  const cooksToWatch = new Set<string>();
  const changes = new InProcessChangeFeed();

  const generations = new Table<Generation>('generation', (previous, next) => {
    if (!previous) {
      if (next.castId !== null) generationsByCast.add(next.castId, next.id);
      if (next.cookId !== null) generationsByCook.add(next.cookId, next.id);
      generationsByAccount.add(next.masterAccountId, next.id);
    }
    if (isTerminalGenerationStatus(next.status)) openGenerationIds.delete(next.id);
    else openGenerationIds.add(next.id);
    changes.record('generation', next.id, next.version);
  });
  const casts = new Table<Cast>('cast', (previous, next) => {
    if (!previous && next.cookId !== null) castsByCook.add(next.cookId, next.id);
    if (next.openSteps.length > 0 || next.status === 'running') castsToWatch.add(next.id);
    else castsToWatch.delete(next.id);
    changes.record('cast', next.id, next.version);
  });
  const cooks = new Table<Cook>('cook', (_previous, next) => {
    if (next.openPieces.length > 0 || next.openGenerations.length > 0 || next.status === 'running') cooksToWatch.add(next.id);
    else cooksToWatch.delete(next.id);
    changes.record('cook', next.id, next.version);
  });

  function listGenerations(query: GenerationQuery): Generation[] {
    const candidateSets = [
      query.castId === undefined ? undefined : generationsByCast.get(query.castId),
      query.cookId === undefined ? undefined : generationsByCook.get(query.cookId),
      query.masterAccountId === undefined ? undefined : generationsByAccount.get(query.masterAccountId),
    ].filter((set): set is ReadonlySet<string> => set !== undefined);
    const smallest = candidateSets.sort((left, right) => left.size - right.size)[0];
    const candidates = smallest ? generations.get([...smallest]) : [...generations.values()];
    const direction = query.order === 'asc' ? 1 : -1;
    const compare = (left: Generation, right: Generation) =>
      direction *
      (left.requestTimestamp.getTime() - right.requestTimestamp.getTime() || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    const after = query.after;
    const afterRecord = after ? ({ requestTimestamp: after.requestTimestamp, id: after.id } as Generation) : null;
    return candidates
      .filter(
        (generation) =>
          (query.castId === undefined || generation.castId === query.castId) &&
          (query.cookId === undefined || generation.cookId === query.cookId) &&
          (query.masterAccountId === undefined || generation.masterAccountId === query.masterAccountId) &&
          (query.statuses === undefined || query.statuses.includes(generation.status)) &&
          (afterRecord === null || compare(generation, afterRecord) > 0),
      )
      .sort(compare)
      .slice(0, query.limit);
  }

  function finish(id: string, outcome: GenerationOutcome): WriteResult<Generation> | null {
    const hasJson =
      (outcome.responsePayload !== undefined && outcome.responsePayload !== null) ||
      (outcome.errorDetails !== undefined && outcome.errorDetails !== null);
    const snapshot = hasJson
      ? { ...outcome, responsePayload: snapshotJson(outcome.responsePayload), errorDetails: snapshotJson(outcome.errorDetails) }
      : outcome;
    return generations.write(id, (generation) => finishGeneration(generation, snapshot));
  }

  /**
   * `generations.finish`, then (if the generation is finished, now or before) `casts.apply` and
   * `cooks.apply` of it and, when its cast has ended and is a cook piece, `cooks.apply` of the
   * cast: the port's sequence, run as one synchronous step.
   */
  function settleGeneration(id: string, outcome: GenerationOutcome, at: Date): Settlement | null {
    const generation = finish(id, outcome);
    if (generation === null) return null;
    const finished = generation.record;
    if (!isTerminalGenerationStatus(finished.status)) return { generation, cast: null, cook: null, castPiece: null };
    const contribution = generationContribution(finished);
    const cast = finished.castId === null ? null : casts.write(finished.castId, (record) => applyToCast(record, contribution, at));
    const cook = finished.cookId === null ? null : cooks.write(finished.cookId, (record) => applyToCook(record, contribution, at));
    const ended = cast?.record;
    const castPiece =
      ended === undefined || ended.cookId === null || !isTerminalParentStatus(ended.status)
        ? null
        : cooks.write(ended.cookId, (record) => applyToCook(record, castPieceContribution(ended), at));
    return { generation, cast, cook, castPiece };
  }

  function storableGeneration(generation: Generation) {
    const stored = copyGeneration(generation);
    stored.requestPayload = snapshotJson(generation.requestPayload);
    stored.metadata = snapshotJson(generation.metadata);
    return stored;
  }

  function storableCast(cast: Cast) {
    const stored = copyCast(cast);
    stored.metadata = snapshotJson(cast.metadata);
    return stored;
  }

  /**
   * The tracker's creation sequence (the mismatch check, `casts.attach`, `cooks.attach`, the
   * insert, detaching again on a refusal or a repeated key) as one synchronous step: every check
   * is made before anything is stored, so a refusal or a repeated key stores nothing. (No closures
   * per call: this is on the hot path of every creation.)
   */
  function insertAttached(child: NewAttachedChild): AttachedInsertion<Generation> | AttachedInsertion<Cast> {
    // The key first: a repeated key gets its record whatever its parents' state now.
    const keyHolder = child.record.idempotencyKey === null ? null : (child.kind === 'cast' ? casts : generations).findByIdempotencyKey(child.record.idempotencyKey);
    if (keyHolder !== null) return { outcome: 'existing', record: keyHolder } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
    if (child.kind === 'cast') {
      const cook = cooks.find(child.cookId);
      if (cook === undefined) return refusal('cook', child.cookId, null);
      const cookAttach = attachToCook(cook, attachmentOf(child, true));
      if (!accepted(cookAttach)) return refusal('cook', cook.id, cookAttach);
      const record = storableCast(child.record);
      record.cookId = cook.id;
      record.collectionId = cook.collectionId;
      const existing = casts.existingFor(record);
      if (existing) return { outcome: 'existing', record: existing };
      if (cookAttach.outcome === 'attached') cooks.storeDecided(cookAttach.record);
      casts.insert(record);
      return { outcome: 'created', record, cast: null, cook: cookAttach.record };
    }
    let cast: Cast | null = null;
    let castAttach: AttachResult<Cast> | null = null;
    if (child.castId !== null) {
      const found = casts.find(child.castId);
      if (found === undefined) return refusal('cast', child.castId, null);
      cast = found;
      if (child.cookId !== null && cast.cookId !== child.cookId) return { outcome: 'mismatch', cast };
      castAttach = attachToCast(cast, attachmentOf(child, false));
      if (!accepted(castAttach)) return refusal('cast', cast.id, castAttach);
    }
    const cookId = cast === null ? child.cookId : cast.cookId;
    let cookAttach: AttachResult<Cook> | null = null;
    if (cookId !== null) {
      const cook = cooks.find(cookId);
      if (cook === undefined) return refusal('cook', cookId, null);
      cookAttach = attachToCook(cook, attachmentOf(child, cast === null));
      if (!accepted(cookAttach)) return refusal('cook', cook.id, cookAttach);
    }
    const record = storableGeneration(child.record);
    record.castId = cast === null ? null : cast.id;
    record.spellId = cast === null ? null : cast.spellId;
    record.cookId = cookAttach !== null ? cookAttach.record.id : cast === null ? null : cast.cookId;
    record.collectionId = cookAttach !== null ? cookAttach.record.collectionId : cast === null ? null : cast.collectionId;
    const existing = generations.existingFor(record);
    if (existing) return { outcome: 'existing', record: existing };
    // Stored in the sequence's order (cast, cook, generation), so the change feed reports it so.
    if (castAttach !== null && castAttach.outcome === 'attached') casts.storeDecided(castAttach.record);
    if (cookAttach !== null && cookAttach.outcome === 'attached') cooks.storeDecided(cookAttach.record);
    generations.insert(record);
    return { outcome: 'created', record, cast: castAttach === null ? null : castAttach.record, cook: cookAttach === null ? null : cookAttach.record };
  }

  return {
    name: options.name ?? 'memory',
    capabilities: { sharedAcrossProcesses: false },
    changes,

    generations: {
      async insert(generation) {
        return generations.insert(storableGeneration(generation));
      },
      async findByIdempotencyKey(key) {
        return generations.findByIdempotencyKey(key);
      },
      async get(ids) {
        return generations.get(ids);
      },
      async list(query) {
        return listGenerations(query);
      },
      async findStale({ updatedBefore, limit }) {
        return generations
          .get([...openGenerationIds])
          .filter((generation) => generation.updatedAt < updatedBefore)
          .sort((left, right) => left.updatedAt.getTime() - right.updatedAt.getTime())
          .slice(0, limit);
      },
      async start(id, at) {
        return generations.write(id, (generation) => startGeneration(generation, at));
      },
      async recordProgress(id, report) {
        return generations.write(id, (generation) => recordGenerationProgress(generation, report));
      },
      async finish(id, outcome) {
        return finish(id, outcome);
      },
      async recordDelivery(id, report) {
        return generations.write(id, (generation) => recordGenerationDelivery(generation, report));
      },
    },

    casts: memoryParentStore(
      casts,
      {
        attach: attachToCast,
        detach: detachFromCast,
        apply: applyToCast,
        transition: transitionCast,
        copy: copyCast,
        hasOpenEntries: (cast) => cast.openSteps.length > 0,
      },
      castsToWatch,
      (id, maxEmbeddedIds) => summarizeCastChildren(generations.get([...(generationsByCast.get(id) ?? [])]), maxEmbeddedIds),
    ),

    cooks: memoryParentStore(
      cooks,
      {
        attach: attachToCook,
        detach: detachFromCook,
        apply: applyToCook,
        transition: transitionCook,
        copy: copyCook,
        hasOpenEntries: (cook) => cook.openPieces.length > 0 || cook.openGenerations.length > 0,
      },
      cooksToWatch,
      (id, maxEmbeddedIds) =>
        summarizeCookChildren(
          generations.get([...(generationsByCook.get(id) ?? [])]),
          casts.get([...(castsByCook.get(id) ?? [])]),
          maxEmbeddedIds,
        ),
    ),

    settleGeneration: options.settleInOneCall === false ? undefined : async (id, outcome, at) => settleGeneration(id, outcome, at),
    insertAttached: options.insertInOneCall === false ? undefined : ((async (child: NewAttachedChild) => insertAttached(child)) as InsertAttached),

    count() {
      return { generations: generations.size, casts: casts.size, cooks: cooks.size };
    },
    clear() {
      for (const index of [generationsByCast, generationsByCook, generationsByAccount, castsByCook]) index.clear();
      for (const set of [openGenerationIds, castsToWatch, cooksToWatch]) set.clear();
      generations.clear();
      casts.clear();
      cooks.clear();
    },
  } satisfies MemoryRepository;
}
