/**
 * The PostgreSQL adapter against a real server: the whole shared conformance suite, then what is
 * particular to PostgreSQL (exact numeric sums, millisecond times, hostile driver and session
 * settings, the schema and its migrations, an index for every query, one statement per settlement,
 * lock order and a hot parent). The server is started once for this file (see
 * test/support/postgres-server.ts; `PG_URL` points at an existing one instead), with a pool of 10
 * connections so concurrent calls really run concurrently.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changeChannel,
  DEFAULT_POSTGRES_OPTIONS,
  POSTGRES_MIGRATIONS,
  postgresRepository,
  type PostgresPool,
  type PostgresQueryConfig,
  type PostgresRepository,
  type PostgresRepositoryOptions,
  type TableNames,
} from '../../adapters/postgres/index.js';
import { embeddedMigrationsSource, readMigrationFiles } from '../../adapters/postgres/sql/migration-files.js';
import { EMBEDDED_MIGRATIONS } from '../../adapters/postgres/sql/migrations.js';
import { buildChangeLogStatements, catchUpSelect } from '../../adapters/postgres/change-feed.js';
import { quoteIdentifier, runMigrations } from '../../adapters/postgres/migrate.js';
import { buildStatements } from '../../adapters/postgres/statements.js';
import { buildSettleGenerations } from '../../adapters/postgres/settle-generations.js';
import { buildCreationStatements } from '../../adapters/postgres/creation-sql.js';
import { newCast, newCook, newGeneration } from '../../src/domain/builders.js';
import type { GenerationOutcome } from '../../src/domain/generation-reducer.js';
import { sumUsd } from '../../src/domain/money.js';
import type { Cast, Generation } from '../../src/domain/records.js';
import { endCast, replaceCastAggregates } from '../../src/domain/rollup/cast-ending.js';
import type { ParentCaps } from '../../src/domain/rollup/contribution.js';
import { settle } from '../../src/domain/rollup/settlement.js';
import { GenledgerError, WatchReadDelayedError } from '../../src/errors.js';
import type { LedgerRepository, NewAttachedChild } from '../../src/port.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { failingReads } from '../../src/conformance/failing-reads.js';
import { runRepositoryConformance } from '../../src/conformance/index.js';
import { auditLedger } from '../../src/conformance/ledger-audit.js';
import { controlledConnections, recorder, until } from '../support/postgres-feed.js';
import { postgresInspector } from '../support/postgres-inspector.js';
import { startPostgres, type PostgresTestServer } from '../support/postgres-server.js';
import { runReprice } from '../../adapters/mongo/reprice-command.js';
import { openStore } from '../../adapters/mongo/reprice-stores.js';

const POOL_SIZE = 10;

let server: PostgresTestServer;
let pool: pg.Pool;
/** Another process's view: the change feed's writers and watchers sit on different pools. */
let pool2: pg.Pool;
let tables: TableNames;
// Against a shared server (PG_URL), schemas of their own per run, dropped afterwards.
const runTag = process.env.PG_URL ? `_${process.pid}` : '';
// The adapter's warnings (retried statements, the feed's reconnections, many of them provoked
// here on purpose) on one line each, without the error's stack and fields.
const oneLine = (message: string, details?: Record<string, unknown>) =>
  console.warn(message, details?.error instanceof Error ? `(${details.error.message})` : '');
const options: PostgresRepositoryOptions = { schema: `genledger_test${runTag}`, tablePrefix: 'gl_', logger: { warn: oneLine, error: oneLine } };
const schemasCreated = new Set<string>([options.schema!]);

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ ...server.connection, max: POOL_SIZE });
  // An idle client losing its connection (the server stopping first) must not crash the run.
  pool.on('error', () => {});
  pool2 = new pg.Pool({ ...server.connection, max: 6 });
  pool2.on('error', () => {});
  const repository = postgresRepository(pool, options);
  tables = repository.tables;
  await repository.migrate();
  console.log(`[genledger postgres] ${server.description}`);
});

