/** The README's quick start, runnable: `npx tsx examples/quick-start.ts`. */
import { createTracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const tracker = createTracker({ repository: memoryRepository() });
tracker.on('castFinished', ({ cast }) => console.log(`cast ${cast.status}: ${cast.pointsSpent} points, $${cast.costUsd}`));

const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'user-1', totalSteps: 2 });
for (const toolId of ['sdxl', 'upscale']) {
  const step = await tracker.recordGeneration({
    masterAccountId: 'user-1',
    toolId,
    toolDisplayName: toolId.toUpperCase(),
    serviceName: 'comfy',
    castId: cast.id,
  });
  await tracker.startGeneration(step.id);
  await tracker.reportProgress(step.id, { progress: 0.5 });
  await tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 10, costUsd: '0.1' });
}
const done = await tracker.getCast(cast.id);
console.log(done?.status, done?.costUsd); // completed 0.2
if (done?.costUsd !== '0.2') process.exit(1);
