/**
 * genledger/testing: what a host needs in its own tests. No test framework is imported here.
 * @module
 */
export { manualClock } from './manual-clock.js';
export type { ManualClock, ManualClockOptions } from './manual-clock.js';
export { sequentialIds } from './sequential-ids.js';
export type { SequentialIdOptions } from './sequential-ids.js';
