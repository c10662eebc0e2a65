/**
 * What an adapter hands the conformance suite. Modelled on Keyv's shared suite and Auth.js's
 * adapter tests: a factory per test, a reset between tests, and a raw back door (`inspect`) to
 * what was really stored.
 */
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { LedgerRepository } from '../port.js';
import type { Account } from '../domain/accounts/records.js';

/** Reads straight from the store, around the repository's own read path. */
export interface StoreInspector {
  generation(id: string): Promise<Generation | null>;
  cast(id: string): Promise<Cast | null>;
  cook(id: string): Promise<Cook | null>;
  /** How many records of each kind the store holds. */
  count(): Promise<{ generations: number; casts: number; cooks: number }>;
  /**
   * The bytes the store holds for one record, as the store measures them (PostgreSQL:
   * `pg_column_size` of the row; MongoDB: `BSON.calculateObjectSize` of the document; memory: its
   * JSON with every number written as one fixed-width token). The scale part checks that a parent
   * is the same size with 10 and with 20,000 children in flight.
   */
  storedSize(kind: 'generation' | 'cast' | 'cook', id: string): Promise<number>;
}

export const CONFORMANCE_PARTS = [
  'port',
  'lifecycle',
  'rollup',
  'idempotency',
  'validation',
  'events',
  'maintenance',
  'property',
  'concurrency',
  'crash',
  'outOfOrder',
  'hostileInput',
  'changeFeed',
  'scale',
  'pricing',
  'repricing',
  'storedPrices',
  'accounts',
  'parentHolds',
] as const;
export type ConformancePart = (typeof CONFORMANCE_PARTS)[number];

export interface ConformanceTarget {
  /** Shown in every test title. */
  readonly name: string;
  /** A repository for one test. Called before every test, after `reset`. */
  create(): LedgerRepository | Promise<LedgerRepository>;
  /** Clears the store between tests, so no test sees another's records. */
  reset?(): void | Promise<void>;
  /** Runs once after the whole suite (close clients, stop servers). */
  teardown?(): void | Promise<void>;
  /**
   * A second repository on the same store through its own client (another process's view), for
   * the change-feed part. @default the repository `create` returned
   */
  createSecond?(): Promise<LedgerRepository>;
  /** Drops the change feed's connection of `repository`, to prove the feed reconnects and catches up. */
  forceReconnect?(repository: LedgerRepository): Promise<void>;
  /** Raw reads for the current repository (the last one `create` returned). */
  inspect(): StoreInspector;
  /**
   * Parts to skip, each with the reason, printed in the test output. Skip by capability only,
   * never to hide a failure.
   */
  readonly skip?: Partial<Record<ConformancePart, string>>;
  /**
   * Skips ONLY the stored-size equality of the `scale` part, printing this reason and both sizes
   * (every other check of the part runs): for a store whose design does not yet keep parents of
   * constant size, said plainly. @default the check runs
   */
  readonly skipSizeCheck?: string;
  /** Multiplies the size of randomized and concurrent runs; below 1 for slow stores. @default 1 */
  readonly scale?: number;
  /** Ids the store needs from the tracker. @default 'readable' */
  readonly idFormat?: 'readable' | 'objectId';
  /** Per-test timeout for the heavier parts, in ms. @default 60000 */
  readonly timeoutMs?: number;
  /**
   * Overwrites an account's stored figures around the ledger, so the `accounts` part can prove
   * `reconcileAccount` reports and repairs drift. @default that check is skipped, said in the output
   */
  tamperAccount?(repository: LedgerRepository, accountId: string, figures: Partial<Account>): void | Promise<void>;
  /**
   * Why the store's change feed may report several changes of one account as one notice of its
   * last version (a feed that polls): then an account first seen by a watch reports its latest
   * change only, and the change-feed part's check that every entry of quick writes right after
   * `ready` reaches the watch is skipped, with this reason in the output. @default the check runs
   */
  readonly coalescingAccountFeed?: string;
}
