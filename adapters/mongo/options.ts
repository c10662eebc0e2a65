/** Options of `mongoRepository`, with their defaults. */
import { consoleLogger, ValidationError, type ValidationIssue } from 'genledger';
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
   * Accounts (balances, held and spent amounts), one document per account id.
   * @default 'genledgerAccounts'
   */
  readonly accounts: string;
  /**
   * The accounts' append-only ledger entries, one document per entry.
   * @default 'genledgerLedgerEntries'
   */
  readonly ledgerEntries: string;
  /**
   * Parents' budgets, one document per budgeted cast or cook.
   * @default 'genledgerBudgets'
   */
  readonly budgets: string;
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
  accounts: 'genledgerAccounts',
  ledgerEntries: 'genledgerLedgerEntries',
  budgets: 'genledgerBudgets',
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

/**
 * The lease settings with every default filled in. A value that would stall or never fence is
 * refused with a `ValidationError` naming every wrong option (`options.rollupLeaseMs`, ...), before
 * anything is written.
 */
export function resolveRollupOptions(options: MongoRepositoryOptions): { rollupLeaseMs: number; takeoverMarginMs: number; maxInProgress: number; clock: () => Date } {
  const issues: ValidationIssue[] = [];
  const wholeNumber = (option: 'rollupLeaseMs' | 'takeoverMarginMs' | 'maxInProgress', minimum: number, maximum: number, unit: string): number => {
    const value = options[option] ?? DEFAULT_ROLLUP_OPTIONS[option];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
      issues.push({ field: `options.${option}`, reason: `must be a whole number${unit} from ${minimum} to ${maximum}; got ${String(value)}` });
    }
    return value;
  };
  const rollupLeaseMs = wholeNumber('rollupLeaseMs', 1, 86_400_000, ' of milliseconds');
  const takeoverMarginMs = wholeNumber('takeoverMarginMs', 0, 86_400_000, ' of milliseconds');
  const maxInProgress = wholeNumber('maxInProgress', 1, 100_000, '');
  const clock = options.clock ?? (() => new Date());
  if (typeof clock !== 'function') issues.push({ field: 'options.clock', reason: `must be a function returning a Date; got ${typeof clock}` });
  if (issues.length > 0) throw new ValidationError(issues);
  return { rollupLeaseMs, takeoverMarginMs, maxInProgress, clock };
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

/** The collection names with the defaults filled in; a given name that is not a non-empty string is a `ValidationError`. */
export function resolveCollectionNames(names: Partial<MongoCollectionNames> | undefined): MongoCollectionNames {
  const issues: ValidationIssue[] = [];
  for (const [key, value] of Object.entries(names ?? {})) {
    if (!(key in DEFAULT_COLLECTIONS)) issues.push({ field: `options.collections.${key}`, reason: `is not a collection genledger uses (${Object.keys(DEFAULT_COLLECTIONS).join(', ')})` });
    else if (value !== undefined && (typeof value !== 'string' || value.length === 0)) issues.push({ field: `options.collections.${key}`, reason: `must be a non-empty string; got ${JSON.stringify(value)}` });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const given = Object.fromEntries(Object.entries(names ?? {}).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_COLLECTIONS, ...given };
}

/**
 * The change feed options with every default filled in. Values that would make it spin or stall are
 * refused with a `ValidationError` naming every wrong option (`options.changeFeed.mode`, ...).
 */
export function resolveChangeFeedOptions(options: MongoChangeFeedOptions | undefined): Required<MongoChangeFeedOptions> {
  const given = options ?? {};
  const issues: ValidationIssue[] = [];
  const positive = (option: Exclude<keyof MongoChangeFeedOptions, 'mode'>): number => {
    const value = given[option];
    if (value === undefined) return DEFAULT_CHANGE_FEED_OPTIONS[option];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      issues.push({ field: `options.changeFeed.${option}`, reason: `must be a positive number of ${option === 'pollBatchSize' ? 'items' : 'milliseconds'}; got ${String(value)}` });
    }
    return value;
  };
  const mode = given.mode ?? DEFAULT_CHANGE_FEED_OPTIONS.mode;
  if (!['auto', 'changeStreams', 'polling'].includes(mode)) {
    issues.push({ field: 'options.changeFeed.mode', reason: `must be 'auto', 'changeStreams' or 'polling'; got ${String(mode)}` });
  }
  const resolved = {
    mode,
    pollIntervalMs: positive('pollIntervalMs'),
    pollOverlapMs: positive('pollOverlapMs'),
    pollBatchSize: Math.max(1, Math.trunc(positive('pollBatchSize'))),
    reconnectDelayMs: positive('reconnectDelayMs'),
    maxReconnectDelayMs: positive('maxReconnectDelayMs'),
  };
  if (issues.length > 0) throw new ValidationError(issues);
  return { ...resolved, maxReconnectDelayMs: Math.max(resolved.reconnectDelayMs, resolved.maxReconnectDelayMs) };
}

/**
 * Every option of `mongoRepository` checked at once: one `ValidationError` lists each wrong option,
 * thrown before the repository exists (nothing is read or written).
 */
export function resolveMongoOptions(options: MongoRepositoryOptions): {
  rollup: ReturnType<typeof resolveRollupOptions>;
  names: MongoCollectionNames;
  changeFeed: Required<MongoChangeFeedOptions>;
} {
  const issues: ValidationIssue[] = [];
  const checked = <T>(resolve: () => T): T | undefined => {
    try {
      return resolve();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.issues);
      return undefined;
    }
  };
  const rollup = checked(() => resolveRollupOptions(options));
  const names = checked(() => resolveCollectionNames(options.collections));
  const changeFeed = checked(() => resolveChangeFeedOptions(options.changeFeed));
  if (rollup === undefined || names === undefined || changeFeed === undefined) throw new ValidationError(issues);
  return { rollup, names, changeFeed };
}
