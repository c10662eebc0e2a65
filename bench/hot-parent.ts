/**
 * Figure 4, a hot parent on PostgreSQL: completions racing into one cook, beside the raw limit of
 * the same server for one hot row.
 *
 * In each round, 64 generation pieces are recorded (not timed), then completed all at once (64
 * concurrent `completeGeneration` calls, each one statement that updates the generation and the
 * cook's row). Beside it, in alternate rounds, the raw limit: 64 concurrent plain single-row
 * `UPDATE counter SET n = n + 1 WHERE id = 1` statements over the same pool. The rate is calls per
 * second of timed burst; afterwards the cook's totals must be exact (every piece counted once, the
 * exact sum of the costs) and the counter must equal the number of increments.
 *
 * The adapter sends concurrent completions together (group commit, adapters/postgres/
 * settle-generations.ts), so the settle statement runs on few connections per round. PostgreSQL
 * plans a prepared statement afresh for its first five runs on each connection (custom plans), and
 * that planning is a large part of a batch's cost; a pool that has served for a while has long
 * passed it on every connection. So the warm-up also runs the settle statement six times (settling
 * nothing) on every connection of the pool (`primeSettlePlans`, default true; false measures a
 * cold pool).
 */
import { buildSettleGenerations } from '../adapters/postgres/settle-generations.js';
import { createTracker } from '../src/index.js';
import { benchSchema, type BenchPostgres, type CountingPool } from './postgres.js';
import { exactMultiple } from './stats.js';
import { cookPieceInput, STEP } from './workloads.js';

export interface HotParentResult {
  readonly concurrency: number;
  readonly poolSize: number;
  readonly rounds: number;
  readonly completions: number;
  readonly genledgerPerSecond: number;
  readonly rawPerSecond: number;
  /** genledger / raw. */
  readonly ratio: number;
  readonly exact: {
    readonly generatedCount: number;
    readonly costUsd: string;
    readonly expectedCostUsd: string;
    readonly pointsSpent: number;
    readonly status: string;
    readonly inFlight: number;
    readonly counter: number;
  };
  /** Statements per completion as sent through the pool during the timed bursts. */
  readonly statementsPerCompletion: number;
}

const account = 'account-bench';

export async function measureHotParent(
  postgres: BenchPostgres,
  pool: CountingPool,
  options: { readonly concurrency: number; readonly rounds: number; readonly primeSettlePlans?: boolean },
  log: (line: string) => void = () => {},
): Promise<HotParentResult> {
  const schema = benchSchema('hot');
  const repository = await postgres.repository(pool, schema);
  const tracker = createTracker({ repository });
  const counter = `"${schema}".counter`;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${counter} (id integer PRIMARY KEY, n bigint NOT NULL)`);
  await pool.query(`INSERT INTO ${counter} (id, n) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0`);
  const increment = { name: `bench_hot_increment_${process.pid}`, text: `UPDATE ${counter} SET n = n + 1 WHERE id = 1` };

  const { concurrency, rounds } = options;
  const total = concurrency * rounds;
  // Warm-up: every connection prepares both statements before anything is timed.
  const warmCook = await tracker.startCook({ collectionId: 'collection-warm', initiatorAccountId: account, targetSupply: concurrency });
  await completeBurst(await recordPieces(warmCook.id, concurrency));
  await Promise.all(Array.from({ length: concurrency }, () => pool.query(increment)));
  await pool.query(`UPDATE ${counter} SET n = 0 WHERE id = 1`);
  if (options.primeSettlePlans ?? true) await primeSettlePlans();

  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: account, targetSupply: total });
  let genledgerMs = 0;
  let rawMs = 0;
  let statements = 0;
  for (let round = 0; round < rounds; round += 1) {
    const pieces = await recordPieces(cook.id, concurrency);
    const sides = [
      async () => {
        pool.resetCount();
        const start = performance.now();
        await completeBurst(pieces);
        genledgerMs += performance.now() - start;
        statements += pool.queries;
      },
      async () => {
        const start = performance.now();
        await Promise.all(Array.from({ length: concurrency }, () => pool.query(increment)));
        rawMs += performance.now() - start;
      },
    ];
    // Which goes first alternates by round.
    if (round % 2 === 0) {
      await sides[0]!();
      await sides[1]!();
    } else {
      await sides[1]!();
      await sides[0]!();
    }
  }

  const final = (await tracker.getCook(cook.id))!;
  const counted = Number((await pool.query(`SELECT n FROM ${counter} WHERE id = 1`)).rows[0].n);
  const expectedCostUsd = exactMultiple(STEP.costUsd, total);
  const exact = {
    generatedCount: final.generatedCount,
    costUsd: final.costUsd,
    expectedCostUsd,
    pointsSpent: final.pointsSpent,
    status: final.status,
    inFlight: final.inFlightCount,
    counter: counted,
  };
  const isExact =
    exact.generatedCount === total &&
    exact.costUsd === expectedCostUsd &&
    exact.pointsSpent === total * STEP.pointsSpent &&
    exact.status === 'completed' &&
    exact.inFlight === 0 &&
    exact.counter === total;
  if (!isExact) throw new Error(`the hot cook is not exact after the run: ${JSON.stringify(exact)}`);

  const result: HotParentResult = {
    concurrency,
    poolSize: pool.options.max ?? 0,
    rounds,
    completions: total,
    genledgerPerSecond: total / (genledgerMs / 1000),
    rawPerSecond: total / (rawMs / 1000),
    ratio: total / (genledgerMs / 1000) / (total / (rawMs / 1000)),
    exact,
    statementsPerCompletion: statements / total,
  };
  log(
    `  ${total} completions into one cook, ${concurrency} at a time: ${result.genledgerPerSecond.toFixed(0)}/s; raw single-row UPDATE ${result.rawPerSecond.toFixed(0)}/s; ratio ${result.ratio.toFixed(2)}; exact`,
  );
  return result;

  async function primeSettlePlans(): Promise<void> {
    const settle = buildSettleGenerations(repository.tables);
    const clients = await Promise.all(Array.from({ length: pool.options.max ?? 10 }, () => pool.connect()));
    try {
      for (const client of clients) {
        for (let run = 0; run < 6; run += 1) await client.query({ name: settle.name, text: settle.text, values: ['[]'] });
      }
    } finally {
      for (const client of clients) client.release();
    }
  }

  async function recordPieces(cookId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const piece = await tracker.recordGeneration(cookPieceInput(cookId, account));
      ids.push(piece.id);
    }
    return ids;
  }

  async function completeBurst(ids: readonly string[]): Promise<void> {
    await Promise.all(
      ids.map((id) => tracker.completeGeneration(id, { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent })),
    );
  }
}
