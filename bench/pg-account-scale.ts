/**
 * Whether PostgreSQL account calls grow with what is stored: the per-call time of a credit, a
 * hold (recordGeneration with `hold: { points: 1 }`), a capture (completeGeneration of a held
 * generation, charged 1) and a reconcile, on one account of 1k, 10k and 100k ledger entries; on
 * one account with 100k holds open; and on one of 100k accounts. A credit, a hold and a capture
 * read and write a fixed number of rows, so they should cost the same in every row; a reconcile
 * replays every entry of its account, so it should grow with them.
 *
 * The stored state is written by SQL (generate_series), consistent with what the adapter writes:
 * credits of 1,000 points with their running balances; open holds with their hold entries, hold
 * rows and `processing` generations. Calls are sent one after another (no concurrency): mean
 * microseconds per call after a warm-up.
 *
 *   node --import tsx bench/pg-account-scale.ts [calls=300]
 */
import { createTracker } from '../src/index.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { num, table } from './stats.js';

const calls = Number(process.argv.slice(2).find((argument) => !argument.startsWith('--')) ?? 300);
const log = (line: string) => console.log(line);
const postgres = await startBenchPostgres();
log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);

try {
  const pool = postgres.pool(4);
  const repository = await postgres.repository(pool, benchSchema('account_scale'));
  const tracker = createTracker({ repository });
  const { accounts: A, accountEntries: E, holds: H, generations: G } = repository.tables;
  const base = { toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' } as const;

  /** `entries` credits of 1,000 points on `accountId`, and its row. */
  async function seedCredits(accountId: string, entries: number): Promise<void> {
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       SELECT $1, i, 'credit', 1000, 0, 'movement', 'seed', 'seed-' || i, i * 1000, 0, 0, 0, now() FROM generate_series(1, $2::bigint) AS i`,
      [accountId, entries],
    );
    await pool.query(
      `INSERT INTO ${A} (account_id, balance_points, balance_usd, entry_count, version, updated_at) VALUES ($1, $2::bigint * 1000, 0, $2::bigint, $2::bigint, now())`,
      [accountId, entries],
    );
  }

  /** `open` holds of 1 point on `accountId` (after one credit covering them): entries, hold rows, processing generations. */
  async function seedOpenHolds(accountId: string, open: number): Promise<void> {
    const balance = (open + 100_000) * 1000;
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       VALUES ($1, 1, 'credit', $2::bigint, 0, 'movement', 'seed', 'seed', $2::bigint, 0, 0, 0, now())`,
      [accountId, balance],
    );
    await pool.query(
      `INSERT INTO ${G} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp,
         notification_platform, delivery_status, updated_at)
       SELECT 'open-' || i, $1, 'sdxl', 'SDXL', 'comfy', 'processing', now(), 'none', 'skipped', now() FROM generate_series(1, $2::bigint) AS i`,
      [accountId, open],
    );
    await pool.query(
      `INSERT INTO ${H} (generation_id, account_id, points, status) SELECT 'open-' || i, $1, 1, 'held' FROM generate_series(1, $2::bigint) AS i`,
      [accountId, open],
    );
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       SELECT $1, i + 1, 'hold', 1, 0, 'generation', 'open-' || i, $3::bigint, 0, i, 0, now() FROM generate_series(1, $2::bigint) AS i`,
      [accountId, open, balance],
    );
    await pool.query(
      `INSERT INTO ${A} (account_id, balance_points, balance_usd, held_points, held_usd, entry_count, version, updated_at)
       VALUES ($1, $3::bigint, 0, $2::bigint, 0, $2::bigint + 1, $2::bigint + 1, now())`,
      [accountId, open, balance],
    );
  }

  /** `count` accounts of one credit each: `many-1` ... `many-<count>`. */
  async function seedAccounts(count: number): Promise<void> {
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       SELECT 'many-' || i, 1, 'credit', 1000000, 0, 'movement', 'seed', 'seed', 1000000, 0, 0, 0, now() FROM generate_series(1, $1::bigint) AS i`,
      [count],
    );
    await pool.query(
      `INSERT INTO ${A} (account_id, balance_points, balance_usd, entry_count, version, updated_at)
       SELECT 'many-' || i, 1000000, 0, 1, 1, now() FROM generate_series(1, $1::bigint) AS i`,
      [count],
    );
  }

  /** Mean microseconds per call of `call(0..n-1)`, after 30 warm-up calls (numbered past n). */
  async function per(n: number, call: (index: number) => Promise<unknown>): Promise<number> {
    for (let index = 0; index < 30; index += 1) await call(n + index);
    const started = process.hrtime.bigint();
    for (let index = 0; index < n; index += 1) await call(index);
    return Number(process.hrtime.bigint() - started) / 1000 / n;
  }

  let round = 0;
  async function measure(label: string, accountId: string): Promise<string[]> {
    round += 1;
    await pool.query(`ANALYZE`);
    const credit = await per(calls, (index) => tracker.credit(accountId, { points: 1, reason: 'bench', idempotencyKey: `bench-${round}-${index}` }));
    const held: string[] = [];
    const hold = await per(calls, async () => {
      held.push((await tracker.recordGeneration({ ...base, masterAccountId: accountId, hold: { points: 1 } })).id);
    });
    let next = 0;
    const capture = await per(calls, () => tracker.completeGeneration(held[next++]!, { status: 'success', pointsSpent: 1 }));
    const reconcileRuns = 3;
    const started = process.hrtime.bigint();
    for (let run = 0; run < reconcileRuns; run += 1) {
      const result = await repository.accounts.reconcile(accountId, new Date());
      if (result.drift) throw new Error(`${label}: the seeded account drifted`);
    }
    const reconcile = Number(process.hrtime.bigint() - started) / 1000 / reconcileRuns;
    const entries = (await repository.accounts.get(accountId))!.entryCount;
    return [label, num(entries), num(credit), num(hold), num(capture), num(reconcile / 1000, 1)];
  }

  const rows: string[][] = [];
  for (const size of [1_000, 10_000, 100_000]) {
    await seedCredits(`entries-${size}`, size);
    rows.push(await measure(`1 account, ${num(size)} entries`, `entries-${size}`));
  }
  await seedOpenHolds('open-holds', 100_000);
  rows.push(await measure('1 account, 100,000 holds open', 'open-holds'));
  await seedAccounts(100_000);
  rows.push(await measure('1 of 100,000 accounts', 'many-50000'));
  log(`\nPostgreSQL account calls by what is stored, one call at a time (${calls} calls each; reconcile: mean of 3)\n`);
  log(table(['stored', 'entries at the end', 'credit µs', 'hold µs', 'capture µs', 'reconcile ms'], rows, ['l', 'r', 'r', 'r', 'r', 'r']));
} finally {
  await postgres.stop();
}
