/**
 * Parent holds (`startCast/startCook({ hold })`, the domain's parent-hold.ts) on MongoDB, exact
 * without multi-document transactions, by the same gates as a generation's hold (docs/mongodb.md,
 * "Parent holds").
 *
 * Taking one (`casts.insert`/`cooks.insert` with `accounting.hold`):
 *
 * 1. The key, read: a visible holder is the answer (no second hold). A hidden one whose creation
 *    was this process's and ended (the host's retry after a crash) is adopted and finished: the
 *    retry reuses the first attempt's parent id, so it can never take a second hold. A hidden one
 *    another call is creating (a concurrent duplicate) is waited for, up to its lease.
 * 2. `parentHoldAtCreation` on the account as read: `limited` writes nothing.
 * 3. `insertOne` of the parent, hidden (`version: 0`), with its `hold` intent (owner, lease, the
 *    units) and `genledgerHeld: 'held'`: the unique key index makes this the gate.
 * 4. Its budget document, with the reservation (`free` = the units), inserted (a repeat keeps it).
 * 5. The account's `hold` entry: an account write (accounts/apply.ts), key
 *    `hold:parent:<kind>:<id>`, fenced by the lease. `insufficient` (a write took the room since
 *    2): the hidden parent is deleted (owner-fenced), then its budget, and the call is `limited`;
 *    a parent recover() took over meanwhile is left to it, budget included (LeaseExpiredError).
 * 6. The intent cleared and `version: 1` set in one owner-fenced write: the parent is visible,
 *    so no child can join it before its reservation and its account's hold are in place.
 *
 * Releasing it, once, when the parent ends (whatever write ended it):
 *
 * 1. The budget: one versioned write from `status: 'held'` to `'released'`, `free` to zero, and
 *    `released` = what `free` was (the gate: a second release finds it released and reads
 *    `released`). Versioned like every budget write, so no child's settlement spends that free
 *    amount in between.
 * 2. The account's `release` entry (`releaseReservation`), key `release:parent:<kind>:<id>`.
 * 3. `genledgerHeld: 'released'` on the parent.
 *
 * Each step is repeatable by anyone (no owner: the gates are the reservation's status and the
 * entry's key). The write that ends a parent runs them right after; a crash between leaves the
 * parent terminal with `genledgerHeld: 'held'`, which `recover()` finds and finishes.
 */
import type { Document } from 'mongodb';
import { ConflictError, isTerminalParentStatus, type Cast, type Cook, type Units } from 'genledger';
import {
  parentHoldAtCreation,
  parentHoldBudget,
  releaseReservation,
  type Insertion,
  type LimitedInsertion,
  type ParentHeldCreation,
  type ParentHoldDecision,
  type ParentRelease,
  type ReleasedReservations,
} from 'genledger/adapter';
import { isDuplicateKeyError } from '../conditional-write.js';
import { fromCastDocument, fromCookDocument, toCastDocument, toCookDocument } from '../documents.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { applyToAccount } from '../accounts/apply.js';
import { releaseParentReservation, storeBudget } from '../accounts/budgets.js';
import { budgetId, fromAccountDocument, fromUnitsDocument, parentKey, toUnitsDocument } from '../accounts/documents.js';
import { isHidden, type ParentKind, type RollupContext } from './context.js';
import { adoptIntent, clearIntent, intentDocument, readIntent, type Run } from './intents.js';
import { LeaseExpiredError } from './parent-apply.js';

type Parent = Cast | Cook;
type Held = Extract<ParentHoldDecision, { outcome: 'held' }>;
export type HeldParentInsertion<T extends Parent> = (Insertion<T> & ParentHeldCreation) | LimitedInsertion;

/** The parent hold's state on the parent's document: `held` from its insert until its release has landed. */
export const HELD = 'held';
export const RELEASED = 'released';

function collectionOf(context: RollupContext, kind: ParentKind) {
  return kind === 'cast' ? context.casts : context.cooks;
}

function readParent(kind: ParentKind, document: Document): Parent {
  return kind === 'cast' ? fromCastDocument(document) : fromCookDocument(document);
}

