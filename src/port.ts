/**
 * The repository port: everything the tracker asks of a store, and nothing more.
 *
 * Each write names one record and is one atomic, conditional write on that record: a MongoDB
 * `findOneAndUpdate` with a filter, a PostgreSQL `UPDATE ... WHERE ... RETURNING`, a synchronous
 * step in memory. No write reads first and no write spans two records, so no adapter needs a
 * multi-document transaction, and a retried or duplicated write is safe:
 *
 * - a child is *attached* to each parent (an open entry in the parent) before it is stored, in
 *   the same write that checks the parent still takes children;
 * - a finished child is *applied* to each parent once: the write is conditional on the child's
 *   open entry and removes it while adding the child's figures, so a second apply changes nothing;
 * - the parent's status rules are evaluated inside that same write.
 *
 * Two optional capabilities let a store that can do several of these writes as ONE atomic
 * operation (one SQL statement) save the round trips: `settleGeneration` (a completion and its
 * applies) and `insertAttached` (a creation and its attaches). Each must leave exactly what its
 * sequence of single-record writes leaves; the tracker falls back to the sequence without them.
 *
 * What each write does is defined by the pure reducers in `src/domain` (`applyToCast`,
 * `attachToCook`, `finishGeneration`, ...). An adapter must do exactly what they do; the shared
 * conformance suite (`genledger/conformance`) checks it. Values cross the port as validated domain
 * records: money as canonical decimal strings, points as integers, timestamps as `Date`s.
 *
 * Every method returns a promise. A write on a record that does not exist resolves to `null`.
 * Errors are thrown as they come; the tracker turns them into `RepositoryError`s.
 */
import type { ChildAttachment, CastPieceContribution, ChildContribution, GenerationContribution, ParentCaps } from './domain/rollup/contribution.js';
import type { DeliveryReport, GenerationOutcome, ProgressReport } from './domain/generation-reducer.js';
import type { Cast, Cook, EntityKind, Generation } from './domain/records.js';
import type { ChildrenSummary } from './domain/rollup/recompute.js';
import type { AttachResult, ParentTransition, WriteResult } from './domain/rollup/write-result.js';
import type { GenerationStatus } from './domain/status.js';

export type { AttachResult, ParentTransition, WriteResult, ChildrenSummary };
export type { ChildAttachment, ChildContribution, GenerationContribution, CastPieceContribution, ParentCaps };
export type { DeliveryReport, GenerationOutcome, ProgressReport };

