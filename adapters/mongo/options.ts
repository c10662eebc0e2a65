/** Options of `mongoRepository`, with their defaults. */
import { consoleLogger } from 'genledger';
import type { Logger } from 'genledger/adapter';

/** The collections genledger reads and writes. */
export interface MongoCollectionNames {
  /**
   * Generations, one document each.
   * @default 'generationOutputs'
   */
  readonly generations: string;
  /**
   * Casts (multi-step spell runs).
   * @default 'casts'
   */
  readonly casts: string;
  /**
   * Cooks (batch runs toward a collection's supply).
   * @default 'cooks'
   */
  readonly cooks: string;
  /**
   * The collections cooks fill. genledger only renames it into place (`migrate`); it never writes it.
   * @default 'collections'
   */
  readonly collections: string;
}

/** The production collection names. */
export const DEFAULT_COLLECTIONS: MongoCollectionNames = Object.freeze({
  generations: 'generationOutputs',
  casts: 'casts',
  cooks: 'cooks',
  collections: 'collections',
});

/**
 * How `repository.changes` (the feed behind `tracker.watch()`) reads changes:
 * - `'auto'`: asks the server once, at the first subscription (the `hello` command): MongoDB change
 *   streams on a replica set or a sharded cluster; on a standalone server, polling, with one warning
 *   through `logger`.
 * - `'changeStreams'`: change streams only; subscribing fails on a standalone server.
 * - `'polling'`: polling only, on any server (e.g. where the database user may not open change
 *   streams). No warning: it was asked for.
 */
export type MongoChangeFeedMode = 'auto' | 'changeStreams' | 'polling';

/** Options of the change feed (`repository.changes`). docs/mongodb.md, "The change feed", explains each. */
export interface MongoChangeFeedOptions {
  /**
   * Change streams, polling, or decided by the server's topology.
   * @default 'auto'
   */
  readonly mode?: MongoChangeFeedMode;
  /**
   * Polling only: the pause between two polls, in milliseconds. Each poll is one indexed query per
   * collection, per subscription.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * Polling only: how far behind the newest `updatedAt` it has already read each poll reads again,
   * in milliseconds. `updatedAt` comes from the writing process's clock, so a change is seen only
   * if it lands no more than this far behind the newest one read: make it larger than the worst
   * clock difference between writing processes plus the longest a write takes to land. Every poll
   * re-reads (`_id`, `version` and `updatedAt` of) the documents written in this window.
   * @default 5000
   */
  readonly pollOverlapMs?: number;
  /**
   * Polling only: the batch size of the poll queries.
   * @default 500
   */
  readonly pollBatchSize?: number;
  /**
   * The first wait before the feed reopens its change stream or polls again after a failure, in
   * milliseconds; it doubles with each failure in a row, up to `maxReconnectDelayMs`.
   * @default 250
   */
  readonly reconnectDelayMs?: number;
  /**
   * The longest wait between two reconnection attempts, in milliseconds.
   * @default 30000
   */
  readonly maxReconnectDelayMs?: number;
}

/** The change feed's defaults. */
export const DEFAULT_CHANGE_FEED_OPTIONS: Readonly<Required<MongoChangeFeedOptions>> = Object.freeze({
  mode: 'auto',
  pollIntervalMs: 1000,
  pollOverlapMs: 5000,
  pollBatchSize: 500,
  reconnectDelayMs: 250,
  maxReconnectDelayMs: 30_000,
});

export interface MongoRepositoryOptions {
  /**
   * Collection names, for a database that names them differently. Missing names take the defaults.
   * @default DEFAULT_COLLECTIONS
   */
  readonly collections?: Partial<MongoCollectionNames>;
  /**
   * Name used in error messages (`[genledger] [mongo] ...`).
   * @default 'mongo'
   */
  readonly name?: string;
  /**
   * The change feed: change streams or polling (see {@link MongoChangeFeedOptions}). Missing fields
   * take the defaults.
   * @default DEFAULT_CHANGE_FEED_OPTIONS
   */
  readonly changeFeed?: MongoChangeFeedOptions;
  /**
   * Where the change feed reports what it handles by itself: the one warning that a standalone
   * server makes it poll, and each dropped change stream or failed poll it recovers from (errors it
   * cannot recover from go to the subscriber's `onError`). Pass the tracker's logger, or your own.
   * @default warnings and errors to `console`
   */
  readonly logger?: Logger;
}

/** Every option's default, as one constant. */
export const DEFAULT_MONGO_OPTIONS: Readonly<Required<{ [K in keyof MongoRepositoryOptions]: NonNullable<MongoRepositoryOptions[K]> }>> = Object.freeze({
  collections: DEFAULT_COLLECTIONS,
  name: 'mongo',
  changeFeed: DEFAULT_CHANGE_FEED_OPTIONS,
  logger: consoleLogger,
});

export function resolveCollectionNames(names: Partial<MongoCollectionNames> | undefined): MongoCollectionNames {
  const given = Object.fromEntries(Object.entries(names ?? {}).filter(([, value]) => typeof value === 'string' && value.length > 0));
  return { ...DEFAULT_COLLECTIONS, ...given };
}

function positive(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`[genledger] [mongo] changeFeed.${option} must be a positive number of milliseconds or items; got ${String(value)}`);
  return value;
}

/** The change feed options with every default filled in; refuses values that would make it spin or stall. */
export function resolveChangeFeedOptions(options: MongoChangeFeedOptions | undefined): Required<MongoChangeFeedOptions> {
  const given = options ?? {};
  const mode = given.mode ?? DEFAULT_CHANGE_FEED_OPTIONS.mode;
  if (!['auto', 'changeStreams', 'polling'].includes(mode)) {
    throw new RangeError(`[genledger] [mongo] changeFeed.mode must be 'auto', 'changeStreams' or 'polling'; got ${String(mode)}`);
  }
  const reconnectDelayMs = positive(given.reconnectDelayMs, DEFAULT_CHANGE_FEED_OPTIONS.reconnectDelayMs, 'reconnectDelayMs');
  return {
    mode,
    pollIntervalMs: positive(given.pollIntervalMs, DEFAULT_CHANGE_FEED_OPTIONS.pollIntervalMs, 'pollIntervalMs'),
    pollOverlapMs: positive(given.pollOverlapMs, DEFAULT_CHANGE_FEED_OPTIONS.pollOverlapMs, 'pollOverlapMs'),
    pollBatchSize: Math.max(1, Math.trunc(positive(given.pollBatchSize, DEFAULT_CHANGE_FEED_OPTIONS.pollBatchSize, 'pollBatchSize'))),
    reconnectDelayMs,
    maxReconnectDelayMs: Math.max(reconnectDelayMs, positive(given.maxReconnectDelayMs, DEFAULT_CHANGE_FEED_OPTIONS.maxReconnectDelayMs, 'maxReconnectDelayMs')),
  };
}