/** Steps 4 to 6 for a hidden parent owned by `run` (its creation, or a retry's or recover()'s that adopted it). */
async function driveParentHold<T extends Parent>(context: RollupContext, kind: ParentKind, record: T, units: Units, run: Run): Promise<HeldParentInsertion<T>> {
  const { accounts, settings } = context;
  const at = record.updatedAt;
  const budget = parentHoldBudget(kind, record.id, record.initiatorAccountId, units);
  await storeBudget(accounts.budgets, kind, record.id, units, budget);
  const key = parentKey('hold', kind, record.id);
  const taken = await applyToAccount<Held | LimitedInsertion>(
    accounts,
    record.initiatorAccountId,
    [key],
    (account, found) => {
      const entry = found[0];
      if (entry !== undefined) return { kind: 'answer', result: { outcome: 'held', account, entry, budget } };
      // The domain's decision, as at step 2, now on the account this write replaces.
      const decided = parentHoldAtCreation(kind, record.id, record.initiatorAccountId, account, units, at);
      if (decided.outcome !== 'held') return { kind: 'answer', result: decided };
      return { kind: 'write', account: decided.account, entries: [decided.entry], result: decided };
    },
    { run, settings },
  );
  const own = collectionOf(context, kind);
  if (taken.outcome === 'limited') {
    // Nothing joined the hidden parent, so its budget is its alone: both go, the parent first and
    // fenced by its owner. If recover() took the creation over (this call outlived its lease), the
    // parent and its budget are its to finish: it may have taken the hold, and a budget deleted
    // under it would leave that hold with no reservation to release.
    const deleted = await own.deleteOne({ _id: toStoredId(record.id), version: 0, 'genledger.owner': run.owner });
    if (deleted.deletedCount !== 1) throw new LeaseExpiredError(`the parent hold of ${kind} "${record.id}"`);
    await accounts.budgets.deleteOne({ _id: budgetId(kind, record.id) });
    return taken;
  }
  if (!(await clearIntent(own, record.id, run, { version: 1 }))) {
    // recover() took the creation over (this call outlived its lease): the answer is its to give.
    throw new LeaseExpiredError(`the parent hold of ${kind} "${record.id}"`);
  }
  return { created: true, record, held: taken };
}

