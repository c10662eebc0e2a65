/**
 * The repository port: everything the tracker asks of a store, and nothing more.
 *
 * Every roll-up is ONE atomic operation of the store, and the gate that makes it happen once is the
 * child's own transition, never an entry in the parent (a parent holds aggregates only, so every
 * write costs the same however many children it has in flight):
 *
 * - creation ({@link LedgerRepository.insertAttached}): the child's insert (its id and its
 *   idempotency key) is the gate; the same operation checks the parents and bumps their counts;
 * - completion ({@link LedgerRepository.settleGeneration}): the generation's move from
 *   pending/processing to a terminal status is the gate; the same operation applies it to its cast
 *   and its cook and, when that ends the cast and the cast is a cook piece, the cast to the cook;
 * - a cast's move from running to a terminal status (`casts.transition`, or reconcile's
 *   `casts.replaceAggregates`) applies the cast as a finished piece to its cook in the same
 *   operation.
 *
 * What each operation does is defined by the pure composites in `src/domain/rollup`, published
 * with this port as `genledger/adapter` (`createAttached`, `settle`, `endCast`) over the reducers
 * (`attachToCast`, `applyToCook`, `finishGeneration`, ...). An adapter must leave exactly what they leave; the shared conformance
 * suite checks it. Values cross the port as validated domain records: money as canonical decimal
 * strings, points as integers, timestamps as `Date`s.
 *
 * Every method returns a promise. A write on a record that does not exist resolves to `null`.
 * Errors are thrown as they come; the tracker turns them into `RepositoryError`s.
 */
import type { ChildAttachment, CastPieceContribution, ChildContribution, GenerationContribution, ParentCaps } from './domain/rollup/contribution.js';
import type { DeliveryReport, GenerationOutcome, ProgressReport } from './domain/generation-reducer.js';
import type { Cast, Cook, EntityKind, Generation } from './domain/records.js';
import type { ChildrenSummary } from './domain/rollup/recompute.js';
import type { CastEnding } from './domain/rollup/cast-ending.js';
import type { AttachedInsertion, NewAttachedChild } from './domain/rollup/creation.js';
import type { Settlement } from './domain/rollup/settlement.js';
import type { CostAdjustmentResult, CostCorrection } from './domain/rollup/adjustment.js';
import type { AttachResult, ParentTransition, WriteResult } from './domain/rollup/write-result.js';
import type { GenerationStatus } from './domain/status.js';
import type { AccountedSettlement, AccountStore, CreationAccounting, HeldCreation, LimitedInsertion, ParentHeldCreation, ReleasedReservations } from './account-port.js';
import type { PriceTableStore } from './price-port.js';

export type { PriceTableStore, StoredPriceTable } from './price-port.js';

export type { AttachResult, ParentTransition, WriteResult, ChildrenSummary };
export type { AttachOutcome } from './domain/rollup/contribution.js';
export type { ChildAttachment, ChildContribution, GenerationContribution, CastPieceContribution, ParentCaps };
export type { DeliveryReport, GenerationOutcome, ProgressReport };
/** See `endCast` (domain): what `casts.transition` and `casts.replaceAggregates` report. */
export type { CastEnding };
/** See `createAttached` (domain): the child and the outcomes of {@link LedgerRepository.insertAttached}. */
export type { AttachedInsertion, NewAttachedChild };
/** See `settle` (domain): what {@link LedgerRepository.settleGeneration} did, write by write. */
export type { Settlement };
/** See `adjust` (domain): what {@link LedgerRepository.adjustGeneration} is asked, and did. */
export type { CostAdjustmentResult, CostCorrection };

/** One call of {@link LedgerRepository.adjustGenerations}: a generation's id and its correction. */
export interface AdjustmentCall {
  readonly id: string;
  readonly correction: CostCorrection;
}

