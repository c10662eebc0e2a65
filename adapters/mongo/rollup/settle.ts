/**
 * `settleGeneration` and a cast's end (`casts.transition`): the child's gate transition carries its
 * intent (intents.ts), then each parent's fenced apply, then the intent cleared, then the entries
 * pulled.
 *
 * - settle: the generation's terminal write sets `genledger: { op: 'settle' }`; then its cast's
 *   apply (which, if it ends a cast that is a cook piece, sets the cast's own `piece` intent in the
 *   same write), then its cook's apply; clear; pulls; then the cast piece, if this call ended it.
 * - piece: the cast's terminal write (a transition, a step's apply, a reconcile) sets
 *   `genledger: { op: 'piece' }`; then the cook's apply; clear; pull.
 *
 * Only the call that made the gate transition owns the operation. A repeat (the host's retry, a
 * duplicate event, the sweeper) finds the child already moved: it reports nothing, unless the
 * operation was this process's and its call ended (a crash): then it adopts and finishes it.
 */
import { isTerminalGenerationStatus, isTerminalParentStatus, type Budget, type Cast, type Cook, type Generation, type Hold } from 'genledger';
import {
  applyToCast,
  applyToCook,
  castPieceContribution,
  finishGeneration,
  generationContribution,
  transitionCast,
  type CastEnding,
  type AccountedSettlement,
  type GenerationOutcome,
  type HoldSettlement,
  type ReservationPool,
  type ReleasedReservations,
  type ParentTransition,
  type Settlement,
  type WriteResult,
} from 'genledger/adapter';
import type { Document } from 'mongodb';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../documents.js';
import { allOf, VISIBLE } from '../filters.js';
import { finishPlan, type WritePlan } from '../generation-writes.js';
import { toStoredId } from '../ids.js';
import { castApplyPlan, castTransitionPlan, cookApplyPlan } from '../parent-writes.js';
import { ifChanged, isHidden, unchangedWrite, type RollupContext } from './context.js';
import { adoptIntent, clearIntent, intentDocument, pullEntry, readIntent, type Run } from './intents.js';
import { fencedParentWrite } from './parent-apply.js';
import { readStoredHold } from '../accounts/documents.js';
import { pullBudgetEntries, settleInBudgetDocument } from '../accounts/budgets.js';
import { settleAccountHold } from '../accounts/hold.js';
import { holdsReservation, keepRelease, releaseParentHold, withReleases } from './parent-hold.js';

const ATTEMPTS = 4;

/** `plan` with `genledger` set to `intent` in its (single) `$set` stage. */
function withIntent(plan: WritePlan, intent: Document): WritePlan {
  const [stage, ...rest] = plan.update;
  return { filter: allOf(plan.filter, VISIBLE), update: [{ $set: { ...(stage!.$set as Document), genledger: intent } }, ...rest] };
}

/** The stored links of the written generation, as the intent's `to` (informative). */
export const GENERATION_PARENTS: Document = {
  $filter: { input: [{ $ifNull: ['$castId', null] }, { $ifNull: ['$cookId', null] }], cond: { $ne: ['$$this', null] } },
};