/** What a store can do, declared as data. */
export interface RepositoryCapabilities {
  /**
   * Whether several processes (several trackers) may share the store. `false` for the memory
   * store, whose records live in one process.
   */
  readonly sharedAcrossProcesses: boolean;
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
 * Parents that maintenance must look at, by id for paging: those with open child entries (in any
 * status), and running ones with nothing in flight and no write since `idleBefore`.
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

/** Generations: created once, moved through their status machine by conditional writes. */
export interface GenerationStore {
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
  /** See `finishGeneration`. Sets the terminal status and every derived figure once. */
  finish(id: string, outcome: GenerationOutcome): Promise<WriteResult<Generation> | null>;
  /** See `recordGenerationDelivery`. */
  recordDelivery(id: string, report: DeliveryReport): Promise<WriteResult<Generation> | null>;
}

/**
 * Casts or cooks: the parents. `TContribution` is what a finished child hands over: a cast takes
 * finished generations; a cook takes finished generations and finished cast pieces.
 */
export interface ParentStore<TRecord extends Cast | Cook, TContribution extends ChildContribution> {
  insert(record: TRecord): Promise<Insertion<TRecord>>;
  /** The parent stored with this `idempotencyKey`, or `null`. */
  findByIdempotencyKey(key: string): Promise<TRecord | null>;
  get(ids: readonly string[]): Promise<TRecord[]>;
  /** See `attachToCast` / `attachToCook`. */
  attach(id: string, attachment: ChildAttachment): Promise<AttachResult<TRecord> | null>;
  /** See `detachFromCast` / `detachFromCook`: forgets an open entry whose child was never stored. */
  detach(id: string, childId: string, at: Date): Promise<WriteResult<TRecord> | null>;
  /** See `applyToCast` / `applyToCook`: applies a finished child once. */
  apply(id: string, contribution: TContribution, at: Date): Promise<WriteResult<TRecord> | null>;
  /** See `transitionCast` / `transitionCook`. */
  transition(id: string, transition: ParentTransition, at: Date): Promise<WriteResult<TRecord> | null>;
  /** Sums the parent's children as stored (for reconcile). */
  summarizeChildren(id: string, options: SummaryOptions): Promise<ChildrenSummary>;
  /**
   * Replaces the parent's aggregate fields (status, completion, counts, money, open entries, id
   * lists) with `recomputed`, only if the parent's `version` is still `expectedVersion`; `null`
   * when it moved (the caller recomputes and tries again).
   */
  replaceAggregates(id: string, expectedVersion: number, recomputed: TRecord, at: Date): Promise<TRecord | null>;
  findForMaintenance(query: MaintenanceQuery): Promise<TRecord[]>;
}

/** One change to one record, as a change feed reports it: small, so the listener reads the record itself. */
export interface ChangeNotice {
  readonly kind: EntityKind;
  readonly id: string;
  /** The record's version after the change. */
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

/** What {@link LedgerRepository.settleGeneration} did, write by write. */
export interface Settlement {
  /** The terminal write on the generation (`changed: false` when it had already finished, or was not stale). */
  readonly generation: WriteResult<Generation>;
  /** The apply to its cast; `null` when it has no cast (or the cast is gone, or the generation is still open). */
  readonly cast: WriteResult<Cast> | null;
  /** The apply of its money (and, for a piece, its outcome) to its cook; `null` likewise. */
  readonly cook: WriteResult<Cook> | null;
  /** The apply of its cast, when that cast has ended and is a cook piece, to the cook; `null` otherwise. */
  readonly castPiece: WriteResult<Cook> | null;
}

/**
 * A new child for {@link LedgerRepository.insertAttached}: the record to store and the parents it
 * joins. `at` and `caps` make the attachments, as in {@link ChildAttachment}.
 *
 * - `kind: 'generation'`: attached to `castId` (as a step), then to the cast's cook (a step inside
 *   a cast piece, `piece: false`) or, without a cast, to `cookId` (a generation piece, `piece:
 *   true`). When both `castId` and `cookId` are given, the cast must belong to that cook. The
 *   store sets the record's links from the parents that accepted it, as the tracker's sequence
 *   does: `castId` and `spellId` from the cast, `cookId` and `collectionId` from the cook (or the
 *   cast's, without a cook).
 * - `kind: 'cast'`: attached to `cookId` as a piece (`kind: 'cast', piece: true`); the store sets
 *   the cast's `cookId` and `collectionId` from the cook.
 */
export type NewAttachedChild =
  | {
      readonly kind: 'generation';
      readonly record: Generation;
      readonly castId: string | null;
      readonly cookId: string | null;
      readonly at: Date;
      readonly caps: ParentCaps;
    }
  | { readonly kind: 'cast'; readonly record: Cast; readonly cookId: string; readonly at: Date; readonly caps: ParentCaps };

/**
 * What {@link LedgerRepository.insertAttached} did. Only `created` wrote anything.
 *
 * - `created`: the child is stored (`record`, links set) and attached to each parent; `cast` and
 *   `cook` are the parents as that attach left them (`null` where the child has no such parent).
 * - `existing`: a record with the child's `idempotencyKey` already existed; `record` is that
 *   record, and no parent was touched (nor asked: the key is checked before the parents).
 * - `refused`: a parent refused the child, or does not exist (`attach: null`); `attach` is the
 *   refusal as {@link ParentStore.attach} reports it (`closed` or `full`, with the parent as it
 *   stands). The cast is asked first, then the cook.
 * - `mismatch`: (generations given both `castId` and `cookId`) the cast belongs to another cook
 *   (or to none); `cast` is the cast as it stands.
 */
export type AttachedInsertion<T extends Generation | Cast> =
  | { readonly outcome: 'created'; readonly record: T; readonly cast: Cast | null; readonly cook: Cook | null }
  | { readonly outcome: 'existing'; readonly record: T }
  | {
      readonly outcome: 'refused';
      readonly parent: 'cast' | 'cook';
      readonly parentId: string;
      readonly attach: AttachResult<Cast> | AttachResult<Cook> | null;
    }
  | { readonly outcome: 'mismatch'; readonly cast: Cast };

/** The call signature of {@link LedgerRepository.insertAttached}, typed by the child's kind. */
export interface InsertAttached {
  (child: Extract<NewAttachedChild, { kind: 'generation' }>): Promise<AttachedInsertion<Generation>>;
  (child: Extract<NewAttachedChild, { kind: 'cast' }>): Promise<AttachedInsertion<Cast>>;
  (child: NewAttachedChild): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>>;
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
  readonly casts: ParentStore<Cast, GenerationContribution>;
  readonly cooks: ParentStore<Cook, ChildContribution>;
  /**
   * Optional, for stores that can do it in one round trip (one SQL statement): `generations.finish`,
   * then, if the generation is finished (by this write or an earlier one), `casts.apply` of it,
   * `cooks.apply` of it, and, when its cast has ended and is a cook piece, `cooks.apply` of that
   * cast, all as one atomic operation. It must leave exactly what that sequence of port calls
   * leaves; the tracker uses it instead of the sequence when present.
   * @experimental
   */
  readonly settleGeneration?: ((id: string, outcome: GenerationOutcome, at: Date) => Promise<Settlement | null>) | undefined;
  /**
   * Optional, for stores that can do it in one round trip (one SQL statement): a new child stored
   * and attached to all its parents as ONE atomic operation, instead of the tracker's sequence
   * (`casts.attach`, `cooks.attach`, then `generations.insert` or `casts.insert`, with `detach`s
   * when a parent refuses or the idempotency key was taken). It must leave exactly what that
   * sequence leaves when it succeeds, and otherwise write nothing at all (see
   * {@link AttachedInsertion}): the idempotency key is checked FIRST, so a repeated key gets its
   * record (`existing`) whatever its parents' state now (paused, finished, cancelled); then the
   * parents in the sequence's order (the cast's cook against `cookId`, the cast, then the cook).
   * A repeated key, also one taken by a racing call, leaves no attachment behind; an `id` that
   * exists throws a `ConflictError` and writes nothing. Whether the repeat is the same request is
   * the tracker's to judge. The tracker uses it, when present, for every creation with a parent.
   * @experimental
   */
  readonly insertAttached?: InsertAttached | undefined;
  /**
   * Optional: the store's change feed, which `tracker.watch()` reads to see changes made by other
   * processes. Without it, `watch()` throws.
   * @experimental
   */
  readonly changes?: ChangeFeed | undefined;
}