/** What a store can do, declared as data. */
export interface RepositoryCapabilities {
  /**
   * Whether several processes (several trackers) may share the store. `false` for the memory
   * store, whose records live in one process.
   */
  readonly sharedAcrossProcesses: boolean;
  /**
   * Whether the store keeps accounts: balances, holds taken with a generation's creation and
   * settled with its completion, parents' budgets. `false`: `accounts` rejects every call with an
   * `UnsupportedError`, and the tracker refuses holds and budgets the same way.
   */
  readonly accounts: boolean;
  /**
   * Whether the store keeps price tables (`LedgerRepository.prices`): `tracker.setPrices(table,
   * { store: true })`, `refreshPrices()` and `pricesRefreshMs`. Absent or `false`: the tracker
   * refuses those with an `UnsupportedError`; tables passed in-process work as before.
   * @experimental
   */
  readonly prices?: boolean | undefined;
  /**
   * Whether the store keeps parent holds (`startCast`/`startCook({ hold })`, see
   * src/domain/accounts/parent-hold.ts): taken by `casts.insert`/`cooks.insert`, drawn on by
   * children's `insertAttached`, settled against by `settleGeneration`, released by every write
   * that ends the parent. Absent or `false`: the tracker refuses `startCast/startCook({ hold })`
   * with an `UnsupportedError` before anything is written.
   */
  readonly parentHolds?: boolean | undefined;
  /**
   * Whether the change feed (`changes`) also reports every change to an account (a credit, a
   * debit, a hold taken, a settlement's capture, release or overdraft, reconcile's rewrite) as an
   * `account` notice, in the feed's order with the records' changes, so `tracker.watch()` delivers
   * `accountUpdate`. Absent or `false`: the feed reports records only, and a watch never emits
   * `accountUpdate` (the store is still valid). Only meaningful with `accounts` and `changes`.
   * @experimental
   */
  readonly accountChanges?: boolean | undefined;
}

/**
 * The result of a creation. `created: false` means a record with the same `idempotencyKey`
 * already existed; `record` is that record and nothing was written. The key check and the write
 * are one atomic operation (a unique index on a database), never check-then-write.
 */
export interface Insertion<T> {
  readonly created: boolean;
  readonly record: T;
}

/** A page of generations, by (`requestTimestamp`, `id`). */
export interface GenerationQuery {
  readonly castId?: string | undefined;
  readonly cookId?: string | undefined;
  readonly masterAccountId?: string | undefined;
  /**
   * Only generations of this tool (`Generation.toolId` as stored; `reprice()` lists one tool's
   * generations in a time range with it). A store serves it from an index on (tool, request time,
   * id) so a page costs the tool's generations, not every tool's.
   */
  readonly toolId?: string | undefined;
  readonly statuses?: readonly GenerationStatus[] | undefined;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  /** Return only generations strictly after this position in `order`. */
  readonly after?: { readonly requestTimestamp: Date; readonly id: string } | undefined;
}

/** Open generations with no write since `updatedBefore`, oldest first. */
export interface StaleQuery {
  readonly updatedBefore: Date;
  readonly limit: number;
}

/**
 * Parents that maintenance must look at, by id for paging: running ones with nothing in flight and
 * no write since `idleBefore` (to expire), cancelled ones with something still in flight (a
 * cancellation cascade a crash cut short, to resume), and any the store flags for repair (to
 * reconcile: PostgreSQL's migration queue, MongoDB's 0.1.0 documents with open entries).
 */
export interface MaintenanceQuery {
  readonly idleBefore: Date;
  readonly afterId?: string | undefined;
  readonly limit: number;
}

export interface SummaryOptions {
  /** How many child ids to return in `firstIds`. */
  readonly maxEmbeddedIds: number;
}

/**
 * Generations: created once, moved through their status machine by conditional writes. The
 * terminal transition is {@link LedgerRepository.settleGeneration}, with its roll-ups.
 */
