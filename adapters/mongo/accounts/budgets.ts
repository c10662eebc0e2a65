/**
 * Parents' budgets, one document each (`genledgerBudgets`, `_id: "<kind>:<parentId>"`), written
 * before their parent is inserted, so no child can join a budgeted parent before its budget
 * exists. A child's hold is counted in its parents' budgets by its creation's owner, after the
 * parents took the child and before the account does; settled by the owner of its `settle`
 * intent. Each budget write is one `updateOne` filtered on the budget's `version` as read and the
 * owner's lease, with the figures the domain computed (`holdInBudget`, `settleInBudget`) and, as
 * on a parent, an in-progress entry `{ c: child, k: op, u: lease }` that makes it land once while
 * the child's intent lives; the entry is pulled once the intent is cleared (or by `recover()`).
 *
 * - count (`attach`): refused (`overBudget`) when spent + held + the hold would pass the limit,
 *   or the child brings no hold in a unit the budget limits: nothing written.
 * - undo (a later budget or the account refused the child): the hold leaves `held` again, and the
 *   entry is marked `x: true` (undone) until the creation's intent is gone.
 * - settle: the hold leaves `held`, what was captured joins `spent`.
 */
import type { Collection, Document } from 'mongodb';
import { type AccountAmount, type Budget, type Hold, type Units } from 'genledger';
import {
  drawFromReservation,
  holdInBudget,
  newBudget,
  returnDraw,
  settleInBudget,
  settleInReservation,
  type BudgetRef,
  type BudgetRefusal,
  type Charge,
  type ReservationPool,
} from 'genledger/adapter';
import { isDuplicateKeyError } from '../conditional-write.js';
import { literal } from '../expressions.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { pullEntry, readEntries, type Run } from '../rollup/intents.js';
import { LeaseExpiredError } from '../rollup/parent-apply.js';
import type { AccountFence } from './apply.js';
import { ZERO_AMOUNT, budgetId, fromAmountDocument, fromBudgetDocument, releasedAmount, toAmountDocument, toReservationDocument, toUnitsDocument } from './documents.js';

type BudgetOp = 'attach' | 'settle';

/**
 * A budgeted parent says so on its own document, written with it, so a creation learns which
 * budgets it joins from the parents it reads anyway, and a parent without one costs no budget
 * read: `genledgerBudget: true` on a cast or cook with a budget, `genledgerCookBudget: true` on a
 * cast piece whose cook has one (a step's creation reads its cast, not the cook).
 */
export function budgetFlags(budget: Units | null | undefined, cook: Document | null): Document {
  return { ...(budget && { genledgerBudget: true }), ...(cook?.genledgerBudget === true && { genledgerCookBudget: true }) };
}

/** The budgets a child of `parent` (as read) joins, by its flags: its own, then (a cast's) its cook's. */
export function budgetedParents(parent: Document, kind: 'cast' | 'cook', id: string, cookId: string | null): BudgetRef[] {
  const refs: BudgetRef[] = [];
  if (parent.genledgerBudget === true) refs.push({ kind, id });
  if (kind === 'cast' && cookId !== null && parent.genledgerCookBudget === true) refs.push({ kind: 'cook', id: cookId });
  return refs;
}

/**
 * Stores a parent's budget (before the parent: see above; a parent hold's budget, with its
 * reservation, after the hidden parent: parent-hold.ts). A repeat leaves the stored one.
 */
