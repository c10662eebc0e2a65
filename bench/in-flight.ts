/**
 * Figure 5, children in flight: what one call costs, and how big the parent is, when a cook has
 * N pieces in flight at once (a whole collection queued up front), for N = 100, 1,000, 10,000,
 * 100,000 (and 1,000,000 on the memory store). Figure 3 grows a cook one finished piece at a
 * time; this is the axis it missed. The trackers here set `maxInFlightChildren` to 2,000,000,
 * above every size measured.
 *
 * For each N: a fresh cook gets N pieces recorded and left open (setup: through the library up to
 * 10,000; beyond that, on PostgreSQL, by one bulk INSERT of open pieces and one UPDATE of the cook's
 * counts, which reconcile must then find exact). The timed window is 10 batches of 100 call
 * pairs on PostgreSQL (20 batches of 1,000 on memory, where 100 pairs last under a millisecond), each pair one `recordGeneration` of a new piece and one `completeGeneration` of a random
 * open one, so the cook stays at N in flight throughout. Each batch runs beside a batch on a
 * reference cook with 100 in flight in the same store (alternating which goes first); the ratio is
 * the median of the per-batch ratios, so machine load moves neither side of one. The parent's size
 * is the stored cook: JSON of the record on memory, `pg_column_size` of the row on PostgreSQL.
 *
 * Then the queued-whole figure: on PostgreSQL, a cook of 10,000 pieces recorded up front (16 at a
 * time), then completed 16 at a time in random order, exact to the last unit at the end
 * (10,000 x 0.0001 = 1 dollar), with the wall time printed.
 */
import { memoryRepository } from '../adapters/memory/index.js';
import type { PostgresRepository } from '../adapters/postgres/index.js';
import { createTracker, type Tracker } from '../src/index.js';
import { benchSchema, type BenchPostgres, type CountingPool } from './postgres.js';
import { median } from './stats.js';
import { cookPieceInput, STEP } from './workloads.js';

export interface InFlightRow {
  readonly store: 'memory' | 'postgres';
  readonly inFlight: number;
  /** Microseconds per pair (one record + one completion), median of the window's batches. */
  readonly pairUs: number;
  /** The same on the reference cook (100 in flight), beside it. */
  readonly referenceUs: number;
  /** pairUs / referenceUs, median of per-batch ratios. */
  readonly vsReference: number;
  /** The stored cook at N in flight, and the reference cook at 100, in bytes. */
  readonly parentBytes: number;
  readonly referenceParentBytes: number;
  readonly grownBy: 'library' | 'bulk SQL';
  /** Setup time to put N pieces in flight, in seconds. */
  readonly setupS: number;
}

export interface QueuedWholeResult {
  readonly pieces: number;
  readonly concurrency: number;
  readonly recordS: number;
  readonly completeS: number;
  readonly totalS: number;
  readonly costUsd: string;
  readonly pointsSpent: number;
  readonly status: string;
  readonly exact: boolean;
}

const REFERENCE_IN_FLIGHT = 100;
/** Batches per window and pairs per batch: a memory batch of 100 pairs lasts under a millisecond, so memory's are larger. */
interface WindowShape {
  readonly batches: number;
  readonly batch: number;
}
const MEMORY_WINDOW: WindowShape = { batches: 20, batch: 1_000 };
const POSTGRES_WINDOW: WindowShape = { batches: 10, batch: 100 };
const account = 'account-bench';
const completion = { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent } as const;

/** Open piece ids of one cook, with O(1) random removal. */
class OpenPieces {
  private readonly ids: string[] = [];
  private seed = 20261204;
  add(id: string): void {
    this.ids.push(id);
  }
  takeRandom(): string {
    this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
    const index = this.seed % this.ids.length;
    const id = this.ids[index]!;
    this.ids[index] = this.ids[this.ids.length - 1]!;
    this.ids.pop();
    return id;
  }
}

