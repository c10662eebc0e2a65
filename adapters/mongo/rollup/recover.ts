/**
 * `recover()` (called by `tracker.sweepStale()`): finishes what crashes left half done.
 *
 * 1. Intents past their lease by more than `takeoverMarginMs` (children, by `genledger.until`) are
 *    taken over, fenced by the server's clock (intents.ts), and intents of this process whose call
 *    ended are adopted (a call that crashed and was not retried); each is finished as its owner
 *    would have: a `settle`, `piece` or `adjust:<n>` has its applies driven (each lands once: the entries say
 *    which landed); an `attach` is driven with the caps its intent recorded (a duplicate from
 *    another process may already hold the record), and a parent that now refuses it gives it
 *    back and the hidden child is deleted.
 * 2. In-progress entries past their lease by the margin whose child no longer carries that
 *    operation's intent are pulled (an operation finished by a call that adopted it leaves them),
 *    fenced by the server's clock as a takeover is (intents.ts, `pullEntry`).
 * 3. Parent holds (parent-hold.ts): a hidden cast or cook whose `hold` intent is taken over or
 *    adopted (step 1) has its hold finished (or undone when the account refuses it now); an
 *    ended parent still marked `genledgerHeld: 'held'` (a crash between the write that ended it
 *    and its release) has its reservation released.
 * 4. Parents that still carry 0.1.0's open-entry lists with an entry older than `olderThan` are
 *    rebuilt from their children (reconcile.ts), which `$unset`s the lists.
 */
import type { Document } from 'mongodb';
import type { Cast, Cook, Hold } from 'genledger';
import type { WriteResult } from 'genledger/adapter';
import { fromCastDocument, fromGenerationDocument } from '../documents.js';
import { idAfter, VISIBLE } from '../filters.js';
import { CAST_WORDS, OPEN_COOK_WORDS } from '../status-words.js';
import { finishParentHold, HELD, releaseParentHold } from './parent-hold.js';
import { fromStoredId, toStoredId } from '../ids.js';
import type { ParentKind, RollupContext } from './context.js';
import { readStoredHold } from '../accounts/documents.js';
import { adoptIntent, isAdjustOp, pullEntry, readEntries, readIntent, takeOverIntent, type Intent, type Run } from './intents.js';

/** Documents read per page. */
const PAGE = 200;

export interface RecoverSteps {
  readonly driveSettle: (generation: ReturnType<typeof fromGenerationDocument>, run: Run, at: Date, hold: Hold | null) => Promise<unknown>;
  readonly drivePiece: (cast: Cast, run: Run, at: Date) => Promise<WriteResult<Cook> | null>;
  readonly driveAdjust: (generation: ReturnType<typeof fromGenerationDocument>, run: Run, at: Date) => Promise<unknown>;
  readonly finishTakenOver: (child: { kind: 'generation'; record: ReturnType<typeof fromGenerationDocument>; hold: Hold | null } | { kind: 'cast'; record: Cast }, intent: Intent, run: Run, at: Date) => Promise<void>;
  readonly rebuildCast: (id: string, expectedVersion: null, recomputed: null, at: Date) => Promise<unknown>;
  readonly rebuildCook: (id: string, expectedVersion: null, recomputed: null, at: Date) => Promise<unknown>;
}

const LEGACY_PATHS: Record<ParentKind, readonly string[]> = { cast: ['openSteps'], cook: ['openPieces', 'openGenerations'] };

