/**
 * genledger's PostgreSQL store: generations, casts and cooks as rows of three tables, on the
 * `pg` driver, with the roll-up done by the database.
 *
 * What it stores: one row per generation, cast and cook. Money is `numeric` (exact), points
 * `bigint`, times `timestamptz`, metadata and payloads `jsonb`. A parent row holds aggregates only
 * (counts, money, status, times, capped id lists), so it keeps one size however many children it
 * has in flight. Every state change is ONE statement: the child's own transition is the gate (its
 * insert, its `UPDATE ... WHERE status IN ('pending', 'processing') RETURNING`, a cast's move from
 * running), and the parents' updates in the same statement read only what that write returned,
 * so a repeat applies nothing. See docs/postgres.md.
 *
 * Install (`pg` is an optional peer dependency of genledger):
 *
 * ```sh
 * npm install genledger pg
 * ```
 *
 * Set up: the host owns the pool; the schema is created by an explicit, re-runnable `migrate()`
 * (run it at deploy time, or apply the SQL files in `dist/postgres/migrations/` yourself).
 *
 * ```ts
 * import pg from 'pg';
 * import { createTracker } from 'genledger';
 * import { postgresRepository } from 'genledger/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const repository = postgresRepository(pool, { schema: 'public', tablePrefix: 'genledger_' });
 * await repository.migrate();
 * const tracker = createTracker({ repository });
 * ```
 *
 * @module
 */
import {
  type Account,
  type Cast,
  type Cook,
  type Units,
  ConflictError,
  type LedgerEntry,
  GenledgerError,
  RepositoryError,
  ValidationError,
  consoleLogger,
  type Generation,
} from 'genledger';
import { reconcileFigures } from 'genledger/adapter';
import type {
  AccountStore,
  AccountedSettlement,
  CreationAccounting,
  LimitedInsertion,
  HeldCreation,
  ParentHeldCreation,
  ParentRelease,
  ReleasedReservations,
  GenerationOutcome,
  Logger,
  AttachedInsertion,
  CastEnding,
  InsertAttached,
  Insertion,
  LedgerRepository,
  MaintenanceQuery,
  NewAttachedChild,
  OpenChildren,
  ParentRef,
  ParentTransition,
  WriteResult,
  CostAdjustmentResult,
  CostCorrection,
  AdjustmentCall,
} from 'genledger/adapter';
import {
  accountFromJson,
  budgetFromJson,
  buildAccountStatements,
  entryFromJson,
  heldFromRow,
  isAccountRace,
  limitedFromRow,
  missingAccountOf,
} from './account-sql.js';
import { buildAdjustmentsStatement, buildAdjustmentStatement, MAX_ADJUST_BATCH } from './adjustment-sql.js';
import { buildPriceTableStatements, priceTableFromRow, priceTableParams } from './price-tables-sql.js';
import { buildCreationStatements, GENERATION_BATCH_INPUT_COLUMNS, MAX_CREATION_BATCH } from './creation-sql.js';
import { BatchQueue } from './batch-queue.js';
import { createChangeLog, type PostgresChangeFeed, type PostgresChangeFeedOptions, type PruneReport } from './change-feed.js';
import { Executor, isPool, type PostgresListenerClient, type PostgresPool, type Statement } from './client.js';
import { quoteIdentifier, runMigrations, type MigrationReport } from './migrate.js';
import {
  castAggregatesToRow,
  castFromRow,
  castToRow,
  childrenSummaryFromRow,
  cookAggregatesToRow,
  cookFromRow,
  cookToRow,
  generationFromRow,
  generationToRow,
  jsonParam,
  storableJson,
  storableText,
  timestampParam,
  writeResultFromRow,
  type Row,
  type SqlValue,
} from './rows.js';
import { buildSettleGenerations, endedHeldParent, settleQueue as createSettleQueue, type SettleInput } from './settle-generations.js';
import { buildStatements, type TableNames } from './statements.js';

export type {
  PostgresListenerClient,
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryable,
  PostgresQueryConfig,
  PostgresQueryResult,
} from './client.js';
export type { PostgresChangeFeed, PostgresChangeFeedOptions, PruneReport } from './change-feed.js';
export { DEFAULT_POSTGRES_CHANGE_FEED_OPTIONS, changeChannel } from './change-feed.js';
export type { Migration, MigrationReport } from './migrate.js';
export { POSTGRES_MIGRATIONS, renderMigration } from './migrate.js';
export type { TableNames } from './statements.js';

/** Options of {@link postgresRepository}. */
export interface PostgresRepositoryOptions {
  /**
   * The schema that holds genledger's tables; `migrate()` creates it if it is missing. Lower-case
   * letters, digits and underscores.
   * @default 'public'
   */
  readonly schema?: string | undefined;
  /**
   * Prefix of every table, index and constraint name, so genledger's tables sit beside the host's.
   * Lower-case letters, digits and underscores, at most 24 characters; may be empty.
   * @default 'genledger_'
   */
  readonly tablePrefix?: string | undefined;
  /**
   * Name used in error messages.
   * @default 'postgres'
   */
  readonly name?: string | undefined;
  /**
   * Send statements as named prepared statements, parsed and planned once per connection. Turn
   * off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before
   * 1.21).
   * @default true
   */
  readonly preparedStatements?: boolean | undefined;
  /**
   * How many times in all a statement is sent when the server aborts it with a deadlock
   * (`40P01`) or a serialization failure (`40001`). Every statement is one atomic write in its own
   * transaction, so sending it again is safe. genledger's own statements lock rows in one order
   * and do not deadlock each other; this covers other writers and non-default isolation levels.
   * @default 5
   */
  readonly maxAttempts?: number | undefined;
  /**
   * The change feed behind `tracker.watch()` (`repository.changes`): LISTEN/NOTIFY plus the change
   * log, on a dedicated connection per subscription, taken from the pool unless `connect` says
   * otherwise. `false`: no `changes` (watch() then throws; writes still fill the change log,
   * which migration 0002's triggers write, so prune it with `pruneChanges()`). See
   * docs/postgres.md, "The change feed".
   * @default {} (see DEFAULT_POSTGRES_CHANGE_FEED_OPTIONS)
   */
  readonly changeFeed?: PostgresChangeFeedOptions | false | undefined;
  /**
   * Told about each retried statement, and about the change feed's lost connections and
   * reconnections. Pass `silentLogger` (from `genledger`) to hear nothing.
   * @default consoleLogger (warnings and errors to `console`, as the tracker and the MongoDB adapter do)
   */
  readonly logger?: Logger | undefined;
}

