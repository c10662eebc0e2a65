/**
 * Costs from usage with a dated price table, then a price fix re-priced safely: the tracker
 * computes each cost from the tokens a run used, a wrong output price is corrected, a dry run
 * shows what would change, and the re-price is applied as adjustments that keep every parent
 * exact. Prints the parents' totals before and after, and one cost explained line by line.
 */
import { createTracker, type PriceTableInput } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { manualClock } from 'genledger/testing';

const launch = new Date('2026-01-01T00:00:00.000Z');
const prices: PriceTableInput = [
  {
    toolId: 'chat',
    versions: [
      // The provider's list price; output was entered wrong (0.00001 instead of 0.000012).
      { id: 'chat-2026-01', effectiveFrom: launch, units: { inputTokens: '0.0000025', outputTokens: '0.00001' } },
    ],
  },
];

const clock = manualClock({ start: '2026-02-01T00:00:00.000Z' });
const tracker = createTracker({ repository: memoryRepository(), clock, prices, pointsPerUsd: '1000' });

// A cook of two cast pieces, each of three chat steps.
const cook = await tracker.startCook({ collectionId: 'haiku-deck', initiatorAccountId: 'user-1', targetSupply: 2 });
const casts: string[] = [];
for (let piece = 0; piece < 2; piece += 1) {
  const cast = await tracker.startCast({ spellId: 'haiku', initiatorAccountId: 'user-1', cookId: cook.id, totalSteps: 3 });
  casts.push(cast.id);
  for (let step = 0; step < 3; step += 1) {
    const generation = await tracker.recordGeneration({ masterAccountId: 'user-1', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'openai', castId: cast.id });
    clock.advance(1_000);
    await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1200 + 100 * step, outputTokens: 350 + 50 * piece } });
  }
}

async function totals(label: string) {
  const storedCook = await tracker.getCook(cook.id);
  console.log(`${label}: cook ${storedCook?.status} $${storedCook?.costUsd} (${storedCook?.pointsSpent} points)`);
  for (const id of casts) {
    const cast = await tracker.getCast(id);
    console.log(`  cast ${id}: $${cast?.costUsd} (${cast?.pointsSpent} points)`);
  }
  return storedCook?.costUsd;
}
const before = await totals('before');

// The fix: a corrected version in force from the same date. Completions from now on use it;
// what was already booked changes only through reprice().
tracker.setPrices([
  {
    toolId: 'chat',
    versions: [{ id: 'chat-2026-01-fixed', effectiveFrom: launch, units: { inputTokens: '0.0000025', outputTokens: '0.000012' } }],
  },
]);

const range = { toolId: 'chat', from: launch, to: new Date('2027-01-01T00:00:00.000Z') };
const dryRun = await tracker.reprice({ ...range, dryRun: true });
console.log(`dry run: ${dryRun.differences.length} generations differ, total ${dryRun.totalDeltaUsd}; per parent:`);
for (const parent of dryRun.parents) console.log(`  ${parent.kind} ${parent.id}: ${parent.deltaUsd} (${parent.deltaPoints} points)`);
// Per account: a report of what its generations would cost; applying moves no balance.
for (const account of dryRun.accounts) console.log(`  account ${account.masterAccountId}: ${account.deltaUsd} (${account.deltaPoints} points, ${account.generations} generations)`);
if ((await tracker.getCook(cook.id))?.costUsd !== before) throw new Error('a dry run wrote');

let cursor: string | null = null;
let applied = 0;
do {
  const page: Awaited<ReturnType<typeof tracker.reprice>> = await tracker.reprice({ ...range, dryRun: false, cursor, limit: 4 });
  applied += page.differences.filter((difference) => difference.applied).length;
  cursor = page.nextCursor;
} while (cursor !== null);
console.log(`applied ${applied} adjustments`);
await totals('after');

const again = await tracker.reprice({ ...range, dryRun: false });
console.log(`second run: ${again.differences.length} differences`);

const [first] = (await tracker.listGenerations({ castId: casts[0], order: 'asc', limit: 1 })).items;
console.log(`explainCost(${first!.id}):`);
for (const line of (await tracker.explainCost(first!.id)).lines) console.log(`  ${line}`);

if (applied !== 6 || again.differences.length !== 0) process.exit(1);
