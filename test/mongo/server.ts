/**
 * Finding a real mongod for the MongoDB suite: `MONGODB_URI` when set (use that server), else
 * mongodb-memory-server (which honours `MONGOMS_SYSTEM_BINARY`, and otherwise downloads a mongod:
 * impossible without internet). When none can be had, says why, so the suite can skip by
 * capability and print the reason.
 *
 * Change streams need a replica set: `findMongoReplicaSet()` uses the server at MONGODB_URI when
 * it is a replica set member or a mongos, else starts a one-member replica set with
 * mongodb-memory-server's MongoMemoryReplSet (same binary rules).
 */
import { Long, MongoClient, type Db, type Document } from 'mongodb';
import { CHANGE_FEED_COMMENT } from '../../adapters/mongo/index.js';

export type Topology = 'standalone' | 'replicaSet' | 'sharded';

export type MongoServer =
  | {
      readonly available: true;
      readonly description: string;
      /** What the server says it is (`hello`). */
      readonly topology: Topology;
      freshDb(): Promise<Db>;
      db(): Db;
      /** The same database as `db()`, through a second client: another process's view. */
      secondDb(): Promise<Db>;
      /**
       * Kills the server-side cursors of the change feed's change streams on `db()`, as a lost
       * cursor or connection would; returns how many were killed.
       */
      killChangeStreams(): Promise<number>;
      stop(): Promise<void>;
    }
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

async function topologyOf(client: MongoClient): Promise<Topology> {
  const hello = await client.db('admin').command({ hello: 1 });
  if (typeof hello.setName === 'string') return 'replicaSet';
  return hello.msg === 'isdbgrid' ? 'sharded' : 'standalone';
}

async function connected(uri: string, description: string, stopServer: () => Promise<void>): Promise<MongoServer & { available: true }> {
  const connect = () => withTimeout(MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 }), 20_000, `connecting to ${description}`);
  const client = await connect();
  const topology = await topologyOf(client);
  const run = `genledger_test_${process.pid}_${Date.now()}`;
  const main = client.db(run);
  const created: Db[] = [main];
  let second: MongoClient | null = null;
  let fresh = 0;
  return {
    available: true,
    description,
    topology,
    db: () => main,
    async secondDb() {
      second ??= await connect();
      return second.db(run);
    },
    async killChangeStreams() {
      // Change stream cursors of this run's database carrying the feed's comment, idle or in a getMore.
      const operations: Document[] = await client
        .db('admin')
        .aggregate([
          { $currentOp: { allUsers: true, idleCursors: true } },
          { $match: { 'cursor.cursorId': { $exists: true }, 'cursor.originatingCommand.comment': CHANGE_FEED_COMMENT, ns: { $regex: `^${run}\\.` } } },
        ])
        .toArray();
      const ids = [...new Map(operations.map((operation) => [String(operation.cursor.cursorId), operation.cursor.cursorId as Long])).values()];
      if (ids.length > 0) await main.command({ killCursors: '$cmd.aggregate', cursors: ids });
      return ids.length;
    },
    async freshDb() {
      fresh += 1;
      const db = client.db(`${run}_${fresh}`);
      created.push(db);
      return db;
    },
    async stop() {
      // Only the databases this run created are dropped: MONGODB_URI may point at a shared server.
      for (const db of created) await db.dropDatabase().catch(() => {});
      await second?.close();
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

/** A replica set for the change streams run: MONGODB_URI when it is one (or a mongos), else a one-member MongoMemoryReplSet. */
export async function findMongoReplicaSet(): Promise<MongoServer> {
  const uri = process.env.MONGODB_URI;
  if (uri) {
    try {
      const server = await connected(uri, 'the server at MONGODB_URI', async () => {});
      if (server.topology !== 'standalone') return server;
      await server.stop();
    } catch {
      // Unreachable: reported by findMongoServer(); try a replica set of our own below.
    }
  }
  try {
    const { MongoMemoryReplSet } = await import('mongodb-memory-server');
    const replicaSet = await quietly(() => withTimeout(MongoMemoryReplSet.create({ replSet: { count: 1 } }), START_TIMEOUT_MS, 'starting a MongoMemoryReplSet'));
    return await connected(replicaSet.getUri(), `a one-member MongoMemoryReplSet (${process.env.MONGOMS_SYSTEM_BINARY ?? 'its own mongod'})`, async () => {
      await replicaSet.stop();
    });
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).split('\n').join(' ').slice(0, 300);
    return {
      available: false,
      reason: `no replica set: MONGODB_URI is not one and mongodb-memory-server could not start one (${detail}); set MONGODB_URI to a replica set, or MONGOMS_SYSTEM_BINARY, to run it`,
    };
  }
}