async function recordOpen(tracker: Tracker, cookId: string, open: OpenPieces, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) open.add((await tracker.recordGeneration(cookPieceInput(cookId, account))).id);
}

function collectYoungGarbage(): void {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  gc?.({ type: 'minor' });
}

/** One timed batch of record+complete pairs; ms per pair. */
async function pairs(tracker: Tracker, cookId: string, open: OpenPieces, size: number): Promise<number> {
  // The garbage of what ran before (setup, the other cook's batch) is collected before the timed batch.
  collectYoungGarbage();
  const start = performance.now();
  for (let index = 0; index < size; index += 1) {
    open.add((await tracker.recordGeneration(cookPieceInput(cookId, account))).id);
    await tracker.completeGeneration(open.takeRandom(), completion);
  }
  return (performance.now() - start) / size;
}

async function window(tracker: Tracker, shape: WindowShape, cook: { id: string; open: OpenPieces }, reference: { id: string; open: OpenPieces }) {
  const grown: number[] = [];
  const references: number[] = [];
  for (let batch = 0; batch < shape.batches; batch += 1) {
    if (batch % 2 === 0) {
      grown.push(await pairs(tracker, cook.id, cook.open, shape.batch));
      references.push(await pairs(tracker, reference.id, reference.open, shape.batch));
    } else {
      references.push(await pairs(tracker, reference.id, reference.open, shape.batch));
      grown.push(await pairs(tracker, cook.id, cook.open, shape.batch));
    }
  }
  return {
    pairUs: median(grown) * 1000,
    referenceUs: median(references) * 1000,
    vsReference: median(grown.map((ms, index) => ms / references[index]!)),
  };
}

const target = (inFlight: number, shape: WindowShape) => inFlight + shape.batches * shape.batch + 1;
/** The host's cap above every size measured (each pair records one more before it completes one). */
const limits = { maxInFlightChildren: 2_000_000 };

export async function measureInFlightMemory(sizes: readonly number[], log: (line: string) => void = () => {}): Promise<InFlightRow[]> {
  const rows: InFlightRow[] = [];
  // Warm the code up first, so the first window is not the JIT's.
  {
    const tracker = createTracker({ repository: memoryRepository(), limits });
    const cook = await tracker.startCook({ collectionId: 'collection-warm', initiatorAccountId: account, targetSupply: 10_000 });
    const open = new OpenPieces();
    await recordOpen(tracker, cook.id, open, 2_000);
    for (let index = 0; index < 3; index += 1) await pairs(tracker, cook.id, open, MEMORY_WINDOW.batch);
  }
  for (const inFlight of sizes) {
    const tracker = createTracker({ repository: memoryRepository(), limits });
    const setupStart = performance.now();
    const cook = { id: (await tracker.startCook({ collectionId: 'collection-in-flight', initiatorAccountId: account, targetSupply: target(inFlight, MEMORY_WINDOW) })).id, open: new OpenPieces() };
    await recordOpen(tracker, cook.id, cook.open, inFlight);
    const setupS = (performance.now() - setupStart) / 1000;
    const reference = { id: (await tracker.startCook({ collectionId: 'collection-reference', initiatorAccountId: account, targetSupply: target(REFERENCE_IN_FLIGHT, MEMORY_WINDOW) })).id, open: new OpenPieces() };
    await recordOpen(tracker, reference.id, reference.open, REFERENCE_IN_FLIGHT);
    const timed = await window(tracker, MEMORY_WINDOW, cook, reference);
    const stored = (await tracker.getCook(cook.id))!;
    const storedReference = (await tracker.getCook(reference.id))!;
    if (stored.inFlightCount !== inFlight) throw new Error(`memory cook has ${stored.inFlightCount} in flight, expected ${inFlight}`);
    const row: InFlightRow = {
      store: 'memory',
      inFlight,
      ...timed,
      parentBytes: Buffer.byteLength(JSON.stringify(stored)),
      referenceParentBytes: Buffer.byteLength(JSON.stringify(storedReference)),
      grownBy: 'library',
      setupS,
    };
    rows.push(row);
    log(
      `  memory, ${inFlight.toLocaleString('en-US')} in flight: ${row.pairUs.toFixed(1)} us per record+complete (100 in flight beside it: ${row.referenceUs.toFixed(1)} us, ${row.vsReference.toFixed(2)}x); cook ${row.parentBytes} bytes (${row.referenceParentBytes} at 100)`,
    );
  }
  return rows;
}

