/**
 * Pricing benchmarks (issue 16): `npm run bench:pricing [-- --generations N] [-- --skip-postgres]
 * [-- --skip-memory] [-- --unbatched]`.
 *
 * 1. Memory, added time per priced completion: the same completions with a reported `costUsd`
 *    and with `usage` priced by a two-version table, in rounds that alternate the two (so load
 *    from other processes hits both alike). Each round records N generations (not timed), then
 *    times N completions awaited one after another; the figure is the median over rounds of
 *    (usage - cost) / N, in wall time and in the process's CPU time (which the other processes of a
 *    loaded machine do not inflate). Store round trips are counted on the same calls.
 * 2. PostgreSQL, re-price rate: N finished generations with usage and computed costs under 100
 *    casts, written by one INSERT ... SELECT (costs, points and provenance as the tracker writes
 *    them, checked by reading one back through the tracker), casts set to the sums of their
 *    children. Then, after a price change, `reprice()` page by page (500 per page): a dry run, the
 *    applying run, and a second applying run (nothing to change). Reports generations per second,
 *    the process's peak RSS and heap during each run (sampled every 50 ms and after every page:
 *    bounded memory), and checks every cast equals the sum of its children. `--unbatched` hides
 *    the store's `adjustGenerations`, so the tracker sends one `adjust_generation` per difference
 *    (8 at a time), as before that operation existed.
 */
import { performance } from 'node:perf_hooks';
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, silentLogger, type PriceTableInput, type RepriceReport, type Tracker } from '../src/index.js';
import type { LedgerRepository } from '../src/port.js';
import { median } from './stats.js';
import { startBenchPostgres } from './postgres.js';

const argument = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
};
const generations = Number(argument('generations') ?? 100_000);
const skipPostgres = process.argv.includes('--skip-postgres');
const skipMemory = process.argv.includes('--skip-memory');
const unbatched = process.argv.includes('--unbatched');
const log = (line: string) => console.log(line);

const LAUNCH = new Date('2026-01-01T00:00:00.000Z');
const CHANGE = new Date('2026-03-01T00:00:00.000Z');
const PRICES: PriceTableInput = [
  {
    toolId: 'tool-chat',
    versions: [
      { id: 'chat-v1', effectiveFrom: LAUNCH, units: { inputTokens: '0.0000025', outputTokens: '0.00001' }, pointsPerUsd: '1000' },
      { id: 'chat-v2', effectiveFrom: CHANGE, units: { inputTokens: '0.000002', outputTokens: '0.000008' }, pointsPerUsd: '1000' },
    ],
  },
];
const FIXED: PriceTableInput = [
  {
    toolId: 'tool-chat',
    versions: [{ id: 'chat-v1-fixed', effectiveFrom: LAUNCH, units: { inputTokens: '0.0000025', outputTokens: '0.000012' }, pointsPerUsd: '1000' }],
  },
];

function countingReads(repository: LedgerRepository): { repository: LedgerRepository; calls: () => number } {
  let calls = 0;
  const count = <T extends object>(store: T): T =>
    new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (...args: unknown[]) => ((calls += 1), value.apply(target, args)) : value;
      },
    });
  const counted = { ...repository, generations: count(repository.generations), settleGeneration: (...args: Parameters<LedgerRepository['settleGeneration']>) => ((calls += 1), repository.settleGeneration(...args)) };
  return { repository: counted, calls: () => calls };
}

/** CPU time this process used (every thread: the main one and the GC's), µs. */
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function completionRound(mode: 'cost' | 'usage', count: number): Promise<{ us: number; cpuUs: number; storeCalls: number }> {
  const counted = countingReads(memoryRepository());
  const tracker = createTracker({ repository: counted.repository, prices: PRICES, pointsPerUsd: '1000', logger: silentLogger });
  // Batches of 5,000 recorded then completed: fewer than the 10,000 pricing keys a tracker remembers.
  const batch = 5_000;
  let elapsed = 0;
  let cpu = 0;
  let storeCalls = 0;
  for (let done = 0; done < count; done += batch) {
    const ids: string[] = [];
    for (let index = 0; index < batch; index += 1) {
      ids.push((await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'openai', requestTimestamp: new Date(CHANGE.getTime() + done + index) })).id);
    }
    const before = counted.calls();
    const started = performance.now();
    const cpuStarted = cpuMicros();
    for (let index = 0; index < batch; index += 1) {
      const id = ids[index]!;
      if (mode === 'cost') await tracker.completeGeneration(id, { status: 'success', costUsd: '0.0065', pointsSpent: 7 });
      else await tracker.completeGeneration(id, { status: 'success', usage: { inputTokens: 1200 + (index % 500), outputTokens: 350 } });
    }
    elapsed += performance.now() - started;
    cpu += cpuMicros() - cpuStarted;
    storeCalls += counted.calls() - before;
  }
  return { us: (elapsed * 1000) / count, cpuUs: cpu / count, storeCalls: storeCalls / count };
}

