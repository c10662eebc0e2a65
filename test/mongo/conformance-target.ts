/**
 * The conformance target for genledger/mongo on any `Db`: a real server, or the mingo-backed fake.
 */
import { BSON, type Db, type Document } from 'mongodb';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../../adapters/mongo/documents.js';
import { toStoredId } from '../../adapters/mongo/ids.js';
import { toAmountDocument } from '../../adapters/mongo/accounts/documents.js';
import { DEFAULT_COLLECTIONS } from '../../adapters/mongo/options.js';
import { mongoRepository, type MongoRepositoryOptions } from '../../adapters/mongo/index.js';
import type { Logger } from '../../src/tracker/context.js';
import type { ConformancePart, ConformanceTarget } from '../../src/conformance/types.js';
import { withStoredImageCheck, type StoredImageLog } from './stored-image-check.js';

/** A logger that keeps what the adapter tells it (the change feed's warnings), for tests to read. */
export function recordingLogger(): Logger & { readonly messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => void messages.push(message), error: (message) => void messages.push(message) };
}

export interface MongoTargetOptions {
  readonly name: string;
  readonly db: () => Db;
  /** Options of every repository made (change feed settings, logger). */
  readonly repository?: MongoRepositoryOptions;
  /** The same database through another client, for the change-feed part's second process. */
  readonly secondDb?: () => Db | Promise<Db>;
  /** Drops the change feed's connection (the emulated stream, a poll, the server's cursor). */
  readonly forceReconnect?: () => Promise<void>;
  readonly scale?: number;
  readonly timeoutMs?: number;
  readonly idFormat?: 'readable' | 'objectId';
  readonly skip?: Partial<Record<ConformancePart, string>>;
  readonly teardown?: () => Promise<void>;
  /** See `ConformanceTarget.coalescingAccountFeed`: why the feed (polling) may coalesce an account's changes. */
  readonly coalescingAccountFeed?: string;
}

export function mongoConformanceTarget(options: MongoTargetOptions): ConformanceTarget & { readonly log: StoredImageLog } {
  const log: StoredImageLog = { compared: 0, overtaken: 0 };
  const names = ['generationOutputs', 'casts', 'cooks', 'genledgerPriceTables'] as const;
  const collection = (name: (typeof names)[number]) => options.db().collection<Document>(name);
  const collections = () => ({ generations: collection('generationOutputs'), casts: collection('casts'), cooks: collection('cooks') });
  let indexed = false;
  const secondDb = options.secondDb;
  const forceReconnect = options.forceReconnect;
  return {
    name: options.name,
    log,
    scale: options.scale,
    timeoutMs: options.timeoutMs,
    idFormat: options.idFormat ?? 'objectId',
    skip: options.skip,
    coalescingAccountFeed: options.coalescingAccountFeed,
    // Option (a): the adapter's apply-once gate without transactions lives in the parent.
    async create() {
      const repository = mongoRepository(options.db(), options.repository);
      if (!indexed) {
        await repository.ensureIndexes();
        indexed = true;
      }
      return withStoredImageCheck(repository, collections(), log);
    },
    ...(secondDb && { createSecond: async () => withStoredImageCheck(mongoRepository(await secondDb(), options.repository), collections(), log) }),
    ...(forceReconnect && { forceReconnect: () => forceReconnect() }),
    async reset() {
      for (const name of names) await collection(name).deleteMany({});
      for (const name of [DEFAULT_COLLECTIONS.accounts, DEFAULT_COLLECTIONS.ledgerEntries, DEFAULT_COLLECTIONS.budgets]) await options.db().collection(name).deleteMany({});
    },
    /** Overwrites an account's stored figures (reconcile must find the drift). */
    async tamperAccount(_repository, accountId, figures) {
      const set: Document = {};
      for (const field of ['balance', 'held', 'available', 'spent'] as const) {
        const amount = figures[field];
        if (amount !== undefined) set[field] = toAmountDocument(amount);
      }
      await options.db().collection(DEFAULT_COLLECTIONS.accounts).updateOne({ _id: toStoredId(accountId) as never }, { $set: set });
    },
    teardown: options.teardown,
    inspect: () => {
      const raw = async (name: (typeof names)[number], id: string) => collection(name).findOne({ _id: toStoredId(id) as never });
      return {
        generation: async (id) => {
          const document = await raw('generationOutputs', id);
          return document === null ? null : fromGenerationDocument(document);
        },
        cast: async (id) => {
          const document = await raw('casts', id);
          return document === null ? null : fromCastDocument(document);
        },
        cook: async (id) => {
          const document = await raw('cooks', id);
          return document === null ? null : fromCookDocument(document);
        },
        /** BSON bytes of the stored document, private open entries included (what a write rewrites). */
        storedSize: async (kind, id) => {
          const document = await raw(kind === 'generation' ? 'generationOutputs' : kind === 'cast' ? 'casts' : 'cooks', id);
          if (document === null) throw new Error(`storedSize: no ${kind} "${id}"`);
          return BSON.calculateObjectSize(document);
        },
        count: async () => ({
          generations: await collection('generationOutputs').countDocuments({}),
          casts: await collection('casts').countDocuments({}),
          cooks: await collection('cooks').countDocuments({}),
        }),
      };
    },
  };
}
