/**
 * Finding a real mongod for the MongoDB suite: `MONGODB_URI` when set (use that server), else
 * mongodb-memory-server (which honours `MONGOMS_SYSTEM_BINARY`, and otherwise downloads a mongod:
 * impossible without internet). When none can be had, says why, so the suite can skip by
 * capability and print the reason.
 */
import { MongoClient, type Db } from 'mongodb';

export type MongoServer =
  | { readonly available: true; readonly description: string; freshDb(): Promise<Db>; db(): Db; stop(): Promise<void> }
  | { readonly available: false; readonly reason: string };

const START_TIMEOUT_MS = 120_000;

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function connected(uri: string, description: string, stopServer: () => Promise<void>): Promise<MongoServer> {
  const client = await withTimeout(MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 }), 20_000, `connecting to ${description}`);
  const run = `genledger_test_${process.pid}_${Date.now()}`;
  const main = client.db(run);
  const created: Db[] = [main];
  let fresh = 0;
  return {
    available: true,
    description,
    db: () => main,
    async freshDb() {
      fresh += 1;
      const db = client.db(`${run}_${fresh}`);
      created.push(db);
      return db;
    },
    async stop() {
      // Only the databases this run created are dropped: MONGODB_URI may point at a shared server.
      for (const db of created) await db.dropDatabase().catch(() => {});
      await client.close();
      await stopServer();
    },
  };
}

/**
 * mongodb-memory-server prints its own multi-line warning with a stack when it cannot start; the
 * caller reports the same error in one line, so the library's own console output is held back
 * while it starts.
 */
async function quietly<T>(start: () => Promise<T>): Promise<T> {
  const { warn, error } = console;
  console.warn = () => {};
  console.error = () => {};
  try {
    return await start();
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

export async function findMongoServer(): Promise<MongoServer> {
  const uri = process.env.MONGODB_URI;
  if (uri) {
    try {
      return await connected(uri, 'the server at MONGODB_URI', async () => {});
    } catch (error) {
      return { available: false, reason: `MONGODB_URI is set but its server could not be reached: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server');
    const server = await quietly(() => withTimeout(MongoMemoryServer.create(), START_TIMEOUT_MS, 'starting mongodb-memory-server'));
    return await connected(server.getUri(), `mongodb-memory-server (${process.env.MONGOMS_SYSTEM_BINARY ?? 'its own mongod'})`, async () => {
      await server.stop();
    });
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).split('\n').join(' ').slice(0, 300);
    return {
      available: false,
      reason: `no mongod: MONGODB_URI is not set and mongodb-memory-server could not start one (${detail}); set MONGODB_URI or MONGOMS_SYSTEM_BINARY to run it`,
    };
  }
}
