/**
 * `adjustGeneration` (a re-price's correction) on MongoDB without multi-document transactions:
 * the generation's gated write carries its intent, then each parent's fenced apply of the
 * difference, then the intent cleared, then the entries pulled (intents.ts).
 *
 * - The decision is the domain's: `adjust` on the generation as read says whether the gate is
 *   open (finished, `expectedAdjustments` adjustments) and what the generation becomes. The write
 *   stores that record compare-and-set on the document as read (its `version`) and only while it
 *   carries no intent, with `genledger: { op: 'adjust:<n>' }` (n: its adjustment count after this
 *   one) in the same write. From that instant the difference is owed to its parents: it is the
 *   last adjustment the generation itself records, so whoever finishes the operation (this call,
 *   a retry in this process that adopts it, `recover()`) reads it from there.
 * - Each parent's apply is fenced (parent-apply.ts) on the entry `adjust:<n>`: one key per
 *   adjustment, so an entry a finished adjustment left on a parent (pulled later by `recover()`)
 *   never passes for the next one's.
 * - Waiting for no intent keeps one roll-up per child at a time: a settle under way (its terminal
 *   write done, its applies not yet) is finished first, so its contribution (read from the
 *   generation by `recover()`) can never be the adjusted cost plus the difference again.
 */
import type { Cast, Cook, Generation } from 'genledger';
import { adjust, applyCostDelta, type CostAdjustmentResult, type CostCorrection, type WriteResult } from 'genledger/adapter';
import type { Document } from 'mongodb';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../documents.js';
import { literal, nextVersion } from '../expressions.js';
import { toDecimal128 } from '../money.js';
import { toStoredId } from '../ids.js';
import { costDeltaPlan } from '../parent-writes.js';
import { isHidden, unchangedWrite, type RollupContext } from './context.js';
import { adjustOp, adoptIntent, clearIntent, intentDocument, isAdjustOp, pullEntry, readIntent, type Run } from './intents.js';
import { fencedParentWrite } from './parent-apply.js';
import { GENERATION_PARENTS } from './settle.js';

/** Compare-and-set attempts when the generation keeps changing between the read and the write. */
const ATTEMPTS = 4;
/** How long an adjustment waits, at most, for another call's roll-up of the generation to finish. */
const BUSY_WAIT_MS = 2_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface AdjustSteps {
  /** Finishes a settle (settle.ts), for an orphaned one this call adopts. */
  readonly driveSettle: (generation: Generation, run: Run, at: Date) => Promise<unknown>;
}

