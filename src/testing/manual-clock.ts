/**
 * A clock that moves only when told, for tests: time never depends on how fast the machine is,
 * and no global (`Date.now`, timers) is faked.
 */
import type { Clock } from '../tracker/clock.js';

export interface ManualClock extends Clock {
  /** Moves time forward by `ms` (or by the clock's `step` when omitted) and returns the new time. */
  advance(ms?: number): Date;
  /** Jumps to an instant. */
  set(instant: Date | string | number): void;
}

export interface ManualClockOptions {
  /** @default 2026-01-01T00:00:00.000Z */
  readonly start?: Date | string | number;
  /** Milliseconds added after every `now()`, so consecutive writes get distinct times. @default 0 */
  readonly autoAdvanceMs?: number;
}

export function manualClock(options: ManualClockOptions = {}): ManualClock {
  let current = new Date(options.start ?? '2026-01-01T00:00:00.000Z').getTime();
  const autoAdvance = options.autoAdvanceMs ?? 0;
  return {
    now() {
      const now = new Date(current);
      current += autoAdvance;
      return now;
    },
    advance(ms = 1) {
      current += ms;
      return new Date(current);
    },
    set(instant) {
      current = new Date(instant).getTime();
    },
  };
}
