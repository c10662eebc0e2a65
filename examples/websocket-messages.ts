/**
 * Forwarding the tracker's events to browsers in the exact message shapes the production
 * front-ends listen for (`generationProgress`, `generationUpdate`), sent to the generation's
 * account. Here `send` prints; in a host it writes to that account's websockets.
 */
import { createTracker, toGenerationProgressMessage, toGenerationUpdateMessage } from 'genledger';
import { memoryRepository } from 'genledger/memory';

const sent: unknown[] = [];
function send(accountId: string, message: unknown): void {
  sent.push(message);
  console.log(accountId, JSON.stringify(message));
}

const tracker = createTracker({ repository: memoryRepository() });
tracker.on('generationProgress', ({ generation, liveStatus }) => send(generation.masterAccountId, toGenerationProgressMessage(generation, liveStatus)));
tracker.on('generationFinished', ({ generation }) => send(generation.masterAccountId, toGenerationUpdateMessage(generation)));

const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'user-1', totalSteps: 1 });
const step = await tracker.recordGeneration({ masterAccountId: 'user-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', castId: cast.id, platformSpecificRunId: 'run-1' });
await tracker.reportProgress(step.id, { progress: 0.5, liveStatus: 'sampling 10/20' });
await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.0185', responsePayload: [{ url: 'https://cdn.example/1.png' }] });
if (sent.length !== 2) process.exit(1);
