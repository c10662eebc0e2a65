/**
 * genledger's in-memory store: records in `Map`s inside this process.
 *
 * For tests, demos, single-process tools and as the reference every other adapter is compared
 * with: each operation runs the domain composites (`createAttached`, `settle`, `endCast`) over the
 * stored records, and stores what they decide in one synchronous step. Per-child indexes (open
 * children by parent) are Sets updated in O(1); no per-child structure is copied on a write.
 * Records are lost when the process exits, and two processes never share them
 * (`capabilities.sharedAcrossProcesses` is `false`).
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
import { type Account, type Cast, type Cook, type Generation, isTerminalGenerationStatus, isTerminalParentStatus } from 'genledger';
import {
  recordGenerationDelivery,
  recordGenerationProgress,
  startGeneration,
  endCast,
  replaceCastAggregates,
  replaceCookAggregates,
  type CastEnding,
  transitionCook,
  createAttached,
  creationCookId,
  settle,
  adjust,
  type CostAdjustmentResult,
  type CostCorrection,
  finishedNow,
  type WriteResult,
  type AttachedInsertion,
  type GenerationOutcome,
  type GenerationQuery,
  type InsertAttached,
  type LedgerRepository,
  type NewAttachedChild,
  type OpenChildren,
  type ParentRef,
  type AccountedSettlement,
  type CreationAccounting,
  type LimitedInsertion,
  type HeldCreation,
  type ParentRelease,
  type ReleasedReservations,
} from 'genledger/adapter';
import { memoryAccounts } from './accounts.js';
import { memoryPriceTables } from './price-tables.js';
import { InProcessChangeFeed } from './change-feed.js';
import { MultiIndex } from './multi-index.js';
import { OrderedIndex } from './ordered-index.js';
import { memoryParentStore } from './parent-store.js';
import { summarizeCastChildren, summarizeCookChildren } from './summaries.js';
import { snapshotProvenance } from './provenance.js';
import { snapshotJson, Table } from './table.js';

/** Options of {@link memoryRepository}. */
export interface MemoryRepositoryOptions {
  /**
   * Name used in error messages.
   * @default 'memory'
   */
  readonly name?: string;
}

/** The memory store, with a few inspection helpers for tests. */
export interface MemoryRepository extends LedgerRepository {
  /** How many records of each kind are stored. */
  count(): { generations: number; casts: number; cooks: number };
  /** Forgets every record. */
  clear(): void;
  /** Overwrites an account's stored figures, around the ledger (for tests of reconcile's drift report). */
  tamperAccount(accountId: string, figures: Partial<Account>): void;
}

const NO_IDS: readonly string[] = Object.freeze([]);

function castHasOpenChildren(cast: Cast): boolean {
  return cast.inFlightCount > 0;
}

function cookHasOpenChildren(cook: Cook): boolean {
  return cook.inFlightCount > 0 || cook.openGenerationCount > 0;
}