export async function storeBudget(budgets: Collection<StoredDocument>, kind: 'cast' | 'cook', parentId: string, limit: Units, held: Budget | null = null): Promise<void> {
  const budget = held ?? newBudget(kind, parentId, limit);
  try {
    await budgets.insertOne({
      _id: budgetId(kind, parentId),
      parentKind: kind,
      parentId: toStoredId(parentId),
      limit: toUnitsDocument(limit),
      held: toAmountDocument(budget.held),
      spent: toAmountDocument(budget.spent),
      ...(budget.reservation && { reservation: toReservationDocument(budget.reservation) }),
      version: 1,
      genledgerInProgress: [],
    });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export async function readBudget(budgets: Collection<StoredDocument>, ref: BudgetRef): Promise<Budget | null> {
  const document = await readBudgetDocument(budgets, ref);
  return document === null ? null : fromBudgetDocument(document);
}

/** A budget's stored document, as a creation reads it to decide its hold; its count starts from it (`countInBudget`). */
export function readBudgetDocument(budgets: Collection<StoredDocument>, ref: BudgetRef): Promise<Document | null> {
  return budgets.findOne({ _id: budgetId(ref.kind, ref.id) }) as Promise<Document | null>;
}

type Decision<R> =
  /** Write `budget`'s figures (and reservation), `entries` as the new in-progress list (an expression of the stored one), and `reservation` when given (a release's, with what it took). */
  | { readonly kind: 'write'; readonly budget: Budget; readonly entries: Document; readonly result: R; readonly reservation?: Document }
  | { readonly kind: 'answer'; readonly result: R };

const ATTEMPTS = 1_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One versioned budget write, fenced by the owner's lease when `fence` is given (a parent
 * hold's release has no owner: its gate is the reservation's status, held then released);
 * `null` when the budget does not exist.
 */
async function budgetWrite<R>(
  budgets: Collection<StoredDocument>,
  ref: BudgetRef,
  fence: AccountFence | null,
  decide: (budget: Budget, document: Document) => Decision<R>,
  /** The document as this call read it already: the first attempt starts from it (the version filter catches a change since). */
  preread: Document | null = null,
): Promise<R | null> {
  const _id = budgetId(ref.kind, ref.id);
  let first = preread;
  /** The version the write last missed on: read again unchanged, only the lease can have failed it (as in apply.ts). */
  let missedVersion: number | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const document = first ?? (await budgets.findOne({ _id }));
    first = null;
    if (document === null) return null;
    const version = typeof document.version === 'number' ? document.version : 0;
    if (version === missedVersion) throw new LeaseExpiredError(`the write on the budget of ${ref.kind} "${ref.id}"`);
    const decision = decide(fromBudgetDocument(document), document);
    if (decision.kind === 'answer') return decision.result;
    // A released reservation is left as stored: its `released` amount is what a repeat of the
    // release writes on the account, and only the release itself sets it.
    const reservation = decision.reservation ?? (decision.budget.reservation?.status === 'held' ? toReservationDocument(decision.budget.reservation) : undefined);
    const filter: Document = { _id, version };
    if (fence !== null) filter.$expr = { $lt: ['$$NOW', literal(fence.run.until)] };
    const written = await budgets.updateOne(filter, [
      {
        $set: {
          held: literal(toAmountDocument(decision.budget.held)),
          spent: literal(toAmountDocument(decision.budget.spent)),
          ...(reservation !== undefined && { reservation: literal(reservation) }),
          version: version + 1,
          genledgerInProgress: decision.entries,
        },
      },
    ]);
    if (written.matchedCount === 1) return decision.result;
    if (fence === null) {
      if (attempt >= ATTEMPTS) throw new Error(`[genledger] [mongo] the write on the budget of ${ref.kind} "${ref.id}" missed ${ATTEMPTS} times in a row: other writes kept changing it`);
      if (attempt > 1) await pause(Math.random() * Math.min(attempt, 16));
      continue;
    }
    missedVersion = version;
    if (fence.settings.clock() >= fence.run.until) throw new LeaseExpiredError(`the write on the budget of ${ref.kind} "${ref.id}"`);
    if (attempt >= ATTEMPTS) throw new Error(`[genledger] [mongo] the write on the budget of ${ref.kind} "${ref.id}" missed ${ATTEMPTS} times in a row: other writes kept changing it`);
    if (attempt > 1) await pause(Math.random() * Math.min(attempt, 16));
  }
}