afterAll(async () => {
  if (server?.external && pool) {
    for (const schema of schemasCreated) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  await pool?.end();
  await pool2?.end();
  await server?.stop();
});

async function truncate(): Promise<void> {
  await pool.query(`TRUNCATE ${tables.generations}, ${tables.casts}, ${tables.cooks}, ${tables.accounts}, ${tables.accountEntries}, ${tables.holds}, ${tables.budgets}, ${tables.priceTables}`);
}

/**
 * Drops every change-feed connection of `repository` (by its application_name), from a
 * connection of the other pool, and waits until each backend is gone.
 */
async function terminateFeedConnections(repository: LedgerRepository): Promise<number> {
  const name = (repository as PostgresRepository).changes!.applicationName;
  const { rows } = await pool2.query<{ terminated: boolean }>(
    `SELECT pg_terminate_backend(pid, 10000) AS terminated FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [name],
  );
  expect(rows.length, 'a feed connection to terminate').toBeGreaterThan(0);
  expect(rows.every((row) => row.terminated)).toBe(true);
  return rows.length;
}

runRepositoryConformance({
  name: 'postgres',
  // The watcher waits at least half a second before reconnecting a dropped feed, so the writes the
  // change-feed part makes right after `forceReconnect` land while it is away and must be caught up.
  create: () => postgresRepository(pool, { ...options, changeFeed: { minReconnectDelayMs: 1000 } }),
  // The writing tracker in the change-feed part: its own pool, as another process would have.
  createSecond: async () => postgresRepository(pool2, options),
  forceReconnect: async (repository) => void (await terminateFeedConnections(repository)),
  reset: truncate,
  inspect: () => postgresInspector(pool, tables),
  // Overwrites an account's stored figures behind the adapter's back (reconcile must find the drift).
  tamperAccount: async (_repository, accountId, figures) => {
    const set: string[] = [];
    const values: unknown[] = [accountId];
    for (const [name, column] of [['balance', 'balance'], ['held', 'held'], ['spent', 'spent']] as const) {
      const amount = figures[name];
      if (amount === undefined) continue;
      values.push(amount.points, amount.costUsd);
      set.push(`${column}_points = $${values.length - 1}::bigint, ${column}_usd = $${values.length}::numeric`);
    }
    if (set.length > 0) await pool.query(`UPDATE ${tables.accounts} SET ${set.join(', ')} WHERE account_id = $1`, values);
  },
  // A real server behind a network socket: every port call is a round trip, and the heavier parts
  // (10,000 sequential completions, 10,000 at 64-way) need more than the in-process default.
  timeoutMs: 240_000,
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL specifics.

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const CAPS: ParentCaps = { maxInFlight: 100, maxEmbeddedIds: 100 };
const silent = { warn: () => {}, error: () => {} };
/** The ids of every migration but `applied`, in id order: what `migrate()` applies after those. */
const migrationIdsBut = (applied: readonly string[]) => POSTGRES_MIGRATIONS.map((migration) => migration.id).filter((id) => !applied.includes(id));

function generationRecord(id: string, links: Partial<Pick<Generation, 'castId' | 'cookId'>> = {}, overrides: Partial<Generation> = {}): Generation {
  const base = newGeneration(
    { masterAccountId: 'account-pg', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc' },
    id,
    T0,
    { castId: links.castId ?? null, cookId: links.cookId ?? null, spellId: null, collectionId: null },
  );
  return { ...base, ...overrides };
}

/** A pool that counts the statements sent through it. */
function countingPool(): { pool: PostgresPool; statements: () => number; texts: string[] } {
  const texts: string[] = [];
  return {
    pool: {
      query: (config: PostgresQueryConfig) => {
        texts.push(config.text);
        return pool.query(config as pg.QueryConfig) as unknown as ReturnType<PostgresPool['query']>;
      },
    },
    statements: () => texts.length,
    texts,
  };
}

function outcome(status: GenerationOutcome['status'], costUsd: string, seconds: number, extra: Partial<GenerationOutcome> = {}): GenerationOutcome {
  return { status, pointsSpent: 4, protocolNetPoints: -1, costUsd, responseTimestamp: at(seconds), at: at(seconds), ...extra };
}

/** Stores a child under its parents with `insertAttached`, and checks that it was created. */
async function attached(repository: LedgerRepository, child: NewAttachedChild): Promise<void> {
  const result = await repository.insertAttached(child);
  expect(result.outcome, `insertAttached of ${child.record.id}`).toBe('created');
}

const generationUnder = (record: Generation, castId: string | null, cookId: string | null, caps: ParentCaps = CAPS): NewAttachedChild => ({
  kind: 'generation',
  record,
  castId,
  cookId,
  at: T0,
  caps,
});

/**
 * What the domain's `settle` leaves (the specification of settleGeneration), computed from the
 * records as stored now, then checked against the statement's result and the stored rows.
 */
async function expectSettleLikeDomain(repository: PostgresRepository, id: string, finish: GenerationOutcome, applyAt: Date, label: string) {
  const inspect = postgresInspector(pool, repository.tables);
  const before = await inspect.generation(id);
  const cast = before?.castId ? await inspect.cast(before.castId) : null;
  const cook = before?.cookId ? await inspect.cook(before.cookId) : null;
  const expected = before === null ? null : settle(before, cast, cook, finish, applyAt);
  const actual = await repository.settleGeneration(id, finish, applyAt);
  expect(actual, label).toEqual(expected);
  if (expected === null) return actual;
  expect(await inspect.generation(id), `${label}: stored generation`).toEqual(expected.generation.record);
  if (cast) expect(await inspect.cast(cast.id), `${label}: stored cast`).toEqual(expected.cast?.record ?? cast);
  if (cook) expect(await inspect.cook(cook.id), `${label}: stored cook`).toEqual((expected.castPiece ?? expected.cook)?.record ?? cook);
  return actual;
}

describe('postgres: the adapter itself', () => {
  it('migrate() on a server it cannot reach is a RepositoryError (migrate), and a call before migrate() says to run it', async () => {
    const unreachable = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'nobody', password: 'none', database: 'none', connectionTimeoutMillis: 5_000 });
    unreachable.on('error', () => {});
    try {
      const error = await postgresRepository(unreachable, { ...options, logger: silent }).migrate().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GenledgerError);
      expect(error).toMatchObject({ name: 'RepositoryError', code: 'REPOSITORY_FAILURE', repository: 'postgres', operation: 'migrate' });
      expect((error as GenledgerError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await unreachable.end();
    }
    // A schema nobody migrated: the first call names the missing tables and what to do.
    const fresh = { schema: `never_migrated${runTag}`, tablePrefix: 'genledger_', logger: silent };
    const tracker = createTracker({ repository: postgresRepository(pool, fresh), logger: silent });
    const missing = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1 }).catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ name: 'RepositoryError', code: 'REPOSITORY_FAILURE' });
    expect((missing as Error).message).toMatch(/does not exist: genledger's tables are missing from schema "never_migrated[^"]*" \(table prefix "genledger_"\): run `await repository\.migrate\(\)` once/);
    expect(((missing as Error).cause as Error).cause).toMatchObject({ code: '42P01' });
  });

  it('takes every option as undefined (a host passing process.env values under exactOptionalPropertyTypes)', () => {
    const fromEnvironment: PostgresRepositoryOptions = {
      schema: process.env.GENLEDGER_NO_SUCH_SCHEMA,
      tablePrefix: process.env.GENLEDGER_NO_SUCH_PREFIX,
      name: undefined,
      preparedStatements: undefined,
      maxAttempts: undefined,
    };
    expect(postgresRepository(pool, fromEnvironment).tables.cooks).toMatch(/public.*genledger_cooks/);
  });

  it('construction runs nothing, and bad options throw a ValidationError', async () => {
    const counting = countingPool();
    postgresRepository(counting.pool, options);
    expect(counting.statements()).toBe(0);
    expect(DEFAULT_POSTGRES_OPTIONS).toMatchObject({ schema: 'public', tablePrefix: 'genledger_' });
    const removed = [{ settleInOneStatement: false }, { insertInOneStatement: true }] as unknown as PostgresRepositoryOptions[];
    for (const bad of [{ schema: 'Public' }, { schema: 'a; DROP TABLE x' }, { tablePrefix: 'x-y' }, { tablePrefix: 'p'.repeat(25) }, { maxAttempts: 0 }, ...removed]) {
      const error = (() => {
        try {
          postgresRepository(pool, bad);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error, JSON.stringify(bad)).toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).code).toBe('VALIDATION_FAILED');
    }
  });

  it('the embedded migrations are exactly the .sql files (run `npx tsx adapters/postgres/sql/embed-migrations.ts` after editing one)', () => {
    const files = readMigrationFiles();
    expect(files.map((file) => file.id)).toEqual(EMBEDDED_MIGRATIONS.map((migration) => migration.id));
    expect(EMBEDDED_MIGRATIONS).toEqual(files);
    expect(POSTGRES_MIGRATIONS).toBe(EMBEDDED_MIGRATIONS);
    expect(embeddedMigrationsSource(files)).toContain('Do not edit');
  });

  it('migrate() creates schema, tables and indexes; a second run, and concurrent runs, apply nothing more', async () => {
    const schema = `genledger_migrate${runTag}`;
    schemasCreated.add(schema);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const repository = postgresRepository(pool, { schema, tablePrefix: 'm_' });
    // Every migration, in id order (later migrations join the list without this test changing).
    const all = POSTGRES_MIGRATIONS.map((migration) => migration.id);
    expect(all.slice(0, 6)).toEqual(['0001_initial', '0002_change_feed', '0003_constant_size_parents', '0004_accounts', '0005_pricing', '0006_pricing_surface']);
    expect(await repository.migrate()).toEqual({ applied: all, alreadyApplied: [] });
    const runs = await Promise.all([repository.migrate(), repository.migrate(), repository.migrate()]);
    for (const run of runs) expect(run).toEqual({ applied: [], alreadyApplied: all });
    const { rows: tableRows } = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tableRows.map((row) => row.table_name)).toEqual([
      'm_account_entries',
      'm_accounts',
      'm_budgets',
      'm_casts',
      'm_changes',
      'm_changes_horizon',
      'm_cooks',
      'm_generations',
      'm_holds',
      'm_migrations',
      'm_price_tables',
      'm_reconcile_queue',
    ]);
    const { rows: indexRows } = await pool.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
    expect(indexRows.map((row) => row.indexname)).toEqual([
      'm_account_entries_key',
      'm_account_entries_pkey',
      'm_accounts_pkey',
      'm_budgets_pkey',
      'm_casts_cook_idx',
      'm_casts_idempotency_key',
      'm_casts_maintenance_idx',
      'm_casts_pkey',
      'm_casts_running_cook_idx',
      'm_changes_horizon_pkey',
      'm_changes_pkey',
      'm_cooks_idempotency_key',
      'm_cooks_maintenance_idx',
      'm_cooks_pkey',
      'm_generations_account_idx',
      'm_generations_cast_idx',
      'm_generations_cook_idx',
      'm_generations_idempotency_key',
      'm_generations_open_cast_idx',
      'm_generations_open_cook_idx',
      'm_generations_open_idx',
      'm_generations_pkey',
      'm_generations_request_idx',
      'm_generations_tool_idx',
      'm_holds_pkey',
      'm_migrations_pkey',
      'm_price_tables_pkey',
      'm_reconcile_queue_pkey',
    ]);
    // No open-entry arrays are left in a parent's row: only counts.
    const { rows: parentColumns } = await pool.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name IN ('m_casts', 'm_cooks')
         AND (column_name LIKE 'open%' OR column_name = 'watched') ORDER BY table_name, column_name`,
      [schema],
    );
    expect(parentColumns.map((row) => `${row.table_name}.${row.column_name}`)).toEqual(['m_casts.watched', 'm_cooks.open_generation_count', 'm_cooks.watched']);
    const { rows: types } = await pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'm_generations'
         AND column_name IN ('cost_usd', 'points_spent', 'request_timestamp', 'metadata', 'request_payload', 'progress') ORDER BY column_name`,
      [schema],
    );
    expect(Object.fromEntries(types.map((row) => [row.column_name, row.data_type]))).toEqual({
      cost_usd: 'numeric',
      metadata: 'jsonb',
      points_spent: 'bigint',
      progress: 'numeric',
      request_payload: 'jsonb',
      request_timestamp: 'timestamp with time zone',
    });
    // The schema round trip: a record written through one repository reads back whole through another.
    const generation = generationRecord('m-generation-1', {}, { metadata: { nested: { list: [1, 'two', null] } }, costUsd: '12.000000000000000001' });
    await repository.generations.insert(generation);
    // A checked-out client works as well as the pool, migrate() included (on that one connection).
    const client = await pool.connect();
    try {
      const onClient = postgresRepository(client, { schema, tablePrefix: 'm_' });
      expect(await onClient.migrate()).toEqual({ applied: [], alreadyApplied: all });
      expect(await onClient.generations.get([generation.id])).toEqual([generation]);
    } finally {
      client.release();
    }
  });

  it('money is exact in numeric columns: huge and tiny costs sum to the digit, in the rows and in reconcile', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cast = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'cast-money', T0, null);
    await repository.casts.insert(cast);
    const costs = ['999999999.999999999999999999', '0.000000000000000001', '0.1', '0.2', '1000000000', '123456789.123456789123456789'];
    const many = [...costs, ...Array.from({ length: 200 }, () => '0.000000000000000007')];
    for (const [index, costUsd] of many.entries()) {
      const id = `money-${String(index).padStart(4, '0')}`;
      await attached(repository, generationUnder(generationRecord(id), cast.id, null, { maxInFlight: 1000, maxEmbeddedIds: 5 }));
      await repository.settleGeneration(id, outcome('success', costUsd, 1), at(1));
    }
    const expected = sumUsd(many);
    expect(expected).toBe('2123456789.423456789123458189');
    expect((await repository.casts.get([cast.id]))[0]!.costUsd).toBe(expected);
    const { rows } = await pool.query<{ cost: string }>(`SELECT cost_usd::text AS cost FROM ${tables.casts} WHERE id = $1`, [cast.id]);
    expect(rows[0]!.cost.replace(/0+$/, '')).toBe(expected);
    const summary = await repository.casts.summarizeChildren(cast.id, { maxEmbeddedIds: 3 });
    expect(summary.generations.finished.costUsd).toBe(expected);
    expect(summary.generations.finished.pointsSpent).toBe(4 * many.length);
    expect(summary.generations.firstIds).toEqual(['money-0000', 'money-0001', 'money-0002']);
  });

  it('times round-trip to the millisecond, from before the common era to the end of JavaScript time', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const instants = [
      '1970-01-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2026-03-01T10:00:00.001Z',
      '2024-02-29T23:59:59.999Z',
      '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.001Z',
      '+275760-09-13T00:00:00.000Z',
      '-000001-06-15T12:30:45.678Z',
      '-004000-01-01T00:00:00.007Z',
      '-004713-11-24T00:00:01.234Z',
    ].map((text) => new Date(text));
    for (const [index, instant] of instants.entries()) {
      const requested = new Date(instant.getTime() - 1234);
      const generation = generationRecord(`time-${index}`, {}, { requestTimestamp: requested, updatedAt: requested, startedAt: requested, status: 'processing' });
      expect((await repository.generations.insert(generation)).record.requestTimestamp.toISOString()).toBe(requested.toISOString());
      const finished = (await repository.settleGeneration(generation.id, outcome('success', '0', 0, { responseTimestamp: instant, at: instant }), instant))?.generation;
      expect(finished?.record.durationMs, instant.toISOString()).toBe(1234);
      expect(await postgresInspector(pool, tables).generation(generation.id)).toEqual(finished!.record);
    }
    // Before PostgreSQL's earliest time (4714 BC), JavaScript still has dates: refused, nothing written.
    const tooEarly = generationRecord('time-too-early', {}, { requestTimestamp: new Date('-004713-11-23T23:59:59.999Z') });
    const error = await repository.generations.insert(tooEarly).catch((caught: unknown) => caught);
    expect((error as GenledgerError).code).toBe('VALIDATION_FAILED');
    expect((error as GenledgerError).field).toBe('requestTimestamp');
    expect(await repository.generations.get([tooEarly.id])).toEqual([]);
  });

  it('reads exactly whatever the host did to the driver\'s type parsers and to the session (DateStyle, TimeZone, extra_float_digits)', async () => {
    await truncate();
    const numericParser = pg.types.getTypeParser(pg.types.builtins.NUMERIC);
    const int8Parser = pg.types.getTypeParser(pg.types.builtins.INT8);
    const jsonbParser = pg.types.getTypeParser(pg.types.builtins.JSONB);
    const hostile = new pg.Pool({ ...server.connection, max: 2, options: '-c DateStyle=SQL,DMY -c TimeZone=Asia/Kathmandu -c extra_float_digits=-15' });
    hostile.on('error', () => {});
    pg.types.setTypeParser(pg.types.builtins.NUMERIC, (text: string) => parseFloat(text));
    pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => BigInt(text));
    pg.types.setTypeParser(pg.types.builtins.JSONB, (text: string) => text);
    try {
      const repository = postgresRepository(hostile, options);
      const generation = generationRecord('hostile-1', {}, {
        requestTimestamp: new Date('1901-12-13T20:45:52.123Z'),
        progress: 0.30000000000000004,
        status: 'processing',
        metadata: { big: 12345678901234567, small: 5e-324, text: 'ünïcödé ✓ \u{1F600}' },
      });
      expect((await repository.generations.insert(generation)).record).toEqual(generation);
      expect((await repository.generations.recordProgress(generation.id, { progress: 0.7000000000000001, at: at(1) }))!.record.progress).toBe(0.7000000000000001);
      const finished = (await repository.settleGeneration(generation.id, outcome('success', '0.300000000000000001', 2), at(2)))?.generation;
      expect(finished!.record.costUsd).toBe('0.300000000000000001');
      expect(finished!.record.responseTimestamp).toEqual(at(2));
      expect(await repository.generations.get([generation.id])).toEqual([finished!.record]);
    } finally {
      pg.types.setTypeParser(pg.types.builtins.NUMERIC, numericParser);
      pg.types.setTypeParser(pg.types.builtins.INT8, int8Parser);
      pg.types.setTypeParser(pg.types.builtins.JSONB, jsonbParser);
      await hostile.end();
    }
  });

  it('text PostgreSQL cannot store (U+0000, unpaired surrogates) is refused with a ValidationError, and nothing is written', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cases: [string, Generation][] = [
      ['serviceName', generationRecord('nul-1', {}, { serviceName: 'a\u0000b' })],
      ['metadata.note', generationRecord('nul-2', {}, { metadata: { note: 'x\u0000' } })],
      ['requestPayload.0', generationRecord('nul-3', {}, { requestPayload: ['\uD800'] })],
      ['toolDisplayName', generationRecord('nul-4', {}, { toolDisplayName: 'half \uDC00' })],
    ];
    for (const [field, generation] of cases) {
      const error = await repository.generations.insert(generation).catch((caught: unknown) => caught);
      expect(error, field).toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).code).toBe('VALIDATION_FAILED');
      expect((error as GenledgerError).field).toBe(field);
    }
    expect(await postgresInspector(pool, tables).count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
  });

  it('every query the port makes is served by an index (no sequential scan, even with sequential scans discouraged)', async () => {
    const statements = buildStatements(tables);
    const sampleValue = (type: string): unknown =>
      ({ text: 'x', integer: 1, bigint: 1, numeric: '0', timestamptz: T0.toISOString(), jsonb: '[]', boolean: false, 'text[]': ['x'] })[type] ?? 'x';
    const typesOf = (text: string, parameters: readonly string[]) =>
      parameters.map((_name, index) => new RegExp(`\\$${index + 1}::([a-z\\[\\]]+)`).exec(text)?.[1] ?? 'text');
    const listShapes = [
      { castId: true }, { cookId: true }, { masterAccountId: true }, {}, { statuses: true }, { castId: true, statuses: true, after: true },
      { toolId: true }, { toolId: true, statuses: true, after: true },
    ].flatMap((shape) => (['asc', 'desc'] as const).map((order) => statements.generations.list({
      castId: false, cookId: false, masterAccountId: false, toolId: false, statuses: false, after: false, ...shape, order,
    })));
    const all = [
      ...Object.values(statements.generations).filter((value) => typeof value === 'object'),
      ...listShapes,
      ...Object.values(statements.casts).flatMap((value) => ('text' in value ? [value] : Object.values(value))),
      ...Object.values(statements.cooks).flatMap((value) => ('text' in value ? [value] : Object.values(value))),
      buildSettleGenerations(tables),
      ...Object.values(buildCreationStatements(tables)),
      ...Object.values(buildChangeLogStatements(tables)),
      { name: 'changes_catch_up', text: catchUpSelect(tables.changes, 1n), parameters: [], types: [] },
    ] as { text: string; parameters: readonly string[]; name: string }[];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      for (const statement of all) {
        const values = typesOf(statement.text, statement.parameters).map((type, index) => (statement.parameters[index] === 'boundary' ? '1' : sampleValue(type)));
        const { rows } = await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${statement.text}`, values });
        const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        // (The change log's horizon is one row: scanning it is the plan.)
        expect(plan, statement.name).not.toMatch(/Seq Scan on gl_(generations|casts|cooks|changes|reconcile_queue)\b/);
      }
      // The open children are read from their partial indexes (migration 0003), not filtered from
      // every child of the parent. Statistics as a store in use has them (many open generations
      // over many cooks, inserted and analysed inside this rolled-back transaction): on the few
      // rows earlier tests leave, whatever autovacuum last analysed decides, and the planner may
      // as well filter every open generation (seen once in CI).
      await client.query(
        `INSERT INTO ${tables.generations} (id, master_account_id, cook_id, cast_id, tool_id, tool_display_name, service_name, status, request_timestamp, notification_platform, delivery_status, updated_at)
         SELECT 'plan-' || n, 'account', 'plan-cook-' || (n % 200), CASE WHEN n % 2 = 0 THEN 'plan-cast-' || (n % 300) END, 'tool', 'Tool', 'svc', 'processing', now(), 'none', 'skipped', now()
         FROM generate_series(1, 4000) AS n`,
      );
      await client.query(`ANALYZE ${tables.generations}`);
      const plans = async (statement: { text: string; parameters: readonly string[] }) => {
        const values = typesOf(statement.text, statement.parameters).map((type) => sampleValue(type));
        return (await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${statement.text}`, values })).rows.map((row) => row['QUERY PLAN']).join('\n');
      };
      expect(await plans(statements.casts.openChildren)).toMatch(/gl_generations_open_cast_idx/);
      const cookPlan = await plans(statements.cooks.openChildren);
      expect(cookPlan).toMatch(/gl_generations_open_cook_idx/);
      expect(cookPlan).toMatch(/gl_casts_running_cook_idx/);
      // A re-price's page of one tool (reprice({ toolId, from, to })) walks the tool's index (0006),
      // not every tool's generations in request order.
      const toolPage = statements.generations.list({ castId: false, cookId: false, masterAccountId: false, toolId: true, statuses: true, after: true, order: 'asc' });
      expect(await plans(toolPage)).toMatch(/gl_generations_tool_idx/);
      expect(await plans(statements.casts.maintenance.after)).toMatch(/gl_casts_maintenance_idx[\s\S]*gl_reconcile_queue_pkey|gl_reconcile_queue_pkey[\s\S]*gl_casts_maintenance_idx/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('each port call is one statement: a creation with parents, a completion and its roll-ups, a retried completion (which writes nothing), a cast finished by its host', async () => {
    await truncate();
    const counting = countingPool();
    const repository = postgresRepository(counting.pool, options);
    const tracker = createTracker({ repository, clock: manualClock({ start: T0, autoAdvanceMs: 1 }), ids: sequentialIds({ prefix: 'one-' }), logger: silent });
    const cook = await tracker.startCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 2 });
    const beforeCast = counting.statements();
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id, totalSteps: 1 });
    expect(counting.statements() - beforeCast, 'startCast of a piece: the insert and the cook\'s count (insertAttached)').toBe(1);
    const before = counting.statements();
    const step = await tracker.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id });
    expect(counting.statements() - before, 'recordGeneration: the insert, the cast\'s and the cook\'s counts (insertAttached)').toBe(1);
    expect(counting.texts.at(-1)).toContain('cook_written');
    const beforeStart = counting.statements();
    await tracker.startGeneration(step.id);
    await tracker.reportProgress(step.id, { progress: 0.5 });
    expect(counting.statements() - beforeStart).toBe(2);
    const beforeComplete = counting.statements();
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(counting.statements() - beforeComplete, 'completeGeneration: the terminal write, the cast apply, the cook apply, the cast-piece apply').toBe(1);
    expect(counting.texts.at(-1)).toContain('gen_old');
    expect(await tracker.getCook(cook.id)).toMatchObject({ status: 'running', generatedCount: 1, costUsd: '0.25', pointsSpent: 2, inFlightCount: 0, openGenerationCount: 0 });
    expect(await tracker.getCast(cast.id)).toMatchObject({ status: 'completed', costUsd: '0.25', inFlightCount: 0 });
    const cookVersion = (await tracker.getCook(cook.id))!.version;
    const beforeRetry = counting.statements();
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(counting.statements() - beforeRetry, 'a retried completion is one statement too').toBe(1);
    expect(await tracker.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 2, generatedCount: 1, version: cookVersion });

    // A cast piece the host finishes: the cast's end and the piece's apply to the cook, one statement.
    const second = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id });
    const beforeFinish = counting.statements();
    await tracker.finishCast(second.id);
    expect(counting.statements() - beforeFinish, 'finishCast: the cast\'s end and the piece\'s apply (casts_end)').toBe(1);
    expect(await tracker.getCook(cook.id)).toMatchObject({ status: 'completed', generatedCount: 2, inFlightCount: 0 });
    const beforeAgain = counting.statements();
    await tracker.finishCast(second.id).catch(() => undefined);
    expect(counting.statements() - beforeAgain, 'a repeated finishCast: one statement, nothing applied').toBe(1);
    expect(await tracker.getCook(cook.id)).toMatchObject({ generatedCount: 2, inFlightCount: 0 });
  });

  it('settleGeneration() leaves exactly what the domain\'s settle leaves: a cast ending in a cook, a retry that applies nothing, a piece, the sweeper guard, a missing cast, inconsistent links', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cookA = newCook({ collectionId: 'collection-a', initiatorAccountId: 'account-pg', targetSupply: 2 }, 'settle-cook-a', T0);
    const cookB = newCook({ collectionId: 'collection-b', initiatorAccountId: 'account-pg', targetSupply: 1 }, 'settle-cook-b', T0);
    await repository.cooks.insert(cookA);
    await repository.cooks.insert(cookB);
    const castPiece = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg', totalSteps: 1 }, 'settle-cast-1', T0, null);
    const castOfB = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg', totalSteps: 1 }, 'settle-cast-2', T0, null);
    const doomed = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'settle-cast-3', T0, null);
    await attached(repository, { kind: 'cast', record: castPiece, cookId: cookA.id, at: T0, caps: CAPS });
    await attached(repository, { kind: 'cast', record: castOfB, cookId: cookB.id, at: T0, caps: CAPS });
    await repository.casts.insert(doomed);
    const step = generationRecord('settle-step');
    const piece = generationRecord('settle-piece');
    const guarded = generationRecord('settle-guarded', {}, { updatedAt: at(50) });
    const orphan = generationRecord('settle-orphan');
    const crossed = generationRecord('settle-crossed');
    await attached(repository, generationUnder(step, castPiece.id, null));
    await attached(repository, generationUnder(piece, null, cookA.id));
    await attached(repository, generationUnder(guarded, null, cookA.id));
    await attached(repository, generationUnder(orphan, doomed.id, null));
    await attached(repository, generationUnder(crossed, castOfB.id, null));
    // Inconsistent links on purpose (written behind the library): the generation names cook A, its cast belongs to cook B.
    await pool.query(`UPDATE ${tables.generations} SET cook_id = $2 WHERE id = $1`, [crossed.id, cookA.id]);
    await pool.query(`UPDATE ${tables.cooks} SET open_generation_count = open_generation_count + 1 WHERE id = $1`, [cookA.id]);

    const first = await expectSettleLikeDomain(repository, step.id, outcome('success', '0.5', 10), at(11), 'a step that ends its cast piece');
    expect(first).toMatchObject({ generation: { changed: true }, cast: { changed: true, previousStatus: 'running' }, cook: { changed: true }, castPiece: { changed: true } });
    expect(first!.castPiece!.record).toMatchObject({ generatedCount: 1, costUsd: '0.5', version: first!.cook!.record.version + 1 });
    const retry = await expectSettleLikeDomain(repository, step.id, outcome('failed', '9', 12), at(13), 'the retry');
    expect(retry).toMatchObject({ generation: { changed: false, record: { status: 'success' } }, cast: null, cook: null, castPiece: null });
    const pieceDone = await expectSettleLikeDomain(repository, piece.id, outcome('success', '0.25', 14), at(15), 'a generation piece');
    expect(pieceDone).toMatchObject({ cast: null, castPiece: null, cook: { changed: true, previousStatus: 'running', record: { generatedCount: 2, inFlightCount: 1 } } });
    const blocked = await expectSettleLikeDomain(repository, guarded.id, outcome('timeout', '0', 16, { onlyIfUpdatedBefore: at(40) }), at(16), 'the sweeper guard');
    expect(blocked).toMatchObject({ generation: { changed: false, record: { status: 'pending' } }, cast: null, cook: null, castPiece: null });
    const guardedDone = await expectSettleLikeDomain(repository, guarded.id, outcome('success', '0.125', 17), at(17), 'the last piece completes the cook');
    expect(guardedDone!.cook!.record).toMatchObject({ status: 'completed', generatedCount: 3, inFlightCount: 0 });
    await pool.query(`DELETE FROM ${tables.casts} WHERE id = $1`, [doomed.id]);
    const orphaned = await expectSettleLikeDomain(repository, orphan.id, outcome('success', '1', 18), at(18), 'a cast deleted behind the library');
    expect(orphaned).toMatchObject({ generation: { changed: true }, cast: null, cook: null, castPiece: null });
    const twoCooks = await expectSettleLikeDomain(repository, crossed.id, outcome('success', '2', 19), at(20), 'a generation and its cast in different cooks');
    expect(twoCooks!.cook!.record.id).toBe(cookA.id);
    expect(twoCooks!.castPiece).toBeNull();
    expect(await repository.settleGeneration('no-such-generation', outcome('success', '1', 21), at(21))).toBeNull();
  });

  it('a cast\'s end (casts.transition) and reconcile\'s replacement (casts.replaceAggregates) leave exactly what endCast and replaceCastAggregates leave, the piece applied once', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const inspect = postgresInspector(pool, tables);
    const cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 2 }, 'end-cook', T0);
    await repository.cooks.insert(cook);
    const ended = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'end-cast-1', T0, null);
    const replaced = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg', totalSteps: 1 }, 'end-cast-2', T0, null);
    const alone = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'end-cast-3', T0, null);
    await attached(repository, { kind: 'cast', record: ended, cookId: cook.id, at: T0, caps: CAPS });
    await attached(repository, { kind: 'cast', record: replaced, cookId: cook.id, at: T0, caps: CAPS });
    await repository.casts.insert(alone);

    const end = async (id: string, transition: 'finish' | 'cancel' | 'expire', when: Date, label: string) => {
      const cast = (await inspect.cast(id))!;
      const stored = cast.cookId === null ? null : await inspect.cook(cast.cookId);
      const expected = endCast(cast, stored, transition, when);
      expect(await repository.casts.transition(id, transition, when), label).toEqual(expected);
      expect(await inspect.cast(id), `${label}: stored cast`).toEqual(expected.cast.record);
      if (stored) expect(await inspect.cook(stored.id), `${label}: stored cook`).toEqual(expected.castPiece?.record ?? stored);
      return expected;
    };
    expect((await end(ended.id, 'finish', at(5), 'finish a piece')).castPiece).toMatchObject({ changed: true, record: { generatedCount: 1, inFlightCount: 1 } });
    expect((await end(ended.id, 'cancel', at(6), 'cancel it again')).castPiece).toBeNull();
    expect((await end(alone.id, 'expire', at(7), 'expire a cast of no cook')).cast).toMatchObject({ changed: true, record: { status: 'completed' } });
    expect(await repository.casts.transition('no-such-cast', 'finish', at(8))).toBeNull();

    // Reconcile's CAS: a stale version writes nothing; the right one ends the cast and applies the piece.
    const stored = (await inspect.cast(replaced.id))!;
    const recomputed: Cast = { ...stored, status: 'completed', completedAt: at(9), durationMs: 9000, outcomes: { ...stored.outcomes, success: 1 } };
    expect(await repository.casts.replaceAggregates(replaced.id, stored.version - 1, recomputed, at(9))).toBeNull();
    const cookBefore = (await inspect.cook(cook.id))!;
    const expected = replaceCastAggregates(stored, stored.version, recomputed, cookBefore, at(9));
    expect(await repository.casts.replaceAggregates(replaced.id, stored.version, recomputed, at(9))).toEqual(expected);
    expect(expected!.castPiece!.record).toMatchObject({ status: 'completed', generatedCount: 2, inFlightCount: 0 });
    expect(await inspect.cook(cook.id)).toEqual(expected!.castPiece!.record);
    // Replaced again, now ended: nothing more reaches the cook.
    const again = await repository.casts.replaceAggregates(replaced.id, stored.version + 1, { ...recomputed, pointsSpent: 1 }, at(10));
    expect(again).toMatchObject({ cast: { changed: true, previousStatus: 'completed', record: { pointsSpent: 1 } }, castPiece: null });
    expect(await inspect.cook(cook.id)).toEqual(expected!.castPiece!.record);
  });

  it('openChildren() lists open generations (for a cook: pieces and steps of its cast pieces) and running cast pieces, oldest first, and a finished child leaves it', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 10 }, 'open-cook', T0);
    await repository.cooks.insert(cook);
    const casts = ['open-cast-b', 'open-cast-a'].map((id, index) => newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, id, at(index), null));
    for (const cast of casts) await attached(repository, { kind: 'cast', record: cast, cookId: cook.id, at: T0, caps: CAPS });
    const pieces = ['open-piece-2', 'open-piece-1'].map((id, index) => generationRecord(id, {}, { requestTimestamp: at(10 - index) }));
    for (const piece of pieces) await attached(repository, generationUnder(piece, null, cook.id));
    const steps = ['open-step-1', 'open-step-2'].map((id, index) => generationRecord(id, {}, { requestTimestamp: at(20 + index) }));
    for (const step of steps) await attached(repository, generationUnder(step, casts[0]!.id, null));
    expect(await repository.openChildren({ kind: 'cook', id: cook.id }, 10)).toEqual({
      generationIds: ['open-piece-1', 'open-piece-2', 'open-step-1', 'open-step-2'],
      castIds: ['open-cast-b', 'open-cast-a'],
    });
    expect(await repository.openChildren({ kind: 'cook', id: cook.id }, 1)).toEqual({ generationIds: ['open-piece-1'], castIds: ['open-cast-b'] });
    expect(await repository.openChildren({ kind: 'cast', id: casts[0]!.id }, 10)).toEqual({ generationIds: ['open-step-1', 'open-step-2'], castIds: [] });
    await repository.settleGeneration('open-step-1', outcome('success', '0', 30), at(30));
    await repository.settleGeneration('open-piece-1', outcome('failed', '0', 30), at(30));
    await repository.casts.transition('open-cast-a', 'cancel', at(31));
    expect(await repository.openChildren({ kind: 'cook', id: cook.id }, 10)).toEqual({ generationIds: ['open-piece-2', 'open-step-2'], castIds: ['open-cast-b'] });
    expect(await repository.openChildren({ kind: 'cast', id: 'no-such-cast' }, 10)).toEqual({ generationIds: [], castIds: [] });
  });

  it('lock order: settleGeneration() locks the generation, then the cast, then the cook (a repeat locks no parent); a cast\'s end the cast, then the cook', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 5 }, 'lock-cook', T0);
    const cast = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'lock-cast', T0, null);
    await repository.cooks.insert(cook);
    await attached(repository, { kind: 'cast', record: cast, cookId: cook.id, at: T0, caps: CAPS });
    const steps = ['lock-step-1', 'lock-step-2'].map((id) => generationRecord(id));
    for (const step of steps) await attached(repository, generationUnder(step, cast.id, null));
    const holder = await pool.connect();
    const prober = await pool.connect();
    const lockable = async (table: string, id: string) => {
      await prober.query('BEGIN');
      try {
        await prober.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE NOWAIT`, [id]);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === '55P03') return false;
        throw error;
      } finally {
        await prober.query('ROLLBACK');
      }
    };
    const waitUntilBlocked = async () => {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%gen_old%'`);
        if (rows.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('the settlement never waited for the held lock');
    };
    try {
      for (const [held, step] of [[tables.casts, steps[0]!], [tables.cooks, steps[1]!]] as const) {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM ${held} WHERE id = $1 FOR UPDATE`, [held === tables.casts ? cast.id : cook.id]);
        const settling = repository.settleGeneration(step.id, outcome('success', '0.1', 30), at(30));
        await waitUntilBlocked();
        expect(await lockable(tables.generations, step.id), 'the generation is locked first').toBe(false);
        if (held === tables.casts) expect(await lockable(tables.cooks, cook.id), 'the cook is not locked while the cast is awaited').toBe(true);
        else expect(await lockable(tables.casts, cast.id), 'the cast is locked before the cook is awaited').toBe(false);
        await holder.query('COMMIT');
        expect((await settling)!.cook!.changed).toBe(true);
      }
      // A repeat takes no parent's lock: its gate (the generation's UPDATE) is closed, so it reads
      // no cast and no cook, and a duplicate completion never queues on a hot parent.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${tables.casts} WHERE id = $1 FOR UPDATE`, [cast.id]);
      await holder.query(`SELECT 1 FROM ${tables.cooks} WHERE id = $1 FOR UPDATE`, [cook.id]);
      const repeat = await Promise.race([
        repository.settleGeneration(steps[0]!.id, outcome('failed', '9', 32), at(32)),
        new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 3000)),
      ]);
      expect(repeat).toMatchObject({ generation: { changed: false, record: { status: 'success' } }, cast: null, cook: null, castPiece: null });
      await holder.query('COMMIT');
      // A cast's end locks the cast, then the cook.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${tables.cooks} WHERE id = $1 FOR UPDATE`, [cook.id]);
      const ending = repository.casts.transition(cast.id, 'finish', at(31));
      for (let attempt = 0; ; attempt += 1) {
        // (pg_stat_activity keeps the first kilobyte of a query: the statement's opening identifies it.)
        const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH old AS (SELECT * FROM %gl_casts WHERE%'`);
        if (rows.length > 0) break;
        if (attempt > 200) throw new Error('the cast\'s end never waited for the held cook');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await lockable(tables.casts, cast.id), 'the cast is locked before the cook is awaited').toBe(false);
      await holder.query('COMMIT');
      expect((await ending)!.castPiece).toMatchObject({ changed: true, record: { generatedCount: 1 } });
    } finally {
      holder.release();
      prober.release();
    }
  });

  it('insertAttached() racing a held transaction: a same-key insert committed after its snapshot, a cook cancelled while it waits, a rolled-back racer', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const caps: ParentCaps = CAPS;
    const cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 5 }, 'race-cook', T0);
    const cast = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'race-cast', T0, null);
    await repository.cooks.insert(cook);
    await attached(repository, { kind: 'cast', record: cast, cookId: cook.id, at: T0, caps });
    const inspect = postgresInspector(pool, tables);
    const blank = (id: string, key: string | null) => generationRecord(id, {}, { idempotencyKey: key });
    const holder = await pool2.connect();
    const waitUntilBlocked = async () => {
      for (let attempt = 0; attempt < 300; attempt += 1) {
        // (pg_stat_activity keeps the first kilobyte of a query: the statement's opening identifies it.)
        const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH cast_old AS (SELECT%'`);
        if (rows.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('insertAttached never waited for the held transaction');
    };
    try {
      // 1. The key is taken by a transaction that commits while the statement waits on its insert:
      //    ON CONFLICT does nothing, the winner is not in the statement's snapshot, the adapter reads
      //    it by key, and no parent's count moved for the loser.
      const castBefore = (await inspect.cast(cast.id))!;
      const cookBefore = (await inspect.cook(cook.id))!;
      await holder.query('BEGIN');
      await postgresRepository(holder, options).generations.insert(blank('race-winner', 'race-key'));
      const racing = repository.insertAttached({ kind: 'generation', record: blank('race-loser', 'race-key'), castId: cast.id, cookId: null, at: at(1), caps });
      await waitUntilBlocked();
      await holder.query('COMMIT');
      const lost = await racing;
      expect(lost).toMatchObject({ outcome: 'existing', record: { id: 'race-winner', idempotencyKey: 'race-key' } });
      expect(await inspect.cast(cast.id)).toEqual(castBefore);
      expect(await inspect.cook(cook.id)).toEqual(cookBefore);
      expect(await inspect.generation('race-loser')).toBeNull();

      // 2. The same, but the racer rolls back: the statement then stores its child and attaches it.
      await holder.query('BEGIN');
      await postgresRepository(holder, options).generations.insert(blank('race-rolled-back', 'race-key-2'));
      const second = repository.insertAttached({ kind: 'generation', record: blank('race-second', 'race-key-2'), castId: cast.id, cookId: null, at: at(2), caps });
      await waitUntilBlocked();
      await holder.query('ROLLBACK');
      expect(await second).toMatchObject({ outcome: 'created', record: { id: 'race-second', castId: cast.id, cookId: cook.id }, cast: { inFlightCount: 1 }, cook: { openGenerationCount: 1, inFlightCount: 1 } });

      // 3. The cook is cancelled by a transaction holding its row while the statement has locked the
      //    cast and waits for the cook: it decides on the cancelled cook, refuses, and writes nothing,
      //    not even the cast's count.
      const castNow = (await inspect.cast(cast.id))!;
      const count = await inspect.count();
      await holder.query('BEGIN');
      await postgresRepository(holder, options).cooks.transition(cook.id, 'cancel', at(3));
      const refused = repository.insertAttached({ kind: 'generation', record: blank('race-refused', null), castId: cast.id, cookId: null, at: at(4), caps });
      await waitUntilBlocked();
      await holder.query('COMMIT');
      expect(await refused).toMatchObject({ outcome: 'refused', parent: 'cook', parentId: cook.id, attach: { outcome: 'closed', record: { status: 'cancelled' } } });
      expect(await inspect.cast(cast.id)).toEqual(castNow);
      expect(await inspect.count()).toEqual(count);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
    }
  });

  it('racing same-key creations through trackers on two pools: one record, counted once by each parent, every time', async () => {
    await truncate();
    const trackers = [pool, pool2].map((somePool) => createTracker({ repository: postgresRepository(somePool, options), logger: silent }));
    const cook = await trackers[0]!.startCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 100 });
    const cast = await trackers[0]!.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id });
    for (let round = 0; round < 20; round += 1) {
      const input = { masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', idempotencyKey: `round-${round}` };
      const made = await Promise.all(
        Array.from({ length: 6 }, (_unused, index) => trackers[index % 2]!.recordGeneration(round % 2 === 0 ? { ...input, castId: cast.id } : { ...input, cookId: cook.id })),
      );
      expect(new Set(made.map((generation) => generation.id)).size, `round ${round}`).toBe(1);
    }
    const storedCast = (await trackers[0]!.getCast(cast.id))!;
    const storedCook = (await trackers[0]!.getCook(cook.id))!;
    expect(storedCast.inFlightCount).toBe(10);
    expect(storedCook.openGenerationCount).toBe(20);
    expect(storedCook.inFlightCount).toBe(11);
    expect(await postgresInspector(pool, tables).count()).toEqual({ generations: 20, casts: 1, cooks: 1 });
  });

  it('a hot cook: 64 concurrent completions (each sent twice) of pieces and of steps in four cast pieces, no deadlock, no lost update, no retry needed', async () => {
    await truncate();
    const warnings: string[] = [];
    const repository = postgresRepository(pool, { ...options, logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) } });
    const tracker = createTracker({ repository, logger: silent });
    const cook = await tracker.startCook({ collectionId: 'hot', initiatorAccountId: 'account-pg', targetSupply: 1_000 });
    const casts = await Promise.all(Array.from({ length: 4 }, () => tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id, totalSteps: 40 })));
    const children = await Promise.all([
      ...Array.from({ length: 96 }, () => tracker.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', cookId: cook.id })),
      ...casts.flatMap((cast) => Array.from({ length: 40 }, () => tracker.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id }))),
    ]);
    const deliveries = [...children, ...children].sort(() => Math.random() - 0.5);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < deliveries.length) {
          const child = deliveries[next++]!;
          await tracker.completeGeneration(child.id, { status: 'success', costUsd: '0.0001', pointsSpent: 1 });
        }
      }),
    );
    const stored = (await tracker.getCook(cook.id))!;
    expect(stored).toMatchObject({ generatedCount: 100, inFlightCount: 0, costUsd: '0.0256', pointsSpent: 256, openGenerationCount: 0 });
    expect(await auditLedger(tracker, [cook.id], casts.map((cast) => cast.id))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('migration 0003 upgrades a 0.1.0 database: open entries become counts, parents with entries for missing or finished children are queued, and sweepStale() makes them exact', async () => {
    const schema = `genledger_upgrade_0003${runTag}`;
    schemasCreated.add(schema);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const names = { schema, tablePrefix: 'v_' };
    expect(await runMigrations(pool, names, POSTGRES_MIGRATIONS.slice(0, 2))).toEqual({ applied: ['0001_initial', '0002_change_feed'], alreadyApplied: [] });
    const G = `"${schema}".v_generations`;
    const C = `"${schema}".v_casts`;
    const K = `"${schema}".v_cooks`;
    const entry = (id: string, kind: 'generation' | 'cast' = 'generation') => ({ id, kind, since: T0.toISOString() });
    const json = (value: unknown) => JSON.stringify(value);
    // Rows as genledger 0.1.0 left them (its columns; its open entries).
    const generation = async (id: string, castId: string | null, cookId: string | null, finished: { costUsd: string; points: number } | null) =>
      pool.query(
        `INSERT INTO ${G} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp, response_timestamp, duration_ms,
           points_spent, cost_usd, notification_platform, delivery_status, cast_id, cook_id, updated_at)
         VALUES ($1, 'account-pg', 't', 'T', 's', $2, $3, $4, $5, $6, $7, 'none', 'skipped', $8, $9, $3)`,
        [id, finished ? 'success' : 'processing', T0, finished ? at(5) : null, finished ? 5000 : null, finished?.points ?? 0, finished?.costUsd ?? '0', castId, cookId],
      );
    const cast = async (id: string, cookId: string | null, status: string, totalSteps: number | null, openSteps: unknown[], inFlight: number) =>
      pool.query(
        `INSERT INTO ${C} (id, spell_id, initiator_account_id, total_steps, cook_id, status, step_generation_ids, open_steps, in_flight_count,
           started_at, completed_at, duration_ms, updated_at)
         VALUES ($1, 'spell', 'account-pg', $2, $3, $4, $5, $6, $7, $8, $9, $10, $8)`,
        [id, totalSteps, cookId, status, json(openSteps.map((item) => (item as { id: string }).id)), json(openSteps), inFlight, T0,
          status === 'running' ? null : at(6), status === 'running' ? null : 6000],
      );
    const cook = async (id: string, targetSupply: number, openPieces: unknown[], openGenerations: unknown[], castIds: string[]) =>
      pool.query(
        `INSERT INTO ${K} (id, collection_id, initiator_account_id, target_supply, status, in_flight_count, open_pieces, open_generations,
           generation_ids, cast_ids, started_at, updated_at)
         VALUES ($1, 'collection', 'account-pg', $2, 'running', $3, $4, $5, $6, $7, $8, $8)`,
        [id, targetSupply, openPieces.length, json(openPieces), json(openGenerations), json(openGenerations.map((item) => (item as { id: string }).id)), json(castIds), T0],
      );
    // Cook 1: an open piece, a finished piece never applied, a piece never stored, a running cast
    // piece with an open step and a finished step never applied (to the cast nor the cook).
    await cook('mig-cook-1', 3, [entry('mig-p1'), entry('mig-p2'), entry('mig-missing-1'), entry('mig-cast-1', 'cast')],
      [entry('mig-p1'), entry('mig-p2'), entry('mig-missing-1'), entry('mig-s1'), entry('mig-s2')], ['mig-cast-1']);
    await generation('mig-p1', null, 'mig-cook-1', null);
    await generation('mig-p2', null, 'mig-cook-1', { costUsd: '0.5', points: 2 });
    await cast('mig-cast-1', 'mig-cook-1', 'running', 2, [entry('mig-s1'), entry('mig-s2')], 2);
    await generation('mig-s1', 'mig-cast-1', 'mig-cook-1', null);
    await generation('mig-s2', 'mig-cast-1', 'mig-cook-1', { costUsd: '0.25', points: 1 });
    // A cast of no cook whose only step was never stored.
    await cast('mig-cast-2', null, 'running', null, [entry('mig-missing-2')], 1);
    // Cook 2: healthy, one open piece: nothing to repair, its entry becomes a count.
    await cook('mig-cook-2', 5, [entry('mig-q1')], [entry('mig-q1')], []);
    await generation('mig-q1', null, 'mig-cook-2', null);
    // Cook 3: its cast piece ended (0.1.0's two-call transition) and was never applied.
    await cook('mig-cook-3', 1, [entry('mig-cast-3', 'cast')], [], ['mig-cast-3']);
    await cast('mig-cast-3', 'mig-cook-3', 'completed', null, [], 0);
    const cook2Before = (await pool.query(`SELECT version FROM ${K} WHERE id = 'mig-cook-2'`)).rows[0] as { version: number };

    const repository = postgresRepository(pool, names);
    expect(await repository.migrate()).toEqual({ applied: migrationIdsBut(['0001_initial', '0002_change_feed']), alreadyApplied: ['0001_initial', '0002_change_feed'] });
    const queued = async () => (await pool.query<{ kind: string; id: string }>(`SELECT kind, id FROM "${schema}".v_reconcile_queue ORDER BY kind, id`)).rows;
    expect(await queued()).toEqual([
      { kind: 'cast', id: 'mig-cast-1' },
      { kind: 'cast', id: 'mig-cast-2' },
      { kind: 'cook', id: 'mig-cook-1' },
      { kind: 'cook', id: 'mig-cook-3' },
    ]);
    expect(await repository.cooks.get(['mig-cook-2'])).toEqual([expect.objectContaining({ openGenerationCount: 1, inFlightCount: 1, version: cook2Before.version })]);
    expect((await repository.cooks.get(['mig-cook-1']))[0]).toMatchObject({ openGenerationCount: 5, inFlightCount: 4 });
    const found = await repository.cooks.findForMaintenance({ idleBefore: T0, limit: 10 });
    expect(found.map((record) => record.id)).toEqual(['mig-cook-1', 'mig-cook-3']);
    expect((await repository.cooks.findForMaintenance({ idleBefore: T0, afterId: 'mig-cook-1', limit: 10 })).map((record) => record.id)).toEqual(['mig-cook-3']);

    const tracker = createTracker({ repository, clock: manualClock({ start: at(60), autoAdvanceMs: 1 }), logger: silent });
    const report = await tracker.sweepStale({ olderThanMs: 3_600_000 });
    expect(report.timedOut).toEqual([]);
    expect([...report.reconciled].sort((left, right) => (left.id < right.id ? -1 : 1))).toEqual([
      { kind: 'cast', id: 'mig-cast-1' },
      { kind: 'cast', id: 'mig-cast-2' },
      { kind: 'cook', id: 'mig-cook-1' },
      { kind: 'cook', id: 'mig-cook-3' },
    ]);
    expect(await queued()).toEqual([]);
    expect(await tracker.getCast('mig-cast-1')).toMatchObject({ status: 'running', inFlightCount: 1, costUsd: '0.25', pointsSpent: 1, outcomes: { success: 1 } });
    expect(await tracker.getCast('mig-cast-2')).toMatchObject({ status: 'running', inFlightCount: 0, costUsd: '0', stepGenerationIds: [] });
    expect(await tracker.getCook('mig-cook-1')).toMatchObject({
      status: 'running', generatedCount: 1, inFlightCount: 2, openGenerationCount: 2, costUsd: '0.75', pointsSpent: 3, outcomes: { success: 2 },
    });
    expect(await tracker.getCook('mig-cook-3')).toMatchObject({ status: 'completed', generatedCount: 1, inFlightCount: 0, completedAt: at(6) });
    expect((await tracker.getCook('mig-cook-2'))!.version).toBe(cook2Before.version);
    const castIds = ['mig-cast-1', 'mig-cast-2', 'mig-cast-3'];
    const cookIds = ['mig-cook-1', 'mig-cook-2', 'mig-cook-3'];
    expect(await auditLedger(tracker, cookIds, castIds)).toEqual([]);
    // The change feed's trigger still records the repaired parents' new versions.
    const { rows: logged } = await pool.query<{ version: number }>(`SELECT version::integer AS version FROM "${schema}".v_changes WHERE id = 'mig-cook-1' ORDER BY seq`);
    expect(logged.at(-1)?.version).toBe((await tracker.getCook('mig-cook-1'))!.version);
    // A second sweep finds nothing more; the remaining children finish the cook exactly.
    expect((await tracker.sweepStale({ olderThanMs: 3_600_000 })).reconciled).toEqual([]);
    await tracker.completeGeneration('mig-s1', { status: 'success', costUsd: '0.125', pointsSpent: 1 });
    await tracker.completeGeneration('mig-p1', { status: 'success', costUsd: '0.125', pointsSpent: 1 });
    expect(await tracker.getCast('mig-cast-1')).toMatchObject({ status: 'completed', inFlightCount: 0, costUsd: '0.375' });
    expect(await tracker.getCook('mig-cook-1')).toMatchObject({
      status: 'completed', generatedCount: 3, inFlightCount: 0, openGenerationCount: 0, costUsd: '1', pointsSpent: 5, outcomes: { success: 4 },
    });
    expect(await auditLedger(tracker, cookIds, castIds)).toEqual([]);
  });

  it('a statement the server aborts with a deadlock or a serialization failure is sent again; other errors are not', async () => {
    await truncate();
    const warnings: string[] = [];
    let failuresLeft = 2;
    let sent = 0;
    const flaky: PostgresPool = {
      query: async (config) => {
        sent += 1;
        if (failuresLeft > 0 && config.text.includes('INSERT INTO')) {
          failuresLeft -= 1;
          throw Object.assign(new Error(failuresLeft === 1 ? 'deadlock detected' : 'could not serialize access'), { code: failuresLeft === 1 ? '40P01' : '40001' });
        }
        return pool.query(config as pg.QueryConfig) as unknown as ReturnType<PostgresPool['query']>;
      },
    };
    const repository = postgresRepository(flaky, { ...options, logger: { warn: (message) => warnings.push(message), error: () => {} } });
    const generation = generationRecord('retry-1');
    expect((await repository.generations.insert(generation)).created).toBe(true);
    expect(sent).toBe(3);
    expect(warnings).toHaveLength(2);
    const broken: PostgresPool = { query: async () => Promise.reject(Object.assign(new Error('syntax error'), { code: '42601' })) };
    const error = await postgresRepository(broken, options).generations.get(['x']).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('42601');
    const limited = postgresRepository({ query: async () => Promise.reject(Object.assign(new Error('deadlock'), { code: '40P01' })) }, { ...options, maxAttempts: 3 });
    expect(((await limited.generations.get(['x']).catch((caught: unknown) => caught)) as { code?: string }).code).toBe('40P01');
  });
});

