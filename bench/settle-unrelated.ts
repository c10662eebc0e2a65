/**
 * Does one settle statement in flight per repository (group commit) cost throughput when the
 * completions share no parent? N standalone generations (and N one-piece cooks) completed with
 * `concurrency` calls at a time through `repository.settleGeneration` (the queue), against the same
 * statement sent as a batch of one per call straight on the pool (what each call cost before the
 * queue: every call its own statement, up to the pool's size in parallel).
 *
 *   node --import tsx bench/settle-unrelated.ts [N=2000] [concurrency=64] [pool=16]
 */
import { performance } from 'node:perf_hooks';
import { createTracker } from '../src/index.js';
import { buildSettleGenerations } from '../adapters/postgres/settle-generations.js';
import { forEachLimited } from '../src/tracker/concurrency.js';
import { benchSchema, startBenchPostgres } from './postgres.js';
import { cookPieceInput, STEP } from './workloads.js';

const count = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 64);
const poolSize = Number(process.argv[4] ?? 16);
const postgres = await startBenchPostgres();
try {
  const pool = postgres.pool(poolSize);
  const repository = await postgres.repository(pool, benchSchema('unrelated'));
  const tracker = createTracker({ repository });
  const statement = buildSettleGenerations(repository.tables);
  const standalone = { masterAccountId: 'account-bench', toolId: STEP.toolId, toolDisplayName: STEP.toolDisplayName, serviceName: STEP.serviceName, status: 'processing' as const };
  const input = (id: string, ordinal: number) => {
    const at = new Date().toISOString();
    return {
      ordinal, id, status: 'success', points_spent: STEP.pointsSpent, protocol_net_points: 0, cost_usd: STEP.costUsd, cost_provenance: null,
      response_timestamp: at, only_if_updated_before: null, set_response_payload: false, response_payload: null,
      artifact_urls: null, set_error_details: false, error_details: null, platform_specific_run_id: null, at, apply_at: at,
    };
  };
  const create: Record<string, () => Promise<string>> = {
    standalone: async () => (await tracker.recordGeneration(standalone)).id,
    'one-piece cooks': async () => {
      const cook = await tracker.startCook({ collectionId: 'collection-unrelated', initiatorAccountId: 'account-bench', targetSupply: 1 });
      return (await tracker.recordGeneration(cookPieceInput(cook.id))).id;
    },
  };
  const ways: Record<string, (id: string) => Promise<unknown>> = {
    'queued (group commit)': (id) => repository.settleGeneration(id, { status: 'success', pointsSpent: STEP.pointsSpent, protocolNetPoints: 0, costUsd: STEP.costUsd, responseTimestamp: new Date(), at: new Date() }, new Date()),
    'one statement per call': (id) => pool.query({ name: 'settle_one', text: statement.text, values: [JSON.stringify([input(id, 0)])] }),
  };
  for (const [shape, make] of Object.entries(create)) {
    for (const round of [1, 2]) {
      for (const [way, settle] of Object.entries(ways)) {
        const ids: string[] = [];
        await forEachLimited(Array.from({ length: count }, (_, index) => index), 16, async () => void ids.push(await make()));
        pool.resetCount();
        const started = performance.now();
        await forEachLimited(ids, concurrency, async (id) => void (await settle(id)));
        const seconds = (performance.now() - started) / 1000;
        console.log(`${shape.padEnd(16)} round ${round} | ${way.padEnd(24)} | ${(count / seconds).toFixed(0).padStart(6)}/s | ${pool.queries} statements`);
      }
    }
  }
  await pool.end();
} finally {
  await postgres.stop();
}
