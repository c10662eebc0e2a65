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
import { buildStatements } from '../../adapters/postgres/statements.js';
import { newCast, newCook, newGeneration } from '../../src/domain/builders.js';
import { finishGeneration, type GenerationOutcome } from '../../src/domain/generation-reducer.js';
import { sumUsd } from '../../src/domain/money.js';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { applyToCast } from '../../src/domain/rollup/cast-reducer.js';
import { castPieceContribution, generationContribution, type ParentCaps } from '../../src/domain/rollup/contribution.js';
import { applyToCook } from '../../src/domain/rollup/cook-reducer.js';
import type { WriteResult } from '../../src/domain/rollup/write-result.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../../src/domain/status.js';
import { GenledgerError } from '../../src/errors.js';
import type { Settlement } from '../../src/port.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { runRepositoryConformance } from '../conformance/index.js';
import { auditLedger } from '../conformance/ledger-audit.js';
import { postgresInspector } from '../support/postgres-inspector.js';
import { startPostgres, type PostgresTestServer } from '../support/postgres-server.js';

const POOL_SIZE = 10;

let server: PostgresTestServer;
let pool: pg.Pool;
let tables: TableNames;
// Against a shared server (PG_URL), schemas of their own per run, dropped afterwards.
const runTag = process.env.PG_URL ? `_${process.pid}` : '';
const options: PostgresRepositoryOptions = { schema: `genledger_test${runTag}`, tablePrefix: 'gl_' };
const schemasCreated = new Set<string>([options.schema!]);

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ ...server.connection, max: POOL_SIZE });
  // An idle client losing its connection (the server stopping first) must not crash the run.
  pool.on('error', () => {});
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
  await server?.stop();
});

async function truncate(): Promise<void> {
  await pool.query(`TRUNCATE ${tables.generations}, ${tables.casts}, ${tables.cooks}`);
}