/** The units a hidden parent's `hold` intent carries (step 3). */
function intentUnits(document: Document): Units {
  return fromUnitsDocument((document.genledger as Document | undefined)?.units);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The answer for a stored holder of the key: the record (no hold taken). A hidden one whose
 * creation was this process's and ended is adopted and finished first. A hidden one another call
 * is still creating is waited for (until its lease ends): a duplicate answers with the parent as
 * it is once its hold is taken, so the tracker's comparison of the request with the stored hold
 * reads the finished budget; `null` when that creation was refused meanwhile (the parent deleted:
 * the caller starts again).
 */
async function fromHolder<T extends Parent>(context: RollupContext, kind: ParentKind, holder: Document, run: Run): Promise<HeldParentInsertion<T> | null> {
  const own = collectionOf(context, kind);
  let current: Document | null = holder;
  for (let attempt = 1; current !== null && isHidden(current); attempt += 1) {
    const intent = readIntent(current);
    if (intent === null || intent.op !== 'hold') break;
    if (context.owners.orphaned(intent.owner)) {
      const adopted = await adoptIntent(own, readParent(kind, current).id, intent, run);
      if (adopted !== null) {
        const finished = await driveParentHold(context, kind, readParent(kind, current) as T, intentUnits(current), adopted);
        if ('outcome' in finished) return finished;
        return { created: false, record: finished.record };
      }
    } else if (context.settings.clock() >= intent.until) {
      break; // Its owner is gone: recover() finishes it; reported as it will read then.
    } else {
      await pause(Math.min(attempt, 20));
    }
    current = await own.findOne({ _id: holder._id });
  }
  if (current === null) return null;
  return { created: false, record: readParent(kind, current) as T };
}

/** `casts.insert`/`cooks.insert` with a parent hold (steps 1 to 6 above). */
export async function insertHeldParent<T extends Parent>(context: RollupContext, kind: ParentKind, record: T, units: Units, flags: Document): Promise<HeldParentInsertion<T>> {
  const run = context.owners.begin(context.settings);
  try {
    const own = collectionOf(context, kind);
    const key = record.idempotencyKey;
    if (key !== null) {
      const holder = await own.findOne({ idempotencyKey: key });
      if (holder !== null) {
        const answer = await fromHolder<T>(context, kind, holder, run);
        if (answer !== null) return answer;
      }
    }
    const stored = await context.accounts.accounts.findOne({ _id: toStoredId(record.initiatorAccountId) });
    const account = stored === null || stored.version === 0 ? null : fromAccountDocument(stored);
    const decided = parentHoldAtCreation(kind, record.id, record.initiatorAccountId, account, units, record.updatedAt);
    if (decided.outcome === 'limited') return decided;
    const document: StoredDocument = {
      ...(kind === 'cast' ? toCastDocument(record as Cast) : toCookDocument(record as Cook)),
      ...flags,
      version: 0,
      genledger: { ...intentDocument('hold', [], run), units: toUnitsDocument(units) },
      genledgerBudget: true,
      genledgerHeld: HELD,
    };
    try {
      await own.insertOne(document);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const holder = key === null ? null : await own.findOne({ idempotencyKey: key });
      // A racing call with the same key stored its parent first: that parent is the answer.
      if (holder !== null) {
        const answer = await fromHolder<T>(context, kind, holder, run);
        // That creation was refused and its parent deleted: this call's own attempt, from the start.
        return answer ?? (await insertHeldParent(context, kind, record, units, flags));
      }
      throw new ConflictError('id', `a ${kind} with id "${record.id}" already exists`, error);
    }
    return await driveParentHold(context, kind, record, units, run);
  } finally {
    run.end();
  }
}

/** Finishes a hidden parent's hold whose owner is gone (recover()'s takeover or adoption, `run`). */
export async function finishParentHold(context: RollupContext, kind: ParentKind, document: Document, run: Run): Promise<void> {
  await driveParentHold(context, kind, readParent(kind, document), intentUnits(document), run);
}

/**
 * Releases an ended parent's reservation (steps 1 to 3 of the release above). Safe to run again
 * and by anyone: each step finds what an earlier run landed. Returns the release when this call
 * wrote its entry (`null`: nothing was free, or an earlier run wrote it).
 */
export async function releaseParentHold(context: RollupContext, kind: ParentKind, id: string, at: Date): Promise<ParentRelease | null> {
  const { accounts } = context;
  const released = await releaseParentReservation(accounts.budgets, { kind, id });
  let wrote: ParentRelease | null = null;
  if (released !== null) {
    wrote = await applyToAccount<ParentRelease | null>(
      accounts,
      released.reservation!.accountId,
      [parentKey('release', kind, id)],
      (account, found) => {
        if (found.length > 0) return { kind: 'answer', result: null };
        // The reservation as the budget write found it (held, with what was free then): the
        // domain's release writes the one entry naming the parent, or none when nothing was free.
        const written = releaseReservation(released, account, at);
        if (written === null || written.entries.length === 0) return { kind: 'answer', result: null };
        return { kind: 'write', account: written.account, entries: written.entries, result: written };
      },
      null,
    );
  }
  await collectionOf(context, kind).updateOne({ _id: toStoredId(id), genledgerHeld: HELD }, { $set: { genledgerHeld: RELEASED } });
  return wrote;
}

/** Keeps a release this call wrote on its run, for the port result's `releases`. */
export function keepRelease(run: Run, release: ParentRelease | null): void {
  if (release !== null) run.releases.push(release);
}

/** `result` with the releases `run` made (`releases`), as the port reports them. */
export function withReleases<T extends object>(result: T | null, run: Run): (T & ReleasedReservations) | null {
  return result === null || run.releases.length === 0 ? result : { ...result, releases: [...run.releases] };
}

/** Whether a parent document (as read or as a write's before-image) carries a parent hold not yet released. */
export function holdsReservation(document: Document | null): boolean {
  return document?.genledgerHeld === HELD;
}

/**
 * Releases the parent's reservation if the parent (as read now) has ended with one not yet
 * released: for a write that may have ended it without its before-image (a cook's transition,
 * a piece's detach, reconcile), and for a repeat finishing a release a crash cut short.
 */
export async function releaseIfEnded(context: RollupContext, kind: ParentKind, id: string, at: Date): Promise<ParentRelease | null> {
  const document = await collectionOf(context, kind).findOne({ _id: toStoredId(id), genledgerHeld: HELD });
  if (document === null || isHidden(document) || !isTerminalParentStatus(readParent(kind, document).status)) return null;
  return releaseParentHold(context, kind, id, at);
}
