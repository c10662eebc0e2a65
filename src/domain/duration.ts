/**
 * Durations. `durationMs` is derived once, at the terminal transition, from two stored timestamps;
 * it is never negative (clocks on different machines disagree, and a negative duration would
 * poison every average computed from it).
 */
export function elapsedMs(from: Date, to: Date): number {
  return Math.max(0, Math.round(to.getTime() - from.getTime()));
}

/** The later of two times, either of which may be missing. */
export function laterOf(left: Date | null, right: Date | null): Date | null {
  if (left === null) return right;
  if (right === null) return left;
  return left > right ? left : right;
}
