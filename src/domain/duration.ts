/**
 * Durations. `durationMs` is derived once, at the terminal transition, from two stored timestamps;
 * it is never negative (clocks on different machines disagree, and a negative duration would
 * poison every average computed from it).
 */
export function elapsedMs(from: Date, to: Date): number {
  return Math.max(0, Math.round(to.getTime() - from.getTime()));
}