/** Puts `count` open pieces under the cook in two statements, as the library's creations would leave it. */
async function bulkOpen(pool: CountingPool, repository: PostgresRepository, cookId: string, from: number, count: number): Promise<void> {
  const { generations, cooks } = repository.tables;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ${generations} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp, started_at,
         progress, points_spent, protocol_net_points, cost_usd, notification_platform, delivery_status,
         delivery_attempts, cook_id, collection_id, artifact_urls, metadata, version, updated_at)
       SELECT 'fa' || lpad(to_hex(i), 22, '0'), $2, $3, $4, $5, 'processing', now(), now(), 0, 0, 0, 0, 'none', 'skipped',
         0, $1, c.collection_id, '[]', '{}', 1, now()
       FROM generate_series($6::bigint, $7::bigint) AS i, ${cooks} AS c WHERE c.id = $1`,
      [cookId, account, STEP.toolId, STEP.toolDisplayName, STEP.serviceName, from, from + count - 1],
    );
    await client.query(
      `UPDATE ${cooks} SET in_flight_count = in_flight_count + $2, open_generation_count = open_generation_count + $2,
         version = version + $2, updated_at = now() WHERE id = $1`,
      [cookId, count],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function measureInFlightPostgres(
  postgres: BenchPostgres,
  pool: CountingPool,
  sizes: readonly number[],
  log: (line: string) => void = () => {},
): Promise<InFlightRow[]> {
  const repository = await postgres.repository(pool, benchSchema('in_flight'));
  const tracker = createTracker({ repository, limits });
  const warm = { id: (await tracker.startCook({ collectionId: 'collection-warm', initiatorAccountId: account, targetSupply: 10_000 })).id, open: new OpenPieces() };
  await recordOpen(tracker, warm.id, warm.open, 300);
  await pairs(tracker, warm.id, warm.open, POSTGRES_WINDOW.batch);
  const rows: InFlightRow[] = [];
  let bulkFrom = 1;
  for (const inFlight of sizes) {
    const setupStart = performance.now();
    const cook = { id: (await tracker.startCook({ collectionId: 'collection-in-flight', initiatorAccountId: account, targetSupply: target(inFlight, POSTGRES_WINDOW) })).id, open: new OpenPieces() };
    // The library records the first 1,000 (so the embedded id list is filled as it would be); bulk SQL the rest.
    const byLibrary = Math.min(inFlight, 1_000);
    await recordOpen(tracker, cook.id, cook.open, byLibrary);
    const grownBy: InFlightRow['grownBy'] = inFlight > byLibrary ? 'bulk SQL' : 'library';
    if (inFlight > byLibrary) {
      await bulkOpen(pool, repository, cook.id, bulkFrom, inFlight - byLibrary);
      for (let index = 0; index < inFlight - byLibrary; index += 1) cook.open.add(`fa${(bulkFrom + index).toString(16).padStart(22, '0')}`);
      bulkFrom += inFlight - byLibrary;
      const report = await tracker.reconcile({ cookId: cook.id });
      if (report.differences.length > 0) throw new Error(`bulk open pieces left a cook reconcile corrects: ${JSON.stringify(report.differences)}`);
    }
    const setupS = (performance.now() - setupStart) / 1000;
    const reference = { id: (await tracker.startCook({ collectionId: 'collection-reference', initiatorAccountId: account, targetSupply: target(REFERENCE_IN_FLIGHT, POSTGRES_WINDOW) })).id, open: new OpenPieces() };
    await recordOpen(tracker, reference.id, reference.open, REFERENCE_IN_FLIGHT);
    const timed = await window(tracker, POSTGRES_WINDOW, cook, reference);
    const sizeOf = async (id: string) =>
      Number(((await pool.query(`SELECT pg_column_size(c.*) AS bytes, c.in_flight_count FROM ${repository.tables.cooks} AS c WHERE c.id = $1`, [id])).rows[0] as { bytes: number }).bytes);
    const stored = (await tracker.getCook(cook.id))!;
    if (stored.inFlightCount !== inFlight) throw new Error(`postgres cook has ${stored.inFlightCount} in flight, expected ${inFlight}`);
    const row: InFlightRow = {
      store: 'postgres',
      inFlight,
      ...timed,
      parentBytes: await sizeOf(cook.id),
      referenceParentBytes: await sizeOf(reference.id),
      grownBy,
      setupS,
    };
    rows.push(row);
    log(
      `  postgres, ${inFlight.toLocaleString('en-US')} in flight: ${(row.pairUs / 1000).toFixed(3)} ms per record+complete (100 in flight beside it: ${(row.referenceUs / 1000).toFixed(3)} ms, ${row.vsReference.toFixed(2)}x); cook row ${row.parentBytes} bytes (${row.referenceParentBytes} at 100)`,
    );
  }
  return rows;
}

/** Runs `work` over `items` with at most `concurrency` in progress. */
async function pooled<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function measureQueuedWhole(
  postgres: BenchPostgres,
  pool: CountingPool,
  options: { readonly pieces: number; readonly concurrency: number },
  log: (line: string) => void = () => {},
): Promise<QueuedWholeResult> {
  const repository = await postgres.repository(pool, benchSchema('queued_whole'));
  const tracker = createTracker({ repository, limits });
  const start = performance.now();
  const cook = await tracker.startCook({ collectionId: 'collection-queued', initiatorAccountId: account, targetSupply: options.pieces });
  const ids: string[] = [];
  await pooled(
    Array.from({ length: options.pieces }, (_unused, index) => index),
    options.concurrency,
    async () => ids.push((await tracker.recordGeneration(cookPieceInput(cook.id, account))).id),
  );
  const recorded = performance.now();
  const open = new OpenPieces();
  for (const id of ids) open.add(id);
  const order = ids.map(() => open.takeRandom());
  await pooled(order, options.concurrency, (id) => tracker.completeGeneration(id, { status: 'success', costUsd: '0.0001', pointsSpent: 1 }));
  const end = performance.now();
  const final = (await tracker.getCook(cook.id))!;
  const expectedCost = (options.pieces / 10_000).toString();
  const result: QueuedWholeResult = {
    pieces: options.pieces,
    concurrency: options.concurrency,
    recordS: (recorded - start) / 1000,
    completeS: (end - recorded) / 1000,
    totalS: (end - start) / 1000,
    costUsd: final.costUsd,
    pointsSpent: final.pointsSpent,
    status: final.status,
    exact: final.costUsd === expectedCost && final.pointsSpent === options.pieces && final.status === 'completed' && final.generatedCount === options.pieces,
  };
  log(
    `  postgres, a cook of ${options.pieces.toLocaleString('en-US')} pieces queued whole: recorded in ${result.recordS.toFixed(1)} s, completed in ${result.completeS.toFixed(1)} s (${options.concurrency} at a time), ${result.totalS.toFixed(1)} s in all; cook ${result.status}, $${result.costUsd}, ${result.pointsSpent} points${result.exact ? ', exact' : ', NOT EXACT'}`,
  );
  if (!result.exact) throw new Error(`the queued-whole cook is not exact: ${JSON.stringify(final)}`);
  return result;
}
