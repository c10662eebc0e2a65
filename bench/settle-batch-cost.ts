/**
 * What one `settle_generations` statement costs as its batch grows: per batch size, the statement's
 * server time (client-timed on one connection, prepared as the adapter prepares it, each execution
 * rolled back so every repeat settles the same open generations) divided by the calls it carries.
 * Three shapes: every call a piece of ONE cook (the hot parent: the cook chain is N steps long),
 * every call a step of ONE cast inside a cook (both chains N long), every call a standalone
 * generation (no chain at all).
 *
 *   node --import tsx bench/settle-batch-cost.ts [sizes=1,8,64,100] [repeats=30]
 */
import { performance } from 'node:perf_hooks';
import { createTracker } from '../src/index.js';
import { buildSettleGenerations } from '../adapters/postgres/settle-generations.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { cookPieceInput, STEP } from './workloads.js';

const sizes = (process.argv[2] ?? '1,8,64,100').split(',').map(Number);
const repeats = Number(process.argv[3] ?? 30);
const postgres = await startBenchPostgres();
try {
  const pool = postgres.pool(4);
  const repository = await postgres.repository(pool, benchSchema('batch_cost'));
  const tracker = createTracker({ repository });
  const statement = buildSettleGenerations(repository.tables);
  const standalone = { masterAccountId: 'account-bench', toolId: STEP.toolId, toolDisplayName: STEP.toolDisplayName, serviceName: STEP.serviceName, status: 'processing' as const };
  const shapes: Record<string, (size: number) => Promise<string[]>> = {
    'one cook': async (size) => {
      const cook = await tracker.startCook({ collectionId: 'collection-batch-cost', initiatorAccountId: 'account-bench', targetSupply: size });
      const ids: string[] = [];
      for (let index = 0; index < size; index += 1) ids.push((await tracker.recordGeneration(cookPieceInput(cook.id))).id);
      return ids;
    },
    'one cast in a cook': async (size) => {
      const cook = await tracker.startCook({ collectionId: 'collection-batch-cost', initiatorAccountId: 'account-bench', targetSupply: 1 });
      const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'account-bench', cookId: cook.id, totalSteps: size });
      const ids: string[] = [];
      for (let index = 0; index < size; index += 1) ids.push((await tracker.recordGeneration({ ...standalone, castId: cast.id })).id);
      return ids;
    },
    standalone: async (size) => {
      const ids: string[] = [];
      for (let index = 0; index < size; index += 1) ids.push((await tracker.recordGeneration(standalone)).id);
      return ids;
    },
  };
  const client = await pool.connect();
  try {
    console.log('shape                | batch | ms per statement (median) | ms per call');
    for (const [shape, create] of Object.entries(shapes)) {
      for (const size of sizes) {
        const ids = await create(size);
        const at = new Date().toISOString();
        const calls = ids.map((id, ordinal) => ({
          ordinal, id, status: 'success', points_spent: STEP.pointsSpent, protocol_net_points: 0, cost_usd: STEP.costUsd, cost_provenance: null,
          response_timestamp: at, only_if_updated_before: null, set_response_payload: false, response_payload: null,
          artifact_urls: null, set_error_details: false, error_details: null, platform_specific_run_id: null, at, apply_at: at,
        }));
        const query = { name: `settle_generations_${size}`, text: statement.text, values: [JSON.stringify(calls)] };
        const times: number[] = [];
        for (let repeat = 0; repeat < repeats + 6; repeat += 1) {
          await client.query('BEGIN');
          const started = performance.now();
          const { rows } = await client.query(query);
          const elapsed = performance.now() - started;
          await client.query('ROLLBACK');
          if (rows.length !== size) throw new Error(`expected ${size} rows, got ${rows.length}`);
          // The first six executions: custom plans, then the generic plan the adapter keeps.
          if (repeat >= 6) times.push(elapsed);
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)]!;
        console.log(`${shape.padEnd(20)} | ${String(size).padStart(5)} | ${median.toFixed(2).padStart(25)} | ${(median / size).toFixed(3)}`);
      }
    }
  } finally {
    client.release();
  }
  await pool.end();
} finally {
  await postgres.stop();
}
