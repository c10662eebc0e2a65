/**
 * Holds on PostgreSQL, the two figures: 64 concurrent holds on ONE account against the raw
 * single-row UPDATE rate (the hot cook's measure, bench/hot-parent.ts), and a generation recorded
 * with a hold against one without (statements and time).
 *
 * Each round runs four timed bursts of 64 concurrent calls over the same pool, their order
 * rotating by round: `recordGeneration({ hold: { points: 10 } })` (every call locks the one
 * account's row: the hold is taken in the statement that inserts the generation), the same
 * without a hold (a plain insert, no row shared), the same holds on 64 accounts (one each: no
 * row shared), and 64 plain `UPDATE counter SET n = n + 1 WHERE id = 1`. Rates are calls per second of timed burst, summed over rounds; ratios are taken
 * within the run. Afterwards the account must be exact (held = 10 per held generation, one entry
 * per hold) and every call must have been one statement.
 *
 *   node --import tsx bench/pg-holds.ts [rounds=30]
 */
import { postgresRepository } from '../adapters/postgres/index.js';
import { createTracker, InsufficientFundsError } from '../src/index.js';
import { benchSchema, startBenchPostgres } from './postgres.js';

const rounds = Number(process.argv.slice(2).find((argument) => !argument.startsWith('--')) ?? 30);
const concurrencyFlag = process.argv.find((argument) => argument.startsWith('--concurrency='));
const concurrency = concurrencyFlag === undefined ? 64 : Number(concurrencyFlag.slice('--concurrency='.length));
const log = (line: string) => console.log(line);
const postgres = await startBenchPostgres();
log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);
try {
  // As bench/run.ts sizes the hot cook's pool.
  const pool = postgres.pool(Math.max(8, Math.min(64, postgres.maxConnections - 10)));
  const schema = benchSchema('holds');
  const repository = await postgres.repository(pool, schema);
  const tracker = createTracker({ repository });
  const counter = `"${schema}".counter`;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${counter} (id integer PRIMARY KEY, n bigint NOT NULL)`);
  await pool.query(`INSERT INTO ${counter} (id, n) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0`);
  const increment = { name: `bench_holds_increment_${process.pid}`, text: `UPDATE ${counter} SET n = n + 1 WHERE id = 1` };
  const account = 'account-hot';
  const total = concurrency * rounds;
  await tracker.credit(account, { points: (total + concurrency) * 10, reason: 'bench', idempotencyKey: 'bench-credit' });
  const input = { masterAccountId: account, toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', status: 'processing' } as const;
  const burst = (call: () => Promise<unknown>) => Promise.all(Array.from({ length: concurrency }, call));
  const held = () => burst(() => tracker.recordGeneration({ ...input, hold: { points: 10 } }));
  const plain = () => burst(() => tracker.recordGeneration({ ...input, masterAccountId: 'account-plain' }));
  const raw = () => burst(() => pool.query(increment));
  // The same holds spread over 64 accounts (no row shared): what a hold costs without the one row's lock.
  for (let index = 0; index < concurrency; index += 1) {
    await tracker.credit(`account-spread-${index}`, { points: (rounds + 1) * 10, reason: 'bench', idempotencyKey: 'bench-credit' });
  }
  const spread = () =>
    Promise.all(
      Array.from({ length: concurrency }, (_, index) =>
        tracker.recordGeneration({ ...input, masterAccountId: `account-spread-${index}`, hold: { points: 10 } }),
      ),
    );

  // Warm-up: every connection prepares the statements before anything is timed.
  await held();
  await plain();
  await spread();
  await raw();
  await pool.query(`UPDATE ${counter} SET n = 0 WHERE id = 1`);
  // As the hot cook's warm-up primes its settle statement: PostgreSQL plans a prepared statement
  // afresh for its first five runs on each connection, so each connection runs the creation
  // statement six times first (holds too large to take: refused, nothing written) and the plain
  // insert six times. \`--cold\`: without.
  if (!process.argv.includes('--cold')) {
    const clients = await Promise.all(Array.from({ length: pool.options.max ?? 10 }, () => pool.connect()));
    try {
      for (const client of clients) {
        const primer = createTracker({ repository: postgresRepository(client, { schema, changeFeed: false }) });
        for (let run = 0; run < 6; run += 1) {
          const refused = await primer.recordGeneration({ ...input, hold: { points: 1e12 } }).then(
            () => null,
            (error: unknown) => error,
          );
          if (!(refused instanceof InsufficientFundsError)) throw new Error('the priming hold was not refused');
          await primer.recordGeneration({ ...input, masterAccountId: 'account-plain' });
        }
      }
    } finally {
      for (const client of clients) client.release();
    }
  }

  const ms = { held: 0, plain: 0, spread: 0, raw: 0 };
  const statements = { held: 0, plain: 0 };
  const sides = [
    async () => {
      pool.resetCount();
      const start = performance.now();
      await held();
      ms.held += performance.now() - start;
      statements.held += pool.queries;
    },
    async () => {
      pool.resetCount();
      const start = performance.now();
      await plain();
      ms.plain += performance.now() - start;
      statements.plain += pool.queries;
    },
    async () => {
      const start = performance.now();
      await spread();
      ms.spread += performance.now() - start;
    },
    async () => {
      const start = performance.now();
      await raw();
      ms.raw += performance.now() - start;
    },
  ];
  for (let round = 0; round < rounds; round += 1) {
    for (let step = 0; step < sides.length; step += 1) await sides[(round + step) % sides.length]!();
  }

  const rate = (elapsed: number) => total / (elapsed / 1000);
  const final = await tracker.getAccount(account);
  const counted = Number((await pool.query(`SELECT n FROM ${counter} WHERE id = 1`)).rows[0].n);
  const heldCount = total + concurrency;
  if (final.held.points !== heldCount * 10 || final.entryCount !== heldCount + 1 || counted !== total) {
    throw new Error(`inexact after the run: held ${final.held.points}, entries ${final.entryCount}, counter ${counted}`);
  }
  log(`${total} holds on one account, ${concurrency} at a time, pool of ${pool.options.max}, ${rounds} rounds:`);
  log(`  with a hold:          ${rate(ms.held).toFixed(0)}/s, ${(statements.held / total).toFixed(2)} statements per call`);
  log(`  without a hold:       ${rate(ms.plain).toFixed(0)}/s, ${(statements.plain / total).toFixed(2)} statements per call`);
  log(`  holds on 64 accounts: ${rate(ms.spread).toFixed(0)}/s`);
  log(`  raw single-row UPDATE: ${rate(ms.raw).toFixed(0)}/s`);
  log(
    `  holds / raw UPDATE: ${(rate(ms.held) / rate(ms.raw)).toFixed(2)}; with / without a hold (time per call): ${(ms.held / ms.plain).toFixed(2)}x; one account / 64 accounts: ${(rate(ms.held) / rate(ms.spread)).toFixed(2)}; exact`,
  );
  await pool.end();
} finally {
  await postgres.stop();
}
