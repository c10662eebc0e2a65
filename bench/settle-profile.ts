/**
 * Where a `settle_generations` batch spends its time: EXPLAIN ANALYZE of one batch of N
 * completions into one cook (rolled back), with the triggers' times, on a fresh embedded server.
 *
 *   node --import tsx bench/settle-profile.ts [N=64]
 */
import { createTracker } from '../src/index.js';
import { buildSettleGenerations } from '../adapters/postgres/settle-generations.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { cookPieceInput, STEP } from './workloads.js';

const size = Number(process.argv[2] ?? 64);
const postgres = await startBenchPostgres();
try {
  const pool = postgres.pool(4);
  const repository = await postgres.repository(pool, benchSchema('profile'));
  const tracker = createTracker({ repository });
  const cook = await tracker.startCook({ collectionId: 'collection-profile', initiatorAccountId: 'account-bench', targetSupply: size });
  const ids: string[] = [];
  for (let index = 0; index < size; index += 1) ids.push((await tracker.recordGeneration(cookPieceInput(cook.id))).id);
  const at = new Date().toISOString();
  const calls = ids.map((id, ordinal) => ({
    ordinal, id, status: 'success', points_spent: STEP.pointsSpent, protocol_net_points: 0, cost_usd: STEP.costUsd,
    response_timestamp: at, only_if_updated_before: null, set_response_payload: false, response_payload: null,
    artifact_urls: null, set_error_details: false, error_details: null, platform_specific_run_id: null, at, apply_at: at,
  }));
  const statement = buildSettleGenerations(repository.tables);
  const client = await pool.connect();
  try {
    for (let repeat = 0; repeat < 3; repeat += 1) {
      await client.query('BEGIN');
      const { rows } = await client.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, values: [JSON.stringify(calls)] });
      await client.query('ROLLBACK');
      const plan = rows.map((row: Record<string, string>) => row['QUERY PLAN']!);
      if (repeat === 2) console.log(plan.join('\n'));
      else console.log(plan.filter((line) => /Trigger|Execution Time|Planning Time/.test(line)).join('\n'));
    }
  } finally {
    client.release();
  }
  await pool.end();
} finally {
  await postgres.stop();
}