export interface GenerationStore {
  /** Stores a generation with no parent (one with a parent goes through `insertAttached`). */
  insert(generation: Generation): Promise<Insertion<Generation>>;
  /** The generation stored with this `idempotencyKey`, or `null`. */
  findByIdempotencyKey(key: string): Promise<Generation | null>;
  /** The generations among `ids` that exist, in any order. */
  get(ids: readonly string[]): Promise<Generation[]>;
  list(query: GenerationQuery): Promise<Generation[]>;
  findStale(query: StaleQuery): Promise<Generation[]>;
  /** See `startGeneration` in the domain. */
  start(id: string, at: Date): Promise<WriteResult<Generation> | null>;
  /** See `recordGenerationProgress`. */
  recordProgress(id: string, report: ProgressReport): Promise<WriteResult<Generation> | null>;
  /** See `recordGenerationDelivery`. */
  recordDelivery(id: string, report: DeliveryReport): Promise<WriteResult<Generation> | null>;
}

/**
 * Casts or cooks: the parents. `TWrite` is what a status write reports: for a cast, a
 * {@link CastEnding} (the cast's write and, when it ended a cook piece, the piece's apply to the
 * cook); for a cook, its own write.
 */
export interface ParentStore<TRecord extends Cast | Cook, TWrite> {
  /**
   * Casts: a cast with no cook (a piece goes through `insertAttached`). Cooks: every cook. With
   * `accounting.budget` (stores with `capabilities.accounts` only), the parent's budget is stored
   * in the same atomic operation. With `accounting.hold` (stores with `capabilities.parentHolds`
   * only): after the key check, `parentHoldAtCreation` on the `initiatorAccountId` account decides
   * the parent hold; `limited` writes nothing, else the parent, the account, its `hold` entry and
   * the budget carrying the reservation are stored in the same atomic operation and reported as
   * `held`. A repeated key takes no hold.
   */
  insert(record: TRecord, accounting?: CreationAccounting): Promise<(Insertion<TRecord> & ParentHeldCreation) | LimitedInsertion>;
  /** The parent stored with this `idempotencyKey`, or `null`. */
  findByIdempotencyKey(key: string): Promise<TRecord | null>;
  get(ids: readonly string[]): Promise<TRecord[]>;
  /**
   * See `transitionCast` / `transitionCook`. Casts: `finish`, `cancel` or `expire`, and, when this
   * write ends a cast that is a cook piece, its apply to the cook in the same atomic operation
   * (`endCast`). Cooks: every {@link ParentTransition}. Parent holds: every write, here or in any
   * other operation, that moves a parent to a terminal status releases its reservation
   * (`releaseReservation`) in the same atomic operation, and reports it in `releases`.
   */
  transition(id: string, transition: ParentTransition, at: Date): Promise<(TWrite & ReleasedReservations) | null>;
  /** Sums the parent's children as stored (for reconcile): counts and figures, no per-child lists. */
  summarizeChildren(id: string, options: SummaryOptions): Promise<ChildrenSummary>;
  /**
   * Replaces the parent's aggregate fields (status, completion, counts, money, id lists) with
   * `recomputed`, only if the parent's `version` is still `expectedVersion`; `null` when it moved
   * (the caller recomputes and tries again). Casts: when this moves a cast that is a cook piece
   * from running to a terminal status, its apply to the cook in the same atomic operation. A
   * parent this ends releases its reservation as `transition` does (reported in `releases`).
   */
  replaceAggregates(id: string, expectedVersion: number, recomputed: TRecord, at: Date): Promise<(TWrite & ReleasedReservations) | null>;
  /** See {@link MaintenanceQuery}. */
  findForMaintenance(query: MaintenanceQuery): Promise<TRecord[]>;
}

/** A parent, by kind and id. */
export interface ParentRef {
  readonly kind: 'cast' | 'cook';
  readonly id: string;
}

/**
 * Open children of a parent, at most `limit` of each, oldest first (a database by request time then
 * id; the memory store in the order recorded). The order only decides which children a cascade
 * cancels first; every open child is listed until it ends.
 */
export interface OpenChildren {
  /** Generations below the parent still pending or processing (for a cook: pieces and the steps of its cast pieces). */
  readonly generationIds: readonly string[];
  /** Cast pieces still running (cooks only; `[]` for a cast). */
  readonly castIds: readonly string[];
}