async function memoryFigures(): Promise<void> {
  const count = 20_000;
  const rounds = 9;
  await completionRound('cost', 5_000);
  await completionRound('usage', 5_000);
  const cost: number[] = [];
  const usage: number[] = [];
  const added: number[] = [];
  const addedCpu: number[] = [];
  let calls = { cost: 0, usage: 0 };
  for (let round = 0; round < rounds; round += 1) {
    const order: ('cost' | 'usage')[] = round % 2 === 0 ? ['cost', 'usage'] : ['usage', 'cost'];
    const result: Record<string, { us: number; cpuUs: number; storeCalls: number }> = {};
    for (const mode of order) {
      (globalThis as { gc?: () => void }).gc?.();
      result[mode] = await completionRound(mode, count);
    }
    cost.push(result.cost!.us);
    usage.push(result.usage!.us);
    added.push(result.usage!.us - result.cost!.us);
    addedCpu.push(result.usage!.cpuUs - result.cost!.cpuUs);
    calls = { cost: result.cost!.storeCalls, usage: result.usage!.storeCalls };
  }
  log(`memory, ${rounds} rounds of ${count} completions each (median per completion):`);
  log(`  reported costUsd: ${median(cost).toFixed(2)} µs; usage priced from the table: ${median(usage).toFixed(2)} µs`);
  log(`  added per priced completion: ${median(added).toFixed(2)} µs (rounds: ${Math.min(...added).toFixed(2)} .. ${Math.max(...added).toFixed(2)})`);
  // Wall time counts the moments other processes held the CPU; CPU time does not (on a loaded machine, read this one).
  log(`  added CPU time per priced completion (this process, every thread): ${median(addedCpu).toFixed(2)} µs (rounds: ${Math.min(...addedCpu).toFixed(2)} .. ${Math.max(...addedCpu).toFixed(2)})`);
  log(`  store calls per completion: ${calls.cost} with a cost, ${calls.usage} with usage`);
}

interface RunFigures {
  readonly seconds: number;
  readonly differences: number;
  readonly pages: number;
  readonly scanned: number;
  /** The largest RSS and heap used seen during the run (every 50 ms and after every page), bytes. */
  readonly peakRss: number;
  readonly peakHeap: number;
}

