/**
 * The size of a MongoDB parent's in-progress list (`genledgerInProgress`, design 12 option (b))
 * under concurrent completions, on the mingo fake (test/mongo/fake-db.ts). C calls complete
 * children of one cook at once (C = 1, 8, 64) while `inFlight` children stay open; after every
 * driver command the cook's list length is sampled. Reports the largest list seen, its stored
 * BSON bytes at that moment, the list at rest, and the cook's figures (checked exact).
 *
 * Run: `npx tsx bench/mongo-in-progress.ts` (`--json` for one JSON line).
 */
import { BSON, type Db, type Document } from 'mongodb';
import { mongoRepository } from '../adapters/mongo/index.js';
import { createTracker } from '../src/index.js';
import { FakeDb } from '../test/mongo/fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const person = { masterAccountId: 'account-bench', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc' };

/** The fake as a `Db` that, after each collection command, runs `after` (the sampler). */
function sampledDb(fake: FakeDb, after: () => Promise<void>): Db {
  const base = fake.asDb();
  return new Proxy(base, {
    get(target, property, receiver) {
      if (property !== 'collection') return Reflect.get(target, property, receiver);
      return (name: string) =>
        new Proxy(target.collection(name), {
          get(collection, method, inner) {
            const value = Reflect.get(collection, method, inner);
            if (typeof value !== 'function') return value;
            if (method === 'find') return (value as (...parameters: unknown[]) => unknown).bind(collection);
            return async (...args: unknown[]) => {
              const result = await (value as (...parameters: unknown[]) => Promise<unknown>).apply(collection, args);
              await after();
              return result;
            };
          },
        });
    },
  });
}

async function row(concurrency: number, completions: number, inFlight: number) {
  const fake = new FakeDb({ topology: 'standalone' });
  let maxEntries = 0;
  let maxBytes = 0;
  const raw = fake.asDb().collection<Document>('cooks');
  const db = sampledDb(fake, async () => {
    const cook = await raw.findOne({});
    const entries = Array.isArray(cook?.genledgerInProgress) ? cook.genledgerInProgress.length : 0;
    if (entries > maxEntries) {
      maxEntries = entries;
      maxBytes = BSON.calculateObjectSize(cook!);
    }
  });
  const tracker = createTracker({ repository: mongoRepository(db, { logger: silent }), logger: silent, limits: { maxInFlightChildren: 1_000_000, maxEmbeddedChildIds: 10 } });
  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: 'account-bench', targetSupply: 1_000_000 });
  const ids: string[] = [];
  for (let index = 0; index < completions + inFlight; index += 1) ids.push((await tracker.recordGeneration({ ...person, cookId: cook.id })).id);
  const restBytes = BSON.calculateObjectSize((await raw.findOne({}))!);
  maxEntries = 0;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < completions) await tracker.completeGeneration(ids[next++]!, { status: 'success', costUsd: '0.0001', pointsSpent: 1 });
  }));
  const after = await tracker.getCook(cook.id);
  const stored = await raw.findOne({});
  const exact = after?.inFlightCount === inFlight && after.costUsd === (completions / 10_000).toString() && after.pointsSpent === completions;
  return { concurrency, completions, inFlight, maxEntries, maxBytes, restBytes, atRest: stored?.genledgerInProgress?.length ?? 0, exact };
}

const rows = [];
for (const concurrency of [1, 8, 64]) for (const inFlight of [0, 500]) rows.push(await row(concurrency, 256, inFlight));
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
else {
  console.log('concurrent completions | children left in flight | largest in-progress list | cook bytes then | cook bytes before | entries at rest | figures exact');
  for (const r of rows) console.log(`${r.concurrency} | ${r.inFlight} | ${r.maxEntries} | ${r.maxBytes} | ${r.restBytes} | ${r.atRest} | ${r.exact}`);
}