export function createSettlement(context: RollupContext) {
  const { generations, casts, cooks, settings, owners, accounts } = context;

  /** The piece intent a cast's ending write sets, owned by `run`. */
  const pieceIntent = (run: Run) => (cookId: string) => intentDocument('piece', [cookId], run);

  /** The cast piece's apply to its cook, by the owner of the cast's `piece` intent. */
  async function drivePiece(cast: Cast, run: Run, at: Date): Promise<WriteResult<Cook> | null> {
    if (cast.cookId === null) return null;
    const contribution = castPieceContribution(cast);
    const found = await fencedParentWrite(cooks, cast.cookId, cast.id, 'piece', run, cookApplyPlan(cast.cookId, contribution, at), settings);
    // Pulled only if this run still owned the intent: else recover() took it over and its apply
    // may still be to come, which the entry must stop if this run's write landed.
    if ((await clearIntent(casts, cast.id, run)) && !run.adopted) await pullEntry(cooks, cast.cookId, cast.id, 'piece');
    if (found === null || found.kind === 'refused') return null;
    if (found.kind !== 'written') return unchangedWrite(fromCookDocument(found.current));
    const cook = applyToCook(fromCookDocument(found.before), contribution, at);
    await releaseIfItEnded('cook', found.before, cook, run);
    return cook;
  }

  /** A cast document's `piece` intent, finished if its owner is a call of this process that ended. */
  async function finishOrphanedPiece(castDocument: Document | null, run: Run, at: Date): Promise<WriteResult<Cook> | null> {
    const intent = readIntent(castDocument);
    if (castDocument === null || intent === null || intent.op !== 'piece' || !owners.orphaned(intent.owner)) return null;
    const cast = fromCastDocument(castDocument);
    const adopted = await adoptIntent(casts, cast.id, intent, run);
    return adopted === null ? null : drivePiece(cast, adopted, at);
  }

  /**
   * The settlement of a finished generation's hold, by the owner of its `settle` intent, before
   * the intent is cleared: its budgets (cast, then cook; the one it drew on decides the
   * reservation's side, budgets.ts), then its account (capture, release, overdraft: hold.ts)
   * with that pool. What this call wrote, or `null`.
   */
  async function settleMoney(generation: Generation, hold: Hold, run: Run, at: Date): Promise<HoldSettlement | null> {
    const fence = { run, settings };
    const charge = { pointsSpent: generation.pointsSpent, costUsd: generation.costUsd };
    const budgets: Budget[] = [];
    let pool: ReservationPool | null = null;
    for (const ref of hold.budgets) {
      const settled = await settleInBudgetDocument(accounts.budgets, ref, hold, charge, fence);
      if (settled === null) continue;
      if (settled.budget !== null) budgets.push(settled.budget);
      pool ??= settled.pool;
    }
    const account = await settleAccountHold(accounts, hold, charge, at, fence, pool);
    if (!account.wrote && budgets.length === 0) return null;
    return { hold: { ...hold, status: 'settled' }, account: account.account, entries: account.wrote ? account.entries : [], captured: account.captured, budgets };
  }

  /**
   * Releases the parent hold of a parent this write ended (`before`: the write's before-image,
   * which says whether it carries one), after the writes of the operation that ended it: a
   * child's settlement settles against the reservation first, as in one step (parent-hold.ts).
   */
  async function releaseIfItEnded(kind: 'cast' | 'cook', before: Document, write: WriteResult<Cast> | WriteResult<Cook>, run: Run): Promise<void> {
    if (holdsReservation(before) && write.changed && !isTerminalParentStatus(write.previousStatus) && isTerminalParentStatus(write.record.status)) {
      keepRelease(run, await releaseParentHold(context, kind, write.record.id, write.record.updatedAt));
    }
  }

  /** The applies of a finished generation (and its hold's settlement), by the owner of its `settle` intent. */
  async function driveSettle(generation: Generation, run: Run, at: Date, held: Hold | null = null): Promise<Omit<AccountedSettlement, 'generation'>> {
    const contribution = generationContribution(generation);
    let cast: WriteResult<Cast> | null = null;
    let cook: WriteResult<Cook> | null = null;
    let endedCast: Cast | null = null;
    let castDocument: Document | null = null;
    /** The parents' before-images of the writes this call made (a parent hold's release reads them). */
    let castBefore: Document | null = null;
    let cookBefore: Document | null = null;
    if (generation.castId !== null) {
      const plan = castApplyPlan(generation.castId, contribution, at, pieceIntent(run));
      const found = await fencedParentWrite(casts, generation.castId, generation.id, 'settle', run, plan, settings);
      if (found !== null && found.kind === 'written') {
        castBefore = found.before;
        cast = applyToCast(fromCastDocument(found.before), contribution, at);
        if (cast.previousStatus === 'running' && isTerminalParentStatus(cast.record.status) && cast.record.cookId !== null) endedCast = cast.record;
      } else if (found !== null) {
        castDocument = found.current;
        cast = unchangedWrite(fromCastDocument(found.current));
      }
    }
    if (generation.cookId !== null) {
      const found = await fencedParentWrite(cooks, generation.cookId, generation.id, 'settle', run, cookApplyPlan(generation.cookId, contribution, at), settings);
      if (found !== null && found.kind === 'written') {
        cookBefore = found.before;
        cook = applyToCook(fromCookDocument(found.before), contribution, at);
      } else if (found !== null) cook = unchangedWrite(fromCookDocument(found.current));
    }
    const hold = held !== null && held.status === 'held' ? held : null;
    const holdSettled = hold === null ? null : await settleMoney(generation, hold, run, at);
    // As in drivePiece: no pulls once recover() took the settle over (its applies may be to come).
    if ((await clearIntent(generations, generation.id, run, hold === null ? {} : { 'genledgerHold.status': 'settled' })) && !run.adopted) {
      if (generation.castId !== null) await pullEntry(casts, generation.castId, generation.id, 'settle');
      if (generation.cookId !== null) await pullEntry(cooks, generation.cookId, generation.id, 'settle');
      if (hold !== null) await pullBudgetEntries(accounts.budgets, hold.budgets, generation.id, 'settle');
    }
    // A parent this settlement ended releases its reservation after the child settled against it.
    if (castBefore !== null && cast !== null) await releaseIfItEnded('cast', castBefore, cast, run);
    if (cookBefore !== null && cook !== null) await releaseIfItEnded('cook', cookBefore, cook, run);
    // This call ended the cast: it owns the cast's piece intent (same lease).
    const castPiece = endedCast !== null ? await drivePiece(endedCast, run, at) : await finishOrphanedPiece(castDocument, run, at);
    return { cast, cook, castPiece, ...(holdSettled !== null && { hold: holdSettled }) };
  }

  /**
   * The generation's terminal write with its `settle` intent, then its applies. Only the call that
   * moved the generation reports its parents' writes; a repeat reports only what it finished.
   */
  async function settleGeneration(id: string, outcome: GenerationOutcome, at: Date): Promise<AccountedSettlement | null> {
    const run = owners.begin(settings);
    try {
      return withReleases(await settle(id, outcome, at, run), run);
    } finally {
      run.end();
    }
  }

  async function settle(id: string, outcome: GenerationOutcome, at: Date, run: Run): Promise<AccountedSettlement | null> {
    const _id = toStoredId(id);
    const plan = withIntent(finishPlan(id, outcome), intentDocument('settle', GENERATION_PARENTS, run));
    for (let attempt = 1; ; attempt += 1) {
      const before = await generations.findOneAndUpdate({ ...plan.filter, _id }, plan.update, { returnDocument: 'before' });
      if (before !== null) {
        const written = finishGeneration(fromGenerationDocument(before), outcome);
        if (!written.changed || !isTerminalGenerationStatus(written.record.status)) {
          throw new Error(`[genledger] [mongo] the terminal write on generation "${id}" matched a document the domain rule leaves unchanged (run the legacy audit)`);
        }
        return { generation: written, ...(await driveSettle(written.record, run, at, readStoredHold(before))) };
      }
      const current = await generations.findOne({ _id });
      if (current === null || isHidden(current)) return null;
      const result = finishGeneration(fromGenerationDocument(current), outcome);
      if (!result.changed) return { generation: result, ...(await finishOrphaned(result.record, current, run, at)) };
      if (attempt >= ATTEMPTS) {
        throw new Error(`[genledger] [mongo] the terminal write on generation "${id}" did not match although the domain rule applies; the document kept changing (${ATTEMPTS} attempts) or a stored value is spelt in a way the adapter's filters do not recognise (run the legacy audit)`);
      }
    }
  }

  /** A repeat: finishes what a crashed call of this process left (its settle, its cast's piece). */
  async function finishOrphaned(generation: Generation, document: Document, run: Run, at: Date): Promise<Omit<AccountedSettlement, 'generation'>> {
    const nothing = { cast: null, cook: null, castPiece: null };
    if (!isTerminalGenerationStatus(generation.status)) return nothing;
    const intent = readIntent(document);
    if (intent !== null && intent.op === 'settle' && owners.orphaned(intent.owner)) {
      const adopted = await adoptIntent(generations, generation.id, intent, run);
      if (adopted === null) return nothing;
      const applies = await driveSettle(generation, adopted, at, readStoredHold(document));
      return { cast: ifChanged(applies.cast), cook: ifChanged(applies.cook), castPiece: ifChanged(applies.castPiece), ...(applies.hold && { hold: applies.hold }) };
    }
    if (intent === null && generation.castId !== null) {
      // Its settle is done; the piece of the cast it ended may have been cut short.
      const castPiece = ifChanged(await finishOrphanedPiece(await casts.findOne({ _id: toStoredId(generation.castId), 'genledger.op': 'piece' }), run, at));
      return { ...nothing, castPiece };
    }
    return nothing;
  }

  /** A cast's transition (its `piece` intent in the same write when it ends a cook piece), then the piece. */
  async function transitionCastWithPiece(id: string, transition: ParentTransition, at: Date): Promise<(CastEnding & ReleasedReservations) | null> {
    const run = owners.begin(settings);
    try {
      return withReleases(await transitionCastOnce(id, transition, at, run), run);
    } finally {
      run.end();
    }
  }

  /** {@link transitionCastWithPiece} as `run` (which keeps the release it may make). */
  async function transitionCastOnce(id: string, transition: ParentTransition, at: Date, run: Run): Promise<CastEnding | null> {
    const _id = toStoredId(id);
    const plan = castTransitionPlan(id, transition, at, pieceIntent(run));
    for (let attempt = 1; ; attempt += 1) {
      if (plan !== null) {
        const before = await casts.findOneAndUpdate({ ...allOf(plan.filter, VISIBLE), _id }, plan.update, { returnDocument: 'before' });
        if (before !== null) {
          const write = transitionCast(fromCastDocument(before), transition, at);
          await releaseIfItEnded('cast', before, write, run);
          const ends = write.changed && isTerminalParentStatus(write.record.status) && write.record.cookId !== null;
          return { cast: write, castPiece: ends ? await drivePiece(write.record, run, at) : null };
        }
      }
      const current = await casts.findOne({ _id });
      if (current === null || isHidden(current)) return null;
      const result = transitionCast(fromCastDocument(current), transition, at);
      if (!result.changed) {
        // A repeat (the host's retry): finishes a release a crash cut short.
        if (holdsReservation(current) && isTerminalParentStatus(result.record.status)) keepRelease(run, await releaseParentHold(context, 'cast', id, at));
        return { cast: result, castPiece: ifChanged(await finishOrphanedPiece(current, run, at)) };
      }
      if (plan === null || attempt >= ATTEMPTS) {
        throw new Error(`[genledger] [mongo] the transition "${transition}" of cast "${id}" did not match although the domain rule applies (run the legacy audit)`);
      }
    }
  }

  return { settleGeneration, transitionCast: transitionCastWithPiece, driveSettle, drivePiece, pieceIntent };
}

