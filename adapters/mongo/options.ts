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
  /**
   * Price tables stored through the repository (`tracker.setPrices(table, { store: true })`), one
   * document per revision.
   * @default 'genledgerPriceTables'
   */
  readonly priceTables: string;
}

/** The production collection names. */
export const DEFAULT_COLLECTIONS: MongoCollectionNames = Object.freeze({
  generations: 'generationOutputs',
  casts: 'casts',
  cooks: 'cooks',
  collections: 'collections',
  priceTables: 'genledgerPriceTables',
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
  /**
   * How long a roll-up operation's owner may take to finish it (its parent writes land only while
   * the server's `$$NOW` is before the lease's end), in milliseconds. docs/mongodb.md,
   * "Constant-size parents".
   * @default 30000
   */
  readonly rollupLeaseMs?: number;
  /**
   * How far past a lease `recover()` (the sweeper) waits before taking the operation over, in
   * milliseconds: more than the worst clock difference between this process and the servers.
   * @default 5000
   */
  readonly takeoverMarginMs?: number;
  /**
   * The most roll-up operations a parent document holds in progress at once (about 60 BSON bytes
   * each); a write beyond it waits for room.
   * @default 1000
   */
  readonly maxInProgress?: number;
  /**
   * The clock roll-up leases are computed from. The server's clock enforces them; a wrong client
   * clock costs only liveness. Tests tie it to the fake server's clock.
   * @default the wall clock
   */
  readonly clock?: () => Date;
}

/** The roll-up protocol's defaults. */
export const DEFAULT_ROLLUP_OPTIONS = Object.freeze({ rollupLeaseMs: 30_000, takeoverMarginMs: 5_000, maxInProgress: 1_000 });

/** The lease settings with every default filled in; a value that would stall or never fence is refused. */
export function resolveRollupOptions(options: MongoRepositoryOptions): { rollupLeaseMs: number; takeoverMarginMs: number; maxInProgress: number; clock: () => Date } {
  const milliseconds = (option: 'rollupLeaseMs' | 'takeoverMarginMs', minimum: number) => {
    const value = options[option] ?? DEFAULT_ROLLUP_OPTIONS[option];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > 86_400_000) {
      throw new RangeError(`[genledger] [mongo] ${option} must be a whole number of milliseconds from ${minimum} to 86400000; got ${String(value)}`);
    }
    return value;
  };
  const maxInProgress = options.maxInProgress ?? DEFAULT_ROLLUP_OPTIONS.maxInProgress;
  if (typeof maxInProgress !== 'number' || !Number.isInteger(maxInProgress) || maxInProgress < 1 || maxInProgress > 100_000) {
    throw new RangeError(`[genledger] [mongo] maxInProgress must be a whole number from 1 to 100000; got ${String(maxInProgress)}`);
  }
  const clock = options.clock ?? (() => new Date());
  if (typeof clock !== 'function') throw new RangeError(`[genledger] [mongo] clock must be a function returning a Date; got ${typeof clock}`);
  return { rollupLeaseMs: milliseconds('rollupLeaseMs', 1), takeoverMarginMs: milliseconds('takeoverMarginMs', 0), maxInProgress, clock };
}

/** Every option's default, as one constant. */
export const DEFAULT_MONGO_OPTIONS: Readonly<Required<{ [K in keyof MongoRepositoryOptions]: NonNullable<MongoRepositoryOptions[K]> }>> = Object.freeze({
  collections: DEFAULT_COLLECTIONS,
  name: 'mongo',
  changeFeed: DEFAULT_CHANGE_FEED_OPTIONS,
  logger: consoleLogger,
  ...DEFAULT_ROLLUP_OPTIONS,
  clock: () => new Date(),
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
