/**
 * MongoDB parents and children in flight, on the mingo fake (test/mongo/fake-db.ts: MongoDB's
 * query and update language evaluated in JavaScript, so times are the fake's, not a server's; the
 * sizes and the command counts are what a server would get).
 *
 * For N = 10, 100, 1,000, 4,000 generation pieces in flight under one cook: the stored cook's BSON
 * size, and the time of one call pair (`recordGeneration` of a new piece + `completeGeneration` of
 * a random open one, so the cook stays at N), median of batches, with its ratio to N = 10. Then
 * the driver commands per call (every collection method the adapter calls, reads included),
 * counted at the fake: recording a generation piece, a step of a cast piece, a cast piece;
 * completing a piece, a step that leaves its cast running, and the last step of a cast piece
 * (the cast ends and is applied to the cook).
 *
 * Run: `npx tsx bench/mongo-in-flight.ts` (`--json` for one JSON line; `MONGO_BENCH_SIZES=10,100`
 * for fewer sizes). The same file runs on a
 * checkout of the adapter before design 12 option (b) for the "before" figures (docs/mongodb.md).
 */
import { BSON, type Db, type Document } from 'mongodb';
import { mongoRepository } from '../adapters/mongo/index.js';
import { createTracker } from '../src/index.js';
import { FakeDb } from '../test/mongo/fake-db.js';

/** `MONGO_BENCH_SIZES=10,100` measures fewer (option (a) takes many minutes at 4,000 on the fake). */
const SIZES: readonly number[] = process.env.MONGO_BENCH_SIZES?.split(',').map(Number) ?? [10, 100, 1_000, 4_000];
const BATCHES = 7;
const PAIRS_PER_BATCH = 20;
const silent = { warn: () => {}, error: () => {} };
const person = { masterAccountId: 'account-bench', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc' };

/** The fake as a `Db`, counting every collection method call (the driver commands the adapter sends). */
function countingDb(fake: FakeDb): { db: Db; counted: () => number } {
  let calls = 0;
  const base = fake.asDb();
  const db = new Proxy(base, {
    get(target, property, receiver) {
      if (property !== 'collection') return Reflect.get(target, property, receiver);
      return (name: string) =>
        new Proxy(target.collection(name), {
          get(collection, method, inner) {
            const value = Reflect.get(collection, method, inner);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              calls += 1;
              return (value as (...parameters: unknown[]) => unknown).apply(collection, args);
            };
          },
        });
    },
  });
  return { db, counted: () => calls };
}

async function pool<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

function setup() {
  const fake = new FakeDb({ topology: 'standalone' });
  const { db, counted } = countingDb(fake);
  const repository = mongoRepository(db, { logger: silent });
  const tracker = createTracker({ repository, logger: silent, limits: { maxInFlightChildren: 1_000_000, maxEmbeddedChildIds: 10 } });
  return { fake, tracker, counted };
}

async function storedCookBytes(fake: FakeDb, cookId: string): Promise<number> {
  const stored = await fake.asDb().collection<Document>('cooks').findOne({});
  if (stored === null || String(stored._id) !== cookId) throw new Error('one cook expected');
  return BSON.calculateObjectSize(stored);
}

interface Row {
  readonly inFlight: number;
  readonly cookBytes: number;
  readonly pairUs: number;
  readonly vsTen: number;
}

async function inFlightRow(inFlight: number): Promise<Omit<Row, 'vsTen'>> {
  const { fake, tracker } = setup();
  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: 'account-bench', targetSupply: 1_000_000 });
  const open: string[] = [];
  await pool(Array.from({ length: inFlight }), 16, async () => {
    open.push((await tracker.recordGeneration({ ...person, cookId: cook.id })).id);
  });
  const cookBytes = await storedCookBytes(fake, cook.id);
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const batches: number[] = [];
  for (let batch = 0; batch < BATCHES; batch += 1) {
    const started = process.hrtime.bigint();
    for (let pair = 0; pair < PAIRS_PER_BATCH; pair += 1) {
      open.push((await tracker.recordGeneration({ ...person, cookId: cook.id })).id);
      const index = Math.floor(random() * open.length);
      const [id] = open.splice(index, 1);
      await tracker.completeGeneration(id!, { status: 'success', costUsd: '0.0001', pointsSpent: 1 });
    }
    batches.push(Number(process.hrtime.bigint() - started) / 1000 / PAIRS_PER_BATCH);
  }
  batches.sort((left, right) => left - right);
  return { inFlight, cookBytes, pairUs: Math.round(batches[Math.floor(batches.length / 2)]!) };
}

async function commandsPerCall(): Promise<Record<string, number>> {
  const { tracker, counted } = setup();
  const cook = await tracker.startCook({ collectionId: 'collection-bench', initiatorAccountId: 'account-bench', targetSupply: 1_000_000 });
  const measure = async <T>(run: () => Promise<T>): Promise<[number, T]> => {
    const before = counted();
    const result = await run();
    return [counted() - before, result];
  };
  const [recordPiece, piece] = await measure(() => tracker.recordGeneration({ ...person, cookId: cook.id }));
  const [startCastPiece, cast] = await measure(() => tracker.startCast({ spellId: 'spell-bench', initiatorAccountId: 'account-bench', cookId: cook.id, totalSteps: 2 }));
  const [recordStep, first] = await measure(() => tracker.recordGeneration({ ...person, castId: cast.id }));
  const second = await tracker.recordGeneration({ ...person, castId: cast.id });
  const done = { status: 'success' as const, costUsd: '0.0001', pointsSpent: 1 };
  const [completePiece] = await measure(() => tracker.completeGeneration(piece.id, done));
  const [completeStep] = await measure(() => tracker.completeGeneration(first.id, done));
  const [completeLastStep] = await measure(() => tracker.completeGeneration(second.id, done));
  return { recordPiece, recordStep, startCastPiece, completePiece, completeStep, completeLastStep };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  await inFlightRow(SIZES[0]!); // warm-up: the first row would otherwise pay for JIT compilation
  for (const inFlight of SIZES) {
    const row = await inFlightRow(inFlight);
    rows.push({ ...row, vsTen: rows.length === 0 ? 1 : Math.round((row.pairUs / rows[0]!.pairUs) * 100) / 100 });
  }
  const commands = await commandsPerCall();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ rows, commands }));
    return;
  }
  console.log('children in flight | stored cook (BSON bytes) | one record + one complete (us, fake) | vs 10 in flight');
  for (const row of rows) console.log(`${row.inFlight} | ${row.cookBytes} | ${row.pairUs} | ${row.vsTen.toFixed(2)}x`);
  console.log('driver commands per call:', JSON.stringify(commands));
}

await main();
