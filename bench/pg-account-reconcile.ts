/**
 * `accounts.reconcile` on PostgreSQL for one account of N ledger entries (default 100,000): the
 * time of a reconcile that finds the figures exact (read and fold only), and of one that finds
 * them drifted (read, fold and the conditional write), median of `runs`, and the Node heap's peak.
 * The entries are written by SQL (N credits of 1 point and $0.01), consistent with the account row.
 *
 *   node --expose-gc --import tsx bench/pg-account-reconcile.ts [entries=100000] [runs=5]
 */
import { startBenchPostgres, benchSchema } from './postgres.js';

const [entriesArgument, runsArgument] = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
const entries = Number(entriesArgument ?? 100_000);
const runs = Number(runsArgument ?? 5);
const log = (line: string) => console.log(line);
const postgres = await startBenchPostgres();
log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

try {
  const pool = postgres.pool(4);
  const repository = await postgres.repository(pool, benchSchema('reconcile'));
  const { accounts, accountEntries } = repository.tables;
  const accountId = 'account-reconcile';
  await pool.query(
    `INSERT INTO ${accountEntries} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
       balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
     SELECT $1, i, 'credit', 1, 0.01, 'movement', 'bench', 'key-' || i, i, i * 0.01, 0, 0, now() FROM generate_series(1, $2::bigint) AS i`,
    [accountId, entries],
  );
  const figures = (balance: number) =>
    pool.query(
      `INSERT INTO ${accounts} (account_id, balance_points, balance_usd, entry_count, version, updated_at) VALUES ($1, $2::bigint, $2::bigint * 0.01, $3::bigint, $3::bigint, now())
       ON CONFLICT (account_id) DO UPDATE SET balance_points = $2::bigint, balance_usd = $2::bigint * 0.01`,
      [accountId, balance, entries],
    );
  await figures(entries);
  await pool.query(`VACUUM ANALYZE ${accountEntries}`);

  const time = async (drifted: boolean) => {
    const times: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      if (drifted) await figures(entries + 1);
      const started = performance.now();
      const result = await repository.accounts.reconcile(accountId, new Date());
      times.push(performance.now() - started);
      if (result.drift !== drifted || result.rebuilt.balance.points !== entries) throw new Error(`reconcile answered drift ${result.drift}, balance ${result.rebuilt.balance.points}`);
    }
    return median(times);
  };
  await repository.accounts.reconcile(accountId, new Date()); // warm: statements prepared, pages cached
  (globalThis as { gc?: () => void }).gc?.();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 2);
  const exact = await time(false);
  const drifted = await time(true);
  clearInterval(sampler);
  log(`reconcile of one account with ${entries.toLocaleString('en-US')} entries, median of ${runs}:`);
  log(`  exact figures (read + fold):          ${(exact / 1000).toFixed(2)} s`);
  log(`  drifted figures (read + fold + write): ${(drifted / 1000).toFixed(2)} s`);
  log(`  Node heap, peak while reconciling (sampled every 2 ms): ${(peak / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await postgres.stop();
}
