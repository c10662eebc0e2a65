/**
 * Opens the store `genledger reprice` names, loading only its driver (both are optional peers of
 * genledger): `mongodb` and this adapter for `--store mongodb`, `pg` and genledger/postgres for
 * `--store postgres`. A missing driver is one line saying what to install.
 */
import { CONNECT_TIMEOUT_MS, MissingDriverError } from './cli-messages.js';
import type { OpenedStore, StoreTarget } from './reprice-command.js';

function missingModule(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && new RegExp(`['"]${name}['"]`).test(error instanceof Error ? error.message : '');
}

async function load<T>(specifier: () => Promise<T>, name: string, store: 'mongodb' | 'postgres'): Promise<T> {
  try {
    return await specifier();
  } catch (error) {
    if (missingModule(error, name)) throw new MissingDriverError(store, error);
    throw error;
  }
}

const loadMongo = () => load(() => import('mongodb'), 'mongodb', 'mongodb');
const loadPg = () => load(() => import('pg'), 'pg', 'postgres');

/** Loads the driver `store` needs, before anything connects: a `MissingDriverError` when it is not installed. */
export async function loadDriver(store: StoreTarget['store']): Promise<void> {
  await (store === 'mongodb' ? loadMongo() : loadPg());
}

export async function openStore(target: StoreTarget): Promise<OpenedStore> {
  if (target.store === 'mongodb') {
    const driver = await loadMongo();
    const { mongoRepository } = await import('./index.js');
    const client = await driver.MongoClient.connect(target.uri, { serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS, connectTimeoutMS: CONNECT_TIMEOUT_MS });
    return { repository: mongoRepository(client.db(target.database)), close: () => client.close() };
  }
  const pg = await loadPg();
  const { postgresRepository } = await import('genledger/postgres');
  const pool = new pg.default.Pool({ connectionString: target.uri, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, max: 16 });
  try {
    // Fail here, in one line, rather than at the first page.
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const options = { ...(target.schema === undefined ? {} : { schema: target.schema }), ...(target.tablePrefix === undefined ? {} : { tablePrefix: target.tablePrefix }) };
  return { repository: postgresRepository(pool, options), close: () => pool.end() };
}
