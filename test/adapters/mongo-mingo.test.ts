/**
 * genledger/mongo against a mingo-backed fake `Db` (test/mongo/fake-db.ts): the shared conformance
 * suite with every filter and update document the adapter sends evaluated by mingo, an independent
 * implementation of MongoDB's query and update language, and every write read back and compared
 * with the domain reducer. This checks MongoDB semantics as mingo implements them (plus modelled
 * Decimal128 operators), NOT a MongoDB server: test/adapters/mongo.test.ts runs the same suite on a
 * real mongod wherever one is available.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { conformanceParts, runRepositoryConformance } from '../conformance/index.js';
import { mongoConformanceTarget, NO_CHANGE_FEED } from '../mongo/conformance-target.js';
import { FakeDb } from '../mongo/fake-db.js';

const fake = new FakeDb();
const target = mongoConformanceTarget({
  name: 'mongo on mingo (MongoDB semantics as mingo implements them, not a server)',
  db: () => fake.asDb(),
  // The fake evaluates every write in JavaScript, about a millisecond each and more on large
  // parents: the sized parts run at a fifth of their size here (2,000 exact costs instead of
  // 10,000), and the randomized parts run again at full size below.
  scale: 0.2,
  timeoutMs: 120_000,
  skip: {
    changeFeed: NO_CHANGE_FEED,
    concurrency:
      'its load is fixed at 10,000 completions, which the mingo fake (about a millisecond per write, more on parents with hundreds of open children) would take over ten minutes to run; racing and duplicated completions are exercised by the property part at full size below, and the real-mongod run (mongo.test.ts) executes this part',
  },
});

runRepositoryConformance(target);

// The randomized parts at full size: the same random call sequences as the core's property test
// (100 runs), and the hostile-input fuzzing (200 runs).
// Ids that are not ObjectId-shaped are stored as strings: the port part again with readable ids.
describe('mongo on mingo, string ids', () => {
  conformanceParts.port({ ...target, name: `${target.name}, readable (string) ids`, idFormat: 'readable' });
  conformanceParts.idempotency({ ...target, name: `${target.name}, readable (string) ids`, idFormat: 'readable' });
});

describe('mongo on mingo, randomized parts at full size', () => {
  conformanceParts.property({ ...target, name: `${target.name}, full size`, scale: 1 });
  conformanceParts.hostileInput({ ...target, name: `${target.name}, full size`, scale: 1 });
});

describe('mongo on mingo: the stored-image check', () => {
  afterAll(() => {
    console.info(`[genledger] mongo on mingo: ${target.log.compared} writes compared with their stored documents (${target.log.overtaken} overtaken by a later write)`);
  });
  it('compared the stored document with the reducer after the writes above', () => {
    // Runs after every part above (a file's tests run in order).
    expect(target.log.compared).toBeGreaterThan(10_000);
  });
});