export function createAdjustment(context: RollupContext, steps: AdjustSteps) {
  const { generations, casts, cooks, settings, owners } = context;

  /**
   * The parents' applies of the generation's last adjustment, by the owner of its `adjust:<n>`
   * intent. The results are the domain's `applyCostDelta` on each parent's before-image.
   */
  async function driveAdjust(generation: Generation, run: Run, at: Date): Promise<{ cast: WriteResult<Cast> | null; cook: WriteResult<Cook> | null }> {
    const adjustments = generation.costProvenance?.adjustments ?? [];
    const last = adjustments[adjustments.length - 1];
    if (last === undefined) throw new Error(`[genledger] [mongo] generation "${generation.id}" carries an adjustment intent but records no adjustment`);
    const op = adjustOp(adjustments.length);
    const plan = costDeltaPlan(last.deltaUsd, last.deltaPoints, at);
    let cast: WriteResult<Cast> | null = null;
    let cook: WriteResult<Cook> | null = null;
    if (generation.castId !== null) {
      const found = await fencedParentWrite(casts, generation.castId, generation.id, op, run, plan, settings);
      if (found !== null) cast = found.kind === 'written' ? applyCostDelta(fromCastDocument(found.before), last.deltaUsd, last.deltaPoints, at) : unchangedWrite(fromCastDocument(found.current));
    }
    if (generation.cookId !== null) {
      const found = await fencedParentWrite(cooks, generation.cookId, generation.id, op, run, plan, settings);
      if (found !== null) cook = found.kind === 'written' ? applyCostDelta(fromCookDocument(found.before), last.deltaUsd, last.deltaPoints, at) : unchangedWrite(fromCookDocument(found.current));
    }
    // As in settle.ts: no pulls once recover() took the operation over (its applies may be to come).
    if ((await clearIntent(generations, generation.id, run)) && !run.adopted) {
      if (generation.castId !== null) await pullEntry(casts, generation.castId, generation.id, op);
      if (generation.cookId !== null) await pullEntry(cooks, generation.cookId, generation.id, op);
    }
    return { cast, cook };
  }

  /** An intent a call of this process left when it ended (a crash the host retries): adopted and finished. */
  async function finishOrphaned(document: Document, run: Run, at: Date): Promise<void> {
    const intent = readIntent(document);
    if (intent === null) return;
    const generation = fromGenerationDocument(document);
    const adopted = await adoptIntent(generations, generation.id, intent, run);
    if (adopted === null) return;
    if (intent.op === 'settle') await steps.driveSettle(generation, adopted, at);
    else if (isAdjustOp(intent.op)) await driveAdjust(generation, adopted, at);
  }

  /** The port's `adjustGeneration`: the decision of the domain's `adjust`, written as the file comment says. */
  async function adjustGeneration(id: string, correction: CostCorrection): Promise<CostAdjustmentResult | null> {
    const run = owners.begin(settings);
    try {
      const _id = toStoredId(id);
      const waitUntil = Date.now() + BUSY_WAIT_MS;
      for (let attempt = 1; ; attempt += 1) {
        const document = await generations.findOne({ _id });
        if (document === null || isHidden(document)) return null;
        const intent = readIntent(document);
        if (intent !== null) {
          attempt -= 1;
          if (owners.orphaned(intent.owner)) {
            await finishOrphaned(document, run, correction.at);
            continue;
          }
          if (Date.now() >= waitUntil) {
            throw new Error(
              `[genledger] [mongo] generation "${id}" has a roll-up (${intent.op}) under way that did not finish within ${BUSY_WAIT_MS} ms; if its owner is gone, recover() (tracker.sweepStale) finishes it once its lease has passed: re-price again after that`,
            );
          }
          await pause(1 + Math.floor(Math.random() * 10));
          continue;
        }
        const generation = fromGenerationDocument(document);
        const decided = adjust(generation, null, null, correction);
        // The gate is closed (a repeat, a racing re-price) or nothing differs: nothing to write.
        if (!decided.generation.changed) return decided;
        const record = decided.generation.record;
        const op = adjustOp(record.costProvenance?.adjustments.length ?? 0);
        const unchangedSinceRead = document.version === undefined ? { version: { $exists: false } } : { version: document.version };
        const written = await generations.findOneAndUpdate(
          { _id, ...unchangedSinceRead, genledger: { $exists: false } },
          [
            {
              $set: {
                costUsd: literal(toDecimal128(record.costUsd)),
                pointsSpent: literal(record.pointsSpent),
                costProvenance: literal(record.costProvenance),
                version: nextVersion(),
                updatedAt: literal(record.updatedAt),
                genledger: intentDocument(op, GENERATION_PARENTS, run),
              },
            },
          ],
          { returnDocument: 'before' },
        );
        if (written !== null) {
          const parents = await driveAdjust(record, run, correction.at);
          return { generation: decided.generation, ...parents };
        }
        if (attempt >= ATTEMPTS) {
          throw new Error(`[genledger] [mongo] the adjustment of generation "${id}" did not match although the domain's gate is open; the document kept changing (${ATTEMPTS} attempts)`);
        }
      }
    } finally {
      run.end();
    }
  }

  return { adjustGeneration, driveAdjust };
}
