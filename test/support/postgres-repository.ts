/**
 * The setup the PostgreSQL test files share: a server (test/support/postgres-server.ts), a pool,
 * and a migrated repository in a schema of the file's own, whose statements are recorded as they
 * are sent. Call {@link usePostgresRepository} at the top of a test file: it registers the
 * `beforeAll` that starts them and the `afterAll` that stops them (against a shared server,
 * `PG_URL`, the schema carries the process id and is dropped afterwards).
 *
 * ```ts
 * const pg = usePostgresRepository({ name: 'accounts', tablePrefix: 'ac_' });
 * it('...', async () => { await pg.repository.accounts.get('a'); });
 * ```
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import {
  postgresRepository,
  type PostgresQueryConfig,
  type PostgresRepository,
  type PostgresRepositoryOptions,
} from '../../adapters/postgres/index.js';
import { startPostgres, type PostgresTestServer } from './postgres-server.js';

export interface PostgresRepositorySetup {
  /** The schema's name without the run tag: `genledger_<name>`. */
  readonly name: string;
  readonly tablePrefix: string;
  /** Connections in the pool. @default 8 */
  readonly poolSize?: number;
  /** More repository options (`schema` and `tablePrefix` are set here). @default { changeFeed: false } */
  readonly options?: Omit<PostgresRepositoryOptions, 'schema' | 'tablePrefix'>;
}

/** What {@link usePostgresRepository} hands a test file; filled in by its `beforeAll`. */
export interface PostgresRepositoryFixture {
  readonly server: PostgresTestServer;
  /** The pool itself: queries on it are not recorded. */
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly tablePrefix: string;
  /** Migrated, on {@link PostgresRepositoryFixture.recorded}. */
  readonly repository: PostgresRepository;
  /** The pool as the repository sees it: every statement recorded in `sent` and `batches`. */
  readonly recorded: { query(config: PostgresQueryConfig): Promise<never>; connect(): Promise<pg.PoolClient> };
  /** Names (or texts) of the statements sent through `recorded`, in order. */
  readonly sent: string[];
  /** Sizes of the `settle_generations` statements sent through `recorded`, in order. */
  readonly batches: number[];
  /** Sizes of the `insert_generations` statements (creations' group commit) sent through `recorded`, in order. */
  readonly creationBatches: number[];
  /** Another repository on the same schema and recorded pool, with more options (e.g. `maxAttempts`). */
  another(options: Omit<PostgresRepositoryOptions, 'schema' | 'tablePrefix'>): PostgresRepository;
}

export function usePostgresRepository(setup: PostgresRepositorySetup): PostgresRepositoryFixture {
  const runTag = process.env.PG_URL ? `_${process.pid}` : '';
  const schema = `genledger_${setup.name}${runTag}`;
  const sent: string[] = [];
  const batches: number[] = [];
  const creationBatches: number[] = [];
  const fixture = { schema, tablePrefix: setup.tablePrefix, sent, batches, creationBatches } as Partial<Record<keyof PostgresRepositoryFixture, unknown>>;
  const options = setup.options ?? { changeFeed: false };

  beforeAll(async () => {
    const server = await startPostgres();
    const pool = new pg.Pool({ ...server.connection, max: setup.poolSize ?? 8 });
    // An idle client losing its connection (the server stopping first) must not crash the run.
    pool.on('error', () => {});
    const recorded = {
      query(config: PostgresQueryConfig) {
        sent.push(config.name ?? config.text);
        if (config.name?.includes('settle_generations')) batches.push((JSON.parse(String(config.values![0])) as unknown[]).length);
        if (config.name?.includes('insert_generations')) creationBatches.push((JSON.parse(String(config.values![0])) as unknown[]).length);
        return pool.query(config as pg.QueryConfig) as never;
      },
      connect: () => pool.connect(),
    };
    const another = (more: Omit<PostgresRepositoryOptions, 'schema' | 'tablePrefix'>) =>
      postgresRepository(recorded, { ...more, schema, tablePrefix: setup.tablePrefix });
    const repository = another(options);
    Object.assign(fixture, { server, pool, recorded, repository, another });
    await repository.migrate();
  });

  afterAll(async () => {
    const { server, pool } = fixture as Partial<PostgresRepositoryFixture>;
    if (server?.external && pool) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool?.end();
    await server?.stop();
  });

  return fixture as PostgresRepositoryFixture;
}