export function memoryRepository(options: MemoryRepositoryOptions = {}): MemoryRepository {
  const generationsByCast = new MultiIndex();
  const generationsByCook = new MultiIndex();
  const generationsByAccount = new MultiIndex();
  const generationsByTool = new MultiIndex();
  // The same ids in listing order, for paging one tool (re-pricing) in O(page).
  const generationsByToolInOrder = new OrderedIndex();
  const castsByCook = new MultiIndex();
  // The open children of each parent, kept as each child is stored (O(1) a write): what
  // cancellation and the sweeper read, never a list inside the parent.
  const openGenerationsByCast = new MultiIndex();
  const openGenerationsByCook = new MultiIndex();
  const runningCastsByCook = new MultiIndex();
  const openGenerationIds = new Set<string>();
  // Parents maintenance may need to visit: still running (and so possibly idle), or cancelled
  // with children still open (a cascade a crash cut short).
  const castsToWatch = new Set<string>();
  const cooksToWatch = new Set<string>();
  const changes = new InProcessChangeFeed();
  const accounts = memoryAccounts((account) => changes.record('account', account.accountId, account.version));
  const priceTables = memoryPriceTables();

  /**
   * The one place a parent's reservation is released: every write of a cast or cook passes through
   * its table's store hook, and the write that ends the parent releases it in the same synchronous
   * step (`releaseParent` writes nothing for a parent without an open reservation).
   */
  function releaseWhenEnded(kind: 'cast' | 'cook', previous: Cast | Cook | undefined, next: Cast | Cook): void {
    if (!previous || isTerminalParentStatus(previous.status) || !isTerminalParentStatus(next.status)) return;
    const release = accounts.releaseParent(kind, next.id, next.updatedAt);
    if (release !== null && release.entries.length > 0) releasedNow?.push(release);
  }

  /** The releases the running `reportingReleases` step made (no step running: `null`, nothing kept). */
  let releasedNow: ParentRelease[] | null = null;

  /**
   * Runs one synchronous store step and reports the parent reservations it released beside its
   * result (`releases`), so the tracker can announce them. Only the step's own releases: the
   * collector exists for that step alone.
   */
  function reportingReleases<T extends object>(step: () => T | null): (T & ReleasedReservations) | null {
    const releases: ParentRelease[] = [];
    releasedNow = releases;
    try {
      const result = step();
      return result === null || releases.length === 0 ? result : { ...result, releases };
    } finally {
      releasedNow = null;
    }
  }

  const generations = new Table<Generation>('generation', (previous, next) => {
    if (!previous) {
      if (next.castId !== null) generationsByCast.add(next.castId, next.id);
      if (next.cookId !== null) generationsByCook.add(next.cookId, next.id);
      generationsByAccount.add(next.masterAccountId, next.id);
      generationsByTool.add(next.toolId, next.id);
      generationsByToolInOrder.add(next.toolId, next.requestTimestamp.getTime(), next.id);
    }
    if (isTerminalGenerationStatus(next.status)) {
      if (openGenerationIds.delete(next.id)) {
        if (next.castId !== null) openGenerationsByCast.delete(next.castId, next.id);
        if (next.cookId !== null) openGenerationsByCook.delete(next.cookId, next.id);
      }
    } else if (!previous) {
      openGenerationIds.add(next.id);
      if (next.castId !== null) openGenerationsByCast.add(next.castId, next.id);
      if (next.cookId !== null) openGenerationsByCook.add(next.cookId, next.id);
    }
    changes.record('generation', next.id, next.version);
  });
  const casts = new Table<Cast>('cast', (previous, next) => {
    releaseWhenEnded('cast', previous, next);
    if (!previous && next.cookId !== null) castsByCook.add(next.cookId, next.id);
    if (next.cookId !== null) {
      if (next.status === 'running') runningCastsByCook.add(next.cookId, next.id);
      else if (previous?.status === 'running') runningCastsByCook.delete(next.cookId, next.id);
    }
    if (next.status === 'running' || (next.status === 'cancelled' && castHasOpenChildren(next))) castsToWatch.add(next.id);
    else castsToWatch.delete(next.id);
    changes.record('cast', next.id, next.version);
  });
  const cooks = new Table<Cook>('cook', (previous, next) => {
    releaseWhenEnded('cook', previous, next);
    if (next.status === 'running' || (next.status === 'cancelled' && cookHasOpenChildren(next))) cooksToWatch.add(next.id);
    else cooksToWatch.delete(next.id);
    changes.record('cook', next.id, next.version);
  });

  function listGenerations(query: GenerationQuery): Generation[] {
    if (query.toolId !== undefined && query.castId === undefined && query.cookId === undefined && query.masterAccountId === undefined) return listToolGenerations(query, query.toolId);
    const candidateSets = [
      query.castId === undefined ? undefined : generationsByCast.get(query.castId),
      query.cookId === undefined ? undefined : generationsByCook.get(query.cookId),
      query.masterAccountId === undefined ? undefined : generationsByAccount.get(query.masterAccountId),
      query.toolId === undefined ? undefined : (generationsByTool.get(query.toolId) ?? new Set<string>()),
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
          (query.toolId === undefined || generation.toolId === query.toolId) &&
          (query.statuses === undefined || query.statuses.includes(generation.status)) &&
          (afterRecord === null || compare(generation, afterRecord) > 0),
      )
      .sort(compare)
      .slice(0, query.limit);
  }

  /** A tool's generations, page by page through the ordered index: O(page), whatever the tool's size. */
  function listToolGenerations(query: GenerationQuery, toolId: string): Generation[] {
    const page: Generation[] = [];
    if (query.limit <= 0) return page;
    const after = query.after ? { at: query.after.requestTimestamp.getTime(), id: query.after.id } : null;
    generationsByToolInOrder.walk(toolId, query.order, after, (id) => {
      const generation = generations.find(id);
      if (generation !== undefined && (query.statuses === undefined || query.statuses.includes(generation.status))) page.push(generation);
      return page.length < query.limit;
    });
    return page;
  }

  /** The store's own copy of an outcome's JSON, so the caller's objects and the stored ones never alias. */
  function storableOutcome(outcome: GenerationOutcome): GenerationOutcome {
    const hasJson =
      (outcome.responsePayload !== undefined && outcome.responsePayload !== null) ||
      (outcome.errorDetails !== undefined && outcome.errorDetails !== null) ||
      (outcome.costProvenance !== undefined && outcome.costProvenance !== null);
    return hasJson
      ? {
          ...outcome,
          responsePayload: snapshotJson(outcome.responsePayload),
          errorDetails: snapshotJson(outcome.errorDetails),
          // The provenance's adjustment count is the re-price gate: a caller mutating its copy must not move it.
          ...(outcome.costProvenance === undefined ? {} : { costProvenance: snapshotProvenance(outcome.costProvenance) }),
        }
      : outcome;
  }

  /** `settle` (the domain composite) over the stored records, stored as one synchronous step. */
  function settleGeneration(id: string, outcome: GenerationOutcome, at: Date): AccountedSettlement | null {
    const generation = generations.find(id);
    if (generation === undefined) return null;
    if (isTerminalGenerationStatus(generation.status)) return { generation: { changed: false, record: generation, previousStatus: generation.status }, cast: null, cook: null, castPiece: null };
    const cast = generation.castId === null ? null : (casts.find(generation.castId) ?? null);
    const cook = generation.cookId === null ? null : (cooks.find(generation.cookId) ?? null);
    const settlement = settle(generation, cast, cook, storableOutcome(outcome), at);
    // The hold is settled by the same step that finished the generation (its gate), and only then;
    // before a parent this settlement ends releases its reservation, so what the child did not
    // spend goes back to the reservation and out with its one release.
    const hold = finishedNow(settlement.generation) ? accounts.settle(settlement.generation.record, at) : null;
    // Stored in the operation's order (generation, cast, cook), so the change feed reports it so.
    if (settlement.generation.changed) generations.storeDecided(settlement.generation.record);
    if (settlement.cast?.changed) casts.storeDecided(settlement.cast.record);
    const lastCookWrite = settlement.castPiece ?? settlement.cook;
    if (lastCookWrite?.changed) cooks.storeDecided(lastCookWrite.record);
    return hold === null ? settlement : { ...settlement, hold };
  }

  /** `adjust` (the domain composite) over the stored records, stored as one synchronous step. */
  function adjustGeneration(id: string, correction: CostCorrection): CostAdjustmentResult | null {
    const generation = generations.find(id);
    if (generation === undefined) return null;
    const cast = generation.castId === null ? null : (casts.find(generation.castId) ?? null);
    const cook = generation.cookId === null ? null : (cooks.find(generation.cookId) ?? null);
    const decided = adjust(generation, cast, cook, correction);
    // The store keeps its own frozen copy of the provenance (its adjustment count is the gate).
    const adjusted = decided.generation.changed
      ? { ...decided, generation: { ...decided.generation, record: { ...decided.generation.record, costProvenance: snapshotProvenance(decided.generation.record.costProvenance) } } }
      : decided;
    if (adjusted.generation.changed) generations.storeDecided(adjusted.generation.record);
    if (adjusted.cast?.changed) casts.storeDecided(adjusted.cast.record);
    if (adjusted.cook?.changed) cooks.storeDecided(adjusted.cook.record);
    return adjusted;
  }

  function storeCastEnding(ending: CastEnding): CastEnding {
    if (ending.cast.changed) casts.storeDecided(ending.cast.record);
    if (ending.castPiece?.changed) cooks.storeDecided(ending.castPiece.record);
    return ending;
  }

  function cookOf(cast: Cast): Cook | null {
    return cast.cookId === null ? null : (cooks.find(cast.cookId) ?? null);
  }

  function storableGeneration(generation: Generation): Generation {
    return { ...generation, requestPayload: snapshotJson(generation.requestPayload), metadata: snapshotJson(generation.metadata) };
  }

  function storableCast(cast: Cast): Cast {
    return { ...cast, metadata: snapshotJson(cast.metadata) };
  }

  /**
   * The key first, then `createAttached` (the domain composite) over the stored parents; when it
   * says `created`, the parents and the child are stored in one synchronous step. A repeated key or
   * a refusal stores nothing; an id that exists throws before anything is stored.
   */
  function insertAttached(child: NewAttachedChild, accounting: CreationAccounting = {}): AttachedInsertion<Generation> | AttachedInsertion<Cast> | LimitedInsertion {
    // The key first: a repeated key gets its record whatever its parents' state now.
    const keyHolder = child.record.idempotencyKey === null ? null : (child.kind === 'cast' ? casts : generations).findByIdempotencyKey(child.record.idempotencyKey);
    if (keyHolder !== null) return { outcome: 'existing', record: keyHolder } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
    const cast = child.kind === 'generation' && child.castId !== null ? (casts.find(child.castId) ?? null) : null;
    const cookId = creationCookId(child, cast);
    const cook = cookId === null ? null : (cooks.find(cookId) ?? null);
    if (child.kind === 'cast') {
      const decided = createAttached({ ...child, record: storableCast(child.record) }, { cast: null, cook });
      if (decided.outcome !== 'created') return decided;
      casts.existingFor(decided.record); // throws on an id that exists, before anything is stored
      if (decided.cook !== null) cooks.storeDecided(decided.cook);
      casts.insert(decided.record);
      if (accounting.budget) accounts.storeBudget('cast', decided.record.id, accounting.budget);
      return decided;
    }
    const decided = createAttached({ ...child, record: storableGeneration(child.record) }, { cast, cook });
    if (decided.outcome !== 'created') return decided;
    generations.existingFor(decided.record);
    // The hold and the parents' budgets, decided over the generation as its parents accepted it.
    const hold = accounts.decideHold(decided.record, accounting.hold ?? null, child.at);
    if (hold?.outcome === 'limited') return hold;
    if (hold !== null) accounts.storeHold(hold);
    // Stored in the operation's order (cast, cook, generation), so the change feed reports it so.
    if (decided.cast !== null) casts.storeDecided(decided.cast);
    if (decided.cook !== null) cooks.storeDecided(decided.cook);
    generations.insert(decided.record);
    const created: typeof decided & HeldCreation = hold === null ? decided : { ...decided, held: hold };
    return created;
  }

  function openChildren(parent: ParentRef, limit: number): OpenChildren {
    if (parent.kind === 'cast') return { generationIds: openGenerationsByCast.first(parent.id, limit), castIds: NO_IDS };
    return { generationIds: openGenerationsByCook.first(parent.id, limit), castIds: runningCastsByCook.first(parent.id, limit) };
  }

  return {
    name: options.name ?? 'memory',
    capabilities: { sharedAcrossProcesses: false, accounts: true, prices: true, parentHolds: true, accountChanges: true },
    changes,
    accounts: accounts.store,
    prices: priceTables.store,

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
      async recordDelivery(id, report) {
        return generations.write(id, (generation) => recordGenerationDelivery(generation, report));
      },
    },

    casts: memoryParentStore<Cast, CastEnding>(
      casts,
      {
        transition(id, transition, at) {
          const cast = casts.find(id);
          return cast === undefined ? null : reportingReleases(() => storeCastEnding(endCast(cast, cookOf(cast), transition, at)));
        },
        replaceAggregates(id, expectedVersion, recomputed, at) {
          const cast = casts.find(id);
          if (cast === undefined) return null;
          const ending = replaceCastAggregates(cast, expectedVersion, storableCast(recomputed), cookOf(cast), at);
          return ending === null ? null : reportingReleases(() => storeCastEnding(ending));
        },
        hasOpenChildren: castHasOpenChildren,
        storeBudget: (id, limit) => accounts.storeBudget('cast', id, limit),
        decideParentHold: (id, accountId, units, at) => accounts.decideParentHold('cast', id, accountId, units, at),
        storeParentHold: (decision) => accounts.storeParentHold(decision),
      },
      castsToWatch,
      (id, maxEmbeddedIds) => summarizeCastChildren(generations.get([...(generationsByCast.get(id) ?? [])]), maxEmbeddedIds),
    ),

    cooks: memoryParentStore<Cook, WriteResult<Cook>>(
      cooks,
      {
        transition(id, transition, at) {
          return reportingReleases(() => cooks.write(id, (cook) => transitionCook(cook, transition, at)));
        },
        replaceAggregates(id, expectedVersion, recomputed, at) {
          const cook = cooks.find(id);
          if (cook === undefined) return null;
          const stored = { ...recomputed, metadata: snapshotJson(recomputed.metadata) };
          const write = replaceCookAggregates(cook, expectedVersion, stored, at);
          if (write === null) return null;
          return reportingReleases(() => {
            cooks.storeDecided(write.record);
            return write;
          });
        },
        hasOpenChildren: cookHasOpenChildren,
        storeBudget: (id, limit) => accounts.storeBudget('cook', id, limit),
        decideParentHold: (id, accountId, units, at) => accounts.decideParentHold('cook', id, accountId, units, at),
        storeParentHold: (decision) => accounts.storeParentHold(decision),
      },
      cooksToWatch,
      (id, maxEmbeddedIds) =>
        summarizeCookChildren(
          generations.get([...(generationsByCook.get(id) ?? [])]),
          casts.get([...(castsByCook.get(id) ?? [])]),
          maxEmbeddedIds,
        ),
    ),

    settleGeneration: async (id, outcome, at) => reportingReleases(() => settleGeneration(id, outcome, at)),
    adjustGeneration: async (id, correction) => adjustGeneration(id, correction),
    // One after another: each call sees the store its predecessors left.
    adjustGenerations: async (calls) => calls.map((call) => adjustGeneration(call.id, call.correction)),
    insertAttached: (async (child: NewAttachedChild, accounting?: CreationAccounting) => insertAttached(child, accounting)) as InsertAttached,
    openChildren: async (parent, limit) => openChildren(parent, limit),

    count() {
      return { generations: generations.size, casts: casts.size, cooks: cooks.size };
    },
    tamperAccount(accountId, figures) {
      accounts.tamper(accountId, figures);
    },
    clear() {
      accounts.clear();
      priceTables.clear();
      for (const index of [generationsByCast, generationsByCook, generationsByAccount, generationsByTool, generationsByToolInOrder, castsByCook, openGenerationsByCast, openGenerationsByCook, runningCastsByCook]) index.clear();
      for (const set of [openGenerationIds, castsToWatch, cooksToWatch]) set.clear();
      generations.clear();
      casts.clear();
      cooks.clear();
    },
  } satisfies MemoryRepository;
}
