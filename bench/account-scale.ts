/**
 * Whether the memory store's account calls grow with an account's ledger entries or with the
 * number of accounts: one account credited N times (N = 1k, 10k, 100k), then the per-call time of
 * getAccount, listLedgerEntries (first and last page of 100), reconcileAccount, and a held
 * record+complete pair on that account; then N accounts of one entry each, the same calls on one.
 *
 * `npx tsx bench/account-scale.ts`
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import { num, table } from './stats.js';

const sizes = [1_000, 10_000, 100_000];
const base = { toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' } as const;

/** Mean microseconds per call over `calls` calls. */
async function per(calls: number, call: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(calls, 50); index += 1) await call(index); // warm
  const started = process.hrtime.bigint();
  for (let index = 0; index < calls; index += 1) await call(index);
  return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

async function measure(tracker: Tracker, accountId: string, entries: number): Promise<string[]> {
  const lastPageCursor = String(Math.max(0, entries - 100));
  const get = await per(1_000, () => tracker.getAccount(accountId));
  const first = await per(200, () => tracker.listLedgerEntries({ accountId, limit: 100 }));
  const last = await per(200, () => tracker.listLedgerEntries({ accountId, cursor: lastPageCursor, limit: 100 }));
  const reconcile = await per(5, () => tracker.reconcileAccount(accountId));
  const pair = await per(500, async () => {
    const generation = await tracker.recordGeneration({ ...base, masterAccountId: accountId, hold: { points: 1 } });
    await tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 1 });
  });
  return [num(get, 2), num(first, 2), num(last, 2), num(reconcile, 0), num(pair, 2)];
}

const header = ['µs per call', 'getAccount', 'list (first page)', 'list (last page)', 'reconcileAccount', 'held record+complete'];
const byEntries: string[][] = [];
for (const size of sizes) {
  const tracker = createTracker({ repository: memoryRepository() });
  for (let index = 0; index < size; index += 1) await tracker.credit('account-big', { points: 1_000, reason: 'grant', idempotencyKey: `c-${index}` });
  byEntries.push([`1 account, ${num(size)} entries`, ...(await measure(tracker, 'account-big', size))]);
}
const byAccounts: string[][] = [];
for (const size of sizes) {
  const tracker = createTracker({ repository: memoryRepository() });
  for (let index = 0; index < size; index += 1) await tracker.credit(`account-${index}`, { points: 1_000, reason: 'grant', idempotencyKey: 'c' });
  byAccounts.push([`${num(size)} accounts, 1 entry each`, ...(await measure(tracker, 'account-0', 1))]);
}
console.log(`memory store accounts by ledger size and by account count (node ${process.version})\n`);
console.log(table(header, [...byEntries, ...byAccounts]));
