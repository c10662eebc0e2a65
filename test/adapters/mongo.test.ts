/**
 * genledger/mongo on a real mongod: the shared conformance suite (every write also read back and
 * compared with the domain reducer) and the legacy tools. Uses the server at MONGODB_URI, else
 * one started by mongodb-memory-server (MONGOMS_SYSTEM_BINARY honoured). Where no mongod can be had
 * (no internet to download one, no URI), the whole file skips by capability, with the reason in
 * its title and one loud line in the output; the mingo-backed run (mongo-mingo.test.ts) still runs.
 */
import { afterAll, describe } from 'vitest';
import { runRepositoryConformance } from '../conformance/index.js';
import { mongoConformanceTarget, NO_CHANGE_FEED } from '../mongo/conformance-target.js';
import { legacyTests } from '../mongo/legacy-suite.js';
import { findMongoServer } from '../mongo/server.js';

const server = await findMongoServer();

if (!server.available) {
  console.warn(`\n[genledger] !!! THE MONGODB SUITE DID NOT RUN (test/adapters/mongo.test.ts): ${server.reason} !!!\n`);
}

const title = server.available ? `MongoDB on a real mongod (${server.description})` : `MongoDB on a real mongod: SKIPPED, ${server.reason}`;

// Connected lazily: when the suite is skipped, nothing below ever touches a server.
const live = () => {
  if (!server.available) throw new Error(server.reason);
  return server;
};

describe.skipIf(!server.available)(title, () => {
  afterAll(async () => {
    if (server.available) await server.stop();
  });
  runRepositoryConformance(
    mongoConformanceTarget({
      name: 'mongo (real mongod)',
      db: () => live().db(),
      timeoutMs: 180_000,
      skip: { changeFeed: NO_CHANGE_FEED },
    }),
  );
  legacyTests({ name: 'legacy tools (real mongod)', freshDb: () => live().freshDb() });
});
