/**
 * What a hold costs on MongoDB, in driver commands (each one round trip to the server), on the mingo
 * fake (test/mongo/fake-db.ts): `recordGeneration` and `completeGeneration` of a standalone
 * generation without a hold and with one, and of a piece of a cook without a budget and of a cook
 * with one (the piece bringing its hold); then a parent hold (`startCook({ hold })`): its
 * creation, a piece drawing on it (its creation and its settlement), and the cook's end
 * (`finishCook`, which releases the reservation). Commands are counted by collection and method
 * after a warm-up; each case runs on an account with a balance and an account document in place.
 *
 * Run: `npx tsx bench/mongo-hold-round-trips.ts`.
 */
import type { Db } from 'mongodb';
import { mongoRepository } from '../adapters/mongo/index.js';
import { createTracker } from '../src/index.js';
import { FakeDb } from '../test/mongo/fake-db.js';

const silent = { warn: () => {}, error: () => {} };
const person = { masterAccountId: 'account-bench', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc' };

function countingDb(fake: FakeDb, counts: Map<string, number>): Db {
  const base = fake.asDb();
  return new Proxy(base, {
    get(target, property, receiver) {
      if (property !== 'collection') return Reflect.get(target, property, receiver);
      return (name: string) =>
        new Proxy(target.collection(name), {
          get(collection, method, inner) {
            const value = Reflect.get(collection, method, inner);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              const key = `${name}.${String(method)}`;
              counts.set(key, (counts.get(key) ?? 0) + 1);
              return (value as (...parameters: unknown[]) => unknown).apply(collection, args);
            };
          },
        });
    },
  });
}

async function main(): Promise<void> {
  const fake = new FakeDb();
  const counts = new Map<string, number>();
  const repository = mongoRepository(countingDb(fake, counts), { logger: silent });
  await repository.ensureIndexes();
  const tracker = createTracker({ repository, logger: silent });
  await tracker.credit(person.masterAccountId, { points: 1_000_000, reason: 'bench', idempotencyKey: 'bench' });
  const plain = await tracker.startCook({ collectionId: 'c-plain', initiatorAccountId: person.masterAccountId, targetSupply: 100 });
  const budgeted = await tracker.startCook({ collectionId: 'c-budget', initiatorAccountId: person.masterAccountId, targetSupply: 100, budget: { points: 100_000 } });
  const cases = {
    'standalone, no hold': {},
    'standalone, hold': { hold: { points: 10 } },
    'cook piece, no budget, no hold': { cookId: plain.id },
    'cook piece, budgeted cook, hold': { cookId: budgeted.id, hold: { points: 10 } },
  };
  const total = (map: Map<string, number>) => [...map.values()].reduce((sum, count) => sum + count, 0);
  for (const [label, extra] of Object.entries(cases)) {
    // Warm-up (the account document exists, indexes are made).
    await tracker.completeGeneration((await tracker.recordGeneration({ ...person, ...extra })).id, { status: 'success', pointsSpent: 3 });
    counts.clear();
    const generation = await tracker.recordGeneration({ ...person, ...extra });
    const record = new Map(counts);
    counts.clear();
    await tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 3 });
    const complete = new Map(counts);
    const describe = (map: Map<string, number>) => [...map].map(([key, count]) => `${key} ${count}`).join(', ');
    console.log(`${label}: recordGeneration ${total(record)} commands (${describe(record)}); completeGeneration ${total(complete)} (${describe(complete)})`);
  }

  // Parent holds: each step measured alone, after a warm-up round of the same steps.
  const describe = (map: Map<string, number>) => [...map].map(([key, count]) => `${key} ${count}`).join(', ');
  const measure = async <T>(run: () => Promise<T>): Promise<{ value: T; commands: Map<string, number> }> => {
    counts.clear();
    const value = await run();
    return { value, commands: new Map(counts) };
  };
  for (const round of ['warm-up', 'measured'] as const) {
    const held = await measure(() => tracker.startCook({ collectionId: `c-held-${round}`, initiatorAccountId: person.masterAccountId, targetSupply: 100, hold: { points: 1_000 } }));
    const drawing = await measure(() => tracker.recordGeneration({ ...person, cookId: held.value.id, hold: { points: 10 } }));
    const settled = await measure(() => tracker.completeGeneration(drawing.value.id, { status: 'success', pointsSpent: 3 }));
    const ended = await measure(() => tracker.finishCook(held.value.id));
    if (round === 'warm-up') continue;
    for (const [label, { commands }] of [
      ['parent hold: startCook({ hold })', held],
      ['parent hold: recordGeneration, a piece drawing on it', drawing],
      ['parent hold: completeGeneration of that piece', settled],
      ['parent hold: finishCook (the release)', ended],
    ] as const) {
      console.log(`${label}: ${total(commands)} commands (${describe(commands)})`);
    }
  }
}

await main();
