/**
 * The apply-once gate of MongoDB roll-ups without multi-document transactions (design 12,
 * option (b)). Parents hold aggregates only; what makes each roll-up land once is:
 *
 * - **the child's intent**, `genledger: { op, to, owner, until }`, written in the same
 *   single-document write as the child's gate transition: `attach` with its insert (the child is
 *   stored hidden, `version: 0`, until its parents took it), `settle` with a generation's move to
 *   a terminal status, `piece` with the write that ends a cast that is a cook piece, `adjust:<n>`
 *   with a finished generation's n-th cost adjustment (adjust.ts), `hold` on a cast or cook stored
 *   hidden with its parent hold until the hold is taken (parent-hold.ts);
 * - **the parent's in-progress entry** `{ c: child, k: op, u: until }`, pushed by the fenced parent
 *   write (parent-apply.ts) in the same update as the figures. The write matches only while no
 *   such entry is there and while the server's `$$NOW` is before `until` (the lease);
 * - then the intent is cleared (fenced by its owner), then the entry pulled. After the intent is
 *   gone nobody starts that operation again, so the pull needs no fence. At rest a parent holds no
 *   entry: its size does not depend on its children in flight.
 *
 * A call that finds an intent it did not write leaves it to its owner, unless the owner is a call
 * of this process that has ended (a crash the host retries in the same process): then it adopts the
 * intent (same lease) and finishes it, leaving the pulls to `recover()`, because the ended call's
 * last write may still be on its way until the lease ends. Intents whose owner is gone for good
 * are taken over by `recover()` once `until + takeoverMarginMs` is behind the server's clock: from
 * then on the old owner's parent writes cannot land (their `$$NOW < until` fails).
 */
import type { ParentCaps, ParentRelease } from 'genledger/adapter';
import { ObjectId, type Collection, type Document } from 'mongodb';
import type { InProgressEntry } from '../documents.js';
import { literal } from '../expressions.js';
import { toStoredId, type StoredDocument, type StoredId } from '../ids.js';

/** An operation's key: those parents keep in progress, and `hold`, a hidden parent's own parent-hold creation (parent-hold.ts), which no parent's list names. */
export type IntentOp = InProgressEntry['k'] | 'hold';

/** The intent a child carries while a roll-up of it is under way. */
export interface Intent {
  readonly op: IntentOp;
  /** The parents it goes to (informative: the child's own links say which is which). */
  readonly to: readonly StoredId[];
  readonly owner: string;
  readonly until: Date;
  /** An attach's caps, so that `recover()` can finish it as its owner would have. */
  readonly caps?: ParentCaps;
}

/** The lease settings of the protocol (docs/mongodb.md, "Constant-size parents"). */
export interface LeaseSettings {
  /** How long an owner may take to finish an operation, from its first write. */
  readonly rollupLeaseMs: number;
  /** How far past a lease `recover()` waits before taking the operation over (clock skew). */
  readonly takeoverMarginMs: number;
  /** The most operations a parent holds in progress at once; a write beyond it waits. */
  readonly maxInProgress: number;
  /** The clock leases are computed from (the process's; the server's `$$NOW` enforces them). */
  readonly clock: () => Date;
}

/** One call's ownership of the operations it starts or adopts. */
export interface Run {
  readonly owner: string;
  readonly until: Date;
  /** An adopted operation leaves its pulls to `recover()` (see the file comment). */
  readonly adopted: boolean;
  /**
   * The parent reservations this call released (parent-hold.ts), reported beside the port
   * operation's result (`releases`) for the tracker's in-process `accountUpdate`. A run adopted or
   * taken over by a call shares that call's list.
   */
  readonly releases: ParentRelease[];
}

/** Owners of this process: which calls are still running. */
export interface Owners {
  /** A new owner for one call; `end()` when the call returns or throws. */
  begin(settings: LeaseSettings): Run & { end(): void };
  /** Whether `owner` is a call of this process that ended without finishing its operation. */
  orphaned(owner: string): boolean;
  /** A filter on `genledger.owner` matching this process's owners (running or not). */
  readonly ofThisProcess: Document;
}

export function createOwners(): Owners {
  const token = new ObjectId().toHexString();
  const running = new Set<string>();
  let calls = 0;
  return {
    begin(settings) {
      calls += 1;
      const owner = `${token}:${calls}`;
      running.add(owner);
      return { owner, until: new Date(settings.clock().getTime() + settings.rollupLeaseMs), adopted: false, releases: [], end: () => void running.delete(owner) };
    },
    orphaned: (owner) => owner.startsWith(`${token}:`) && !running.has(owner),
    ofThisProcess: { $regex: `^${token}:` },
  };
}

/** The key of a generation's n-th cost adjustment (rollup/adjust.ts): each adjustment has its own, so an entry a finished one left cannot pass for the next. */
export function adjustOp(n: number): IntentOp {
  return `adjust:${n}`;
}

export function isAdjustOp(op: unknown): op is `adjust:${number}` {
  return typeof op === 'string' && /^adjust:[1-9][0-9]*$/.test(op);
}

