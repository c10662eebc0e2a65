/**
 * The genledger demo, on the in-memory store: `npm run demo`.
 *
 * 1. A 3-step spell cast: each step is a generation that reports progress and ends with points and
 *    an exact cost; the cast completes by itself when its third step succeeds.
 * 2. A cook toward a collection of 10 pieces, where each piece is a 2-step cast. Four casts run at
 *    once; two pieces fail at their second step, so the cook runs 12 pieces in all before it has
 *    its supply, and then completes by itself.
 *
 * Everything printed comes from the tracker's events and records.
 */
import { createTracker, type Cast, type Cook, type Generation } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const tracker = createTracker({ repository: memoryRepository() });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)}s`);

/** Pretends to run a model: reports progress, then ends with a cost that depends on the tool. */
async function runStep(generation: Generation, fails: boolean, costUsd: string, pointsSpent: number): Promise<Generation> {
  await tracker.startGeneration(generation.id);
  for (const progress of [0.25, 0.5, 0.75]) {
    await sleep(15);
    await tracker.reportProgress(generation.id, { progress, liveStatus: `sampling ${Math.round(progress * 20)}/20` });
  }
  await sleep(15);
  return fails
    ? tracker.completeGeneration(generation.id, { status: 'failed', costUsd, pointsSpent, errorDetails: { message: 'CUDA out of memory' } })
    : tracker.completeGeneration(generation.id, {
        status: 'success',
        costUsd,
        pointsSpent,
        artifactUrls: [`https://cdn.example/${generation.id}.png`],
        responsePayload: { images: [`${generation.id}.png`] },
      });
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

async function spellCast(): Promise<Cast> {
  console.log('\n1. A 3-step spell cast\n');
  const steps = [
    { toolId: 'llm-prompt', toolDisplayName: 'Prompt writer', costUsd: '0.0012', pointsSpent: 2 },
    { toolId: 'sdxl', toolDisplayName: 'SDXL', costUsd: '0.0185', pointsSpent: 19 },
    { toolId: 'upscale', toolDisplayName: 'Upscaler x4', costUsd: '0.0031', pointsSpent: 4 },
  ];
  const stopProgress = tracker.on('generationProgress', ({ generation, liveStatus }) => {
    process.stdout.write(`   ${generation.toolDisplayName.padEnd(14)} ${bar(generation.progress, 12)} ${liveStatus ?? ''}\n`);
  });
  const cast = await tracker.startCast({ spellId: 'spell-portrait', initiatorAccountId: 'account-ada', totalSteps: steps.length });
  for (const step of steps) {
    const generation = await tracker.recordGeneration({
      masterAccountId: 'account-ada',
      serviceName: 'demo',
      castId: cast.id,
      toolId: step.toolId,
      toolDisplayName: step.toolDisplayName,
      notificationPlatform: 'web',
    });
    const done = await runStep(generation, false, step.costUsd, step.pointsSpent);
    console.log(`   -> ${done.toolDisplayName}: ${done.status}, ${done.pointsSpent} points, $${done.costUsd}, ${seconds(done.durationMs)}`);
  }
  stopProgress();
  return (await tracker.getCast(cast.id))!;
}

async function cookOfCasts(): Promise<Cook> {
  console.log('\n2. A cook of 2-step casts toward 10 pieces, 4 at a time\n');
  const failingPieces = new Set([3, 8]);
  let lastLine = '';
  const stopCook = tracker.on('cookUpdate', ({ progress }) => {
    // Money events arrive with every step; print the bar when the piece counts move.
    const line = `${progress.done}/${progress.failed}`;
    if (line === lastLine) return;
    lastLine = line;
    console.log(
      `   cook ${bar(progress.fraction)} ${String(progress.done).padStart(2)}/${progress.target} done, ${progress.failed} failed, ` +
        `${progress.inFlight} in flight, ${progress.pointsSpent} points, $${progress.costUsd}`,
    );
  });
  const stopCasts = tracker.on('castFinished', ({ cast }) => {
    console.log(`   piece ${cast.id.slice(-6)} ${cast.status.padEnd(9)} ${cast.pointsSpent} points, $${cast.costUsd}, ${seconds(cast.durationMs)}`);
  });

  const cook = await tracker.startCook({ collectionId: 'collection-moonlit-cats', initiatorAccountId: 'account-ada', targetSupply: 10 });
  let piecesStarted = 0;

  /** One worker: keeps starting pieces while the cook still needs them. */
  async function worker(): Promise<void> {
    for (;;) {
      const current = (await tracker.getCook(cook.id))!;
      if (current.status !== 'running' || current.generatedCount + current.inFlightCount >= current.targetSupply) return;
      const pieceNumber = (piecesStarted += 1);
      const cast = await tracker.startCast({ spellId: 'spell-cat', initiatorAccountId: 'account-ada', totalSteps: 2, cookId: cook.id });
      for (const [index, tool] of ['sdxl', 'upscale'].entries()) {
        const generation = await tracker.recordGeneration({
          masterAccountId: 'account-ada',
          serviceName: 'demo',
          castId: cast.id,
          toolId: tool,
          toolDisplayName: tool.toUpperCase(),
        });
        const failed = index === 1 && failingPieces.has(pieceNumber);
        const done = await runStep(generation, failed, index === 0 ? '0.0185' : '0.0031', index === 0 ? 19 : 4);
        if (done.status !== 'success') break;
      }
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker));
  stopCook();
  stopCasts();
  return (await tracker.getCook(cook.id))!;
}

const cast = await spellCast();
const cook = await cookOfCasts();

console.log('\nSummary\n');
console.log(
  `   cast ${cast.id}: ${cast.status}; steps ${JSON.stringify(cast.outcomes)}; ${cast.pointsSpent} points; $${cast.costUsd}; ${seconds(cast.durationMs)}`,
);
console.log(
  `   cook ${cook.id}: ${cook.status}; ${cook.generatedCount}/${cook.targetSupply} pieces made, ${cook.failedCount} failed, ` +
    `${cook.castIds.length} casts run; generations ${JSON.stringify(cook.outcomes)}; ${cook.pointsSpent} points; $${cook.costUsd}; ${seconds(cook.durationMs)}`,
);
if (cast.status !== 'completed' || cook.status !== 'completed' || cook.generatedCount !== 10 || cook.failedCount !== 2) {
  console.error('\nThe demo did not end as expected.');
  process.exit(1);
}
