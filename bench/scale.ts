/**
 * Figure 3, scale: the cost of one child completion as a cook grows, and the cook's stored size.
 *
 * One cook of generation pieces grows to each size in turn. At each size, the last 1,000
 * completions are timed: the pieces are recorded 100 at a time (not timed: setup), then completed
 * one after another (timed per batch of 100); the per-child cost is the median batch time / 100,
 * so a garbage-collection pause or a load spike in one batch does not move it (the mean is shown
 * too). The cook's size is read after each window: the JSON of the record on the memory store;
 * `pg_column_size` of the row and the size of the table on PostgreSQL.
 *
 * Memory grows through the library all the way to 1,000,000. PostgreSQL grows through the library
 * to 1,000; between the larger windows it is grown by bulk SQL (one statement for the generations,
 * one for the change log, one for the cook), writing what the library's writes would have left,
 * because through the library this 2-core machine records and finishes about 170 pieces a second
 * on one cook and 100,000 would take 10 minutes. After every bulk step, `tracker.reconcile()`
 * recomputes the cook from its children and must find no difference.
 */
import { memoryRepository } from '../adapters/memory/index.js';
import type { PostgresRepository } from '../adapters/postgres/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import { benchSchema, type BenchPostgres, type CountingPool } from './postgres.js';
import { exactMultiple, mean, median } from './stats.js';
import { cookPieceInput, STEP } from './workloads.js';

export interface ScaleRow {
  readonly store: 'memory' | 'postgres';
  /** Pieces completed in the cook when the window ended. */
  readonly size: number;
  /** Microseconds per completion in the window: median of its batches, and mean. */
  readonly completionUs: number;
  readonly completionMeanUs: number;
  /** Microseconds per recordGeneration in the window (setup, shown for reference). */
  readonly recordUs: number;
  /** Microseconds per completion on a fresh 1,000-piece cook measured alongside, batch for batch. */
  readonly referenceUs: number;
  /** completionUs / referenceUs: what the cook's size costs, under the same load. */
  readonly vsReference: number;
  /** The cook's stored size in bytes: JSON of the record (memory) or pg_column_size of the row (PostgreSQL). */
  readonly parentBytes: number;
  /** PostgreSQL: the cooks table (heap) and with its TOAST and indexes. */
  readonly tableBytes?: number;
  readonly totalTableBytes?: number;
  /** How the cook got to this size before the window. */
  readonly grownBy: 'library' | 'bulk SQL + library';
  /** Windows measured at this size (the median is shown). */
  readonly windows: number;
  /** Memory store: MB of JavaScript heap in use after the window (the store lives in it). */
  readonly heapUsedMb?: number;
}

const WINDOW = 1_000;
const BATCH = 100;
const account = 'account-bench';
const completion = { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent } as const;

interface Window {
  readonly completionUs: number;
  readonly completionMeanUs: number;
  readonly recordUs: number;
}

function collectYoungGarbage(): void {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  gc?.({ type: 'minor' });
}

/** Records and completes `pieces` pieces, BATCH at a time; returns per-batch timings in ms. */
async function grow(tracker: Tracker, cookId: string, pieces: number, timed: boolean): Promise<Window> {
  const completeBatches: number[] = [];
  let recordMs = 0;
  for (let done = 0; done < pieces; done += BATCH) {
    const count = Math.min(BATCH, pieces - done);
    const ids: string[] = [];
    const recordStart = performance.now();
    for (let index = 0; index < count; index += 1) ids.push((await tracker.recordGeneration(cookPieceInput(cookId, account))).id);
    recordMs += performance.now() - recordStart;
    // The young generation's garbage from recording is setup's: collected before the timed batch
    // (when the run has --expose-gc; `npm run bench` does).
    if (timed) collectYoungGarbage();
    const start = performance.now();
    for (const id of ids) await tracker.completeGeneration(id, completion);
    if (timed) completeBatches.push((performance.now() - start) / count);
  }
  return timed
    ? { completionUs: median(completeBatches) * 1000, completionMeanUs: mean(completeBatches) * 1000, recordUs: (recordMs / pieces) * 1000 }
    : { completionUs: Number.NaN, completionMeanUs: Number.NaN, recordUs: Number.NaN };
}

/**
 * The timed window on the grown cook, its batches interleaved with those of a fresh 1,000-piece
 * reference cook in the same store: both see the same machine load and the same table sizes, so
 * their ratio says what the cook's own size costs.
 */
