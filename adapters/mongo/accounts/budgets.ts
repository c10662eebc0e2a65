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
import { holdInBudget, newBudget, settleInBudget, type BudgetRef, type BudgetRefusal } from 'genledger/adapter';
import { isDuplicateKeyError } from '../conditional-write.js';
import { literal } from '../expressions.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { hasEntry, pullEntry, type Run } from '../rollup/intents.js';
import { LeaseExpiredError } from '../rollup/parent-apply.js';
import type { AccountFence } from './apply.js';
import { ZERO_AMOUNT, budgetId, fromBudgetDocument, toAmountDocument, toUnitsDocument } from './documents.js';

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

/** Stores a parent's budget (before the parent: see above). A repeat leaves the stored one. */
export async function storeBudget(budgets: Collection<StoredDocument>, kind: 'cast' | 'cook', parentId: string, limit: Units): Promise<void> {
  const budget = newBudget(kind, parentId, limit);
  try {
    await budgets.insertOne({
      _id: budgetId(kind, parentId),
      parentKind: kind,
      parentId: toStoredId(parentId),
      limit: toUnitsDocument(limit),
      held: toAmountDocument(budget.held),
      spent: toAmountDocument(budget.spent),
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

type Decision<R> = { readonly kind: 'write'; readonly budget: Budget; readonly entries: Document; readonly result: R } | { readonly kind: 'answer'; readonly result: R };

const ATTEMPTS = 1_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One fenced, versioned budget write; `null` when the budget does not exist. */
async function budgetWrite<R>(
  budgets: Collection<StoredDocument>,
  ref: BudgetRef,
  fence: AccountFence,
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
    const written = await budgets.updateOne({ _id, version, $expr: { $lt: ['$$NOW', literal(fence.run.until)] } }, [
      {
        $set: {
          held: literal(toAmountDocument(decision.budget.held)),
          spent: literal(toAmountDocument(decision.budget.spent)),
          version: version + 1,
          genledgerInProgress: decision.entries,
        },
      },
    ]);
    if (written.matchedCount === 1) return decision.result;
    missedVersion = version;
    if (fence.settings.clock() >= fence.run.until) throw new LeaseExpiredError(`the write on the budget of ${ref.kind} "${ref.id}"`);
    if (attempt >= ATTEMPTS) throw new Error(`[genledger] [mongo] the write on the budget of ${ref.kind} "${ref.id}" missed ${ATTEMPTS} times in a row: other writes kept changing it`);
    if (attempt > 1) await pause(Math.random() * Math.min(attempt, 16));
  }
}

/** The stored entries plus this child's (op) entry. */
function pushed(childId: string, op: BudgetOp, run: Run): Document {
  return { $concatArrays: [{ $ifNull: ['$genledgerInProgress', []] }, [literal({ c: toStoredId(childId), k: op, u: run.until })]] };
}

export type BudgetCount = { readonly outcome: 'counted'; readonly budget: Budget } | { readonly outcome: 'undone' } | BudgetRefusal;

/** Counts the hold of a child being created in one budget (`null`: the budget does not exist). */
export function countInBudget(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, fence: AccountFence, preread: Document | null = null): Promise<BudgetCount | null> {
  return budgetWrite<BudgetCount>(budgets, ref, fence, (budget, document) => {
    if (hasEntry(document, hold.generationId, 'attach')) {
      return { kind: 'answer', result: hasEntry(document, hold.generationId, 'attach', true) ? { outcome: 'counted', budget } : { outcome: 'undone' } };
    }
    const decided = holdInBudget(budget, hold.units);
    if (decided.outcome !== 'counted') return { kind: 'answer', result: decided };
    return { kind: 'write', budget: decided.budget, entries: pushed(hold.generationId, 'attach', fence.run), result: decided };
  }, preread);
}

/** Undoes a child's count in one budget, marking its entry undone; whether it did. */
export async function undoInBudget(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, fence: AccountFence): Promise<boolean> {
  const child = toStoredId(hold.generationId);
  const marked: Document = {
    $map: {
      input: { $ifNull: ['$genledgerInProgress', []] },
      in: { $cond: [{ $and: [{ $eq: ['$$this.c', literal(child)] }, { $eq: ['$$this.k', 'attach'] }] }, { $mergeObjects: ['$$this', { x: true }] }, '$$this'] },
    },
  };
  const undone = await budgetWrite<boolean>(budgets, ref, fence, (budget, document) => {
    if (!hasEntry(document, hold.generationId, 'attach', true)) return { kind: 'answer', result: false };
    return { kind: 'write', budget: settleInBudget(budget, hold.units, ZERO_AMOUNT), entries: marked, result: true };
  });
  return undone === true;
}

/** Settles a finished child's hold in one budget: `null` when it landed before (or the budget is gone). */
export async function settleInBudgetDocument(budgets: Collection<StoredDocument>, ref: BudgetRef, hold: Hold, captured: AccountAmount, fence: AccountFence): Promise<Budget | null> {
  return budgetWrite<Budget | null>(budgets, ref, fence, (budget, document) => {
    if (hasEntry(document, hold.generationId, 'settle')) return { kind: 'answer', result: null };
    const settled = settleInBudget(budget, hold.units, captured);
    return { kind: 'write', budget: settled, entries: pushed(hold.generationId, 'settle', fence.run), result: settled };
  });
}

/** Pulls a child's entries of `op` from its budgets (once its intent is cleared). */
export async function pullBudgetEntries(budgets: Collection<StoredDocument>, refs: readonly BudgetRef[], childId: string, op: BudgetOp): Promise<void> {
  for (const ref of refs) await pullEntry(budgets, budgetId(ref.kind, ref.id), childId, op);
}

