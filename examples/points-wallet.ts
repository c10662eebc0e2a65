/**
 * A points wallet: a top-up, then 64 generations started at once against a balance that covers
 * exactly 40 of them. Each generation holds its price when it is recorded, in the same store
 * operation; exactly 40 run, 24 are refused with `InsufficientFundsError` (and leave nothing
 * behind), and after every run is charged what it really cost the balance is exact.
 * `npx tsx examples/points-wallet.ts`
 */
import { createTracker, InsufficientFundsError } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const tracker = createTracker({ repository: memoryRepository() });
const user = 'user-wallet';
const price = 25; // points held per generation: the most one may cost

await tracker.credit(user, { points: 40 * price, reason: 'top-up: 1,000 points', idempotencyKey: 'order-1001' });

const attempts = await Promise.allSettled(
  Array.from({ length: 64 }, (_, index) =>
    tracker.recordGeneration({
      masterAccountId: user,
      toolId: 'sdxl',
      toolDisplayName: 'SDXL',
      serviceName: 'comfy',
      idempotencyKey: `request-${index}`,
      hold: { points: price },
    }),
  ),
);
const running = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
const refused = attempts.filter((attempt) => attempt.status === 'rejected' && attempt.reason instanceof InsufficientFundsError);
console.log(`${running.length} generations run, ${refused.length} refused for insufficient funds`);
console.log('while they run:', await tracker.getAccount(user));

// Each run costs what it reports: here 20 points, and the odd one fails after 5 points of work
// (failed work that reports a cost is charged it). What a hold does not use is released.
let charged = 0;
await Promise.all(
  running.map((generation, index) => {
    const failed = index % 2 === 1;
    const pointsSpent = failed ? 5 : 20;
    charged += pointsSpent;
    return tracker.completeGeneration(generation.id, { status: failed ? 'failed' : 'success', pointsSpent });
  }),
);
const account = await tracker.getAccount(user);
console.log('after:', account);

const expected = 40 * price - charged;
const exact =
  running.length === 40 &&
  (await tracker.listGenerations({ masterAccountId: user, limit: 100 })).items.length === 40 &&
  refused.length === 24 &&
  account.balance.points === expected &&
  account.held.points === 0 &&
  account.spent.points === charged &&
  !(await tracker.reconcileAccount(user)).drift;
console.log(exact ? `balance ${account.balance.points} = 1000 credited - ${charged} charged: exact` : 'NOT EXACT');
if (!exact) process.exit(1);
