/**
 * Whether watch()'s account updates cost more as the followed account's ledger grows, or as the
 * number of accounts grows: an account given N entries (N = 100, 10k, 100k) or a store of M accounts
 * (M = 100, 10k), then a watch following the account (`masterAccountId`) while it is credited
 * 300 more times, each credit awaited until its `accountUpdate` arrives. Reports the mean
 * microseconds from credit to event, and the entries the watch read per event.
 *
 * `npx tsx bench/watch-account-scale.ts`
 */
import { memoryRepository } from '../adapters/memory/index.js';
import type { LedgerRepository } from '../src/port.js';
import { createTracker } from '../src/index.js';

const silent = { warn: () => undefined, error: () => undefined };

async function run(entries: number, accounts: number): Promise<string> {
  const store = memoryRepository();
  const read = { entries: 0, calls: 0 };
  const repository: LedgerRepository = {
    ...store,
    accounts: {
      ...store.accounts,
      listEntries: async (query) => {
        const found = await store.accounts.listEntries(query);
        read.calls += 1;
        read.entries += found.length;
        return found;
      },
    },
  };
  const writer = createTracker({ repository: store, logger: silent });
  for (let index = 0; index < entries; index += 1) await writer.credit('followed', { points: 1, reason: 'seed', idempotencyKey: `s${index}` });
  for (let index = 0; index < accounts; index += 1) await writer.credit(`other-${index}`, { points: 1, reason: 'seed', idempotencyKey: 'seed' });
  const reader = createTracker({ repository, logger: silent });
  const watch = reader.watch({ masterAccountId: 'followed' });
  let heard = 0;
  watch.on('accountUpdate', () => {
    heard += 1;
  });
  await watch.ready;
  const credits = 300;
  const started = process.hrtime.bigint();
  for (let index = 0; index < credits; index += 1) {
    await writer.credit('followed', { points: 1, reason: 'bench', idempotencyKey: `b${index}` });
    while (heard <= index) await new Promise((resolve) => setImmediate(resolve));
  }
  const perEvent = Number(process.hrtime.bigint() - started) / 1000 / credits;
  await watch.close();
  return `entries=${entries} accounts=${accounts}: ${perEvent.toFixed(1)} us/event, ${(read.entries / credits).toFixed(2)} entries read/event, ${(read.calls / credits).toFixed(2)} listEntries/event`;
}

for (const [entries, accounts] of [
  [100, 1],
  [10_000, 1],
  [100_000, 1],
  [100, 100],
  [100, 10_000],
] as const) {
  // Twice: the first warms the JIT.
  await run(entries, accounts);
  console.log(await run(entries, accounts));
}
