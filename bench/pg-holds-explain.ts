/**
 * Where the time of one `insert_generations` batch goes: 20 bursts of 64 concurrent
 * `recordGeneration({ hold: { points: 10 } })` on one account (as bench/pg-holds.ts runs them), the
 * last batch statement captured, then `EXPLAIN (ANALYZE, BUFFERS)` of it with new ids and keys,
 * each run inside a transaction rolled back (so it writes nothing). Prints the last run's plan, then
 * per run the planning time, the change-feed triggers' times and the execution time.
 *
 *   node --import tsx bench/pg-holds-explain.ts [runs=5]
 */
import type { PoolClient } from 'pg';
import { createTracker } from '../src/index.js';
import { benchSchema, startBenchPostgres } from './postgres.js';

const runs = Number(process.argv[2] ?? 5);
const postgres = await startBenchPostgres();
try {
  const pool = postgres.pool(50);
  const schema = benchSchema('explain');
  const repository = await postgres.repository(pool, schema);
  const tracker = createTracker({ repository });
  await tracker.credit('account-hot', { points: 1e9, reason: 'bench', idempotencyKey: 'bench-credit' });
  const input = { masterAccountId: 'account-hot', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', status: 'processing' } as const;
  let captured: { text: string; values: unknown[] } | undefined;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const named = config as { name?: string; text: string; values: unknown[] };
    if (named?.name?.includes('insert_generations')) captured = { text: named.text, values: named.values };
    return query(config, ...rest);
  };
  for (let burst = 0; burst < 20; burst += 1)
    await Promise.all(Array.from({ length: 64 }, () => tracker.recordGeneration({ ...input, hold: { points: 10 } })));
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = query;
  if (captured === undefined) throw new Error('no insert_generations batch was sent');
  const calls = JSON.parse(String(captured.values[0])) as { id: string; idempotency_key: string | null }[];
  const client: PoolClient = await pool.connect();
  try {
    await client.query(`SET search_path = "${schema}"`);
    const summaries: string[] = [];
    for (let run = 0; run < runs; run += 1) {
      const fresh = calls.map((call) => ({ ...call, id: `${call.id}-x${run}`, idempotency_key: call.idempotency_key === null ? null : `${call.idempotency_key}-x${run}` }));
      const values = [JSON.stringify(fresh), ...captured.values.slice(1)];
      await client.query('BEGIN');
      const plan = await client.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${captured.text}`, values });
      await client.query('ROLLBACK');
      const lines = plan.rows.map((row: Record<string, string>) => row['QUERY PLAN']!);
      if (run === runs - 1) console.log(lines.join('\n'));
      summaries.push(lines.filter((line) => /Execution Time|Planning Time|^Trigger/.test(line)).join(' | '));
    }
    console.log(summaries.join('\n'));
  } finally {
    client.release();
  }
  await pool.end();
} finally {
  await postgres.stop();
}
