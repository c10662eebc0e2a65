/**
 * The websocket bridge as a program, the way a host runs it: its own process, serving browsers,
 * while the work is done by other processes sharing the store.
 *
 * ```sh
 * PG_URL=postgres://user:pass@localhost:5432/db npx tsx examples/websocket-bridge/main.ts
 * npx tsx examples/websocket-bridge/main.ts   # no PG_URL: memory store and a demo cook, in this process
 * ```
 *
 * With `PG_URL` it migrates the schema (safe on every start) and forwards `tracker.watch()`, the
 * PostgreSQL change feed: whatever any worker records in that database reaches the browsers.
 * Without it, a memory store cannot be shared between processes, so a small driver in this
 * process runs a cook of casts every few seconds to have something to show.
 *
 * Environment: `PORT` (default 8080; 0 for any free port), `HOST` (default 127.0.0.1), and, with
 * `PG_URL`, `PG_SCHEMA` (default public) and `PG_TABLE_PREFIX` (default genledger_). It prints
 * `listening on <url>` once it serves, and stops cleanly on SIGINT or SIGTERM.
 */
import { createTracker, type Tracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { postgresRepository } from 'genledger/postgres';
import pg from 'pg';
import { startBridge } from './bridge.js';

const DEMO_ACCOUNT = 'demo-account';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits `ms`, or less if the program is stopping. */
async function pause(ms: number, stopped: () => boolean): Promise<void> {
  for (let waited = 0; waited < ms && !stopped(); waited += 100) await sleep(Math.min(100, ms - waited));
}

/** Runs cooks of four 2-step casts, one after another, until `stopped()`; one step in ten fails. */
async function demoDriver(tracker: Tracker, stopped: () => boolean): Promise<void> {
  for (let round = 1; !stopped(); round += 1) {
    const cook = await tracker.startCook({ collectionId: `demo-collection-${round}`, initiatorAccountId: DEMO_ACCOUNT, targetSupply: 4 });
    while (!stopped()) {
      const current = await tracker.getCook(cook.id);
      if (!current || current.status !== 'running') break;
      const cast = await tracker.startCast({ spellId: 'demo-spell', initiatorAccountId: DEMO_ACCOUNT, cookId: cook.id, totalSteps: 2 });
      for (let step = 0; step < 2 && !stopped(); step += 1) {
        const generation = await tracker.recordGeneration({ masterAccountId: DEMO_ACCOUNT, toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'demo', castId: cast.id });
        await tracker.startGeneration(generation.id);
        for (const progress of [0.25, 0.5, 0.75]) {
          await pause(250, stopped);
          await tracker.reportProgress(generation.id, { progress });
        }
        const fails = Math.random() < 0.1;
        await tracker.completeGeneration(generation.id, { status: fails ? 'failed' : 'success', costUsd: '0.0185', pointsSpent: 19 });
        if (fails) break;
      }
    }
    await pause(5_000, stopped);
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? '127.0.0.1';
  const url = process.env.PG_URL;
  let stopping = false;
  const cleanups: (() => Promise<void>)[] = [];

  let tracker: Tracker;
  if (url) {
    const pool = new pg.Pool({ connectionString: url });
    // An idle pooled connection dropped by the server must not end the process; the pool replaces it.
    pool.on('error', (error) => console.error('[bridge] idle database connection failed:', error.message));
    cleanups.push(() => pool.end());
    const repository = postgresRepository(pool, { schema: process.env.PG_SCHEMA, tablePrefix: process.env.PG_TABLE_PREFIX });
    await repository.migrate();
    tracker = createTracker({ repository });
  } else {
    tracker = createTracker({ repository: memoryRepository() });
  }

  const bridge = await startBridge({ tracker, port, host });
  cleanups.unshift(() => bridge.close());
  let driving: Promise<void> = Promise.resolve();
  if (!url) {
    driving = demoDriver(tracker, () => stopping).catch((error: unknown) => console.error('[bridge] the demo driver failed:', error));
  }
  console.log(`listening on ${bridge.url} (${url ? 'PostgreSQL change feed' : 'memory store with a demo cook'})`);
  if (!url) console.log(`open ${bridge.url}?accountId=${DEMO_ACCOUNT}`);

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[bridge] ${signal}: stopping`);
    await driving;
    for (const cleanup of cleanups) await cleanup();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('[bridge] could not start:', error);
  process.exit(1);
});