/**
 * What a change notice is about: a record (`generation`, `cast`, `cook`), or an account (`account`,
 * its id the account id; stores with `capabilities.accountChanges`).
 */
export type ChangeKind = EntityKind | 'account';

/** One change to one record, as a change feed reports it: small, so the listener reads the record itself. */
export interface ChangeNotice {
  /**
   * A feed that never reports `account` is still a valid feed: `tracker.watch()` then reports
   * records' events only, and `capabilities.accountChanges` must not be `true`.
   */
  readonly kind: ChangeKind;
  readonly id: string;
  /** The record's (or the account's) version after the change. */
  readonly version: number;
  /**
   * Where this change sits in the feed: opaque (not comparable as a string). Resuming after it
   * delivers every later change at least once; a change at the very position may come again.
   */
  readonly position: string;
}

export interface ChangeFeedOptions {
  /**
   * Resume after this position (from an earlier notice); omitted: only changes from now on. A
   * position this feed never gave is refused: `subscribe` rejects with a `ConflictError` on
   * `after`. Any other failure to subscribe may be the driver's own error; `tracker.watch()` hands
   * it to the host as a `RepositoryError` (operation `changes.subscribe`).
   */
  readonly after?: string | undefined;
  /** Called for every change, in the feed's order. Must not throw. */
  readonly onChange: (notice: ChangeNotice) => void;
  /** Errors the feed could not recover from by itself (reconnecting is the feed's own job). */
  readonly onError: (error: unknown) => void;
}

export interface ChangeSubscription {
  /** Stops the feed and releases its connection. */
  close(): Promise<void>;
}

/**
 * A feed of every change made to the store by any process sharing it: PostgreSQL LISTEN/NOTIFY,
 * MongoDB change streams, in-process for the memory store. After a dropped connection a feed
 * reconnects and catches up from the last position it delivered, so no change is missed. Delivery
 * is at least once (a replay may repeat a change); changes to one record may be coalesced, since
 * the listener reads the record's latest version.
 * @experimental
 */
export interface ChangeFeed {
  subscribe(options: ChangeFeedOptions): Promise<ChangeSubscription>;
}

/** The call signature of {@link LedgerRepository.insertAttached}, typed by the child's kind. */
export interface InsertAttached {
  (child: Extract<NewAttachedChild, { kind: 'generation' }>): Promise<AttachedInsertion<Generation>>;
  (child: Extract<NewAttachedChild, { kind: 'cast' }>, accounting?: CreationAccounting): Promise<AttachedInsertion<Cast>>;
  (child: NewAttachedChild): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>>;
  /** With accounting (stores with `capabilities.accounts`): a hold or a budget may refuse the child (`limited`). */
  (child: Extract<NewAttachedChild, { kind: 'generation' }>, accounting: CreationAccounting): Promise<(AttachedInsertion<Generation> & HeldCreation) | LimitedInsertion>;
  (child: NewAttachedChild, accounting: CreationAccounting): Promise<(AttachedInsertion<Generation> & HeldCreation) | AttachedInsertion<Cast> | LimitedInsertion>;
}

/** Makes ids for new records; a store may prefer a format (the MongoDB adapter prefers ObjectIds). */
export type IdGenerator = (kind: EntityKind) => string;