/** The intent stored on a child document, if any. */
export function readIntent(document: Document | null): Intent | null {
  const raw = document?.genledger as Partial<Intent> | undefined;
  if (raw === undefined || raw === null || typeof raw !== 'object') return null;
  if (raw.op !== 'attach' && raw.op !== 'settle' && raw.op !== 'piece' && raw.op !== 'hold' && !isAdjustOp(raw.op)) return null;
  if (typeof raw.owner !== 'string' || !(raw.until instanceof Date)) return null;
  const caps = raw.caps as Partial<ParentCaps> | undefined;
  const validCaps = caps !== undefined && typeof caps.maxInFlight === 'number' && typeof caps.maxEmbeddedIds === 'number';
  return { op: raw.op, to: Array.isArray(raw.to) ? raw.to : [], owner: raw.owner, until: raw.until, ...(validCaps && { caps: { maxInFlight: caps.maxInFlight!, maxEmbeddedIds: caps.maxEmbeddedIds! } }) };
}

/** The intent document a write stores (`to` may be an expression of the written document). */
export function intentDocument(op: IntentOp, to: readonly (StoredId | string)[] | Document, run: Run): Document {
  return { op, to, owner: run.owner, until: run.until };
}

/** Clears the child's intent if `run` still owns it (plus `set`); whether it did. */
export async function clearIntent(collection: Collection<StoredDocument>, childId: string, run: Run, set: Document = {}): Promise<boolean> {
  const update: Document = { $unset: { genledger: '' } };
  if (Object.keys(set).length > 0) update.$set = set;
  const result = await collection.updateOne({ _id: toStoredId(childId), 'genledger.owner': run.owner }, update);
  return result.matchedCount === 1;
}

/**
 * Removes a finished operation's entry from a parent; whether it did. Its owner pulls it without a
 * fence (nobody starts the operation again once the intent is gone). `recover()` pulls an entry
 * another call left (an adopted operation, whose ended call's write may still be on its way) only
 * with `pastLeaseByMs`: the entry goes only once the SERVER's `$$NOW` is that far past its lease,
 * as a takeover, because before then that write could land again.
 */
export async function pullEntry(collection: Collection<StoredDocument>, parentId: string, childId: string, op: IntentOp, pastLeaseByMs?: number): Promise<boolean> {
  const isIt: Document[] = [{ $eq: ['$$this.c', literal(toStoredId(childId))] }, { $eq: ['$$this.k', op] }];
  if (pastLeaseByMs !== undefined) isIt.push({ $lt: [{ $add: ['$$this.u', pastLeaseByMs] }, '$$NOW'] });
  const result = await collection.updateOne({ _id: toStoredId(parentId) }, [{ $set: { genledgerInProgress: { $filter: { input: { $ifNull: ['$genledgerInProgress', []] }, cond: { $not: [{ $and: isIt }] } } } } }]);
  return result.modifiedCount === 1;
}

/**
 * Makes `run` the owner of an intent whose owner is a call of this process that ended: same
 * lease (the ended call's writes are fenced by it too). `null` when another call got it first.
 */
export async function adoptIntent(collection: Collection<StoredDocument>, childId: string, intent: Intent, run: Run): Promise<Run | null> {
  const taken = await collection.findOneAndUpdate(
    { _id: toStoredId(childId), 'genledger.owner': intent.owner, 'genledger.op': intent.op },
    { $set: { 'genledger.owner': run.owner } },
    { returnDocument: 'before' },
  );
  return taken === null ? null : { owner: run.owner, until: intent.until, adopted: true, releases: run.releases };
}

/**
 * Takes over an intent whose lease ended more than `takeoverMarginMs` ago by the SERVER's clock,
 * with a new lease: from then on the old owner's parent writes cannot land. `null` when it is not
 * yet past (or another call took it).
 */
export async function takeOverIntent(collection: Collection<StoredDocument>, childId: string, intent: Intent, run: Run, settings: LeaseSettings): Promise<Run | null> {
  const taken = await collection.findOneAndUpdate(
    {
      _id: toStoredId(childId),
      'genledger.owner': intent.owner,
      'genledger.until': intent.until,
      $expr: { $lt: [{ $add: ['$genledger.until', settings.takeoverMarginMs] }, '$$NOW'] },
    },
    { $set: { 'genledger.owner': run.owner, 'genledger.until': run.until } },
    { returnDocument: 'before' },
  );
  return taken === null ? null : { owner: run.owner, until: run.until, adopted: false, releases: run.releases };
}

/** The in-progress entries stored on a parent. */
export function readEntries(document: Document | null): InProgressEntry[] {
  const raw = document?.genledgerInProgress;
  return Array.isArray(raw) ? (raw as InProgressEntry[]) : [];
}

/** Whether the parent holds the entry of (child, op). */
export function hasEntry(document: Document | null, childId: string, op: IntentOp, live = false): boolean {
  const child = String(toStoredId(childId));
  return readEntries(document).some((entry) => String(entry.c) === child && entry.k === op && (!live || entry.x !== true));
}
