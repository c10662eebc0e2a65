/**
 * genledger on MongoDB: `mongoRepository(db, options?)`.
 *
 * Stores generations, casts and cooks in the production collections (`generationOutputs`,
 * `casts`, `cooks`; names configurable), in their production shape: `_id`s and links as ObjectIds
 * where the id is ObjectId-shaped, `costUsd` as Decimal128, canonical status words. Documents the
 * old system wrote are read as they are (legacy status words, links under `metadata`, null or float
 * costs, missing fields). The tools that audit and repair them, and rename `cook_collections` to
 * `collections`, are `genledger/mongo/legacy` and the `genledger` command.
 *
 * Every write is one atomic conditional update on one document (no transactions), so the adapter
 * runs on a standalone server, a replica set or a sharded cluster. `repository.changes`, the feed
 * behind `tracker.watch()`, reads MongoDB change streams on a replica set or a sharded cluster and
 * falls back to polling, with one warning, on a standalone server. See docs/mongodb.md.
 *
 * Install the official driver next to genledger (it is an optional peer dependency):
 *
 * ```sh
 * npm install genledger mongodb
 * ```
 *
 * ```ts
 * import { MongoClient } from 'mongodb';
 * import { createTracker } from 'genledger';
 * import { mongoRepository } from 'genledger/mongo';
 *
 * const client = await MongoClient.connect(process.env.MONGODB_URI!);
 * const repository = mongoRepository(client.db('app'));
 * await repository.ensureIndexes(); // once per deploy; safe to repeat
 * const tracker = createTracker({ repository });
 * ```
 *
 * @module
 */
export { mongoRepository, type MongoRepository } from './repository.js';
export {
  DEFAULT_COLLECTIONS,
  DEFAULT_MONGO_OPTIONS,
  DEFAULT_CHANGE_FEED_OPTIONS,
  DEFAULT_ROLLUP_OPTIONS,
  type MongoCollectionNames,
  type MongoRepositoryOptions,
  type MongoChangeFeedOptions,
  type MongoChangeFeedMode,
} from './options.js';
export { type MongoChangeFeed, type ResolvedChangeFeedMode } from './change-feed.js';
export { CHANGE_FEED_COMMENT } from './feed-loop.js';
export { LeaseExpiredError } from './rollup/index.js';
export { MONGO_INDEXES, type IndexPlan, type EnsuredIndex } from './indexes.js';
export {
  toGenerationDocument,
  fromGenerationDocument,
  toCastDocument,
  fromCastDocument,
  toCookDocument,
  fromCookDocument,
  type GenerationDocument,
  type CastDocument,
  type CookDocument,
  type OpenChildDocument,
  type InProgressEntry,
} from './documents.js';