/** The one port every store implements. */
export interface LedgerRepository {
  /** Short name used in error messages, e.g. `"memory"`, `"mongo"`. */
  readonly name: string;
  readonly capabilities: RepositoryCapabilities;
  /** The id format this store prefers; the tracker uses it unless given its own. */
  readonly ids?: IdGenerator | undefined;
  readonly generations: GenerationStore;
  readonly casts: ParentStore<Cast, CastEnding>;
  readonly cooks: ParentStore<Cook, WriteResult<Cook>>;
  /** Accounts (see {@link RepositoryCapabilities.accounts}): `unsupportedAccountStore(name)` when the store keeps none. */
  readonly accounts: AccountStore;
  /** Stored price tables, with `capabilities.prices` (see src/price-port.ts). @experimental */
  readonly prices?: PriceTableStore | undefined;
  /**
   * A new child stored and attached to all its parents as ONE atomic operation (see
   * `createAttached` in the domain): all or nothing (see {@link AttachedInsertion}). The
   * idempotency key is checked FIRST, so a repeated key gets its record (`existing`) whatever its
   * parents' state now (paused, finished, cancelled); then the parents in this order: the cast's
   * cook against `cookId`, the cast, then the cook. A repeated key, also one taken by a racing
   * call, changes no parent; an `id` that exists throws a `ConflictError` and writes nothing.
   * Whether the repeat is the same request is the tracker's to judge.
   *
   * Accounts (stores with `capabilities.accounts` only): a generation's `accounting.hold`, and the
   * budgets of the parents it joins, are decided by `holdAtCreation` in the same operation, after
   * the parents accept; a refusal is `limited` and writes nothing. A generation with a hold and no
   * parent comes here too (with `castId` and `cookId` null). A cast's `accounting.budget` is
   * stored with the cast.
   */
  readonly insertAttached: InsertAttached;
  /**
   * The generation's terminal transition (see `finishGeneration`) and its applies, as ONE atomic
   * operation (see `settle` in the domain). Only the call that moves the generation from
   * pending/processing to a terminal status applies anything: its `cast`, `cook` and `castPiece`
   * are the parents' writes; a repeat (the generation already terminal) writes nothing and returns
   * the stored generation with `changed: false` and the parents `null`. `null` when the generation
   * does not exist. Accounts: the same call settles the generation's hold (`settleGenerationHold`:
   * capture what it records, release the rest, count it in its parents' budgets) and reports it as
   * `hold`; a repeat settles nothing. A parent this settlement ends releases its reservation in the
   * same operation (after the child's hold is settled), reported in `releases`.
   */
  settleGeneration(id: string, outcome: GenerationOutcome, at: Date): Promise<AccountedSettlement | null>;
  /**
   * The open children of a parent, for cancellation cascades and the sweeper (see
   * {@link OpenChildren}). A child leaves the set when it reaches a terminal status, so reading
   * from the start again after cancelling a page moves on.
   */
  openChildren(parent: ParentRef, limit: number): Promise<OpenChildren>;
  /**
   * Optional: for stores whose roll-ups span several writes (MongoDB without transactions),
   * finishes the operations a crash left half done, older than `olderThan`. `sweepStale` calls it
   * first, with `now` from the tracker's clock (the time of the writes it makes). Resolves to how
   * many operations it finished.
   * @experimental
   */
  recover?(options: { readonly limit: number; readonly olderThan: Date; readonly now: Date }): Promise<{ readonly repaired: number }>;
  /**
   * Optional: the store's change feed, which `tracker.watch()` reads to see changes made by other
   * processes. Without it, `watch()` throws.
   * @experimental
   */
  readonly changes?: ChangeFeed | undefined;
  /**
   * Optional: a finished generation's cost corrected (a re-price) and the difference applied to
   * its cast and its cook, as ONE atomic operation (see `adjust` in the domain). The gate is the
   * generation's adjustment count (`correction.expectedAdjustments`): a repeat or a racing
   * correction finds it moved and writes nothing (`changed: false`, parents `null`). `null` when
   * the generation does not exist. Without it, `tracker.reprice()` runs as a dry run only.
   * @experimental
   */
  adjustGeneration?(id: string, correction: CostCorrection): Promise<CostAdjustmentResult | null>;
  /**
   * Optional, beside `adjustGeneration`: several corrections at once (a re-price's page), for
   * stores that can write them in fewer round trips. Each element is exactly what
   * `adjustGeneration(call.id, call.correction)` would have returned had the calls run one after
   * another in the order given (each keeps its own gate), and the store is left as they would
   * have left it. A failure may leave some calls applied and others not: each is atomic on its
   * own, so the caller runs them again (a repeat changes nothing). Without it, `tracker.reprice()`
   * calls `adjustGeneration` once per difference.
   * @experimental
   */
  adjustGenerations?(calls: readonly AdjustmentCall[]): Promise<readonly (CostAdjustmentResult | null)[]>;
}