/**
 * The stored entries plus this child's (op) entry; `more` are its extra fields: `d: true` on an
 * attach that drew on the budget's reservation, `p` on a drawing child's settle (what the
 * reservation gave its account's settlement; absent when the reservation was released), so a
 * repeat of the operation (a retry, `recover()`) continues exactly as the write decided.
 */
function pushed(childId: string, op: BudgetOp, run: Run, more: Document = {}): Document {
  return { $concatArrays: [{ $ifNull: ['$genledgerInProgress', []] }, [literal({ c: toStoredId(childId), k: op, u: run.until, ...more })]] };
}

/** The stored entry of (child, op), if any. */
function entryOf(document: Document, childId: string, op: BudgetOp): Document | undefined {
  const child = String(toStoredId(childId));
  return readEntries(document).find((entry) => String(entry.c) === child && entry.k === op) as Document | undefined;
}

/** Whether `hold` draws on `ref`'s reservation (its `drawsOn`: decided at creation by `holdAtCreation`). */
function drawsOnBudget(hold: Hold, ref: BudgetRef): boolean {
  return hold.drawsOn?.kind === ref.kind && hold.drawsOn.id === ref.id;
}

/** `drew`: the hold was taken from the budget's reservation (the account holds only what lies beyond the parent's units). */
export type BudgetCount = { readonly outcome: 'counted'; readonly budget: Budget; readonly drew: boolean } | { readonly outcome: 'undone' } | BudgetRefusal;

/**
 * Counts the hold of a child being created in one budget (`null`: the budget does not exist).
 * A hold that draws on this budget's reservation takes its part from `free` in the same write,
 * while the reservation is held; once released (the parent ended since the child's creation
 * decided), the account holds it all, as any hold.
 */
export function countInBudget(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, fence: AccountFence, preread: Document | null = null): Promise<BudgetCount | null> {
  return budgetWrite<BudgetCount>(budgets, ref, fence, (budget, document) => {
    const entry = entryOf(document, hold.generationId, 'attach');
    if (entry !== undefined) return { kind: 'answer', result: entry.x === true ? { outcome: 'undone' } : { outcome: 'counted', budget, drew: entry.d === true } };
    const decided = holdInBudget(budget, hold.units);
    if (decided.outcome !== 'counted') return { kind: 'answer', result: decided };
    if (drawsOnBudget(hold, ref) && decided.budget.reservation?.status === 'held') {
      const drawn = drawFromReservation(decided.budget, hold.units);
      // A guard: a hold the budget counted always fits in the reservation's free part (domain parent-hold.ts).
      if (drawn === null) return { kind: 'answer', result: { outcome: 'overBudget', budget, unit: 'points', requested: ZERO_AMOUNT, held: true } };
      return { kind: 'write', budget: drawn.budget, entries: pushed(hold.generationId, 'attach', fence.run, { d: true }), result: { outcome: 'counted', budget: drawn.budget, drew: true } };
    }
    return { kind: 'write', budget: decided.budget, entries: pushed(hold.generationId, 'attach', fence.run), result: { outcome: 'counted', budget: decided.budget, drew: false } };
  }, preread);
}

/**
 * Undoes a child's count in one budget, marking its entry undone. A drawn part goes back to the
 * reservation's `free` while it is held (`returnDraw`); `release` is a drawn part whose
 * reservation was released since: still held on the account for nobody, for the caller to
 * release there. `null` when there was nothing to undo.
 */