export function createRecover(context: RollupContext, steps: RecoverSteps) {
  const { generations, casts, cooks, settings, owners } = context;

  /** Every document matching `filter`, page by page in `_id` order, until `visit` says stop. */
  async function eachPage(collection: typeof casts, filter: Document, visit: (document: Document) => Promise<boolean>): Promise<void> {
    let afterId: string | undefined;
    for (;;) {
      const page = await collection.find({ ...idAfter(afterId), ...filter }, { sort: { _id: 1 }, limit: PAGE }).toArray();
      for (const document of page) if (!(await visit(document))) return;
      if (page.length < PAGE) return;
      afterId = fromStoredId(page[page.length - 1]!._id) ?? undefined;
    }
  }

  async function takeOver(kind: 'generation' | 'cast' | 'cook', document: Document, now: Date, cutoff: Date): Promise<boolean> {
    const intent = readIntent(document);
    const id = fromStoredId(document._id);
    if (intent === null || id === null) return false;
    const collection = kind === 'cast' ? casts : kind === 'cook' ? cooks : generations;
    const run = owners.begin(settings);
    try {
      const taken =
        intent.until < cutoff
          ? await takeOverIntent(collection, id, intent, run, settings)
          : owners.orphaned(intent.owner)
            ? await adoptIntent(collection, id, intent, run)
            : null;
      if (taken === null) return false;
      if (intent.op === 'hold' && kind !== 'generation') {
        await finishParentHold(context, kind, document, taken);
      } else if (kind === 'cook') {
        // A cook carries no other intent.
      } else if (intent.op === 'attach') {
        await steps.finishTakenOver(kind === 'cast' ? { kind, record: fromCastDocument(document) } : { kind, record: fromGenerationDocument(document), hold: readStoredHold(document) }, intent, taken, now);
      } else if (intent.op === 'settle' && kind === 'generation') {
        await steps.driveSettle(fromGenerationDocument(document), taken, now, readStoredHold(document));
      } else if (intent.op === 'piece' && kind === 'cast') {
        await steps.drivePiece(fromCastDocument(document), taken, now);
      } else if (isAdjustOp(intent.op) && kind === 'generation') {
        await steps.driveAdjust(fromGenerationDocument(document), taken, now);
      }
      return true;
    } finally {
      run.end();
    }
  }

  /** Pulls the parent's entries past the margin whose child no longer carries that operation. */
  async function pullStale(collection: typeof casts, parent: Document, cutoff: Date): Promise<number> {
    const parentId = fromStoredId(parent._id);
    if (parentId === null) return 0;
    let pulled = 0;
    for (const entry of readEntries(parent)) {
      if (!(entry.u instanceof Date) || entry.u >= cutoff) continue;
      const childId = fromStoredId(entry.c);
      if (childId === null) continue;
      const child = (await generations.findOne({ _id: toStoredId(childId) }, { projection: { genledger: 1 } })) ?? (await casts.findOne({ _id: toStoredId(childId) }, { projection: { genledger: 1 } }));
      if (readIntent(child)?.op === entry.k) continue;
      if (await pullEntry(collection, parentId, childId, entry.k, settings.takeoverMarginMs)) pulled += 1;
    }
    return pulled;
  }

  async function recover(options: { readonly limit: number; readonly olderThan: Date; readonly now?: Date }): Promise<{ readonly repaired: number }> {
    const now = options.now ?? new Date();
    // The lease clock decides which leases look over; the takeover itself is fenced by the server's.
    const cutoff = new Date(settings.clock().getTime() - settings.takeoverMarginMs);
    let repaired = 0;
    const more = () => repaired < options.limit;
    for (const kind of ['generation', 'cast', 'cook'] as const) {
      if (!more()) break;
      const pastLease = { 'genledger.until': { $lt: cutoff } };
      const orphans = { 'genledger.until': { $gte: cutoff }, 'genledger.owner': owners.ofThisProcess };
      for (const filter of [pastLease, orphans]) {
        await eachPage(kind === 'cast' ? casts : kind === 'cook' ? cooks : generations, filter, async (document) => {
          if (await takeOver(kind, document, now, cutoff)) repaired += 1;
          return more();
        });
      }
    }
    // Budgets carry the same entries for the holds they count and settle (accounts/budgets.ts).
    for (const collection of [casts, cooks, context.accounts.budgets]) {
      if (!more()) break;
      await eachPage(collection, { 'genledgerInProgress.u': { $lt: cutoff } }, async (document) => {
        repaired += await pullStale(collection, document, cutoff);
        return more();
      });
    }
    // Ended parents whose reservation a crash left unreleased (parent-hold.ts).
    for (const kind of ['cast', 'cook'] as const) {
      if (!more()) break;
      const open = kind === 'cast' ? CAST_WORDS.running : OPEN_COOK_WORDS;
      await eachPage(kind === 'cast' ? casts : cooks, { genledgerHeld: HELD, status: { $nin: [...open] }, ...VISIBLE }, async (document) => {
        const id = fromStoredId(document._id);
        if (id !== null) {
          await releaseParentHold(context, kind, id, now);
          repaired += 1;
        }
        return more();
      });
    }
    for (const kind of ['cast', 'cook'] as const) {
      if (!more()) break;
      const hasOldEntry = { $or: LEGACY_PATHS[kind].map((path) => ({ [`${path}.since`]: { $lt: options.olderThan } })) };
      await eachPage(kind === 'cast' ? casts : cooks, hasOldEntry, async (document) => {
        const id = fromStoredId(document._id);
        if (id === null) return more();
        const rebuilt = kind === 'cast' ? await steps.rebuildCast(id, null, null, now) : await steps.rebuildCook(id, null, null, now);
        if (rebuilt !== null) repaired += 1;
        return more();
      });
    }
    return { repaired };
  }

  return { recover };
}
