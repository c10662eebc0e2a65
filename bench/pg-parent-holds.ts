/**
 * Parent holds on PostgreSQL: what a cook held with `startCook({ hold })` costs against the same
 * cook with a plain `budget` (the pieces holding from the account as always), call by call.
 *
 * Each round runs one lifecycle of each side, in alternating order, on the same account: the cook
 * started (hold or budget of 10 x `children` points), `children` pieces recorded with
 * `hold: { points: 10 }` one after another (drawing on the reservation, or holding from the
 * account), each completed with 7 points, then `finishCook` (which releases what the reservation
 * has left: 3 x `children` points). Per operation: the median wall time per call over rounds, and
 * the statements per call (a counting pool). After the run each account must be exact: balance =
 * credit - 7 x every completed piece, held 0, and reconcile finds no drift.
 *
 *   node --import tsx bench/pg-parent-holds.ts [rounds=15] [--children=20]
 */
import { createTracker } from '../src/index.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { median } from './stats.js';

const rounds = Number(process.argv.slice(2).find((argument) => !argument.startsWith('--')) ?? 15);
const childrenFlag = process.argv.find((argument) => argument.startsWith('--children='));
const children = childrenFlag === undefined ? 20 : Number(childrenFlag.slice('--children='.length));
const postgres = await startBenchPostgres();
console.log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);
try {
  const pool = postgres.pool(8);
  const repository = await postgres.repository(pool, benchSchema('parent_holds'));
  const tracker = createTracker({ repository });
  const sides = ['hold', 'budget'] as const;
  const operations = ['startCook', 'recordGeneration', 'completeGeneration', 'finishCook'] as const;
  type Side = (typeof sides)[number];
  type Operation = (typeof operations)[number];
  const micros: Record<Side, Record<Operation, number[]>> = { hold: { startCook: [], recordGeneration: [], completeGeneration: [], finishCook: [] }, budget: { startCook: [], recordGeneration: [], completeGeneration: [], finishCook: [] } };
  const statements: Record<Side, Record<Operation, number>> = { hold: { startCook: 0, recordGeneration: 0, completeGeneration: 0, finishCook: 0 }, budget: { startCook: 0, recordGeneration: 0, completeGeneration: 0, finishCook: 0 } };
  const calls: Record<Operation, number> = { startCook: 0, recordGeneration: 0, completeGeneration: 0, finishCook: 0 };
  const credit = (rounds + 1) * children * 10 * 2;
  for (const side of sides) await tracker.credit(`account-${side}`, { points: credit, reason: 'bench', idempotencyKey: 'bench-credit' });

  async function timed<T>(side: Side, operation: Operation, call: () => Promise<T>): Promise<T> {
    pool.resetCount();
    const started = process.hrtime.bigint();
    const result = await call();
    micros[side][operation].push(Number(process.hrtime.bigint() - started) / 1_000);
    statements[side][operation] += pool.queries;
    return result;
  }

  async function lifecycle(side: Side, timedRound: boolean): Promise<void> {
    const accountId = `account-${side}`;
    const limit = { points: children * 10 };
    const run = timedRound ? timed : (_side: Side, _operation: Operation, call: () => Promise<unknown>) => call();
    const cook = (await run(side, 'startCook', () =>
      tracker.startCook({ collectionId: 'bench', initiatorAccountId: accountId, targetSupply: children + 1, ...(side === 'hold' ? { hold: limit } : { budget: limit }) }),
    )) as Awaited<ReturnType<typeof tracker.startCook>>;
    const made: string[] = [];
    for (let index = 0; index < children; index += 1) {
      const generation = (await run(side, 'recordGeneration', () =>
        tracker.recordGeneration({ masterAccountId: accountId, cookId: cook.id, toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', status: 'processing', hold: { points: 10 } }),
      )) as Awaited<ReturnType<typeof tracker.recordGeneration>>;
      made.push(generation.id);
    }
    for (const id of made) await run(side, 'completeGeneration', () => tracker.completeGeneration(id, { status: 'success', pointsSpent: 7 }));
    await run(side, 'finishCook', () => tracker.finishCook(cook.id));
  }

  // Warm-up: both sides once (statements prepared), untimed.
  for (const side of sides) await lifecycle(side, false);
  for (let round = 0; round < rounds; round += 1) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await lifecycle(side, true);
  }
  calls.startCook = rounds;
  calls.finishCook = rounds;
  calls.recordGeneration = rounds * children;
  calls.completeGeneration = rounds * children;

  console.log(`\n${rounds} rounds, ${children} pieces per cook, sequential calls; median µs per call (statements per call)\n`);
  console.log('| call | startCook({ hold }) | startCook({ budget }) | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const operation of operations) {
    const [hold, budget] = sides.map((side) => median(micros[side][operation]));
    const perCall = (side: Side) => (statements[side][operation] / calls[operation]).toFixed(2);
    console.log(`| ${operation} | ${hold!.toFixed(0)} (${perCall('hold')}) | ${budget!.toFixed(0)} (${perCall('budget')}) | ${(hold! / budget!).toFixed(2)} |`);
  }

  // The books: every piece charged 7, nothing held, the ledger explains the account.
  const pieces = (rounds + 1) * children;
  for (const side of sides) {
    const account = await tracker.getAccount(`account-${side}`);
    const reconciled = await tracker.reconcileAccount(`account-${side}`);
    const exact = account.balance.points === credit - 7 * pieces && account.held.points === 0 && account.spent.points === 7 * pieces && !reconciled.drift;
    console.log(`\n${side}: balance ${account.balance.points} (expected ${credit - 7 * pieces}), held ${account.held.points}, spent ${account.spent.points}, drift ${reconciled.drift}: ${exact ? 'exact' : 'NOT EXACT'}`);
    if (!exact) process.exitCode = 1;
  }
} finally {
  await postgres.stop();
}
