/**
 * Holds taken by children of a cook on ONE account, concurrently: the lone statement
 * `insert_attached_generation` (a child of a cook is never batched), which locks the cook, then
 * the account. What the account's lock order costs it: this checkout's adapter against another
 * checkout's (`--baseline=<dir>`, e.g. /work/main), in the same run, on the same server and pool.
 *
 * Each round runs timed bursts of `concurrency` concurrent
 * `recordGeneration({ cookId, hold: { points: 10 } })` calls, all on one account, one cook per
 * side (created before the timing), their order alternating by round: this checkout's adapter
 * ("after"), the baseline's ("before", each in a schema of its own), and 64 plain
 * `UPDATE counter SET n = n + 1 WHERE id = 1` (the raw single-row rate, for scale). Rates are calls
 * per second of timed burst, summed over rounds; ratios are taken within the run. Afterwards each
 * side's account must be exact (held = 10 per call, one entry per hold) and each call one
 * statement. `--cooks=N` spreads each burst over N cooks per side (call i under cook i mod N): with
 * N = concurrency no cook is shared and the account is the only hot row, the case where how long
 * its lock is held matters most.
 *
 *   node --import tsx bench/pg-cook-child-holds.ts [rounds=30] [--concurrency=64] [--cooks=1] [--baseline=/work/main]
 */
import { pathToFileURL } from 'node:url';
import { createTracker, type Tracker } from '../src/index.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { cookPieceInput } from './workloads.js';

const rounds = Number(process.argv.slice(2).find((argument) => !argument.startsWith('--')) ?? 30);
const option = (name: string) => process.argv.find((argument) => argument.startsWith(`--${name}=`))?.slice(name.length + 3);
const concurrency = Number(option('concurrency') ?? 64);
const baselineDir = option('baseline');
const cookCount = Number(option('cooks') ?? 1);
const log = (line: string) => console.log(line);
const postgres = await startBenchPostgres();
log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);
try {
  // As bench/pg-holds.ts sizes its pool.
  const pool = postgres.pool(Math.max(8, Math.min(64, postgres.maxConnections - 10)));
  const counter = `"${benchSchema('cook_holds')}".counter`;
  const sides: { name: string; tracker: Tracker }[] = [
    { name: 'after (this checkout)', tracker: createTracker({ repository: await postgres.repository(pool, benchSchema('cook_holds')) }) },
  ];
  if (baselineDir !== undefined) {
    // The baseline's own adapter and tracker, on a schema migrated the same way (its migrate() then finds nothing to do).
    const schema = benchSchema('cook_holds_baseline');
    await postgres.repository(pool, schema);
    const adapter = (await import(pathToFileURL(`${baselineDir}/adapters/postgres/index.ts`).href)) as typeof import('../adapters/postgres/index.js');
    const core = (await import(pathToFileURL(`${baselineDir}/src/index.ts`).href)) as typeof import('../src/index.js');
    const repository = adapter.postgresRepository(pool, { schema, changeFeed: false });
    await repository.migrate();
    sides.push({ name: `before (${baselineDir})`, tracker: core.createTracker({ repository }) as unknown as Tracker });
  }
  await pool.query(`CREATE TABLE IF NOT EXISTS ${counter} (id integer PRIMARY KEY, n bigint NOT NULL)`);
  await pool.query(`INSERT INTO ${counter} (id, n) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0`);
  const increment = { name: `bench_cook_holds_increment_${process.pid}`, text: `UPDATE ${counter} SET n = n + 1 WHERE id = 1` };
  const account = 'account-hot';
  const total = concurrency * rounds;

  const prepared = await Promise.all(
    sides.map(async (side) => {
      await side.tracker.credit(account, { points: (total + concurrency) * 10, reason: 'bench', idempotencyKey: 'bench-credit' });
      const cooks = async (collectionId: string) =>
        Promise.all(Array.from({ length: cookCount }, () => side.tracker.startCook({ collectionId, initiatorAccountId: account, targetSupply: total })));
      const warm = await cooks('collection-warm');
      const bench = await cooks('collection-bench');
      const burst = (of: readonly { id: string }[]) =>
        Promise.all(
          Array.from({ length: concurrency }, (_, index) =>
            side.tracker.recordGeneration({ ...cookPieceInput(of[index % of.length]!.id, account), hold: { points: 10 } }),
          ),
        );
      return { ...side, warm, bench, burst, ms: 0, statements: 0 };
    }),
  );
  // Warm-up: every connection prepares the statements before anything is timed.
  for (const side of prepared) await side.burst(side.warm);
  await Promise.all(Array.from({ length: concurrency }, () => pool.query(increment)));
  await pool.query(`UPDATE ${counter} SET n = 0 WHERE id = 1`);

  let rawMs = 0;
  const steps = [
    ...prepared.map((side) => async () => {
      pool.resetCount();
      const start = performance.now();
      await side.burst(side.bench);
      side.ms += performance.now() - start;
      side.statements += pool.queries;
    }),
    async () => {
      const start = performance.now();
      await Promise.all(Array.from({ length: concurrency }, () => pool.query(increment)));
      rawMs += performance.now() - start;
    },
  ];
  for (let round = 0; round < rounds; round += 1) {
    for (let step = 0; step < steps.length; step += 1) await steps[(round + step) % steps.length]!();
  }

  const rate = (elapsed: number) => total / (elapsed / 1000);
  const counted = Number((await pool.query(`SELECT n FROM ${counter} WHERE id = 1`)).rows[0].n);
  if (counted !== total) throw new Error(`counter ${counted}, expected ${total}`);
  log(`${total} holds by children of ${cookCount} cook(s) on one account per side, ${concurrency} at a time, pool of ${pool.options.max}, ${rounds} rounds:`);
  for (const side of prepared) {
    const final = await side.tracker.getAccount(account);
    const heldCount = total + concurrency;
    let inFlight = 0;
    for (const cook of side.bench) inFlight += (await side.tracker.getCook(cook.id))!.inFlightCount;
    if (final.held.points !== heldCount * 10 || final.entryCount !== heldCount + 1 || inFlight !== total) {
      throw new Error(`${side.name} inexact: held ${final.held.points}, entries ${final.entryCount}, cooks' pieces in flight ${inFlight}`);
    }
    log(
      `  ${side.name}: ${rate(side.ms).toFixed(0)}/s, ${(side.statements / total).toFixed(2)} statements per call, ${(rate(side.ms) / rate(rawMs)).toFixed(2)}x raw; exact`,
    );
  }
  log(`  raw single-row UPDATE: ${rate(rawMs).toFixed(0)}/s`);
  if (prepared.length === 2) log(`  after / before (rate): ${(rate(prepared[0]!.ms) / rate(prepared[1]!.ms)).toFixed(3)}`);
  await pool.end();
} finally {
  await postgres.stop();
}
