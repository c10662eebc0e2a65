/**
 * genledger/testing: what a host needs in its own tests: a ready tracker on the store it is given
 * (`memoryRepository()` from genledger/memory) with a manual clock, predictable ids and recorded
 * events, and helpers that drive a generation, cast or cook through its lifecycle. No test
 * framework is imported here. See docs/testing.md.
 * @module
 */
export { createTestTracker } from './test-tracker.js';
export type { TestTracker, TestTrackerOptions, RecordedEvent } from './test-tracker.js';
export { runGeneration, runCast, runCook } from './drivers.js';
export type { GenerationScript, CastScript, CookScript } from './drivers.js';
export { manualClock } from './manual-clock.js';
export type { ManualClock, ManualClockOptions } from './manual-clock.js';
export { sequentialIds } from './sequential-ids.js';
export type { SequentialIdOptions } from './sequential-ids.js';