runRepositoryConformance({
  name: 'postgres',
  create: () => postgresRepository(pool, options),
  reset: truncate,
  inspect: () => postgresInspector(pool, tables),
  // A real server behind a network socket: every port call is a round trip, and the heavier parts
  // (10,000 sequential completions, 10,000 at 64-way) need more than the in-process default.
  timeoutMs: 240_000,
  skip: { changeFeed: 'the PostgreSQL adapter has no change feed (LISTEN/NOTIFY) yet; `repository.changes` is undefined' },
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL specifics.

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const CAPS: ParentCaps = { maxInFlight: 100, maxEmbeddedIds: 100 };
const silent = { warn: () => {}, error: () => {} };

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

/**
 * What the sequence of port calls would do (finish, then cast apply, cook apply and cast-piece
 * apply, as the tracker runs them), computed with the reducers from the records as stored now.
 */
async function settlementBySequence(repository: PostgresRepository, id: string, finish: GenerationOutcome, applyAt: Date) {
  const [before] = await repository.generations.get([id]);
  if (!before) return { settlement: null, stored: new Map<string, Cast | Cook>() };
  const stored = new Map<string, Cast | Cook>();
  const castOf = async (castId: string) => (stored.get(`cast:${castId}`) as Cast | undefined) ?? (await repository.casts.get([castId]))[0];
  const cookOf = async (cookId: string) => (stored.get(`cook:${cookId}`) as Cook | undefined) ?? (await repository.cooks.get([cookId]))[0];
  const generation = finishGeneration(before, finish);
  let cast: WriteResult<Cast> | null = null;
  let cook: WriteResult<Cook> | null = null;
  let castPiece: WriteResult<Cook> | null = null;
  if (isTerminalGenerationStatus(generation.record.status)) {
    const contribution = generationContribution(generation.record);
    const castBefore = generation.record.castId === null ? undefined : await castOf(generation.record.castId);
    if (castBefore) {
      cast = applyToCast(castBefore, contribution, applyAt);
      stored.set(`cast:${castBefore.id}`, cast.record);
    }
    const cookBefore = generation.record.cookId === null ? undefined : await cookOf(generation.record.cookId);
    if (cookBefore) {
      cook = applyToCook(cookBefore, contribution, applyAt);
      stored.set(`cook:${cookBefore.id}`, cook.record);
    }
    if (cast && cast.record.cookId !== null && isTerminalParentStatus(cast.record.status)) {
      const pieceCook = await cookOf(cast.record.cookId);
      if (pieceCook) {
        castPiece = applyToCook(pieceCook, castPieceContribution(cast.record), applyAt);
        stored.set(`cook:${pieceCook.id}`, castPiece.record);
      }
    }
  }
  const settlement: Settlement = { generation, cast, cook, castPiece };
  return { settlement, stored };
}

async function expectSettleLikeSequence(repository: PostgresRepository, id: string, finish: GenerationOutcome, applyAt: Date, label: string) {
  const expected = await settlementBySequence(repository, id, finish, applyAt);
  const actual = await repository.settleGeneration!(id, finish, applyAt);
  expect(actual, label).toEqual(expected.settlement);
  const inspect = postgresInspector(pool, repository.tables);
  if (expected.settlement) expect(await inspect.generation(id), `${label}: stored generation`).toEqual(expected.settlement.generation.record);
  for (const [key, record] of expected.stored) {
    const [kind, recordId] = key.split(':') as ['cast' | 'cook', string];
    expect(await inspect[kind](recordId), `${label}: stored ${key}`).toEqual(record);
  }
  return actual;
}

describe('postgres: the adapter itself', () => {
  it('construction runs nothing, and bad options throw a ValidationError', async () => {
    const counting = countingPool();
    postgresRepository(counting.pool, options);
    expect(counting.statements()).toBe(0);
    expect(DEFAULT_POSTGRES_OPTIONS).toMatchObject({ schema: 'public', tablePrefix: 'genledger_' });
    for (const bad of [{ schema: 'Public' }, { schema: 'a; DROP TABLE x' }, { tablePrefix: 'x-y' }, { tablePrefix: 'p'.repeat(25) }, { maxAttempts: 0 }]) {
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
    expect(await repository.migrate()).toEqual({ applied: ['0001_initial'], alreadyApplied: [] });
    const runs = await Promise.all([repository.migrate(), repository.migrate(), repository.migrate()]);
    for (const run of runs) expect(run).toEqual({ applied: [], alreadyApplied: ['0001_initial'] });
    const { rows: tableRows } = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tableRows.map((row) => row.table_name)).toEqual(['m_casts', 'm_cooks', 'm_generations', 'm_migrations']);
    const { rows: indexRows } = await pool.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
    expect(indexRows.map((row) => row.indexname)).toEqual([
      'm_casts_cook_idx',
      'm_casts_idempotency_key',
      'm_casts_maintenance_idx',
      'm_casts_pkey',
      'm_cooks_idempotency_key',
      'm_cooks_maintenance_idx',
      'm_cooks_pkey',
      'm_generations_account_idx',
      'm_generations_cast_idx',
      'm_generations_cook_idx',
      'm_generations_idempotency_key',
      'm_generations_open_idx',
      'm_generations_pkey',
      'm_generations_request_idx',
      'm_migrations_pkey',
    ]);
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
      expect(await onClient.migrate()).toEqual({ applied: [], alreadyApplied: ['0001_initial'] });
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
      await repository.casts.attach(cast.id, { childId: id, kind: 'generation', piece: false, at: T0, caps: { maxInFlight: 1000, maxEmbeddedIds: 5 } });
      await repository.generations.insert(generationRecord(id, { castId: cast.id }));
      await repository.settleGeneration!(id, outcome('success', costUsd, 1), at(1));
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
      const finished = await repository.generations.finish(generation.id, outcome('success', '0', 0, { responseTimestamp: instant, at: instant }));
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
      const finished = await repository.generations.finish(generation.id, outcome('success', '0.300000000000000001', 2));
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
    ].flatMap((shape) => (['asc', 'desc'] as const).map((order) => statements.generations.list({
      castId: false, cookId: false, masterAccountId: false, statuses: false, after: false, ...shape, order,
    })));
    const all = [
      ...Object.values(statements.generations).filter((value) => typeof value === 'object'),
      ...listShapes,
      ...Object.values(statements.casts).flatMap((value) => ('text' in value ? [value] : Object.values(value))),
      ...Object.values(statements.cooks).flatMap((value) => ('text' in value ? [value] : Object.values(value))),
      statements.settleGeneration,
    ] as { text: string; parameters: readonly string[]; name: string }[];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      for (const statement of all) {
        const values = typesOf(statement.text, statement.parameters).map(sampleValue);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${statement.text}`, values });
        const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(plan, statement.name).not.toMatch(/Seq Scan on gl_(generations|casts|cooks)/);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('each port call is one statement, completeGeneration() (settleGeneration) included, a retried one too', async () => {
    await truncate();
    const counting = countingPool();
    const repository = postgresRepository(counting.pool, options);
    const tracker = createTracker({ repository, clock: manualClock({ start: T0, autoAdvanceMs: 1 }), ids: sequentialIds({ prefix: 'one-' }), logger: silent });
    const cook = await tracker.startCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 1 });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook.id, totalSteps: 1 });
    const before = counting.statements();
    const step = await tracker.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id });
    expect(counting.statements() - before, 'recordGeneration: attach to the cast, attach to the cook, insert').toBe(3);
    const beforeStart = counting.statements();
    await tracker.startGeneration(step.id);
    await tracker.reportProgress(step.id, { progress: 0.5 });
    expect(counting.statements() - beforeStart).toBe(2);
    const beforeComplete = counting.statements();
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(counting.statements() - beforeComplete, 'completeGeneration: finish + cast apply + cook apply + cast-piece apply').toBe(1);
    expect(counting.texts.at(-1)).toContain('gen_old');
    expect(await tracker.getCook(cook.id)).toMatchObject({ status: 'completed', generatedCount: 1, costUsd: '0.25', pointsSpent: 2, inFlightCount: 0 });
    expect(await tracker.getCast(cast.id)).toMatchObject({ status: 'completed', costUsd: '0.25', inFlightCount: 0 });
    const beforeRetry = counting.statements();
    await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(counting.statements() - beforeRetry, 'a retried completion re-drives the roll-up in the same one statement').toBe(1);
    expect(await tracker.getCook(cook.id)).toMatchObject({ costUsd: '0.25', pointsSpent: 2, generatedCount: 1 });

    // Without the one-statement settlement, the tracker sends finish and each apply separately,
    // and ends in the same place.
    const split = countingPool();
    const stepwise = postgresRepository(split.pool, { ...options, settleInOneStatement: false });
    expect(stepwise.settleGeneration).toBeUndefined();
    const tracker2 = createTracker({ repository: stepwise, clock: manualClock({ start: T0, autoAdvanceMs: 1 }), ids: sequentialIds({ prefix: 'two-' }), logger: silent });
    const cook2 = await tracker2.startCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 1 });
    const cast2 = await tracker2.startCast({ spellId: 'spell', initiatorAccountId: 'account-pg', cookId: cook2.id, totalSteps: 1 });
    const step2 = await tracker2.recordGeneration({ masterAccountId: 'account-pg', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast2.id });
    await tracker2.startGeneration(step2.id);
    await tracker2.reportProgress(step2.id, { progress: 0.5 });
    const beforeSplit = split.statements();
    await tracker2.completeGeneration(step2.id, { status: 'success', costUsd: '0.25', pointsSpent: 2 });
    expect(split.statements() - beforeSplit, 'finish, cast apply, cook apply, cast-piece apply').toBe(4);
    const strip = ({ id: _id, updatedAt: _updatedAt, version: _version, ...rest }: Record<string, unknown>) => rest;
    const ids = (record: Record<string, unknown>) => JSON.parse(JSON.stringify(strip(record)).replaceAll(/(one|two)-/g, ''));
    expect(ids((await tracker2.getCook(cook2.id))!)).toEqual(ids((await tracker.getCook(cook.id))!));
    expect(ids((await tracker2.getCast(cast2.id))!)).toEqual(ids((await tracker.getCast(cast.id))!));
  });

  it('settleGeneration() leaves exactly what finish and the applies would, call by call: a cast ending in a cook, a retry, a piece, the sweeper guard, a missing cast, two cooks', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cookA = newCook({ collectionId: 'collection-a', initiatorAccountId: 'account-pg', targetSupply: 2 }, 'settle-cook-a', T0);
    const cookB = newCook({ collectionId: 'collection-b', initiatorAccountId: 'account-pg', targetSupply: 1 }, 'settle-cook-b', T0);
    await repository.cooks.insert(cookA);
    await repository.cooks.insert(cookB);
    const castPiece = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg', totalSteps: 1 }, 'settle-cast-1', T0, cookA);
    const castOfB = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg', totalSteps: 1 }, 'settle-cast-2', T0, cookB);
    const doomed = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'settle-cast-3', T0, null);
    await repository.cooks.attach(cookA.id, { childId: castPiece.id, kind: 'cast', piece: true, at: T0, caps: CAPS });
    await repository.cooks.attach(cookB.id, { childId: castOfB.id, kind: 'cast', piece: true, at: T0, caps: CAPS });
    for (const cast of [castPiece, castOfB, doomed]) await repository.casts.insert(cast);
    const attachTo = async (generation: Generation, piece: boolean) => {
      if (generation.castId) await repository.casts.attach(generation.castId, { childId: generation.id, kind: 'generation', piece: false, at: T0, caps: CAPS });
      if (generation.cookId) await repository.cooks.attach(generation.cookId, { childId: generation.id, kind: 'generation', piece, at: T0, caps: CAPS });
      await repository.generations.insert(generation);
    };
    const step = generationRecord('settle-step', { castId: castPiece.id, cookId: cookA.id });
    const piece = generationRecord('settle-piece', { cookId: cookA.id });
    const guarded = generationRecord('settle-guarded', { cookId: cookA.id }, { updatedAt: at(50) });
    const orphan = generationRecord('settle-orphan', { castId: doomed.id });
    // Inconsistent links on purpose: the generation names cook A, its cast belongs to cook B.
    const crossed = generationRecord('settle-crossed', { castId: castOfB.id, cookId: cookA.id });
    await attachTo(step, false);
    await attachTo(piece, true);
    await attachTo(guarded, true);
    await attachTo(orphan, false);
    await attachTo(crossed, false);

    const first = await expectSettleLikeSequence(repository, step.id, outcome('success', '0.5', 10), at(11), 'a step that ends its cast piece');
    expect(first).toMatchObject({ generation: { changed: true }, cast: { changed: true, previousStatus: 'running' }, cook: { changed: true }, castPiece: { changed: true } });
    expect(first!.castPiece!.record).toMatchObject({ generatedCount: 1, costUsd: '0.5', version: first!.cook!.record.version + 1 });
    const retry = await expectSettleLikeSequence(repository, step.id, outcome('failed', '9', 12), at(13), 'the retry');
    expect(retry).toMatchObject({ generation: { changed: false }, cast: { changed: false }, cook: { changed: false }, castPiece: { changed: false } });
    const pieceDone = await expectSettleLikeSequence(repository, piece.id, outcome('success', '0.25', 14), at(15), 'a generation piece that completes the cook');
    expect(pieceDone).toMatchObject({ cast: null, castPiece: null, cook: { changed: true, previousStatus: 'running', record: { generatedCount: 2, inFlightCount: 1 } } });
    const blocked = await expectSettleLikeSequence(repository, guarded.id, outcome('timeout', '0', 16, { onlyIfUpdatedBefore: at(40) }), at(16), 'the sweeper guard');
    expect(blocked).toMatchObject({ generation: { changed: false, record: { status: 'pending' } }, cast: null, cook: null, castPiece: null });
    await pool.query(`DELETE FROM ${tables.casts} WHERE id = $1`, [doomed.id]);
    const orphaned = await expectSettleLikeSequence(repository, orphan.id, outcome('success', '1', 17), at(18), 'a cast deleted behind the library');
    expect(orphaned).toMatchObject({ generation: { changed: true }, cast: null, cook: null, castPiece: null });
    const twoCooks = await expectSettleLikeSequence(repository, crossed.id, outcome('success', '2', 19), at(20), 'a generation and its cast in different cooks');
    expect(twoCooks!.cook!.record.id).toBe(cookA.id);
    expect(twoCooks!.castPiece!.record.id).toBe(cookB.id);
    expect(await repository.settleGeneration!('no-such-generation', outcome('success', '1', 21), at(21))).toBeNull();
  });

  it('settleGeneration() locks the generation, then the cast, then the cook', async () => {
    await truncate();
    const repository = postgresRepository(pool, options);
    const cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account-pg', targetSupply: 5 }, 'lock-cook', T0);
    const cast = newCast({ spellId: 'spell', initiatorAccountId: 'account-pg' }, 'lock-cast', T0, cook);
    await repository.cooks.insert(cook);
    await repository.cooks.attach(cook.id, { childId: cast.id, kind: 'cast', piece: true, at: T0, caps: CAPS });
    await repository.casts.insert(cast);
    const steps = ['lock-step-1', 'lock-step-2'].map((id) => generationRecord(id, { castId: cast.id, cookId: cook.id }));
    for (const step of steps) {
      await repository.casts.attach(cast.id, { childId: step.id, kind: 'generation', piece: false, at: T0, caps: CAPS });
      await repository.cooks.attach(cook.id, { childId: step.id, kind: 'generation', piece: false, at: T0, caps: CAPS });
      await repository.generations.insert(step);
    }
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
        const settling = repository.settleGeneration!(step.id, outcome('success', '0.1', 30), at(30));
        await waitUntilBlocked();
        expect(await lockable(tables.generations, step.id), 'the generation is locked first').toBe(false);
        if (held === tables.casts) expect(await lockable(tables.cooks, cook.id), 'the cook is not locked while the cast is awaited').toBe(true);
        else expect(await lockable(tables.casts, cast.id), 'the cast is locked before the cook is awaited').toBe(false);
        await holder.query('COMMIT');
        expect((await settling)!.cook!.changed).toBe(true);
      }
    } finally {
      holder.release();
      prober.release();
    }
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
    expect(stored).toMatchObject({ generatedCount: 100, inFlightCount: 0, costUsd: '0.0256', pointsSpent: 256, openGenerations: [], openPieces: [] });
    expect(await auditLedger(tracker, [cook.id], casts.map((cast) => cast.id))).toEqual([]);
    expect(warnings).toEqual([]);
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
