/** What every part of the tracker shares: the guarded store, the clock, ids, events and limits. */
import type { ParentCaps } from '../domain/rollup/contribution.js';
import type { UsdAmount } from '../domain/money.js';
import type { IdGenerator, LedgerRepository } from '../port.js';
import type { Clock } from './clock.js';
import type { TrackerEventBus } from './events.js';
import type { PriceBook } from './price-book.js';

/** Where the tracker reports what it cannot throw (a listener's error, a parent that vanished). */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface TrackerContext {
  readonly repository: LedgerRepository;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly bus: TrackerEventBus;
  readonly caps: ParentCaps;
  readonly pointsPerUsd: UsdAmount | null;
  readonly logger: Logger;
  /** The price table and what completions need to use it (see price-book.ts). */
  readonly prices: PriceBook;
}
