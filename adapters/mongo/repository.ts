/**
 * `mongoRepository(db, options)`: the repository port on MongoDB. Every write is one
 * `findOneAndUpdate` on one document (see conditional-write.ts for what it returns and why); reads
 * are plain queries; creation is an `insertOne` made idempotent by a unique index. The port's
 * composites (creation with parents, settlement, a cast's end, reconcile's replacement) are
 * sequences of such writes, each safe to repeat, gated by the child's intent and the parent's
 * in-progress entries (rollup/); `recover()` finishes what a crash left half done. A child whose
 * creation is under way is stored hidden (`version: 0`): no read reports it.
 */
import { ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { type Cast, type Cook, type Generation, ConflictError, isTerminalParentStatus } from 'genledger';
import {
  recordGenerationDelivery,
  recordGenerationProgress,
  startGeneration,
  transitionCook,
  type WriteResult,
  type GenerationQuery,
  type Insertion,
  type LedgerRepository,
  type CreationAccounting,
  type MaintenanceQuery,
} from 'genledger/adapter';
import { createChangeFeed, type MongoChangeFeed } from './change-feed.js';
import { conditionalWrite, isDuplicateKeyError, type WriteTarget } from './conditional-write.js';
import {
  fromCastDocument,
  fromCookDocument,
  fromGenerationDocument,
  toCastDocument,
  toCookDocument,
  toGenerationDocument,
} from './documents.js';
import { allOf, generationUpdatedBefore, idAfter, idsBeyond, nothingInFlight, parentUpdatedBefore, VISIBLE } from './filters.js';
import { deliveryPlan, progressPlan, startPlan, type WritePlan } from './generation-writes.js';
import { ensureIndexes, type EnsuredIndex } from './indexes.js';
import { toStoredId, type StoredDocument } from './ids.js';
import { DEFAULT_MONGO_OPTIONS, resolveMongoOptions, type MongoCollectionNames, type MongoRepositoryOptions } from './options.js';
import { cookTransitionPlan } from './parent-writes.js';
import { mongoPriceTables } from './price-tables.js';
import { createRollupProtocol } from './rollup/index.js';
import { budgetFlags, storeBudget } from './accounts/budgets.js';
import { mongoAccountStore } from './accounts/store.js';
import { CAST_WORDS, COOK_WORDS, GENERATION_WORDS, OPEN_GENERATION_WORDS } from './status-words.js';
import { summarizeCastChildren, summarizeCookChildren } from './summaries.js';

/** The MongoDB repository: the port, plus index creation. */
export interface MongoRepository extends LedgerRepository {
  /**
   * Creates the indexes the queries need (see docs/mongodb.md, "Indexes"), including the unique
   * index that makes creation idempotent by key, and, when the change feed polls (a standalone
   * server, or `changeFeed.mode: 'polling'`), the `{ updatedAt: 1, _id: 1 }` index its polls read.
   * Explicit and safe to run again; run it once at deploy time, before the first write.
   */
  ensureIndexes(): Promise<EnsuredIndex[]>;
  /**
   * The change feed behind `tracker.watch()`: MongoDB change streams on a replica set or a sharded
   * cluster, polling on a standalone server (see docs/mongodb.md, "The change feed").
   * @experimental
   */
  readonly changes: MongoChangeFeed;
  /** The collection names in use. */
  readonly collectionNames: MongoCollectionNames;
}

function storedIds(ids: readonly string[]): (ObjectId | string)[] {
  return [...new Set(ids)].map(toStoredId);
}

async function insertRecord<T extends { id: string; idempotencyKey: string | null }>(
  collection: Collection<StoredDocument>,
  entity: string,
  document: StoredDocument,
  record: T,
  read: (document: Document) => T,
): Promise<Insertion<T>> {
  try {
    await collection.insertOne(document);
    return { created: true, record };
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    if (record.idempotencyKey !== null) {
      // The unique index refused a second record with this key: the first one is the answer.
      const existing = await collection.findOne({ idempotencyKey: record.idempotencyKey });
      if (existing !== null) return { created: false, record: read(existing) };
    }
    throw new ConflictError('id', `a ${entity} with id "${record.id}" already exists`, error);
  }
}

async function findByKey<T>(collection: Collection<StoredDocument>, key: string, read: (document: Document) => T): Promise<T | null> {
  const document = await collection.findOne({ idempotencyKey: key, ...VISIBLE });
  return document === null ? null : read(document);
}

export function mongoRepository(db: Db, options: MongoRepositoryOptions = {}): MongoRepository {
  const { rollup, names, changeFeed } = resolveMongoOptions(options);
  const name = options.name ?? DEFAULT_MONGO_OPTIONS.name;
  const changes = createChangeFeed({
    db,
    names,
    settings: changeFeed,
    logger: options.logger ?? DEFAULT_MONGO_OPTIONS.logger,
  });
  // Collections are handles only: the driver does no I/O until a query runs.
  const generations = db.collection<StoredDocument>(names.generations);
  const casts = db.collection<StoredDocument>(names.casts);
  const cooks = db.collection<StoredDocument>(names.cooks);
  const generationTarget: WriteTarget<Generation> = { collection: generations, read: fromGenerationDocument, entity: 'generation' };
  const cookTarget: WriteTarget<Cook> = { collection: cooks, read: fromCookDocument, entity: 'cook' };

  const changed = (result: { changed: boolean }) => result.changed;

  function write<T extends { status: string }>(target: WriteTarget<T>, id: string, plan: WritePlan | null, reduce: (record: T) => WriteResult<T>) {
    return conditionalWrite(target, id, plan, reduce, changed);
  }

  async function getMany<T>(collection: Collection<StoredDocument>, ids: readonly string[], read: (document: Document) => T): Promise<T[]> {
    if (ids.length === 0) return [];
    const documents = await collection.find({ _id: { $in: storedIds(ids) }, ...VISIBLE }).toArray();
    return documents.map(read);
  }

  /**
   * Parents maintenance must look at: running ones with nothing in flight and no write since
   * `idleBefore` (to expire), and cancelled ones with something still in flight (a cascade a crash
   * cut short, to resume). Entries a crash left behind are `recover()`'s, not flagged here.
   */
  async function parentsForMaintenance<T>(
    collection: Collection<StoredDocument>,
    read: (document: Document) => T,
    runningWords: readonly string[],
    cancelledWords: readonly string[],
    somethingOpen: Document,
    openPath: string,
    { idleBefore, afterId, limit }: MaintenanceQuery,
  ): Promise<T[]> {
    const idle = allOf({ status: { $in: [...runningWords] } }, nothingInFlight(openPath), parentUpdatedBefore(idleBefore));
    const cutShort = allOf({ status: { $in: [...cancelledWords] } }, somethingOpen);
    // Not a hidden parent (its parent hold being taken): nothing may end it before it shows.
    const filter = allOf(idAfter(afterId), VISIBLE, { $or: [idle, cutShort] });
    const documents = await collection.find(filter, { sort: { _id: 1 }, limit }).toArray();
    return documents.map(read);
  }

  /** `inFlightCount` as read is above 0, or (legacy, no count) an entry is open at one of `paths`. */
  function anythingOpen(...paths: string[]): Document {
    return {
      $or: [
        { inFlightCount: { $type: 'number', $gt: 0 } },
        ...paths.map((path) => ({ [`${path}.0`]: { $exists: true } })),
      ],
    };
  }

  const accountCollections = {
    accounts: db.collection<StoredDocument>(names.accounts),
    ledgerEntries: db.collection<Document>(names.ledgerEntries),
    budgets: db.collection<StoredDocument>(names.budgets),
  };
  const protocol = createRollupProtocol({ generations, casts, cooks, accounts: accountCollections }, rollup);

  /** A parent's budget is stored before the parent (accounts/budgets.ts says why). */
  async function withBudget(kind: 'cast' | 'cook', id: string, accounting: CreationAccounting | undefined): Promise<void> {
    if (accounting?.budget) await storeBudget(accountCollections.budgets, kind, id, accounting.budget);
  }

  return {
    name,
    // accountChanges: the change feed reads the accounts collection too (change streams, polling).
    capabilities: { sharedAcrossProcesses: true, accounts: true, prices: true, parentHolds: true, accountChanges: true },
    accounts: mongoAccountStore(accountCollections),
    prices: mongoPriceTables(db, names.priceTables),
    ids: () => new ObjectId().toHexString(),
    collectionNames: names,

    changes,
    ensureIndexes: async () => ensureIndexes(db, names, { polling: (await changes.mode()) === 'polling' }),

    generations: {
      insert: (generation) => insertRecord(generations, 'generation', toGenerationDocument(generation), generation, fromGenerationDocument),
      findByIdempotencyKey: (key) => findByKey(generations, key, fromGenerationDocument),
      get: (ids) => getMany(generations, ids, fromGenerationDocument),
      async list(query: GenerationQuery) {
        const direction = query.order === 'asc' ? 1 : -1;
        const conditions: Document[] = [];
        if (query.castId !== undefined) conditions.push({ castId: toStoredId(query.castId) });
        if (query.cookId !== undefined) conditions.push({ cookId: toStoredId(query.cookId) });
        if (query.masterAccountId !== undefined) conditions.push({ masterAccountId: toStoredId(query.masterAccountId) });
        // The top-level toolId only, as castId and cookId: a legacy document naming its tool under
        // metadata alone carries no usage, so a re-price would leave it alone anyway.
        if (query.toolId !== undefined) conditions.push({ toolId: query.toolId });
        if (query.statuses !== undefined) conditions.push({ status: { $in: query.statuses.flatMap((status) => GENERATION_WORDS[status]) } });
        if (query.after !== undefined) {
          const beyond = direction === 1 ? '$gt' : '$lt';
          const { requestTimestamp, id } = query.after;
          conditions.push({ $or: [{ requestTimestamp: { [beyond]: requestTimestamp } }, { requestTimestamp, $or: idsBeyond(toStoredId(id), direction) }] });
        }
        conditions.push(VISIBLE);
        const filter = allOf(...conditions);
        const documents = await generations.find(filter, { sort: { requestTimestamp: direction, _id: direction }, limit: query.limit }).toArray();
        return documents.map(fromGenerationDocument);
      },
      async findStale({ updatedBefore, limit }) {
        // A legacy document with no timestamp at all reads as updated when its ObjectId was made;
        // it is fetched as a candidate and kept only if that is before the cut-off.
        const filter = allOf({ status: { $in: [...OPEN_GENERATION_WORDS] } }, VISIBLE, generationUpdatedBefore(updatedBefore, true));
        const documents = await generations.find(filter, { sort: { updatedAt: 1, _id: 1 }, limit }).toArray();
        return documents.map(fromGenerationDocument).filter((generation) => generation.updatedAt < updatedBefore);
      },
      start: (id, at) => write(generationTarget, id, startPlan(at), (generation) => startGeneration(generation, at)),
      recordProgress: (id, report) => write(generationTarget, id, progressPlan(report), (generation) => recordGenerationProgress(generation, report)),
      recordDelivery: (id, report) => write(generationTarget, id, deliveryPlan(report), (generation) => recordGenerationDelivery(generation, report)),
    },

    casts: {
      insert: async (cast, accounting) => {
        if (accounting?.hold) return protocol.insertHeldParent('cast', cast, accounting.hold, {});
        await withBudget('cast', cast.id, accounting);
        return insertRecord(casts, 'cast', { ...toCastDocument(cast), ...budgetFlags(accounting?.budget, null) }, cast, fromCastDocument);
      },
      findByIdempotencyKey: (key) => findByKey(casts, key, fromCastDocument),
      get: (ids) => getMany(casts, ids, fromCastDocument),
      transition: (id, transition, at) => protocol.transitionCast(id, transition, at),
      summarizeChildren: (id, { maxEmbeddedIds }) => summarizeCastChildren(generations, id, maxEmbeddedIds),
      replaceAggregates: (id, expectedVersion, recomputed, at) => protocol.replaceCastAggregates(id, expectedVersion, recomputed, at),
      findForMaintenance: (query) =>
        parentsForMaintenance(casts, fromCastDocument, CAST_WORDS.running, CAST_WORDS.cancelled, anythingOpen('openSteps'), 'openSteps', query),
    },

    cooks: {
      insert: async (cook, accounting) => {
        if (accounting?.hold) return protocol.insertHeldParent('cook', cook, accounting.hold, {});
        await withBudget('cook', cook.id, accounting);
        return insertRecord(cooks, 'cook', { ...toCookDocument(cook), ...budgetFlags(accounting?.budget, null) }, cook, fromCookDocument);
      },
      findByIdempotencyKey: (key) => findByKey(cooks, key, fromCookDocument),
      get: (ids) => getMany(cooks, ids, fromCookDocument),
      async transition(id, transition, at) {
        const written = await write(cookTarget, id, cookTransitionPlan(id, transition, at), (cook) => transitionCook(cook, transition, at));
        // A cook this ended (or a repeat of the write that ended it) releases its parent hold, if it has one.
        if (written === null || !isTerminalParentStatus(written.record.status)) return written;
        const release = await protocol.releaseIfEnded('cook', id, at);
        return release === null ? written : { ...written, releases: [release] };
      },
      summarizeChildren: (id, { maxEmbeddedIds }) => summarizeCookChildren(generations, casts, id, maxEmbeddedIds),
      replaceAggregates: (id, expectedVersion, recomputed, at) => protocol.replaceCookAggregates(id, expectedVersion, recomputed, at),
      findForMaintenance: (query) =>
        parentsForMaintenance(cooks, fromCookDocument, COOK_WORDS.running, COOK_WORDS.cancelled, anythingOpen('openPieces', 'openGenerations'), 'openPieces', query),
    },

    insertAttached: protocol.insertAttached as MongoRepository['insertAttached'],
    settleGeneration: (id, outcome, at) => protocol.settleGeneration(id, outcome, at),
    adjustGeneration: (id, correction) => protocol.adjustGeneration(id, correction),
    openChildren: (parent, limit) => protocol.openChildren(parent, limit),
    recover: (options) => protocol.recover(options),
  } satisfies MongoRepository;
}
