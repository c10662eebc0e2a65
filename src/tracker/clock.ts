/** The tracker's only source of time. Inject one in tests to control time without faking globals. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
