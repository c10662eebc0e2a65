/**
 * The cost of a hold on the memory store: a generation recorded and completed (`recordGeneration`
 * then `completeGeneration`) with `hold: { points }` against the same pair without one. Each round
 * runs one batch of each side, in alternating order, on a fresh store (the account credited
 * outside the timed part); the figure per side is the median over rounds of its wall time per
 * pair, and the ratio is the median of the per-round ratios, so load from other processes hits
 * both sides alike.
 *
 * `npx tsx bench/holds.ts` (`--quick` for a short run).
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import { median, num, table, times } from './stats.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 11;
const pairs = quick ? 2_000 : 10_000;

const base = { masterAccountId: 'account-bench', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' } as const;

async function fresh(): Promise<Tracker> {
  const tracker = createTracker({ repository: memoryRepository() });
  await tracker.credit('account-bench', { points: pairs * 10, reason: 'bench', idempotencyKey: 'bench-credit' });
  return tracker;
}

/** Wall time per record+complete pair, in microseconds. */
async function batch(tracker: Tracker, withHold: boolean): Promise<number> {
  const started = process.hrtime.bigint();
  for (let index = 0; index < pairs; index += 1) {
    const generation = await tracker.recordGeneration(withHold ? { ...base, hold: { points: 10 } } : base);
    await tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 7, costUsd: '0.0042' });
  }
  return Number(process.hrtime.bigint() - started) / 1000 / pairs;
}

// Warm-up: both paths compiled before anything is timed.
await batch(await fresh(), false);
await batch(await fresh(), true);

const without: number[] = [];
const withHold: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  const measured: Record<string, number> = {};
  for (const hold of order) measured[String(hold)] = await batch(await fresh(), hold);
  without.push(measured.false!);
  withHold.push(measured.true!);
  ratios.push(measured.true! / measured.false!);
}
// The books must still be exact after the held batches: 10 held, 7 captured, 3 released per pair.
const check = await fresh();
await batch(check, true);
const account = await check.getAccount('account-bench');
if (account.spent.points !== pairs * 7 || account.held.points !== 0 || account.balance.points !== pairs * 3) {
  throw new Error(`the held batch left the account inexact: ${JSON.stringify(account)}`);
}

const sorted = [...ratios].sort((left, right) => left - right);
console.log(`holds on the memory store: ${rounds} rounds of ${num(pairs)} record+complete pairs per side (node ${process.version})\n`);
console.log(
  table(
    ['pair', 'µs per pair (median)', 'pairs/s'],
    [
      ['without a hold', num(median(without), 2), num(1e6 / median(without))],
      ['with hold: { points: 10 }', num(median(withHold), 2), num(1e6 / median(withHold))],
    ],
  ),
);
console.log(`\nwith / without: ${times(median(ratios))} (per-round ratios ${times(sorted[0]!)} to ${times(sorted[sorted.length - 1]!)})`);
