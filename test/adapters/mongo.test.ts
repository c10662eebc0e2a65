/**
 * genledger/mongo on a real mongod: the shared conformance suite (every write also read back and
 * compared with the domain reducer) and the legacy tools. Uses the server at MONGODB_URI, else
 * one started by mongodb-memory-server (MONGOMS_SYSTEM_BINARY honoured). Where no mongod can be had
 * (no internet to download one, no URI), the whole file skips by capability, with the reason in
 * its title and one loud line in the output; the mingo-backed run (mongo-mingo.test.ts) still runs.
 *
 * The change feed: on that server the suite's change-feed part runs with whatever the server
 * allows (change streams on a replica set; on a standalone server, mongodb-memory-server's default,
 * the polling fallback). The change-streams run needs a replica set: MONGODB_URI when it is one,
 * else a one-member MongoMemoryReplSet; without one it skips loudly too.
 */
import { afterAll, describe } from 'vitest';
import { conformanceParts, runRepositoryConformance } from '../../src/conformance/index.js';
import { mongoConformanceTarget, recordingLogger } from '../mongo/conformance-target.js';
import { legacyTests } from '../mongo/legacy-suite.js';
import { findMongoReplicaSet, findMongoServer, type MongoServer } from '../mongo/server.js';

const server = await findMongoServer();

if (!server.available) {
  console.warn(`\n[genledger] !!! THE MONGODB SUITE DID NOT RUN (test/adapters/mongo.test.ts): ${server.reason} !!!\n`);
}

// A second server only when the first cannot give change streams.
const replicaSet: MongoServer = server.available && server.topology !== 'standalone' ? server : await findMongoReplicaSet();

if (!replicaSet.available) {
  console.warn(`\n[genledger] !!! THE MONGODB CHANGE STREAMS RUN DID NOT RUN (test/adapters/mongo.test.ts): ${replicaSet.reason} !!!\n`);
}

const title = server.available ? `MongoDB on a real mongod (${server.description}, ${server.topology})` : `MongoDB on a real mongod: SKIPPED, ${server.reason}`;

// Connected lazily: when the suite is skipped, nothing below ever touches a server.
function live(found: MongoServer) {
  if (!found.available) throw new Error(found.reason);
  return found;
}

/** Kills the feed's change stream cursors; a reconnect test that killed nothing would prove nothing. */
async function killChangeStreams(found: MongoServer): Promise<void> {
  const killed = await live(found).killChangeStreams();
  if (killed === 0) throw new Error('forceReconnect: no change stream cursor of the feed was open on the server');
}

describe.skipIf(!server.available)(title, () => {
  afterAll(async () => {
    if (server.available) await server.stop();
  });
  const polls = server.available && server.topology === 'standalone';
  runRepositoryConformance(
    mongoConformanceTarget({
      name: `mongo (real mongod${polls ? ', change feed by polling' : ', change streams'})`,
      db: () => live(server).db(),
      secondDb: () => live(server).secondDb(),
      repository: { logger: recordingLogger(), changeFeed: { pollIntervalMs: 50, reconnectDelayMs: 20 } },
      // A poll holds no connection between polls: there is nothing on the server to drop.
      ...(!polls && { forceReconnect: () => killChangeStreams(server) }),
      timeoutMs: 180_000,
    }),
  );
  legacyTests({ name: 'legacy tools (real mongod)', freshDb: () => live(server).freshDb() });
});

const streamsTitle = replicaSet.available
  ? `MongoDB change streams on a real replica set (${replicaSet.description})`
  : `MongoDB change streams on a real replica set: SKIPPED, ${replicaSet.reason}`;

// When the main server is a replica set, the suite above already ran the feed on change streams.
if (replicaSet !== server) describe.skipIf(!replicaSet.available)(streamsTitle, () => {
  afterAll(async () => {
    if (replicaSet.available) await replicaSet.stop();
  });
  conformanceParts.changeFeed(
    mongoConformanceTarget({
      name: 'mongo (real replica set, change streams)',
      db: () => live(replicaSet).db(),
      secondDb: () => live(replicaSet).secondDb(),
      repository: { logger: recordingLogger(), changeFeed: { mode: 'changeStreams', reconnectDelayMs: 20 } },
      forceReconnect: () => killChangeStreams(replicaSet),
      timeoutMs: 180_000,
    }),
  );
});