/** The defaults of {@link PostgresRepositoryOptions}. */
export const DEFAULT_POSTGRES_OPTIONS = {
  schema: 'public',
  tablePrefix: 'genledger_',
  name: 'postgres',
  preparedStatements: true,
  maxAttempts: 5,
} as const satisfies Required<Omit<PostgresRepositoryOptions, 'logger' | 'changeFeed'>>;

/** The PostgreSQL store: the repository port, plus its schema. */
export interface PostgresRepository extends LedgerRepository {
  /** The qualified table names, for hosts' own queries and for tests. */
  readonly tables: TableNames;
  /**
   * Creates or upgrades the schema: applies, in one transaction, every migration not yet recorded
   * in `<prefix>migrations`. Safe to call on every start and from several processes at once.
   */
  migrate(): Promise<MigrationReport>;
  /**
   * The change feed (LISTEN/NOTIFY and the change log); undefined with `changeFeed: false`.
   * @experimental
   */
  readonly changes: PostgresChangeFeed | undefined;
  /**
   * Deletes change-log rows older than `retentionMs` (default: the feed's `retentionMs`). Open
   * subscriptions do this every `pruneIntervalMs`; call it on a schedule where nothing watches.
   * Safe to run from several processes at once.
   */
  pruneChanges(options?: { readonly retentionMs?: number }): Promise<PruneReport>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const PREFIX = /^([a-z_][a-z0-9_]{0,23})?$/;

function resolveOptions(options: PostgresRepositoryOptions) {
  const resolved = { ...DEFAULT_POSTGRES_OPTIONS, ...stripUndefined(options) };
  const issues = [];
  if (!IDENTIFIER.test(resolved.schema)) issues.push({ field: 'options.schema', reason: 'must be lower-case letters, digits and underscores, starting with a letter or underscore' });
  if (!PREFIX.test(resolved.tablePrefix)) issues.push({ field: 'options.tablePrefix', reason: 'must be at most 24 lower-case letters, digits and underscores, starting with a letter or underscore' });
  if (!Number.isSafeInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) issues.push({ field: 'options.maxAttempts', reason: 'must be a whole number of at least 1' });
  // 0.1.0's switches to send creation and settlement call by call: gone, since the one statement is
  // what applies each roll-up once. Refused rather than ignored, so a host that turned them off
  // (for Citus) learns its statements now span tables.
  for (const removed of ['settleInOneStatement', 'insertInOneStatement']) {
    if (removed in options) issues.push({ field: `options.${removed}`, reason: 'was removed in 0.2.0: creation and settlement are always one statement (see docs/postgres.md, Citus)' });
  }
  const feed = options.changeFeed;
  if (feed !== undefined && feed !== false) {
    if (typeof feed !== 'object' || feed === null) issues.push({ field: 'options.changeFeed', reason: 'must be an object of feed options, or false' });
    else {
      const durations = ['retentionMs', 'pruneIntervalMs', 'minReconnectDelayMs', 'maxReconnectDelayMs', 'heartbeatMs'] as const;
      for (const key of durations) {
        const value = feed[key];
        if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) issues.push({ field: `options.changeFeed.${key}`, reason: 'must be a whole number of milliseconds, at least 0' });
      }
      if (feed.catchUpBatch !== undefined && (!Number.isSafeInteger(feed.catchUpBatch) || feed.catchUpBatch < 1)) {
        issues.push({ field: 'options.changeFeed.catchUpBatch', reason: 'must be a whole number of at least 1' });
      }
      if (feed.connect !== undefined && typeof feed.connect !== 'function') issues.push({ field: 'options.changeFeed.connect', reason: 'must be a function returning a connected client' });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/**
 * An insert's failure, typed: a unique violation of the record table's own primary key (its exact
 * name, in this repository's schema) means a record with that id exists (not an idempotent repeat:
 * those are answered by the idempotency key). Anything else, a violation on another table or
 * constraint included, is not about the id and is thrown as it came. Matching by a pattern of the
 * name is not enough: with the prefix `budgets_` every table's constraints start like the budget
 * table's.
 */
function conflictOnId(entity: 'generation' | 'cast' | 'cook', id: string, place: { schema: string; tablePrefix: string }) {
  const table = `${place.tablePrefix}${entity}s`;
  const primaryKey = `${table}_pkey`;
  return (error: unknown): never => {
    const failure = error as { code?: unknown; constraint?: unknown; schema?: unknown; table?: unknown } | null;
    if (failure?.code === '23505' && failure.constraint === primaryKey && failure.schema === place.schema && failure.table === table) {
      throw new ConflictError('id', `a ${entity} with id "${id}" already exists`, error);
    }
    throw error;
  };
}

function one<T>(rows: readonly Row[], map: (row: Row) => T): T | null {
  const [row] = rows;
  return row === undefined ? null : map(row);
}

/**
 * The PostgreSQL repository. Takes the host's `pg.Pool` (use at least as many connections as
 * the concurrency you expect); does nothing until called, and `migrate()` must have run once.
 */
export function postgresRepository(pool: PostgresPool, options: PostgresRepositoryOptions = {}): PostgresRepository {
  const { schema, tablePrefix, name, preparedStatements, maxAttempts } = resolveOptions(options);
  const qualified = (table: string) => `${quoteIdentifier(schema)}.${tablePrefix}${table}`;
  const tables: TableNames = {
    generations: qualified('generations'),
    casts: qualified('casts'),
    cooks: qualified('cooks'),
    migrations: qualified('migrations'),
    changes: qualified('changes'),
    changesHorizon: qualified('changes_horizon'),
    reconcileQueue: qualified('reconcile_queue'),
    accounts: qualified('accounts'),
    accountEntries: qualified('account_entries'),
    holds: qualified('holds'),
    budgets: qualified('budgets'),
    holdRaced: qualified('hold_raced'),
    holdAccountMissing: qualified('hold_account_missing'),
    priceTables: qualified('price_tables'),
  };
  const statements = buildStatements(tables);
  const settleGenerations = buildSettleGenerations(tables);
  const creations = buildCreationStatements(tables);
  const adjustment = buildAdjustmentStatement(tables);
  const accountStatements = buildAccountStatements(tables);
  const adjustments = buildAdjustmentsStatement(tables);
  const priceStatements = buildPriceTableStatements(tables);
  const logger = options.logger ?? consoleLogger;
  const executor = new Executor(pool, {
    preparedStatements,
    maxAttempts,
    logger,
    alsoRetry: (error) => isAccountRace(error, tablePrefix),
    missingTablesHint: `genledger's tables are missing from schema "${schema}" (table prefix "${tablePrefix}"): run \`await repository.migrate()\` once before using the repository (or check the schema and tablePrefix options)`,
  });
  const run = (statement: Statement, values: Readonly<Record<string, SqlValue | undefined>>) => executor.rows(statement, values);
  const feedOptions = options.changeFeed === false ? {} : (options.changeFeed ?? {});
  const changeLog = createChangeLog({
    schema,
    tablePrefix,
    tables,
    executor,
    connect: feedOptions.connect ?? (isPool(pool) ? () => pool.connect!() as Promise<PostgresListenerClient> : null),
    logger,
    options: feedOptions,
  });

  async function insertOnce<T extends { id: string; idempotencyKey: string | null }>(
    entity: 'generation' | 'cast' | 'cook',
    set: { insert: Statement; byIdempotencyKey: Statement },
    record: T,
    row: Record<string, SqlValue>,
    fromRow: (row: Row) => T,
  ): Promise<Insertion<T>> {
    const [inserted] = await run(set.insert, row).catch(conflictOnId(entity, record.id, { schema, tablePrefix }));
    if (inserted) return { created: inserted.created === true, record: fromRow(inserted) };
    // The key was taken by a transaction that committed after the insert began: read its record.
    const [existing] = await run(set.byIdempotencyKey, { idempotency_key: record.idempotencyKey });
    if (!existing) throw new Error(`[genledger] [postgres] ${entity} "${record.id}" was neither inserted nor found by its idempotency key`);
    return { created: false, record: fromRow(existing) };
  }

  /**
   * A cast or cook with a parent hold (parent-hold-sql.ts): one statement stores the parent, takes
   * the hold on its `initiatorAccountId` and stores the budget carrying the reservation, or writes
   * nothing (`limited`: the account cannot cover it; `existing`: the key's parent, no hold taken).
   */
  async function insertWithHold<T extends Cast | Cook>(
    entity: 'cast' | 'cook',
    set: { insertWithHold: Statement; byIdempotencyKey: Statement },
    record: T,
    row: Record<string, SqlValue>,
    hold: Units,
    fromRow: (row: Row) => T,
  ): Promise<(Insertion<T> & ParentHeldCreation) | LimitedInsertion> {
    const [result] = await run(set.insertWithHold, { ...row, hold_points: hold.points ?? null, hold_usd: hold.costUsd ?? null }).catch(
      conflictOnId(entity, record.id, { schema, tablePrefix }),
    );
    if (!result) throw new Error(`[genledger] [postgres] the insert of ${entity} "${record.id}" with a hold returned no row`);
    switch (result.outcome) {
      case 'created': {
        const budget = result.b_now as Row | null;
        const entry = result.a_entry as Row | null;
        const account = result.a_now as Row | null;
        if (budget === null || entry === null || account === null) throw new Error(`[genledger] [postgres] the hold of ${entity} "${record.id}" returned no entry`);
        return {
          created: true,
          record: fromRow(result),
          held: { outcome: 'held', account: accountFromJson(account), entry: entryFromJson(entry), budget: budgetFromJson(budget) },
        };
      }
      case 'existing':
        return { created: false, record: fromRow(result) };
      case 'insufficient': {
        const found = accountFromJson(result.a_found as Row);
        const requested = { points: hold.points ?? 0, costUsd: hold.costUsd ?? '0' };
        return { outcome: 'limited', limit: { outcome: 'insufficient', account: found, unit: result.a_unit as 'points' | 'costUsd', requested, available: found.available } };
      }
      case 'conflict': {
        // The key was taken by a transaction that committed after the statement began: read its record.
        const [existing] = await run(set.byIdempotencyKey, { idempotency_key: record.idempotencyKey });
        if (!existing) throw new Error(`[genledger] [postgres] ${entity} "${record.id}" was neither inserted nor found by its idempotency key`);
        return { created: false, record: fromRow(existing) };
      }
      default:
        throw new Error(`[genledger] [postgres] the insert of ${entity} "${record.id}" with a hold returned the unknown outcome ${String(result.outcome)}`);
    }
  }

  /**
   * A call's input row of `settle_generations` (see SETTLE_INPUT_COLUMNS): checked here, at the
   * call, so an unstorable value fails that call alone and writes nothing. `ordinal` is set by the
   * queue.
   */
  function settleInput(id: string, outcome: GenerationOutcome, at: Date): SettleInput {
    return {
      id,
      status: outcome.status,
      points_spent: outcome.pointsSpent,
      protocol_net_points: outcome.protocolNetPoints,
      cost_usd: outcome.costUsd,
      cost_provenance: storableJson(outcome.costProvenance ?? null, 'costProvenance'),
      response_timestamp: timestampParam(outcome.responseTimestamp, 'responseTimestamp'),
      only_if_updated_before: outcome.onlyIfUpdatedBefore ? timestampParam(outcome.onlyIfUpdatedBefore) : null,
      set_response_payload: outcome.responsePayload !== undefined,
      response_payload: storableJson(outcome.responsePayload, 'responsePayload'),
      artifact_urls: outcome.artifactUrls === undefined ? null : storableJson(outcome.artifactUrls, 'artifactUrls'),
      set_error_details: outcome.errorDetails !== undefined,
      error_details: storableJson(outcome.errorDetails, 'errorDetails'),
      platform_specific_run_id: storableText(outcome.platformSpecificRunId ?? null, 'platformSpecificRunId'),
      at: timestampParam(outcome.at),
      apply_at: timestampParam(at),
    };
  }

  const writeOf =
    <T extends { status: string }>(fromRow: (row: Row, prefix: string) => T) =>
    (rows: readonly Row[]): WriteResult<T> | null =>
      one(rows, (row) => writeResultFromRow(row, fromRow));

  const generationWrite = writeOf(generationFromRow);

  function maintenanceValues({ idleBefore, afterId, limit }: MaintenanceQuery) {
    return { idle_before: timestampParam(idleBefore), limit, after_id: afterId ?? null };
  }

  /** A `CastEnding` from the row of `casts_end` / `casts_replace` (`c_` the cast, `k_` the cook). */
  function castEnding(row: Row): CastEnding {
    return {
      cast: writeResultFromRow(row, castFromRow, 'c_'),
      castPiece: row.k_present === true ? writeResultFromRow(row, cookFromRow, 'k_') : null,
    };
  }

  const casts: PostgresRepository['casts'] = {
    async insert(record, accounting) {
      if (accounting?.hold) return insertWithHold('cast', statements.casts, record, castToRow(record), accounting.hold, (row) => castFromRow(row));
      if (!accounting?.budget) return insertOnce('cast', statements.casts, record, castToRow(record), (row) => castFromRow(row));
      const set = { insert: statements.casts.insertWithBudget, byIdempotencyKey: statements.casts.byIdempotencyKey };
      return insertOnce('cast', set, record, { ...castToRow(record), ...budgetValues(accounting) }, (row) => castFromRow(row));
    },
    async findByIdempotencyKey(key) {
      const [row] = await run(statements.casts.byIdempotencyKey, { idempotency_key: storableText(key, 'idempotencyKey') });
      return row ? castFromRow(row) : null;
    },
    async get(ids) {
      if (ids.length === 0) return [];
      return (await run(statements.casts.byIds, { ids: [...ids] })).map((row) => castFromRow(row));
    },
    async transition(id, transition, at) {
      const [row] = await run(statements.casts.transition, { id, transition, at: timestampParam(at) });
      return castEndingWithReleases(row);
    },
    async summarizeChildren(id, { maxEmbeddedIds }) {
      const [row] = await run(statements.casts.summarize, { parent_id: id, max_embedded_ids: maxEmbeddedIds });
      if (!row) throw new Error(`[genledger] [postgres] the summary of cast "${id}" returned no row`);
      return childrenSummaryFromRow(row, false);
    },
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      const values = { ...castAggregatesToRow({ ...recomputed, updatedAt: at }), id, expected_version: expectedVersion };
      const [row] = await run(statements.casts.replaceAggregates, values);
      return castEndingWithReleases(row);
    },
    async findForMaintenance(query) {
      const set = statements.casts.maintenance;
      return (await run(query.afterId === undefined ? set.first : set.after, maintenanceValues(query))).map((row) => castFromRow(row));
    },
  };

  const cooks: PostgresRepository['cooks'] = {
    async insert(record, accounting) {
      if (accounting?.hold) return insertWithHold('cook', statements.cooks, record, cookToRow(record), accounting.hold, (row) => cookFromRow(row));
      if (!accounting?.budget) return insertOnce('cook', statements.cooks, record, cookToRow(record), (row) => cookFromRow(row));
      const set = { insert: statements.cooks.insertWithBudget, byIdempotencyKey: statements.cooks.byIdempotencyKey };
      return insertOnce('cook', set, record, { ...cookToRow(record), ...budgetValues(accounting) }, (row) => cookFromRow(row));
    },
    async findByIdempotencyKey(key) {
      const [row] = await run(statements.cooks.byIdempotencyKey, { idempotency_key: storableText(key, 'idempotencyKey') });
      return row ? cookFromRow(row) : null;
    },
    async get(ids) {
      if (ids.length === 0) return [];
      return (await run(statements.cooks.byIds, { ids: [...ids] })).map((row) => cookFromRow(row));
    },
    async transition(id: string, transition: ParentTransition, at: Date) {
      return cookWriteWithReleases(await run(statements.cooks.transition, { id, transition, at: timestampParam(at) }));
    },
    async summarizeChildren(id, { maxEmbeddedIds }) {
      const [row] = await run(statements.cooks.summarize, { parent_id: id, max_embedded_ids: maxEmbeddedIds });
      if (!row) throw new Error(`[genledger] [postgres] the summary of cook "${id}" returned no row`);
      return childrenSummaryFromRow(row, true);
    },
    async replaceAggregates(id, expectedVersion, recomputed, at) {
      const values = { ...cookAggregatesToRow({ ...recomputed, updatedAt: at }), id, expected_version: expectedVersion };
      return cookWriteWithReleases(await run(statements.cooks.replaceAggregates, values));
    },
    async findForMaintenance(query) {
      const set = statements.cooks.maintenance;
      return (await run(query.afterId === undefined ? set.first : set.after, maintenanceValues(query))).map((row) => cookFromRow(row));
    },
  };

  async function openChildren(parent: ParentRef, limit: number): Promise<OpenChildren> {
    const statement = parent.kind === 'cast' ? statements.casts.openChildren : statements.cooks.openChildren;
    const [row] = await run(statement, { parent_id: parent.id, limit });
    if (!row) throw new Error(`[genledger] [postgres] the open children of ${parent.kind} "${parent.id}" returned no row`);
    return { generationIds: row.generation_ids as string[], castIds: row.cast_ids as string[] };
  }

  /** Group commit: see settle-generations.ts. */
  const settleQueue = createSettleQueue((calls) => run(settleGenerations, { calls: JSON.stringify(calls) }));

  async function settleGeneration(id: string, outcome: GenerationOutcome, at: Date): Promise<AccountedSettlement | null> {
    const settled = await settleQueue.call(settleInput(id, outcome, at)).catch((error: unknown) => {
      const missing = missingAccountOf(error);
      if (missing === null) throw error;
      throw new ConflictError(
        'masterAccountId',
        `the hold of generation "${missing.generationId}" is on account "${missing.accountId}", whose row is gone (deleted by hand?): nothing was settled, ` +
          `and the hold stays open. Put the account's row back (its figures can be rebuilt from its entries), then settle again`,
        error,
      );
    });
    return settled === null ? null : withReleases(settled.settlement, settled.endedHeld);
  }

  /**
   * `result` with the releases of the held parents its write ended (`releases`, for the tracker's
   * in-process `accountUpdate`): migration 0009's trigger wrote them at the end of the write's
   * statement, so they are read after it (`budgets_released`), and only when that statement said a
   * parent it ended held a reservation. The write itself is one statement; this read adds none
   * to writes that end no held parent.
   */
  async function withReleases<T extends object>(result: T, ended: readonly { kind: 'cast' | 'cook'; id: string }[]): Promise<T & ReleasedReservations> {
    if (ended.length === 0) return result;
    let rows: readonly Row[];
    try {
      rows = await run(accountStatements.released, { parent_kinds: ended.map((parent) => parent.kind), parent_ids: ended.map((parent) => parent.id) });
    } catch (error) {
      // The write committed, releases included (they are in the books and on the change feed):
      // failing it now would tell the caller a done write failed. Only the in-process event is lost.
      logger.warn(`[genledger] [postgres] the release of ${ended.map((parent) => `${parent.kind} "${parent.id}"`).join(', ')} was written but could not be read back to announce in process`, { error });
      return result;
    }
    const releases: ParentRelease[] = rows.map((row) => ({
      budget: budgetFromJson(row.budget as Row),
      account: accountFromJson(row.account as Row),
      entries: [entryFromJson(row.entry as Row)],
    }));
    return releases.length === 0 ? result : { ...result, releases };
  }

  /** A cast's write (`casts_end`, `casts_replace`) with the releases it made: the cast's, or its cook's when the piece's end completed it. */
  async function castEndingWithReleases(row: Row | undefined): Promise<(CastEnding & ReleasedReservations) | null> {
    if (row === undefined) return null;
    const ending = castEnding(row);
    return withReleases(ending, [...endedHeldParent('cast', ending.cast, row.c_reserved), ...endedHeldParent('cook', ending.castPiece, row.k_reserved)]);
  }

  /** A cook's write (`cooks_transition`, `cooks_replace`) with the release it made. */
  async function cookWriteWithReleases(rows: readonly Row[]) {
    const [row] = rows;
    if (row === undefined) return null;
    const write = writeResultFromRow(row, cookFromRow);
    return withReleases(write, endedHeldParent('cook', write, row.reserved));
  }

  /** A correction's values as `adjust_generation` binds them (and `adjust_generations` reads them from its input rows). */
  function adjustmentInput(id: string, correction: CostCorrection) {
    return {
      id,
      cost_usd: correction.costUsd,
      points_spent: correction.pointsSpent,
      basis: jsonParam(correction.basis, 'basis'),
      expected_adjustments: correction.expectedAdjustments,
      at: timestampParam(correction.at),
      at_iso: correction.at.toISOString(),
    };
  }

  function adjustmentFromRow(id: string, row: Row): CostAdjustmentResult {
    const generation = row.g as Row | null;
    if (generation === null || generation === undefined) throw new Error(`[genledger] [postgres] the adjustment of generation "${id}" returned no generation`);
    const cast = row.c as Row | null | undefined;
    const cook = row.k as Row | null | undefined;
    return {
      generation: writeResultFromRow(generation, generationFromRow),
      cast: cast == null ? null : writeResultFromRow(cast, castFromRow),
      cook: cook == null ? null : writeResultFromRow(cook, cookFromRow),
    };
  }

  /** `calls` in order, cut into statements of at most {@link MAX_ADJUST_BATCH}, each generation at most once in each. */
  function adjustmentChunks(calls: readonly AdjustmentCall[]): AdjustmentCall[][] {
    const chunks: AdjustmentCall[][] = [];
    let chunk: AdjustmentCall[] = [];
    let ids = new Set<string>();
    for (const call of calls) {
      if (chunk.length === MAX_ADJUST_BATCH || ids.has(call.id)) {
        chunks.push(chunk);
        chunk = [];
        ids = new Set();
      }
      chunk.push(call);
      ids.add(call.id);
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }

  /** One statement (see adjustment-sql.ts): the generation's gated correction and its parents' differences. */
  async function adjustGeneration(id: string, correction: CostCorrection): Promise<CostAdjustmentResult | null> {
    const [row] = await run(adjustment, adjustmentInput(id, correction));
    return row ? adjustmentFromRow(id, row) : null;
  }

  /**
   * A re-price's page: `adjust_generations` (adjustment-sql.ts), one statement per
   * {@link MAX_ADJUST_BATCH} calls, in order; a call of a generation already in the statement
   * starts the next one (it must see the first's write, as one after another it would). A statement that fails wrote nothing (one
   * transaction; if the connection was lost after its commit, the resends find their gates moved
   * and write nothing): its calls are sent again one by one, so a call that cannot be adjusted
   * fails by itself; its error is thrown, and the calls after it are not sent (a re-price run
   * again picks them up).
   */
  async function adjustGenerations(calls: readonly AdjustmentCall[]): Promise<(CostAdjustmentResult | null)[]> {
    const results: (CostAdjustmentResult | null)[] = [];
    for (const chunk of adjustmentChunks(calls)) {
      const inputs = chunk.map((call, ordinal) => ({ ...adjustmentInput(call.id, call.correction), basis: call.correction.basis, ordinal }));
      if (chunk.length === 1) {
        results.push(await adjustGeneration(chunk[0]!.id, chunk[0]!.correction));
        continue;
      }
      let rows: readonly Row[];
      try {
        rows = await run(adjustments, { calls: JSON.stringify(inputs) });
      } catch {
        for (const call of chunk) results.push(await adjustGeneration(call.id, call.correction));
        continue;
      }
      const byOrdinal = new Map(rows.map((row) => [Number(row.ordinal), row]));
      chunk.forEach((call, ordinal) => {
        const row = byOrdinal.get(ordinal);
        results.push(row === undefined ? null : adjustmentFromRow(call.id, row));
      });
    }
    return results;
  }

  /**
   * Group commit of the creations of generations with no parent (with or without a hold): the
   * queue (batch-queue.ts) sends the calls made in one turn of the event loop, and those that
   * queued while a statement was in flight, as one `insert_generations` (creation-sql.ts), which
   * returns each call the row its own statement would have; a batch of one is sent as
   * `insert_attached_generation`, as are the calls of a failed batch, one by one. A call whose
   * idempotency key or id is already in the batch starts the next one, so it finds the first
   * one's record, as a repeat does.
   */
  const creationQueue = new BatchQueue<{ readonly values: Record<string, SqlValue> }, Row>({
    maxBatch: MAX_CREATION_BATCH,
    gatherTurn: true,
    startsNextBatch: ({ values }, batch) =>
      batch.some((other) => other.values.id === values.id || (values.idempotency_key !== null && other.values.idempotency_key === values.idempotency_key)),
    async send(calls) {
      if (calls.length === 1) return (await run(creations.generation, calls[0]!.values)).map((row) => ({ ...row, ordinal: 0 }));
      // The batch's document, written as text: a jsonb column's value is JSON text already
      // (jsonParam), spliced in as it is. Parsing it back to write it again cost the event loop
      // time growing with the payloads' size (100 calls of 50 kB payloads: 62 ms against 5 ms).
      const inputs = calls.map(({ values, ordinal }) => {
        const fields = [`"ordinal":${ordinal}`];
        for (const column of GENERATION_BATCH_INPUT_COLUMNS) {
          if (column.name === 'ordinal') continue;
          const value = values[column.name] ?? null;
          fields.push(`${JSON.stringify(column.name)}:${column.type === 'jsonb' && typeof value === 'string' ? value : JSON.stringify(value)}`);
        }
        return `{${fields.join(',')}}`;
      });
      return run(creations.generations, { calls: `[${inputs.join(',')}]` });
    },
    read(rows) {
      const byOrdinal = new Map(rows.map((row) => [Number(row.ordinal), row]));
      return (ordinal) => {
        const row = byOrdinal.get(ordinal);
        if (row === undefined) throw new Error(`[genledger] [postgres] a creation batch returned no row for its call ${ordinal}`);
        return row;
      };
    },
  });

  /**
   * The creation sequence as one statement (see creation-sql.ts). Only a same-key insert that
   * committed after the statement's snapshot costs a second one: the statement wrote nothing and
   * cannot see that row, so it is read by its key, as `insertOnce` does.
   */
  async function insertAttached(
    child: NewAttachedChild,
    accounting: CreationAccounting = {},
  ): Promise<(AttachedInsertion<Generation> & HeldCreation) | AttachedInsertion<Cast> | LimitedInsertion> {
    const isGeneration = child.kind === 'generation';
    const statement = isGeneration ? creations.generation : creations.cast;
    const hold = isGeneration ? (accounting.hold ?? null) : null;
    const values: Record<string, SqlValue> = {
      ...(isGeneration ? generationToRow(child.record) : castToRow(child.record)),
      ...(isGeneration ? { hold_points: hold?.points ?? null, hold_usd: hold?.costUsd ?? null } : budgetValues(accounting)),
      parent_cast_id: isGeneration ? storableText(child.castId, 'castId') : null,
      parent_cook_id: storableText(child.cookId, 'cookId'),
      at: timestampParam(child.at),
      max_in_flight: child.caps.maxInFlight,
      max_embedded_ids: child.caps.maxEmbeddedIds,
    };
    const batched = isGeneration && child.castId === null && child.cookId === null;
    const row = await (batched ? creationQueue.call({ values }) : run(statement, values).then(([only]) => only)).catch(
      conflictOnId(child.kind, child.record.id, { schema, tablePrefix }),
    );
    if (!row) throw new Error(`[genledger] [postgres] insertAttached of ${child.kind} "${child.record.id}" returned no row`);
    const recordOf = (from: Row) => (isGeneration ? generationFromRow(from, 'r_') : castFromRow(from, 'r_'));
    const cast = row.c_present === true ? castFromRow(row, 'c_') : null;
    const cook = row.k_present === true ? cookFromRow(row, 'k_') : null;
    type Outcome = 'attached' | 'closed' | 'full';
    switch (row.outcome) {
      case 'created': {
        const created = { outcome: 'created', record: recordOf(row), cast, cook } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
        if (hold === null || row.h_written === '0') return created;
        return { ...created, held: heldFromRow(row, child.record.id, (child.record as Generation).masterAccountId, hold) } as AttachedInsertion<Generation> & HeldCreation;
      }
      case 'over-budget':
      case 'insufficient':
        return limitedFromRow(row, hold);
      case 'existing':
        return { outcome: 'existing', record: recordOf(row) } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
      case 'mismatch':
        return { outcome: 'mismatch', cast: cast! };
      case 'refused-cast':
        return {
          outcome: 'refused',
          parent: 'cast',
          parentId: isGeneration ? child.castId! : '',
          attach: cast === null ? null : { outcome: row.c_outcome as Outcome, record: cast },
        };
      case 'refused-cook':
        return {
          outcome: 'refused',
          parent: 'cook',
          parentId: String(row.k_target),
          attach: cook === null ? null : { outcome: row.k_outcome as Outcome, record: cook },
        };
      case 'conflict': {
        const set = isGeneration ? statements.generations : statements.casts;
        const [existing] = await run(set.byIdempotencyKey, { idempotency_key: child.record.idempotencyKey });
        if (!existing) throw new Error(`[genledger] [postgres] ${child.kind} "${child.record.id}" was neither inserted nor found by its idempotency key`);
        return { outcome: 'existing', record: isGeneration ? generationFromRow(existing) : castFromRow(existing) } as
          | AttachedInsertion<Generation>
          | AttachedInsertion<Cast>;
      }
      default:
        throw new Error(`[genledger] [postgres] insertAttached returned the unknown outcome ${String(row.outcome)}`);
    }
  }

  /** A parent's budget as parameters (`budget_points`, `budget_usd`; NULL: not limited). */
  function budgetValues(accounting: CreationAccounting): Record<string, SqlValue> {
    return { budget_points: accounting.budget?.points ?? null, budget_usd: accounting.budget?.costUsd ?? null };
  }

  /** How many entries reconcile reads per statement. */
  const RECONCILE_PAGE = 10_000;

  /**
   * The entries to fold against `stored`, oldest first, read in pages of {@link RECONCILE_PAGE}.
   * Entries past the account's `entryCount` are kept only if the account has not moved since it
   * was read (then they are entries its figures miss: drift); if it moved, they are later writes,
   * and entries 1..entryCount are what the figures as read stand for (every writer appends its
   * entry and updates the account in one statement). So a busy account is not taken for drifted.
   */
  async function entriesToReconcile(accountId: string, stored: Account | null): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    for (let after = 0; ; ) {
      const page = await run(accountStatements.entryPage, { account_id: accountId, after_sequence: after, limit: RECONCILE_PAGE });
      for (const row of page) entries.push(entryFromJson(row));
      if (page.length < RECONCILE_PAGE) break;
      after = entries[entries.length - 1]!.sequence;
    }
    const last = entries[entries.length - 1];
    if (stored === null || last === undefined || last.sequence <= stored.entryCount) return entries;
    const [now] = await run(accountStatements.get, { account_id: accountId });
    const moved = now !== undefined && accountFromJson(now.account as Row).version !== stored.version;
    return moved ? entries.filter((entry) => entry.sequence <= stored.entryCount) : entries;
  }

  /** Accounts: each call one statement (see account-sql.ts); reconcile reads, then writes if the version held. */
  const accounts: AccountStore = {
    async move(request, at) {
      const key = { account_id: storableText(request.accountId, 'accountId'), idempotency_key: storableText(request.idempotencyKey, 'idempotencyKey') };
      const [row] = await run(accountStatements.move, {
        ...key,
        kind: request.kind,
        points: request.units.points ?? null,
        cost_usd: request.units.costUsd ?? null,
        reason: storableText(request.reason, 'reason'),
        at: timestampParam(at),
      });
      if (!row) throw new Error(`[genledger] [postgres] accounts.move of "${request.accountId}" returned no row`);
      const account = accountFromJson(row.account as Row);
      switch (row.outcome) {
        case 'applied':
        case 'existing':
          return { outcome: row.outcome, account, entry: entryFromJson(row.entry as Row) };
        case 'insufficient': {
          const requested = { points: request.units.points ?? 0, costUsd: request.units.costUsd ?? '0' };
          return { outcome: 'insufficient', account, unit: row.unit as 'points' | 'costUsd', requested, available: account.available };
        }
        case 'conflict': {
          // The key was taken by a movement committed after this statement's snapshot: read it.
          const [existing] = await run(accountStatements.entryByKey, key);
          if (!existing) throw new Error(`[genledger] [postgres] movement "${request.idempotencyKey}" was neither written nor found by its key`);
          return { outcome: 'existing', account: accountFromJson(existing.account as Row), entry: entryFromJson(existing.entry as Row) };
        }
        default:
          throw new Error(`[genledger] [postgres] accounts.move returned the unknown outcome ${String(row.outcome)}`);
      }
    },
    async get(accountId) {
      const [row] = await run(accountStatements.get, { account_id: storableText(accountId, 'accountId') });
      return row ? accountFromJson(row.account as Row) : null;
    },
    async listEntries({ accountId, afterSequence, limit }) {
      const rows = await run(accountStatements.entries, { account_id: storableText(accountId, 'accountId'), after_sequence: afterSequence, limit });
      return rows.map((row) => entryFromJson(row.entry as Row));
    },
    async reconcile(accountId, at) {
      for (;;) {
        // The account, then its entries in pages: not one snapshot, so entries written after the
        // account was read are told apart by the account's version (see entriesToReconcile).
        const [found] = await run(accountStatements.get, { account_id: storableText(accountId, 'accountId') });
        const stored = found ? accountFromJson(found.account as Row) : null;
        const entries = await entriesToReconcile(accountId, stored);
        const reconciled = reconcileFigures(accountId, stored, entries, at);
        if (!reconciled.drift || stored === null) return reconciled;
        const rebuilt = reconciled.rebuilt;
        const written = await run(accountStatements.reconcileWrite, {
          account_id: accountId,
          expected_version: stored.version,
          balance_points: rebuilt.balance.points,
          balance_usd: rebuilt.balance.costUsd,
          held_points: rebuilt.held.points,
          held_usd: rebuilt.held.costUsd,
          spent_points: rebuilt.spent.points,
          spent_usd: rebuilt.spent.costUsd,
          entry_count: rebuilt.entryCount,
          version: rebuilt.version,
          updated_at: timestampParam(at),
        });
        // The account moved between the read and the write: read it again.
        if (written.length > 0) return reconciled;
      }
    },
    async getBudget(parent) {
      const [row] = await run(accountStatements.getBudget, { parent_kind: parent.kind, parent_id: storableText(parent.id, 'parentId') });
      return row ? budgetFromJson(row.budget as Row) : null;
    },
  };

  return {
    name,
    // accountChanges: migration 0007's trigger logs every account write on the change feed.
    // parentHolds: migration 0009 (parent-hold-sql.ts; the release is its trigger).
    capabilities: { sharedAcrossProcesses: true, accounts: true, prices: true, parentHolds: true, accountChanges: true },
    accounts,
    tables,

    prices: {
      async latest() {
        const [row] = await run(priceStatements.latest, {});
        return row ? priceTableFromRow(row) : null;
      },
      async get(revision) {
        const [row] = await run(priceStatements.get, { revision });
        return row ? priceTableFromRow(row) : null;
      },
      async append(record) {
        return (await run(priceStatements.append, priceTableParams(record))).length === 1;
      },
    },

    migrate: () =>
      runMigrations(pool, { schema, tablePrefix }).catch((error: unknown) => {
        // migrate() is called by the host directly, not through the tracker's boundary: its driver errors are typed here.
        throw error instanceof GenledgerError ? error : new RepositoryError(name, 'migrate', error);
      }),

    generations: {
      async insert(generation) {
        return insertOnce('generation', statements.generations, generation, generationToRow(generation), (row) => generationFromRow(row));
      },
      async findByIdempotencyKey(key) {
        const [row] = await run(statements.generations.byIdempotencyKey, { idempotency_key: storableText(key, 'idempotencyKey') });
        return row ? generationFromRow(row) : null;
      },
      async get(ids) {
        if (ids.length === 0) return [];
        return (await run(statements.generations.byIds, { ids: [...ids] })).map((row) => generationFromRow(row));
      },
      async list(query) {
        const statement = statements.generations.list({
          castId: query.castId !== undefined,
          cookId: query.cookId !== undefined,
          masterAccountId: query.masterAccountId !== undefined,
          toolId: query.toolId !== undefined,
          statuses: query.statuses !== undefined,
          after: query.after !== undefined,
          order: query.order,
        });
        const rows = await run(statement, {
          cast_id: query.castId,
          cook_id: query.cookId,
          master_account_id: query.masterAccountId,
          tool_id: query.toolId,
          statuses: query.statuses === undefined ? undefined : [...query.statuses],
          after_timestamp: query.after ? timestampParam(query.after.requestTimestamp) : undefined,
          after_id: query.after?.id,
          limit: query.limit,
        });
        return rows.map((row) => generationFromRow(row));
      },
      async findStale({ updatedBefore, limit }) {
        return (await run(statements.generations.findStale, { updated_before: timestampParam(updatedBefore), limit })).map((row) => generationFromRow(row));
      },
      async start(id, at) {
        return generationWrite(await run(statements.generations.start, { id, at: timestampParam(at) }));
      },
      async recordProgress(id, report) {
        return generationWrite(await run(statements.generations.recordProgress, { id, progress: String(report.progress), at: timestampParam(report.at) }));
      },
      async recordDelivery(id, report) {
        return generationWrite(
          await run(statements.generations.recordDelivery, {
            id,
            outcome: report.outcome,
            attempts: report.attempts ?? null,
            error: storableText(report.error, 'deliveryError'),
            at: timestampParam(report.at),
          }),
        );
      },
    },

    casts,
    cooks,
    settleGeneration,
    adjustGeneration,
    adjustGenerations,
    insertAttached: insertAttached as InsertAttached,
    openChildren,

    changes: options.changeFeed === false ? undefined : changeLog.feed,
    async pruneChanges(pruneOptions = {}) {
      const retentionMs = pruneOptions.retentionMs;
      if (retentionMs !== undefined && (!Number.isSafeInteger(retentionMs) || retentionMs < 0)) {
        throw new ValidationError([{ field: 'options.retentionMs', reason: 'must be a whole number of milliseconds, at least 0' }]);
      }
      return changeLog.prune(retentionMs);
    },
  } satisfies PostgresRepository;
}