async function repriceAll(tracker: Tracker, dryRun: boolean): Promise<RunFigures> {
  let cursor: string | null = null;
  let differences = 0;
  let pages = 0;
  let scanned = 0;
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  (globalThis as { gc?: () => void }).gc?.();
  const sampler = setInterval(sample, 50);
  const started = performance.now();
  try {
    do {
      const page: RepriceReport = await tracker.reprice({ toolId: 'tool-chat', from: LAUNCH, to: new Date('2027-01-01T00:00:00.000Z'), dryRun, cursor, limit: 500 });
      differences += page.differences.length;
      scanned += page.scanned;
      pages += 1;
      cursor = page.nextCursor;
      sample();
      if (pages % 200 === 0) log(`    ... ${scanned} read, ${differences} differ, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    } while (cursor !== null);
  } finally {
    clearInterval(sampler);
  }
  return { seconds: (performance.now() - started) / 1000, differences, pages, scanned, peakRss, peakHeap };
}

async function postgresFigures(count: number): Promise<void> {
  const postgres = await startBenchPostgres();
  try {
    log(`PostgreSQL ${postgres.version} (${postgres.server.description}; ${postgres.settings}), ${count} generations under 100 casts:`);
    const pool = postgres.pool(10);
    const migrated = await postgres.repository(pool, 'bench_pricing');
    const repository: LedgerRepository = unbatched ? { ...migrated, adjustGenerations: undefined } : migrated;
    log(`  apply path: ${unbatched ? 'unbatched (one adjust_generation per difference, 8 at a time)' : 'adjustGenerations (adjust_generations, up to 100 a statement)'}`);
    const tracker = createTracker({ repository, prices: PRICES, pointsPerUsd: '1000', logger: silentLogger });
    const casts: string[] = [];
    for (let index = 0; index < 100; index += 1) casts.push((await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'a' })).id);
    const G = '"bench_pricing".genledger_generations';
    const C = '"bench_pricing".genledger_casts';
    const line = (unit: string, quantity: string, price: string) =>
      `jsonb_build_object('unit', '${unit}', 'quantity', ${quantity}, 'bands', jsonb_build_array(jsonb_build_object('quantity', ${quantity}, 'unitPriceUsd', '${price}', 'amountUsd', trim_scale(${quantity} * ${price})::text)), 'amountUsd', trim_scale(${quantity} * ${price})::text)`;
    const inserted = performance.now();
    await pool.query(
      `INSERT INTO ${G} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp, started_at, response_timestamp,
         duration_ms, progress, points_spent, protocol_net_points, cost_usd, cost_provenance, notification_platform, delivery_status, cast_id, version, updated_at)
       SELECT 'g' || lpad(i::text, 9, '0'), 'a', 'tool-chat', 'Chat', 'openai', 'success', $2::timestamptz + i * interval '1 ms', NULL, $2::timestamptz + i * interval '1 ms' + interval '1 s',
         1000, 1, ceil(u.cost * 1000)::bigint, 0, u.cost,
         jsonb_build_object('source', 'computed', 'usage', jsonb_build_object('inputTokens', u.input, 'outputTokens', 350),
           'basis', jsonb_build_object('toolId', 'tool-chat', 'serviceName', NULL, 'versionId', 'chat-v1', 'effectiveFrom', '2026-01-01T00:00:00.000Z',
             'lines', jsonb_build_array(${line('inputTokens', 'u.input', '0.0000025')}, ${line('outputTokens', '350', '0.00001')}), 'pointsPerUsd', '1000'),
           'unpricedReason', NULL, 'original', NULL, 'adjustments', '[]'::jsonb),
         'none', 'skipped', ($3::text[])[1 + i % 100], 2, $2::timestamptz
       FROM generate_series(1, $1::int) AS i
       CROSS JOIN LATERAL (SELECT 1000 + i % 500 AS input, trim_scale((1000 + i % 500) * 0.0000025 + 350 * 0.00001) AS cost) AS u`,
      [count, '2026-02-01T00:00:00.000Z', casts],
    );
    await pool.query(
      `UPDATE ${C} AS c SET cost_usd = s.cost, points_spent = s.points, outcome_success = s.n, version = c.version + 1
       FROM (SELECT cast_id, sum(cost_usd) AS cost, sum(points_spent) AS points, count(*) AS n FROM ${G} GROUP BY cast_id) AS s WHERE s.cast_id = c.id`,
    );
    await pool.query(`ANALYZE ${G}`);
    log(`  written in ${((performance.now() - inserted) / 1000).toFixed(1)} s (one INSERT ... SELECT, not timed below)`);
    // The rows read back as the tracker would have written them.
    const sample = await tracker.explainCost('g000000001');
    if (sample.source !== 'computed' || sample.costUsd !== '0.0060025') throw new Error(`unexpected sample: ${JSON.stringify(sample)}`);
    tracker.setPrices(FIXED);
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    const peaks = (run: RunFigures) => `peak RSS ${mib(run.peakRss)} MiB, peak heap ${mib(run.peakHeap)} MiB`;
    const dry = await repriceAll(tracker, true);
    log(`  dry run: ${dry.scanned} read, ${dry.differences} differ, ${dry.pages} pages, ${dry.seconds.toFixed(1)} s: ${Math.round(dry.scanned / dry.seconds)} generations/s; ${peaks(dry)}`);
    const applied = await repriceAll(tracker, false);
    log(`  applied: ${applied.differences} adjustments, ${applied.pages} pages, ${applied.seconds.toFixed(1)} s: ${Math.round(applied.differences / applied.seconds)} adjustments/s; ${peaks(applied)}`);
    const again = await repriceAll(tracker, false);
    log(`  second run: ${again.differences} differences, ${again.seconds.toFixed(1)} s: ${Math.round(again.scanned / again.seconds)} generations/s; ${peaks(again)}`);
    const { rows } = await pool.query(
      `SELECT count(*) AS wrong FROM ${C} AS c JOIN (SELECT cast_id, sum(cost_usd) AS cost, sum(points_spent) AS points FROM ${G} GROUP BY cast_id) AS s
         ON s.cast_id = c.id WHERE c.cost_usd <> s.cost OR c.points_spent <> s.points`,
    );
    log(`  casts differing from the sum of their children after the re-price: ${rows[0].wrong}`);
    if (Number(rows[0].wrong) !== 0 || applied.differences !== count || again.differences !== 0) throw new Error('the re-price is not exact');
    await pool.end();
  } finally {
    await postgres.stop();
  }
}

if (!skipMemory) await memoryFigures();
if (!skipPostgres) await postgresFigures(generations);