export async function undoInBudget(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, fence: AccountFence): Promise<{ readonly release: AccountAmount | null } | null> {
  const child = toStoredId(hold.generationId);
  const marked: Document = {
    $map: {
      input: { $ifNull: ['$genledgerInProgress', []] },
      in: { $cond: [{ $and: [{ $eq: ['$$this.c', literal(child)] }, { $eq: ['$$this.k', 'attach'] }] }, { $mergeObjects: ['$$this', { x: true }] }, '$$this'] },
    },
  };
  return budgetWrite(budgets, ref, fence, (budget, document) => {
    const entry = entryOf(document, hold.generationId, 'attach');
    if (entry === undefined || entry.x === true) return { kind: 'answer', result: null };
    const counted = settleInBudget(budget, hold.units, ZERO_AMOUNT);
    if (entry.d !== true) return { kind: 'write', budget: counted, entries: marked, result: { release: null } };
    const returned = returnDraw(counted, hold.units);
    return { kind: 'write', budget: returned.budget, entries: marked, result: { release: returned.release } };
  });
}

/** A child's settlement in one budget: the budget after it (`null`: it landed before), and for the budget its hold drew on, the pool its account settles with. */
export interface BudgetSettlement {
  readonly budget: Budget | null;
  /** `settleInReservation`'s pool (`null`: the reservation was released, or the hold never drew on it). */
  readonly pool: ReservationPool | null;
}

/**
 * Settles a finished child's hold in one budget (`null`: the budget is gone). For the budget the
 * hold drew on, the reservation's side is decided here, before the account
 * (`settleInReservation`), and kept on the settle entry (`p`), so a repeat settles the account
 * with the same pool; the version filter serialises it with other children's settlements and
 * the parent's release, so no two of them spend the same free amount.
 */
export async function settleInBudgetDocument(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, charge: Charge, fence: AccountFence): Promise<BudgetSettlement | null> {
  const drawing = drawsOnBudget(hold, ref);
  return budgetWrite<BudgetSettlement>(budgets, ref, fence, (budget, document) => {
    const entry = entryOf(document, hold.generationId, 'settle');
    if (entry !== undefined) return { kind: 'answer', result: { budget: null, pool: entry.p == null ? null : { units: budget.limit, free: fromAmountDocument(entry.p) } } };
    const settled = settleInReservation(drawing ? budget : { ...budget, reservation: null }, hold.units, charge);
    const after: Budget = drawing ? settled.budget : { ...settled.budget, reservation: budget.reservation };
    const more = settled.pool === null ? {} : { p: toAmountDocument(settled.pool.free) };
    return { kind: 'write', budget: after, entries: pushed(hold.generationId, 'settle', fence.run, more), result: { budget: after, pool: settled.pool } };
  });
}

/**
 * A parent hold's release on its budget (rollup/parent-hold.ts): from `held` to `released` in one
 * versioned write, `free` to zero and `released` set to what it was, so no child's settlement
 * spends that amount after. Returns the budget with its reservation as the release found it
 * (`held`, with the free amount it released: what the account's release entry is), whether this
 * call wrote it or an earlier one; `null` when the parent has no reservation (or no budget).
 */
export async function releaseParentReservation(budgets: Collection<StoredDocument>, ref: BudgetRef): Promise<Budget | null> {
  const found = await budgetWrite<Budget | null>(budgets, ref, null, (budget, document) => {
    const reservation = budget.reservation;
    if (!reservation) return { kind: 'answer', result: null };
    if (reservation.status !== 'held') return { kind: 'answer', result: { ...budget, reservation: { ...reservation, status: 'held', free: releasedAmount(document) ?? ZERO_AMOUNT } } };
    const released = { ...reservation, free: ZERO_AMOUNT, status: 'released' as const };
    return { kind: 'write', budget: { ...budget, reservation: released }, entries: { $ifNull: ['$genledgerInProgress', []] }, reservation: toReservationDocument(released, reservation.free), result: budget };
  });
  return found ?? null;
}

/** Pulls a child's entries of `op` from its budgets (once its intent is cleared). */
export async function pullBudgetEntries(budgets: Collection<StoredDocument>, refs: readonly BudgetRef[], childId: string, op: BudgetOp): Promise<void> {
  for (const ref of refs) await pullEntry(budgets, budgetId(ref.kind, ref.id), childId, op);
}

