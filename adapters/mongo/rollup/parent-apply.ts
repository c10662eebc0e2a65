/**
 * The fenced parent write of a roll-up (intents.ts): one `findOneAndUpdate` on the parent whose
 * filter is the domain rule's precondition AND the gate (no in-progress entry of this child and
 * operation yet; room in the in-progress list; the server's `$$NOW` before the lease's end), and
 * whose pipeline is the reducer's change plus the entry. The result is the reducer run on the
 * before-image (conditional-write.ts says why that is the stored after-image).
 */
import type { Collection, Document } from 'mongodb';
import { literal } from '../expressions.js';
import { allOf } from '../filters.js';
import type { WritePlan } from '../generation-writes.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { hasEntry, readEntries, type IntentOp, type LeaseSettings, type Run } from './intents.js';

/** What a fenced write found. */
export type FencedOutcome =
  /** It landed: the before-image. */
  | { readonly kind: 'written'; readonly before: Document }
  /** The entry is there: the operation landed already (a repeat, a racing helper, reconcile). */
  | { readonly kind: 'done'; readonly current: Document }
  /** The domain precondition is false (an attach to a closed or full parent). */
  | { readonly kind: 'refused'; readonly current: Document }
  /** No such parent. */
  | null;

/** The lease ended before the operation could finish: `recover()` takes it over. */
export class LeaseExpiredError extends Error {
  constructor(what: string) {
    super(`[genledger] [mongo] the roll-up lease ended before ${what} could land; recover() (tracker.sweepStale) finishes the operation`);
    this.name = 'LeaseExpiredError';
  }
}

const ATTEMPTS = 4;
/** How long a write waits for room in a full in-progress list, at most, in all. */
const FULL_WAIT_MS = 2_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function leaseFence(run: Run): Document {
  return { $expr: { $lt: ['$$NOW', literal(run.until)] } };
}

/**
 * Runs `plan` on the parent once for (child, op). `refuses` tells, on the document as read after
 * a miss, whether the domain precondition is what failed (attaches only).
 */
export async function fencedParentWrite(
  collection: Collection<StoredDocument>,
  parentId: string,
  childId: string,
  op: IntentOp,
  run: Run,
  plan: WritePlan,
  settings: LeaseSettings,
  refuses: (current: Document) => boolean = () => false,
): Promise<FencedOutcome> {
  const _id = toStoredId(parentId);
  const child = toStoredId(childId);
  const filter = allOf(
    plan.filter,
    { genledgerInProgress: { $not: { $elemMatch: { c: child, k: op } } } },
    { [`genledgerInProgress.${settings.maxInProgress - 1}`]: { $exists: false } },
    leaseFence(run),
  );
  const entry = { c: child, k: op, u: run.until };
  const update = [...plan.update, { $set: { genledgerInProgress: { $concatArrays: [{ $ifNull: ['$genledgerInProgress', []] }, [literal(entry)]] } } }];
  const waitUntil = Date.now() + FULL_WAIT_MS;
  for (let attempt = 1; ; attempt += 1) {
    const before = await collection.findOneAndUpdate({ ...filter, _id }, update, { returnDocument: 'before' });
    if (before !== null) return { kind: 'written', before };
    const current = await collection.findOne({ _id });
    if (current === null) return null;
    if (hasEntry(current, childId, op)) return { kind: 'done', current };
    if (settings.clock() >= run.until) throw new LeaseExpiredError(`the ${op} of "${childId}" on "${parentId}"`);
    if (refuses(current)) return { kind: 'refused', current };
    if (readEntries(current).length >= settings.maxInProgress && Date.now() < waitUntil) {
      // Full of operations in progress (each lasts a few round trips): wait for room.
      attempt -= 1;
      await pause(1 + Math.floor(Math.random() * 10));
      continue;
    }
    if (attempt >= ATTEMPTS) {
      throw new Error(
        `[genledger] [mongo] the ${op} of "${childId}" on "${parentId}" did not match although the parent takes it; either the document kept changing (${ATTEMPTS} attempts), its in-progress list stayed full (maxInProgress ${settings.maxInProgress}), the server's clock is past the lease, or a stored value is spelt in a way the adapter's filters do not recognise (run the legacy audit)`,
      );
    }
  }
}

/**
 * Undoes this creation's attach on a parent (a later parent refused the child): `plan` reverses
 * the figures, gated on the attach entry being there and not undone, which it marks `x: true`
 * (kept until the intent is gone, so a late attach write of the same creation cannot land again).
 * Whether it reversed something.
 */
export async function fencedUndo(collection: Collection<StoredDocument>, parentId: string, childId: string, run: Run, plan: WritePlan): Promise<boolean> {
  const child = toStoredId(childId);
  const marked = {
    $map: {
      input: { $ifNull: ['$genledgerInProgress', []] },
      in: { $cond: [{ $and: [{ $eq: ['$$this.c', literal(child)] }, { $eq: ['$$this.k', 'attach'] }] }, { $mergeObjects: ['$$this', { x: true }] }, '$$this'] },
    },
  };
  const after = await collection.findOneAndUpdate(
    { ...allOf(plan.filter, { genledgerInProgress: { $elemMatch: { c: child, k: 'attach', x: { $exists: false } } } }, leaseFence(run)), _id: toStoredId(parentId) },
    [...plan.update, { $set: { genledgerInProgress: marked } }],
    { returnDocument: 'before' },
  );
  return after !== null;
}