// ---------------------------------------------------------------------------------------------
// The change feed, at the port: positions, catch-up, reconnects, retention.

describe('postgres: the change feed', () => {
  const progress = (repository: PostgresRepository, id: string, value: number, seconds: number) =>
    repository.generations.recordProgress(id, { progress: value, at: at(seconds) });

  async function logRows(id: string) {
    const { rows } = await pool.query<{ version: number; seq: string; tx: string }>(
      // (The log's version is a bigint since 0007, which the driver reads as text; a record's fits an integer.)
      `SELECT c.version::integer AS version, c.seq::text AS seq, c.tx::text AS tx FROM ${tables.changes} AS c WHERE c.id = $1 ORDER BY c.seq`,
      [id],
    );
    return rows;
  }

  it('every write leaves one log row per version, from the same statement: a rolled-back write leaves none, and no call sends an extra statement', async () => {
    await truncate();
    const counting = countingPool();
    const repository = postgresRepository(counting.pool, options);
    const tracker = createTracker({ repository, clock: manualClock({ start: T0, autoAdvanceMs: 1 }), ids: sequentialIds({ prefix: 'log-' }), logger: silent });
    const cook = await tracker.startCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 1 });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id, totalSteps: 1 });
    const step = await tracker.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id });
    await tracker.reportProgress(step.id, { progress: 0.5 });
    const before = counting.statements();
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25' });
    expect(counting.statements() - before).toBe(1);
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25' });
    // Inserted, then: the step progressed and finished; the cast took the step and then its
    // result; the cook took the cast piece, the step, and then (one write, two applies, so its
    // version moves by two) the step's money and the ended cast.
    const expected = { [step.id]: [1, 2, 3], [cast.id]: [1, 2, 3], [cook.id]: [1, 2, 3, 5] };
    for (const [id, versions] of Object.entries(expected)) expect((await logRows(id)).map((row) => row.version), id).toEqual(versions);
    expect((await tracker.getCook(cook.id))!.version).toBe(5);
    // The settlement's three rows share its transaction: one statement, one commit.
    const settled = (await logRows(step.id)).at(-1)!;
    expect((await logRows(cast.id)).at(-1)!.tx).toBe(settled.tx);
    expect((await logRows(cook.id)).at(-1)!.tx).toBe(settled.tx);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await postgresRepository(client, options).generations.recordProgress(step.id, { progress: 1, at: at(5) });
      await client.query(`UPDATE ${tables.casts} SET version = version + 1 WHERE id = $1`, [cast.id]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect((await logRows(cast.id)).map((row) => row.version)).toEqual([1, 2, 3]);
    expect((await logRows(step.id)).map((row) => row.version)).toEqual([1, 2, 3]);
  });

  it('positions are transaction watermarks: a change whose sequence number is lower but which commits later is not skipped on resume', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const writer = postgresRepository(pool2, options);
    await writer.generations.insert(generationRecord('late-a', {}, { status: 'processing' }));
    await writer.generations.insert(generationRecord('late-b', {}, { status: 'processing' }));
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    const holder = await pool2.connect();
    try {
      // Transaction A writes first (drawing the lower sequence number) and stays open...
      await holder.query('BEGIN');
      await postgresRepository(holder, options).generations.recordProgress('late-a', { progress: 0.1, at: at(1) });
      const { rows: drawn } = await holder.query<{ seq: string }>(`SELECT seq::text AS seq FROM ${tables.changes} WHERE tx = pg_current_xact_id()`);
      // ...B writes after it and commits first; the feed reports B.
      await progress(writer, 'late-b', 0.2, 2);
      await until(() => seen.notices.some((notice) => notice.id === 'late-b' && notice.version === 2), 'the notice of B');
      const positionAfterB = seen.notices.find((notice) => notice.id === 'late-b' && notice.version === 2)!.position;
      await subscription.close();
      await holder.query('COMMIT');
      const [rowB] = (await logRows('late-b')).filter((row) => row.version === 2);
      const [rowA] = (await logRows('late-a')).filter((row) => row.version === 2);
      expect(rowA!.seq).toBe(drawn[0]!.seq);
      // The trap: A's sequence number is below B's, so "resume after B's sequence number" misses A.
      expect(BigInt(rowA!.seq)).toBeLessThan(BigInt(rowB!.seq));
      const resumed = recorder();
      const again = await repository.changes!.subscribe({ after: positionAfterB, ...resumed.options });
      await until(() => resumed.notices.some((notice) => notice.id === 'late-a' && notice.version === 2), 'A after resuming from B');
      expect(resumed.errors).toEqual([]);
      await again.close();
    } finally {
      holder.release();
    }
  });

  it('a change committed while the feed is disconnected is caught up after the reconnect, even one that began before the last change delivered', async () => {
    await truncate();
    const connections = controlledConnections(pool);
    const warnings: string[] = [];
    const repository = postgresRepository(pool, { ...options, changeFeed: { connect: connections.connect, minReconnectDelayMs: 10 }, logger: { warn: (message) => warnings.push(message), error: () => {} } });
    const writer = postgresRepository(pool2, options);
    for (const id of ['gap-a', 'gap-b', 'gap-c']) await writer.generations.insert(generationRecord(id, {}, { status: 'processing' }));
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    const holder = await pool2.connect();
    try {
      await holder.query('BEGIN');
      await postgresRepository(holder, options).generations.recordProgress('gap-a', { progress: 0.1, at: at(1) });
      await progress(writer, 'gap-b', 0.2, 2);
      await until(() => seen.notices.some((notice) => notice.id === 'gap-b'), 'B, live');
      connections.hold();
      await terminateFeedConnections(repository);
      // While the feed is away: A commits (it began before B), and C changes twice.
      await holder.query('COMMIT');
      await progress(writer, 'gap-c', 0.3, 3);
      await progress(writer, 'gap-c', 0.4, 4);
      expect(seen.notices.some((notice) => notice.id === 'gap-a' || notice.id === 'gap-c')).toBe(false);
      connections.open();
      await until(() => seen.notices.filter((notice) => notice.id === 'gap-c').length === 2 && seen.notices.some((notice) => notice.id === 'gap-a'), 'A and C after the reconnect');
      expect(connections.opened()).toBe(2);
      expect(seen.versions().get('generation:gap-c')).toEqual([2, 3]);
      expect(seen.versions().get('generation:gap-a')).toEqual([2]);
      expect(seen.errors).toEqual([]);
      expect(warnings.some((message) => message.includes('lost its connection'))).toBe(true);
      await subscription.close();
    } finally {
      holder.release();
    }
  });

  it('concurrent writers holding transactions open and rolling some back, the feed dropped three times: every committed version of every record arrives once, in order', async () => {
    await truncate();
    const repository = postgresRepository(pool, { ...options, changeFeed: { minReconnectDelayMs: 10, maxReconnectDelayMs: 200 } });
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    const writer = postgresRepository(pool2, options);
    const ids = Array.from({ length: 12 }, (_, index) => `storm-${String(index).padStart(2, '0')}`);
    for (const id of ids) await writer.generations.insert(generationRecord(id, {}, { status: 'processing' }));
    let step = 0;
    let seed = 20261125;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const worker = async () => {
      for (let round = 0; round < 25; round += 1) {
        const client = await pool2.connect();
        try {
          await client.query('BEGIN');
          const inTransaction = postgresRepository(client, options);
          // Rows in id order within a transaction, so held transactions queue instead of deadlocking.
          const chosen = [...new Set([ids[Math.floor(random() * ids.length)]!, ids[Math.floor(random() * ids.length)]!])].sort();
          for (const id of chosen) await inTransaction.generations.recordProgress(id, { progress: Math.min(1, (step += 1) / 10_000), at: at(step) });
          await new Promise((resolve) => setTimeout(resolve, random() * 8));
          await client.query(random() < 0.15 ? 'ROLLBACK' : 'COMMIT');
        } finally {
          client.release();
        }
      }
    };
    const workers = Promise.all(Array.from({ length: 4 }, worker));
    for (let drop = 0; drop < 3; drop += 1) {
      const delivered = seen.notices.length;
      await until(() => seen.notices.length > delivered, 'a change before dropping the feed');
      await terminateFeedConnections(repository);
    }
    await workers;
    const finals = new Map((await writer.generations.get(ids)).map((generation) => [`generation:${generation.id}`, generation.version]));
    await until(() => [...finals].every(([key, version]) => seen.versions().get(key)?.at(-1) === version), 'every final version');
    for (const [key, version] of finals) {
      expect(seen.versions().get(key), key).toEqual(Array.from({ length: version }, (_, index) => index + 1));
    }
    expect(seen.errors).toEqual([]);
    await subscription.close();
  }, 120_000);

  it('pruneChanges() keeps the retention window; a position older than it is reported through onError, and the feed goes on', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const writer = postgresRepository(pool2, options);
    await writer.generations.insert(generationRecord('pruned-1', {}, { status: 'processing' }));
    const first = recorder();
    const subscription = await repository.changes!.subscribe(first.options);
    await progress(writer, 'pruned-1', 0.1, 1);
    await until(() => first.notices.length > 0, 'a first notice');
    const old = first.notices.at(-1)!.position;
    await subscription.close();
    await progress(writer, 'pruned-1', 0.2, 2);
    expect(await repository.pruneChanges()).toEqual({ deleted: 0 });
    expect((await repository.pruneChanges({ retentionMs: 0 })).deleted).toBeGreaterThan(0);
    expect(await logRows('pruned-1')).toEqual([]);
    const resumed = recorder();
    const again = await repository.changes!.subscribe({ after: old, ...resumed.options });
    await until(() => resumed.errors.length > 0, 'the report of the pruned position');
    expect(String(resumed.errors[0])).toMatch(/no longer holds every change after position/);
    await progress(writer, 'pruned-1', 0.3, 3);
    await until(() => resumed.notices.some((notice) => notice.id === 'pruned-1' && notice.version === 4), 'the next change');
    await again.close();
    // A subscription prunes by itself on its interval.
    const pruning = postgresRepository(pool, { ...options, changeFeed: { retentionMs: 0, pruneIntervalMs: 20 } });
    const quiet = await pruning.changes!.subscribe(recorder().options);
    await until(async () => (await logRows('pruned-1')).length === 0, 'the subscription to prune');
    await quiet.close();
    const { rows } = await pool.query<{ pruned_through: string }>(`SELECT pruned_through::text FROM ${tables.changesHorizon}`);
    expect(BigInt(rows[0]!.pruned_through)).toBeGreaterThan(0n);
  });

  it('every account write is logged and notified (migration 0007), in version order, also past 2^31 versions', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const writer = createTracker({ repository: postgresRepository(pool2, options) });
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    try {
      // The account's version after each write: each one's notice, in that order.
      const versions: number[] = [];
      const version = async () => void versions.push((await writer.getAccount('feed-account')).version);
      await writer.credit('feed-account', { points: 100, reason: 'top-up', idempotencyKey: 'feed-top-up' });
      await version();
      const generation = await writer.recordGeneration({ masterAccountId: 'feed-account', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', hold: { points: 30 } });
      await version();
      await writer.completeGeneration(generation.id, { status: 'success', pointsSpent: 20 });
      await version();
      // An account's version is a bigint: one that has written 2^31 times still logs its changes.
      await pool.query(`UPDATE ${tables.accounts} SET version = 2147483647 WHERE account_id = 'feed-account'`);
      versions.push(2147483647);
      await writer.debit('feed-account', { points: 1, reason: 'refund', idempotencyKey: 'feed-refund' });
      await version();
      expect(versions.at(-1)).toBe(2147483648);
      await until(() => seen.notices.some((notice) => notice.kind === 'account' && notice.version === 2147483648), 'the debit past 2^31');
      expect(seen.versions().get('account:feed-account')).toEqual(versions);
      expect(seen.errors).toEqual([]);
    } finally {
      await subscription.close();
    }
  });

  it('a batch of creations (one insert_generations) logs one row and sends one NOTIFY per new generation, from one statement trigger call (migration 0010), in seq order, each payload as the row trigger wrote it', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const writer = createTracker({ repository: postgresRepository(pool2, options) });
    const channel = repository.changes!.channel;
    const listener = await pool.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => {
      if (message.channel === channel) payloads.push(message.payload ?? '');
    });
    try {
      await listener.query(`LISTEN ${quoteIdentifier(channel)}`);
      const { rows: triggers } = await pool.query<{ name: string; per_row: boolean }>(
        `SELECT tgname AS name, (tgtype & 1) = 1 AS per_row FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE '%inserted' ORDER BY tgname`,
        [tables.generations],
      );
      expect(triggers).toEqual([{ name: 'gl_generations_inserted', per_row: false }]);
      await writer.credit('batch-feed', { points: 100, reason: 'top-up', idempotencyKey: 'batch-feed-top-up' });
      const created = await Promise.all(
        Array.from({ length: 16 }, (_, index) =>
          writer.recordGeneration({ masterAccountId: 'batch-feed', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', hold: { points: 1 }, idempotencyKey: `batch-feed-${index}` }),
        ),
      );
      const ids = new Set(created.map((generation) => generation.id));
      const { rows: logged } = await pool.query<{ id: string; version: number; seq: string; tx: string }>(
        `SELECT c.id, c.version::integer AS version, c.seq::text AS seq, c.tx::text AS tx FROM ${tables.changes} AS c WHERE c.kind = 'generation' AND c.id = ANY ($1) ORDER BY c.seq`,
        [[...ids]],
      );
      // One row per new generation, version 1, all in the batch's one transaction.
      expect(logged.map((row) => row.id).sort()).toEqual([...ids].sort());
      expect(new Set(logged.map((row) => row.version))).toEqual(new Set([1]));
      expect(new Set(logged.map((row) => row.tx)).size).toBe(1);
      // One notice per log row, in seq order, with the row trigger's payload (k, i, v, s, t, x).
      const batchNotices = () =>
        payloads.map((payload) => JSON.parse(payload) as Record<string, unknown>).filter((notice) => notice.k === 'generation' && ids.has(notice.i as string));
      await until(() => batchNotices().length >= logged.length, "the batch's notices");
      const notices = batchNotices();
      expect(notices.map((notice) => ({ i: notice.i, v: notice.v, s: String(notice.s), t: notice.t }))).toEqual(
        logged.map((row) => ({ i: row.id, v: row.version, s: row.seq, t: row.tx })),
      );
      for (const notice of notices) {
        expect(Object.keys(notice).sort()).toEqual(['i', 'k', 's', 't', 'v', 'x']);
        expect(BigInt(notice.x as string)).toBeLessThanOrEqual(BigInt(notice.t as string));
      }
    } finally {
      await listener.query('UNLISTEN *').catch(() => {});
      listener.release();
    }
  });

  it('a position the feed never gave is refused with a ConflictError', async () => {
    const repository = postgresRepository(pool, options);
    const { rows } = await pool.query<{ ahead: string }>(`SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::numeric + 1000000)::text AS ahead`);
    for (const after of ['abc', '-1', '1e3', ' 5', '18446744073709551616', rows[0]!.ahead]) {
      const error = await repository.changes!.subscribe({ after, ...recorder().options }).catch((caught: unknown) => caught);
      expect(error, after).toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).code, after).toBe('CONFLICT');
      expect((error as GenledgerError).field, after).toBe('after');
    }
    // A server backend exits a moment after its client hangs up (the earlier tests' feeds share
    // this application name), so a connection left open is one that never goes away.
    const sessions = async () =>
      (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [repository.changes!.applicationName])).rows.length;
    await until(async () => (await sessions()) === 0, 'a refused subscription to leave no connection behind', 10_000);
  });

  it('watch().ready rejects with typed errors: a RepositoryError (changes.subscribe, the driver error as cause) when the server cannot be reached, the feed\'s ConflictError for a position it never gave', async () => {
    // Nothing listens on port 1: connecting is refused at once.
    const unreachable = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'nobody', password: 'none', database: 'none', connectionTimeoutMillis: 5_000 });
    unreachable.on('error', () => {});
    try {
      const errors: unknown[] = [];
      const watch = createTracker({ repository: postgresRepository(unreachable, { ...options, logger: silent }), logger: silent }).watch({}, { onError: (error) => void errors.push(error) });
      const error = await watch.ready.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GenledgerError);
      expect(error).toMatchObject({ name: 'RepositoryError', code: 'REPOSITORY_FAILURE', repository: 'postgres', operation: 'changes.subscribe' });
      expect((error as GenledgerError).cause).not.toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect(String(error)).toMatch(/^RepositoryError: \[genledger\] \[postgres\] changes\.subscribe failed: .*ECONNREFUSED/);
      expect(errors).toContain(error);
      await watch.close();
    } finally {
      await unreachable.end();
    }
    const refused = createTracker({ repository: postgresRepository(pool, options), logger: silent }).watch({}, { after: 'abc', onError: () => {} });
    expect(await refused.ready.catch((caught: unknown) => caught)).toMatchObject({ name: 'ConflictError', code: 'CONFLICT', field: 'after' });
    await refused.close();
  });

  it('an id too long for a NOTIFY payload is read from the log instead', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    const long = `long-${'x'.repeat(8000)}`;
    await postgresRepository(pool2, options).generations.insert(generationRecord(long));
    await postgresRepository(pool2, options).generations.insert(generationRecord('short-after'));
    await until(() => seen.notices.some((notice) => notice.id === 'short-after'), 'the change after the long id');
    expect(seen.notices.map((notice) => [notice.id.length, notice.version])).toEqual([[long.length, 1], ['short-after'.length, 1]]);
    await subscription.close();
  });

  it('a connection that stops answering the heartbeat is replaced, and what happened meanwhile is caught up', async () => {
    await truncate();
    const connections = controlledConnections(pool);
    const repository = postgresRepository(pool, { ...options, changeFeed: { connect: connections.connect, heartbeatMs: 50, minReconnectDelayMs: 10 } });
    const writer = postgresRepository(pool2, options);
    await writer.generations.insert(generationRecord('beat-1', {}, { status: 'processing' }));
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    connections.silence();
    await until(() => connections.opened() === 2, 'a second connection');
    await progress(writer, 'beat-1', 0.5, 1);
    await until(() => seen.notices.some((notice) => notice.id === 'beat-1' && notice.version === 2), 'the change');
    await subscription.close();
  });

  it('migrate() brings a database migrated before the change feed up to date, and its records then feed', async () => {
    const schema = `genledger_feed_upgrade${runTag}`;
    schemasCreated.add(schema);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    // 0001, and 0005 (the provenance column this version writes on every insert): a migration is
    // applied by its id whatever the order, so 0002 and 0003 still come after 0005 here.
    const pricing = POSTGRES_MIGRATIONS.find((migration) => migration.id === '0005_pricing')!;
    expect(await runMigrations(pool, { schema, tablePrefix: 'u_' }, [POSTGRES_MIGRATIONS[0]!, pricing])).toEqual({ applied: ['0001_initial', '0005_pricing'], alreadyApplied: [] });
    const repository = postgresRepository(pool, { schema, tablePrefix: 'u_' });
    await repository.generations.insert(generationRecord('before-feed', {}, { status: 'processing' }));
    expect(await repository.migrate()).toEqual({ applied: migrationIdsBut(['0001_initial', '0005_pricing']), alreadyApplied: ['0001_initial', '0005_pricing'] });
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    await repository.generations.recordProgress('before-feed', { progress: 0.5, at: at(1) });
    await until(() => seen.notices.length === 1, 'the change to the older record');
    expect(seen.notices[0]).toMatchObject({ kind: 'generation', id: 'before-feed', version: 2 });
    await subscription.close();
  });

  it('a long schema and prefix get a hashed channel, the same in the trigger and in the listener', async () => {
    const schema = `genledger_a_rather_long_schema_name_for_channels${runTag}`.slice(0, 63);
    schemasCreated.add(schema);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const repository = postgresRepository(pool, { schema, tablePrefix: 'an_equally_long_prefix_' });
    expect(repository.changes!.channel).toBe(changeChannel(schema, 'an_equally_long_prefix_'));
    expect(repository.changes!.channel).toMatch(/^genledger_[0-9a-f]{32}$/);
    expect(changeChannel('public', 'genledger_')).toBe('public.genledger_changes');
    await repository.migrate();
    const seen = recorder();
    const subscription = await repository.changes!.subscribe(seen.options);
    await repository.generations.insert(generationRecord('hashed-channel'));
    await until(() => seen.notices.length === 1, 'the notice on the hashed channel');
    await subscription.close();
  });

  it('without a pool or a connect option the feed says what it needs; changeFeed: false removes it', async () => {
    const client = await pool.connect();
    try {
      const onClient = postgresRepository(client, options);
      const error = await onClient.changes!.subscribe(recorder().options).catch((caught: unknown) => caught);
      expect((error as GenledgerError).code).toBe('CONFLICT');
      expect((error as GenledgerError).reason).toMatch(/dedicated connection/);
    } finally {
      client.release();
    }
    const without = postgresRepository(pool, { ...options, changeFeed: false });
    expect(without.changes).toBeUndefined();
    expect(() => createTracker({ repository: without }).watch()).toThrow(/no change feed/);
    for (const bad of [{ retentionMs: -1 }, { catchUpBatch: 0 }, { heartbeatMs: 1.5 }]) {
      expect(() => postgresRepository(pool, { ...options, changeFeed: bad }), JSON.stringify(bad)).toThrow(GenledgerError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// tracker.watch() across a restart of the server. Last in this file: every pool loses its
// connections here (they reconnect, but nothing after this should have to).

describe('postgres: a live watch across a server restart', () => {
  /** Calls again while the store fails (the server is down), as a worker would; other errors throw. */
  async function persist<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof GenledgerError && error.code === 'REPOSITORY_FAILURE')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('the server stops and starts again under a live watch while work finishes: every final status reaches the live watcher, in order', async () => {
    await truncate();
    // With PG_URL the server cannot be restarted from here: instead every backend of this database
    // is terminated and the watcher's reads fail (injected) for as long as the server would be down.
    const restart = server.down && server.up ? { down: server.down, up: server.up } : null;
    const DOWN_MS = 3_000;
    const quiet = { warn: () => {}, error: () => {} };
    // The watcher's reads can be held back, to be let through once the server is down: the reads
    // of the changes notified just before a restart are what the old watch() gave up on.
    const reads = failingReads(postgresRepository(pool, { ...options, logger: quiet, changeFeed: { minReconnectDelayMs: 50, maxReconnectDelayMs: 500 } }));
    const errors: unknown[] = [];
    const watch = createTracker({ repository: reads.repository, logger: quiet }).watch({}, { onError: (error) => void errors.push(error) });
    const versions = new Map<string, number[]>();
    const note = (key: string, version: number) => void versions.set(key, [...(versions.get(key) ?? []), version]);
    const finished = new Map<string, string>();
    watch.on('generationUpdate', ({ generation }) => note(`generation:${generation.id}`, generation.version));
    watch.on('generationProgress', ({ generation }) => note(`generation:${generation.id}`, generation.version));
    watch.on('generationFinished', ({ generation }) => void finished.set(generation.id, generation.status));
    watch.on('cookUpdate', ({ cook }) => note(`cook:${cook.id}`, cook.version));
    try {
      await watch.ready;
      const writer = createTracker({ repository: postgresRepository(pool2, { ...options, logger: quiet }), ids: sequentialIds({ prefix: 'restart-' }), logger: quiet });
      const cook = await writer.startCook({ collectionId: 'restart', initiatorAccountId: 'account-pg', targetSupply: 24 });
      const generations: Generation[] = [];
      for (let index = 0; index < 24; index += 1) {
        const generation = await writer.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', cookId: cook.id });
        await writer.reportProgress(generation.id, { progress: 0.5 });
        generations.push(generation);
      }
      await until(() => generations.every((generation) => (versions.get(`generation:${generation.id}`)?.at(-1) ?? 0) >= 2), 'the watcher to see the work start');

      // Eight completions are notified; the watcher's reads of them (and of the cook, one at a time)
      // wait at the gate...
      reads.hold();
      const first = generations.slice(0, 8);
      const rest = generations.slice(8);
      for (const generation of first) await writer.completeGeneration(generation.id, { status: 'success', costUsd: '0.01' });
      await until(() => reads.held() === first.length + 1, 'the reads of the first completions to wait');
      // ...until the server is down; then they reach it and fail.
      const downAt = Date.now();
      if (restart) {
        await restart.down();
      } else {
        reads.fail();
        await pool2.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
      }
      reads.release();
      // Meanwhile the workers keep finishing the rest, trying again until the server answers.
      const finishing = Promise.all(rest.map((generation) => persist(() => writer.completeGeneration(generation.id, { status: 'success', costUsd: '0.01' }))));
      await until(() => reads.failures() >= first.length, 'the held reads to fail against the stopped server');
      // Down for 3 s: four times the ~0.75 s after which watch() used to drop a change.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, downAt + DOWN_MS - Date.now())));
      if (restart) await restart.up();
      else reads.heal();
      await finishing;

      const finals = new Map<string, number>();
      for (const generation of await writer.listGenerations({ cookId: cook.id, limit: 100 }).then((page) => page.items)) {
        expect(generation.status).toBe('success');
        finals.set(`generation:${generation.id}`, generation.version);
      }
      const finalCook = (await writer.getCook(cook.id))!;
      expect(finalCook.status).toBe('completed');
      finals.set(`cook:${cook.id}`, finalCook.version);
      expect(finals.size).toBe(25);
      await until(() => [...finals].every(([key, version]) => versions.get(key)?.at(-1) === version), 'every final version at the live watcher', 20_000);
      expect([...finished.keys()].sort()).toEqual(generations.map((generation) => generation.id).sort());
      expect([...finished.values()].every((status) => status === 'success')).toBe(true);
      for (const [key, seen] of versions) expect([...seen].sort((left, right) => left - right), `versions of ${key} in order`).toEqual(seen);
      // The delay was reported (typed), not a loss.
      expect(errors.some((error) => error instanceof WatchReadDelayedError)).toBe(true);
    } finally {
      reads.release();
      reads.heal();
      await watch.close();
    }
  }, 60_000);
});

describe('genledger reprice on PostgreSQL, through the command\'s own store opener (a pg.Pool from --uri)', () => {
  it('reads the stored table, applies the differences in the schema and prefix given, and a second run changes nothing', async () => {
    await truncate();
    const c = server.connection;
    const uri = c.connectionString ?? `postgres://${encodeURIComponent(c.user!)}:${encodeURIComponent(c.password!)}@${c.host}:${c.port}/${c.database}`;
    const repository = postgresRepository(pool, options);
    const T0 = new Date('2026-01-01T00:00:00.000Z');
    const v1 = [{ toolId: 'tool-cli', versions: [{ id: 'cli-1', effectiveFrom: T0, units: { inputTokens: '0.000003' } }] }];
    const v2 = [{ toolId: 'tool-cli', versions: [{ id: 'cli-1-fixed', effectiveFrom: T0, units: { inputTokens: '0.000004' } }] }];
    const tracker = createTracker({ repository, prices: v1, pointsPerUsd: '100', clock: manualClock({ start: T0, autoAdvanceMs: 1 }), ids: sequentialIds({ prefix: 'cli-' }), logger: { warn: () => {}, error: () => {} } });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: 'acct' });
    for (let index = 0; index < 3; index += 1) {
      const generation = await tracker.recordGeneration({ masterAccountId: 'acct', toolId: 'tool-cli', toolDisplayName: 'Cli', serviceName: 'api', castId: cast.id, requestTimestamp: new Date(T0.getTime() + 1000 * (index + 1)) });
      await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1000 } });
    }
    await tracker.setPrices(v2, { store: true });
    const run = async (extra: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runReprice(
        ['--tool', 'tool-cli', '--from', '2026-01-01T00:00:00Z', '--to', '2026-02-01T00:00:00Z', '--points-per-usd', '100', '--store', 'postgres', '--uri', uri, '--schema', options.schema!, '--table-prefix', 'gl_', ...extra],
        { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, readFile: async () => Promise.reject(new Error('no files here')), openStore },
      );
      return { code, out: out.join(''), err: err.join('') };
    };
    const applied = await run(['--apply']);
    expect(applied.err).toContain('pricing with the stored price table, revision 1');
    expect(applied.code).toBe(0);
    expect(applied.out).toContain('3 generations read, 3 priced, 3 differing (+0.003 USD, +0 points)');
    expect(applied.out).toContain(`  cast ${cast.id}  +0.003 USD  +0 points`);
    expect((await tracker.getCast(cast.id))!.costUsd).toBe('0.012');
    const again = await run(['--apply']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('3 generations read, 3 priced, 0 differing');
    expect((await tracker.getCast(cast.id))!.costUsd).toBe('0.012');
  });
});