async function pairedWindow(tracker: Tracker, cookId: string): Promise<{ grown: Window; reference: Window; ratio: number }> {
  const reference = await tracker.startCook({ collectionId: 'collection-reference', initiatorAccountId: account, targetSupply: WINDOW });
  const grown: Window[] = [];
  const references: Window[] = [];
  for (let batch = 0; batch < WINDOW / BATCH; batch += 1) {
    if (batch % 2 === 0) {
      grown.push(await grow(tracker, cookId, BATCH, true));
      references.push(await grow(tracker, reference.id, BATCH, true));
    } else {
      references.push(await grow(tracker, reference.id, BATCH, true));
      grown.push(await grow(tracker, cookId, BATCH, true));
    }
  }
  const combine = (windows: readonly Window[]): Window => ({
    completionUs: median(windows.map((window) => window.completionUs)),
    completionMeanUs: mean(windows.map((window) => window.completionMeanUs)),
    recordUs: mean(windows.map((window) => window.recordUs)),
  });
  // Each batch against the reference batch run right beside it: the median of those ratios, so a
  // load change between two pairs of batches moves neither side of a ratio.
  const ratio = median(grown.map((window, index) => window.completionUs / references[index]!.completionUs));
  return { grown: combine(grown), reference: combine(references), ratio };
}

export async function measureScaleMemory(
  sizes: readonly number[],
  options: { readonly repeats: number; readonly repeatUpTo: number },
  log: (line: string) => void = () => {},
): Promise<ScaleRow[]> {
  // Warm the code up on a throwaway cook first, so the first window is not the JIT's.
  const warm = createTracker({ repository: memoryRepository() });
  const warmCook = await warm.startCook({ collectionId: 'collection-warm', initiatorAccountId: account, targetSupply: 5_000 });
  await grow(warm, warmCook.id, 5_000, false);

  // A window on the memory store lasts a few milliseconds, so the ladder is climbed several times
  // (each time a fresh store and cook) up to `repeatUpTo`, and the median window kept per size.
  const ordered = [...sizes].sort((left, right) => left - right);
  const windows = new Map<number, { window: Window; reference: Window; ratio: number; parentBytes: number; heapUsedMb: number }[]>();
  for (let repeat = 0; repeat < options.repeats; repeat += 1) {
    const ladder = repeat === 0 ? ordered : ordered.filter((size) => size <= options.repeatUpTo);
    const max = Math.max(...ladder);
    const tracker = createTracker({ repository: memoryRepository() });
    const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: account, targetSupply: max });
    let completed = 0;
    for (const size of ladder) {
      await grow(tracker, cook.id, size - WINDOW - completed, false);
      const { grown: window, reference, ratio } = await pairedWindow(tracker, cook.id);
      completed = size;
      const stored = (await tracker.getCook(cook.id))!;
      if (stored.generatedCount !== size) throw new Error(`memory cook has ${stored.generatedCount} pieces, expected ${size}`);
      const list = windows.get(size) ?? [];
      list.push({
        window,
        reference,
        ratio,
        parentBytes: Buffer.byteLength(JSON.stringify(stored)),
        heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
      });
      windows.set(size, list);
    }
    const final = (await tracker.getCook(cook.id))!;
    const expectedCost = exactMultiple(STEP.costUsd, max);
    if (final.status !== 'completed' || final.costUsd !== expectedCost || final.pointsSpent !== max * STEP.pointsSpent) {
      throw new Error(`memory cook not exact: ${final.status} ${final.costUsd} (expected ${expectedCost}) ${final.pointsSpent}`);
    }
  }
  return ordered.map((size) => {
    const list = windows.get(size)!;
    const row: ScaleRow = {
      store: 'memory',
      size,
      completionUs: median(list.map((entry) => entry.window.completionUs)),
      completionMeanUs: median(list.map((entry) => entry.window.completionMeanUs)),
      recordUs: median(list.map((entry) => entry.window.recordUs)),
      referenceUs: median(list.map((entry) => entry.reference.completionUs)),
      vsReference: median(list.map((entry) => entry.ratio)),
      parentBytes: Math.max(...list.map((entry) => entry.parentBytes)),
      windows: list.length,
      heapUsedMb: Math.max(...list.map((entry) => entry.heapUsedMb)),
      grownBy: 'library',
    };
    log(
      `  memory, ${size.toLocaleString('en-US')} pieces: ${row.completionUs.toFixed(2)} us per completion (mean ${row.completionMeanUs.toFixed(2)}; ${list.length} windows), cook ${row.parentBytes} bytes`,
    );
    return row;
  });
}

