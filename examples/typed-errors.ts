/** Every failure is a typed error with a machine-readable code, the field at fault and the reason. */
import { createTracker, GenledgerError, IllegalTransitionError, NotFoundError, ValidationError } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const tracker = createTracker({ repository: memoryRepository() });
const generation = await tracker.recordGeneration({ masterAccountId: 'user-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' });

const attempts: [string, () => Promise<unknown>][] = [
  ['fractional points', () => tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 1.5 })],
  ['an operator-like metadata key', () => tracker.startCook({ collectionId: 'c', initiatorAccountId: 'u', targetSupply: 1, metadata: { $where: '1' } })],
  ['an unknown generation', () => tracker.startGeneration('no-such-id')],
  ['leaving a terminal status', async () => {
    await tracker.completeGeneration(generation.id, { status: 'failed' });
    return tracker.completeGeneration(generation.id, { status: 'success' });
  }],
];
for (const [label, attempt] of attempts) {
  try {
    await attempt();
    console.log(`${label}: accepted?!`);
    process.exit(1);
  } catch (error) {
    if (!(error instanceof GenledgerError)) throw error;
    const kind = error instanceof ValidationError ? 'ValidationError' : error instanceof NotFoundError ? 'NotFoundError' : error instanceof IllegalTransitionError ? 'IllegalTransitionError' : error.name;
    console.log(`${label}: ${kind} code=${error.code} field=${error.field} reason="${error.reason}"`);
  }
}
