/**
 * Figure 4 alone: the hot parent on PostgreSQL (bench/hot-parent.ts), without the rest of the run,
 * and optionally a cook queued whole (bench/in-flight.ts), on a fresh embedded server.
 *
 *   node --import tsx bench/hot-only.ts [runs=3] [rounds=30] [--cold] [--queued-whole=10000]
 *
 * Prints each run's rates and ratio to the raw single-row UPDATE on the same pool. `--cold`: without
 * the warm-up's priming of the settle statement's plans (see bench/hot-parent.ts).
 */
import { measureHotParent } from './hot-parent.js';
import { measureQueuedWhole } from './in-flight.js';
import { startBenchPostgres } from './postgres.js';

const positional = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
const runs = Number(positional[0] ?? 3);
const rounds = Number(positional[1] ?? 30);
const cold = process.argv.includes('--cold');
const queuedFlag = process.argv.find((argument) => argument.startsWith('--queued-whole='));
const queuedPieces = queuedFlag === undefined ? 0 : Number(queuedFlag.slice('--queued-whole='.length));

const log = (line: string) => console.log(line);
const postgres = await startBenchPostgres();
log(`${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);
try {
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run += 1) {
    // As bench/run.ts sizes it.
    const pool = postgres.pool(Math.max(8, Math.min(64, postgres.maxConnections - 10)));
    const result = await measureHotParent(postgres, pool, { concurrency: 64, rounds, primeSettlePlans: !cold }, log);
    await pool.end();
    ratios.push(result.ratio);
    log(`run ${run}: ${result.genledgerPerSecond.toFixed(0)}/s vs raw ${result.rawPerSecond.toFixed(0)}/s, ratio ${result.ratio.toFixed(2)}, ${result.statementsPerCompletion.toFixed(2)} statements per completion`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  log(`ratios: ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}`);
  if (queuedPieces > 0) {
    const pool = postgres.pool(17);
    await measureQueuedWhole(postgres, pool, { pieces: queuedPieces, concurrency: 16 }, log);
    await pool.end();
  }
} finally {
  await postgres.stop();
}
