/**
 * genledger/mongo against a mingo-backed fake `Db` (test/mongo/fake-db.ts): the shared conformance
 * suite, property part included, with every filter and update document the adapter sends evaluated
 * by mingo, an independent implementation of MongoDB's query and update language, and every write
 * read back and compared with the domain reducer. This checks MongoDB semantics as mingo implements
 * them (plus modelled Decimal128 operators), NOT a MongoDB server: test/adapters/mongo.test.ts runs
 * the same suite on a real mongod wherever one is available.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runRepositoryConformance } from '../conformance/index.js';
import { mongoConformanceTarget } from '../mongo/conformance-target.js';
import { FakeDb } from '../mongo/fake-db.js';

const fake = new FakeDb();
const target = mongoConformanceTarget({
  name: 'mongo on mingo (MongoDB semantics as mingo implements them, not a server)',
  db: () => fake.asDb(),
  timeoutMs: 120_000,
});

runRepositoryConformance(target);

describe('mongo on mingo: the stored-image check', () => {
  afterAll(() => {
    // Printed so a run shows how many writes were compared with their stored documents.
    console.info(`[genledger] mongo on mingo: ${target.log.compared} writes compared with their stored documents (${target.log.overtaken} overtaken by a later write)`);
  });
  it('compared stored documents with the reducer after the suite\'s writes', () => {
    // Runs after the conformance parts above (vitest runs a file's tests in order).
    expect(target.log.compared).toBeGreaterThan(1000);
  });
});
