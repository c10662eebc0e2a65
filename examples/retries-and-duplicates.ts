/**
 * Retries and duplicates count nothing twice: a job retried after a lost reply, a provider webhook
 * delivered three times, two workers racing to complete the same generation.
 */
import { ConflictError, createTracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const tracker = createTracker({ repository: memoryRepository() });
const cook = await tracker.startCook({ collectionId: 'col-1', initiatorAccountId: 'user-1', targetSupply: 1 });

// The job runner retries a job whose reply was lost: same idempotencyKey, same generation.
const input = { masterAccountId: 'user-1', toolId: 'flux', toolDisplayName: 'Flux', serviceName: 'fal', cookId: cook.id, idempotencyKey: 'job-7731' };
const first = await tracker.recordGeneration(input);
const retried = await tracker.recordGeneration(input);
console.log('same generation after a retry:', first.id === retried.id);

// The provider's webhook arrives three times, two of them at once.
const completion = { status: 'success' as const, pointsSpent: 30, costUsd: '0.03' };
await Promise.all([tracker.completeGeneration(first.id, completion), tracker.completeGeneration(first.id, completion)]);
await tracker.completeGeneration(first.id, completion);

// A completion that disagrees with the stored one is refused: the first one stands.
try {
  await tracker.completeGeneration(first.id, { ...completion, costUsd: '0.05' });
} catch (error) {
  if (error instanceof ConflictError) console.log(`refused: ${error.field}: ${error.reason}`);
}

const stored = await tracker.getCook(cook.id);
console.log(`cook ${stored?.status}: ${stored?.generatedCount} piece, ${stored?.pointsSpent} points, $${stored?.costUsd}`);
if (stored?.costUsd !== '0.03' || stored.pointsSpent !== 30 || stored.generatedCount !== 1) process.exit(1);
