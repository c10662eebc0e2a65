/**
 * The legacy tools on the mingo-backed fake Db (MongoDB semantics as mingo implements them, not a
 * server); test/adapters/mongo.test.ts runs the same tests on a real mongod where one is available.
 */
import { FakeDb } from './fake-db.js';
import { legacyTests } from './legacy-suite.js';

legacyTests({ name: 'legacy tools on mingo (not a server)', freshDb: async () => new FakeDb().asDb() });
