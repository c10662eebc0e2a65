/**
 * Maintenance a host runs on a schedule: time out generations whose worker died, repair parents
 * after a crash, and reconcile a parent against its children. Time is simulated with a manual
 * clock from genledger/testing; in production, call sweepStale() every few minutes.
 */
import { createTracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { manualClock } from 'genledger/testing';

const clock = manualClock();
const tracker = createTracker({ repository: memoryRepository(), clock });

const cook = await tracker.startCook({ collectionId: 'col-1', initiatorAccountId: 'user-1', targetSupply: 2 });
const ok = await tracker.recordGeneration({ masterAccountId: 'user-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', cookId: cook.id });
await tracker.completeGeneration(ok.id, { status: 'success', costUsd: '0.02' });
const abandoned = await tracker.recordGeneration({ masterAccountId: 'user-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', cookId: cook.id });
await tracker.startGeneration(abandoned.id); // ...and its worker dies.

clock.advance(20 * 60_000);
const first = await tracker.sweepStale({ olderThanMs: 10 * 60_000 });
console.log('timed out:', first.timedOut);
clock.advance(20 * 60_000);
const second = await tracker.sweepStale({ olderThanMs: 10 * 60_000 });
console.log('idle parents finished:', second.expired);

const report = await tracker.reconcile({ cookId: cook.id });
console.log('reconcile differences:', report.differences.length);
const final = await tracker.getCook(cook.id);
console.log(`cook ${final?.status}: ${final?.generatedCount} made, ${final?.failedCount} failed, $${final?.costUsd}`);
if (final?.status !== 'completed' || first.timedOut[0] !== abandoned.id) process.exit(1);