/** Grows the cook by `count` finished generation pieces in three statements, as the library's writes would leave it. */
async function bulkGrow(pool: CountingPool, repository: PostgresRepository, cookId: string, from: number, count: number): Promise<void> {
  const { generations, cooks, changes } = repository.tables as unknown as { generations: string; cooks: string; changes: string };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Finished pieces, recorded after every piece the library recorded (so the embedded id list,
    // the first 1,000 by request time, is unchanged), ids ObjectId-shaped and distinct.
    await client.query(
      `INSERT INTO ${generations} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp, started_at,
         response_timestamp, duration_ms, progress, points_spent, protocol_net_points, cost_usd, notification_platform, delivery_status,
         delivery_attempts, cook_id, collection_id, artifact_urls, metadata, version, updated_at)
       SELECT 'fb' || lpad(to_hex(i), 22, '0'), $2, $3, $4, $5, 'success', now(), now(), now(), 0, 1, $6, 0, $7::numeric, 'none', 'skipped',
         0, $1, c.collection_id, '[]', '{}', 2, now()
       FROM generate_series($8::bigint, $9::bigint) AS i, ${cooks} AS c WHERE c.id = $1`,
      [cookId, account, STEP.toolId, STEP.toolDisplayName, STEP.serviceName, STEP.pointsSpent, STEP.costUsd, from, from + count - 1],
    );
    // The change log rows those writes would have left: per piece, the cook's attach and apply
    // and the generation's insert and finish.
    await client.query(
      `INSERT INTO ${changes} (kind, id, version)
       SELECT kinds.kind, CASE kinds.kind WHEN 'cook' THEN $1 ELSE 'fb' || lpad(to_hex(i), 22, '0') END, kinds.version
       FROM generate_series($2::bigint, $3::bigint) AS i, (VALUES ('cook', 1), ('generation', 1), ('generation', 2), ('cook', 1)) AS kinds(kind, version)`,
      [cookId, from, from + count - 1],
    );
    await client.query(
      `UPDATE ${cooks} SET generated_count = generated_count + $2, outcome_success = outcome_success + $2,
         points_spent = points_spent + $2 * $3, cost_usd = cost_usd + $2 * $4::numeric, version = version + 2 * $2, updated_at = now()
       WHERE id = $1`,
      [cookId, count, STEP.pointsSpent, STEP.costUsd],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function measureScalePostgres(
  postgres: BenchPostgres,
  pool: CountingPool,
  sizes: readonly number[],
  log: (line: string) => void = () => {},
): Promise<{ rows: ScaleRow[]; reconcileDifferences: number }> {
  const repository = await postgres.repository(pool, benchSchema('scale'));
  const tracker = createTracker({ repository });
  const max = Math.max(...sizes);
  // Warm up (prepared statements, caches) on a throwaway cook.
  const warmCook = await tracker.startCook({ collectionId: 'collection-warm', initiatorAccountId: account, targetSupply: 300 });
  await grow(tracker, warmCook.id, 300, false);

  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: account, targetSupply: max });
  const rows: ScaleRow[] = [];
  let completed = 0;
  let bulkFrom = 1;
  let differences = 0;
  for (const size of [...sizes].sort((left, right) => left - right)) {
    const before = size - WINDOW - completed;
    let grownBy: ScaleRow['grownBy'] = 'library';
    if (before > 0) {
      await bulkGrow(pool, repository, cook.id, bulkFrom, before);
      bulkFrom += before;
      grownBy = 'bulk SQL + library';
      const report = await tracker.reconcile({ cookId: cook.id });
      differences += report.differences.length;
      if (report.differences.length > 0)
        throw new Error(`bulk growth left a cook that reconcile corrects: ${JSON.stringify(report.differences)}`);
    }
    const { grown: window, reference, ratio } = await pairedWindow(tracker, cook.id);
    completed = size;
    const [sizeRow] = (
      await pool.query(
        `SELECT pg_column_size(c.*) AS row_bytes, c.generated_count, pg_relation_size('${repository.tables.cooks}') AS table_bytes,
           pg_total_relation_size('${repository.tables.cooks}') AS total_bytes
         FROM ${repository.tables.cooks} AS c WHERE c.id = $1`,
        [cook.id],
      )
    ).rows as { row_bytes: number; generated_count: number; table_bytes: string; total_bytes: string }[];
    if (!sizeRow || sizeRow.generated_count !== size)
      throw new Error(`postgres cook has ${sizeRow?.generated_count} pieces, expected ${size}`);
    rows.push({
      store: 'postgres',
      size,
      ...window,
      referenceUs: reference.completionUs,
      vsReference: ratio,
      parentBytes: Number(sizeRow.row_bytes),
      tableBytes: Number(sizeRow.table_bytes),
      totalTableBytes: Number(sizeRow.total_bytes),
      windows: 1,
      grownBy,
    });
    log(
      `  postgres, ${size.toLocaleString('en-US')} pieces: ${(window.completionUs / 1000).toFixed(3)} ms per completion (mean ${(window.completionMeanUs / 1000).toFixed(3)}), a 1,000-piece cook alongside ${(reference.completionUs / 1000).toFixed(3)} ms, row ${sizeRow.row_bytes} bytes`,
    );
  }
  const final = (await tracker.getCook(cook.id))!;
  if (final.status !== 'completed' || final.costUsd !== exactMultiple(STEP.costUsd, max) || final.pointsSpent !== max * STEP.pointsSpent) {
    throw new Error(
      `postgres cook not exact: ${final.status} ${final.costUsd} (expected ${exactMultiple(STEP.costUsd, max)}) ${final.pointsSpent}`,
    );
  }
  return { rows, reconcileDifferences: differences };
}

export const SCALE_WINDOW = { pieces: WINDOW, batch: BATCH } as const;
