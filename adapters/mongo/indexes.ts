/**
 * The indexes the adapter's queries need, each with the query it serves. `ensureIndexes()`
 * creates them; it is explicit (nothing happens at construction) and safe to run again: creating an
 * index that exists with the same keys and options is a no-op. Names are MongoDB's defaults, so an
 * index the production database already has under its default name is recognised, not duplicated.
 * docs/mongodb.md explains each one.
 */
import type { CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';
import type { MongoCollectionNames } from './options.js';

export interface IndexPlan {
  readonly collection: keyof MongoCollectionNames;
  readonly key: IndexSpecification & Record<string, 1 | -1>;
  readonly options: CreateIndexesOptions;
  /** The queries it serves. */
  readonly why: string;
  /** Made only when the change feed polls (`changeFeed.mode` 'polling', or 'auto' on a standalone server). */
  readonly forPolling?: true;
}

const uniqueKey: CreateIndexesOptions = { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } };

export const MONGO_INDEXES: readonly IndexPlan[] = [
  {
    collection: 'generations',
    key: { idempotencyKey: 1 },
    options: uniqueKey,
    why: 'idempotent recordGeneration(): a second insert with the same key fails with E11000 and the first record is returned. Partial, so records without a key (all legacy ones) are not indexed.',
  },
  {
    collection: 'generations',
    key: { castId: 1, requestTimestamp: 1, _id: 1 },
    options: {},
    why: 'listGenerations({ castId }) in both orders with its (requestTimestamp, _id) cursor; reconcile summing a cast\'s steps.',
  },
  {
    collection: 'generations',
    key: { cookId: 1, requestTimestamp: 1, _id: 1 },
    options: {},
    why: 'listGenerations({ cookId }); reconcile summing every generation below a cook.',
  },
  {
    collection: 'generations',
    key: { castId: 1, status: 1, requestTimestamp: 1, _id: 1 },
    options: {},
    why: 'openChildren of a cast (cancelling it, the sweeper resuming a cascade): its steps still pending or processing, oldest first.',
  },
  {
    collection: 'generations',
    key: { cookId: 1, status: 1, requestTimestamp: 1, _id: 1 },
    options: {},
    why: 'openChildren of a cook: the generations below it still pending or processing (pieces and steps of cast pieces), oldest first.',
  },
  {
    collection: 'generations',
    key: { masterAccountId: 1, requestTimestamp: -1, _id: -1 },
    options: {},
    why: 'listGenerations({ masterAccountId }), newest first: production\'s { masterAccountId: 1, requestTimestamp: -1 } extended by _id, the cursor\'s tie-break, so a page is an index walk rather than an in-memory sort. It serves every query the production index served.',
  },
  {
    collection: 'generations',
    key: { toolId: 1, requestTimestamp: 1, _id: 1 },
    options: {},
    why: 'reprice({ toolId, from, to }) and listGenerations({ toolId }): one tool\'s generations in request order from the range\'s start, with the (requestTimestamp, _id) cursor, instead of every tool\'s generations in the range.',
  },
  {
    collection: 'generations',
    key: { 'genledger.until': 1 },
    options: {},
    why: 'recover(): generations whose roll-up (attach or settle) is past its lease; a generation with no intent has no key in range.',
  },
  {
    collection: 'generations',
    key: { status: 1, updatedAt: 1 },
    options: {},
    why: 'the sweeper: open generations (pending, processing and their legacy words) with no write since the cut-off, oldest first.',
  },
  {
    collection: 'casts',
    key: { idempotencyKey: 1 },
    options: uniqueKey,
    why: 'idempotent startCast().',
  },
  {
    collection: 'casts',
    key: { cookId: 1, startedAt: 1, _id: 1 },
    options: {},
    why: 'reconcile of a cook: its cast pieces, first ones first.',
  },
  {
    collection: 'casts',
    key: { cookId: 1, status: 1, startedAt: 1, _id: 1 },
    options: {},
    why: 'openChildren of a cook: its cast pieces still running, oldest first.',
  },
  {
    collection: 'casts',
    key: { 'openSteps.since': 1 },
    options: {},
    why: 'recover(): casts still carrying a 0.1.0 open entry older than the cut-off, to rebuild (multikey; a cast without the list has no key in range).',
  },
  {
    collection: 'casts',
    key: { 'genledger.until': 1 },
    options: {},
    why: "recover(): casts whose piece (or own creation's) roll-up is past its lease (a cast with no intent has no key in range).",
  },
  {
    collection: 'casts',
    key: { 'genledgerInProgress.u': 1 },
    options: {},
    why: 'recover(): casts holding an in-progress entry past its lease (multikey; empty at rest).',
  },
  {
    collection: 'casts',
    key: { status: 1, updatedAt: 1 },
    options: {},
    why: 'maintenance: running casts left idle since the cut-off, and cancelled casts with steps still in flight.',
  },
  {
    collection: 'cooks',
    key: { idempotencyKey: 1 },
    options: uniqueKey,
    why: 'idempotent startCook().',
  },
  {
    collection: 'cooks',
    key: { 'openPieces.since': 1 },
    options: {},
    why: 'recover(): cooks still carrying a 0.1.0 open piece entry older than the cut-off, to rebuild.',
  },
  {
    collection: 'cooks',
    key: { 'openGenerations.since': 1 },
    options: {},
    why: 'recover(): cooks still carrying a 0.1.0 open generation entry older than the cut-off, to rebuild.',
  },
  {
    collection: 'cooks',
    key: { 'genledger.until': 1 },
    options: {},
    why: "recover(): cooks whose own creation with a parent hold is past its lease (a cook with no intent has no key in range).",
  },
  ...(['casts', 'cooks'] as const).map(
    (collection): IndexPlan => ({
      collection,
      key: { genledgerHeld: 1, status: 1 },
      options: { partialFilterExpression: { genledgerHeld: 'held' } },
      why: "recover(): ended parents whose parent hold a crash left unreleased; partial, so it holds only parents whose reservation is not released yet, and by status, so a sweep's `status: { $nin: <open> }` reads the ended ones only, not every running held parent.",
    }),
  ),
  {
    collection: 'cooks',
    key: { 'genledgerInProgress.u': 1 },
    options: {},
    why: 'recover(): cooks holding an in-progress entry past its lease (multikey; empty at rest).',
  },
  {
    collection: 'cooks',
    key: { status: 1, updatedAt: 1 },
    options: {},
    why: 'maintenance: running cooks left idle since the cut-off, and cancelled cooks with children still in flight.',
  },
  ...(['generations', 'casts', 'cooks', 'accounts'] as const).map(
    (collection): IndexPlan => ({
      collection,
      key: { updatedAt: 1, _id: 1 },
      options: {},
      why: 'the change feed where it polls (a standalone server): each poll reads the documents written since the newest updatedAt it read, less the overlap, in (updatedAt, _id) order.',
      forPolling: true,
    }),
  ),
  {
    collection: 'ledgerEntries',
    key: { accountId: 1, sequence: 1 },
    options: { unique: true },
    why: 'listLedgerEntries() by sequence and reconcileAccount() reading every entry in order; unique, so an entry inserted again (by the next write on its account, or a read, after a crash) is a no-op.',
  },
  {
    collection: 'ledgerEntries',
    key: { accountId: 1, key: 1 },
    options: { unique: true },
    why: 'the gate of every account write: an idempotency key (movement:<key>) or a generation\'s hold, capture, release or overdraft (<kind>:<generation>) is found here once it landed, so nothing is applied twice.',
  },
  {
    collection: 'budgets',
    key: { 'genledgerInProgress.u': 1 },
    options: {},
    why: 'recover(): budgets still carrying an entry of a hold\'s count or settlement past its lease (sparse by nature: a budget at rest carries none).',
  },
];

/** One index `ensureIndexes()` made sure of. */
export interface EnsuredIndex {
  readonly collection: string;
  readonly name: string;
  readonly key: Record<string, 1 | -1>;
}

export async function ensureIndexes(db: Db, names: MongoCollectionNames, options: { readonly polling: boolean }): Promise<EnsuredIndex[]> {
  const ensured: EnsuredIndex[] = [];
  for (const plan of MONGO_INDEXES) {
    if (plan.forPolling && !options.polling) continue;
    const collectionName = names[plan.collection];
    try {
      const name = await db.collection(collectionName).createIndex(plan.key, plan.options);
      ensured.push({ collection: collectionName, name, key: plan.key });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // 85 IndexOptionsConflict, 86 IndexKeySpecsConflict: an index of that name or those keys exists with other options.
      if (code === 85 || code === 86) {
        throw new Error(
          `[genledger] [mongo] ${collectionName} already has an index on ${JSON.stringify(plan.key)} with other options; genledger needs ${JSON.stringify(plan.options)} (${plan.why}). Drop or rename the existing index, then run ensureIndexes() again.`,
          { cause: error },
        );
      }
      throw error;
    }
  }
  return ensured;
}
