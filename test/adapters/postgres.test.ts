/**
 * The PostgreSQL adapter against a real server: the whole shared conformance suite, then what is
 * particular to PostgreSQL (exact numeric sums, millisecond times, the schema and its migrations,
 * one statement per settlement, lock order). The server is started once for this file (see
 * test/support/postgres-server.ts; `PG_URL` points at an existing one instead), with a pool of 10
 * connections so concurrent calls really run concurrently.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresRepository, type PostgresRepositoryOptions, type TableNames } from '../../adapters/postgres/index.js';
import { runRepositoryConformance } from '../conformance/index.js';
import { postgresInspector } from '../support/postgres-inspector.js';
import { startPostgres, type PostgresTestServer } from '../support/postgres-server.js';

const POOL_SIZE = 10;

let server: PostgresTestServer;
let pool: pg.Pool;
let tables: TableNames;
// Against a shared server (PG_URL), a schema of its own per run, dropped afterwards.
const options: PostgresRepositoryOptions = {
  schema: process.env.PG_URL ? `genledger_test_${process.pid}` : 'genledger_test',
  tablePrefix: 'gl_',
};

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ ...server.connection, max: POOL_SIZE });
  const repository = postgresRepository(pool, options);
  tables = repository.tables;
  await repository.migrate();
  console.log(`[genledger postgres] ${server.description}`);
});

afterAll(async () => {
  if (server?.external && pool) await pool.query(`DROP SCHEMA IF EXISTS "${options.schema}" CASCADE`);
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
});
