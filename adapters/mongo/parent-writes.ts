/**
 * The conditional updates on casts and cooks: attach, detach, apply, transition. Each is one
 * `findOneAndUpdate` on the parent's document, its filter the reducer's precondition and its
 * pipeline the reducer's change, with the parent status rules of DESIGN.md evaluated inside the
 * pipeline (`$cond`), so a parent never sits with counts that say "done" and a status that says
 * "running", whatever crashes between two writes.
 *
 * These are the reducers' changes only. The apply-once gate of each roll-up write (the parent's
 * in-progress entry and the lease fence, design 12 option (b)) is added around them by
 * rollup/parent-apply.ts; the writes never consult 0.1.0's open-entry lists, which they only read
 * as counts where a legacy document has no stored count.
 */
import { Decimal128, type Document } from 'mongodb';
import { TERMINAL_GENERATION_STATUSES } from 'genledger';
import {
  type ChildAttachment,
  type ChildContribution,
  type GenerationContribution,
  pieceCounterFor,
  type ParentTransition,
} from 'genledger/adapter';
import { appendIfRoom, arrayOr, dateOr, elapsed, field, inFlightCount, literal, numberOr, statusIn, storedCost, touch, withoutId } from './expressions.js';
import { allOf, fewerThan, inFlightBelow, notANumber, nothingInFlight, VISIBLE } from './filters.js';
import type { WritePlan } from './generation-writes.js';
import { idTimestamp, toStoredId } from './ids.js';
import { toDecimal128 } from './money.js';
import { CAST_WORDS, COOK_WORDS, OPEN_COOK_WORDS } from './status-words.js';

const RUNNING_CAST: Document = { status: { $in: [...CAST_WORDS.running] } };
const RUNNING_COOK: Document = { status: { $in: [...COOK_WORDS.running] } };
const PAUSED_COOK: Document = { status: { $in: [...COOK_WORDS.paused] } };
const OPEN_COOK: Document = { status: { $in: [...OPEN_COOK_WORDS] } };

/** `startedAt` as read: the stored Date, else the time in the parent's ObjectId. */
function startedAt(parentId: string): Document {
  return dateOr('startedAt', idTimestamp(parentId));
}

/** The fields a write that ends a parent at `at` sets, or keeps when `ends` is false. */
function completion(parentId: string, ends: Document | boolean, at: Date): Document {
  if (ends === false) return {};
  if (ends === true) return { completedAt: literal(at), durationMs: elapsed(startedAt(parentId), literal(at)) };
  return {
    completedAt: { $cond: [ends, literal(at), field('completedAt')] },
    durationMs: { $cond: [ends, elapsed(startedAt(parentId), literal(at)), field('durationMs')] },
  };
}

/** The four outcome counters as read, with one more for `status`. */
function outcomesPlusOne(status: GenerationContribution['status']): Document {
  const outcomes: Document = {};
  for (const outcome of TERMINAL_GENERATION_STATUSES) {
    outcomes[outcome] = { $add: [numberOr(`outcomes.${outcome}`, 0), outcome === status ? 1 : 0] };
  }
  return outcomes;
}

/** Points and cost of a finished generation added to the parent's sums (legacy nulls read as 0). */
function moneyPlus(contribution: GenerationContribution): Document {
  return {
    outcomes: outcomesPlusOne(contribution.status),
    pointsSpent: { $add: [numberOr('pointsSpent', 0), literal(contribution.pointsSpent)] },
    protocolNetPoints: { $add: [numberOr('protocolNetPoints', 0), literal(contribution.protocolNetPoints)] },
    costUsd: { $add: [storedCost(), literal(toDecimal128(contribution.costUsd))] },
  };
}

// ---------------------------------------------------------------------------------------------
// Casts

/**
 * `attachToCast`: a running cast below the in-flight cap. The apply-once gate (the in-progress
 * entry, the lease) is added by rollup/parent-apply.ts; a hidden cast (`version: 0`, its own
 * creation under way) takes no step.
 */
export function castAttachPlan(attachment: ChildAttachment): WritePlan {
  const child = toStoredId(attachment.childId);
  return {
    filter: allOf(VISIBLE, RUNNING_CAST, inFlightBelow('openSteps', attachment.caps.maxInFlight)),
    update: [
      {
        $set: {
          stepGenerationIds: appendIfRoom('stepGenerationIds', child, attachment.caps.maxEmbeddedIds),
          inFlightCount: { $add: [inFlightCount('openSteps'), 1] },
          ...touch(attachment.at),
        },
      },
    ],
  };
}

/** `detachFromCast`: undoes this creation's attach (its gate, the entry, is rollup/parent-apply.ts's). */
export function castDetachPlan(childId: string, at: Date): WritePlan {
  const child = toStoredId(childId);
  return {
    filter: {},
    update: [
      {
        $set: {
          stepGenerationIds: withoutId('stepGenerationIds', child),
          inFlightCount: { $subtract: [inFlightCount('openSteps'), 1] },
          ...touch(at),
        },
      },
    ],
  };
}

/**
 * `applyToCast`: money always lands; the status moves only while running, by
 * `castStatusAfterStep`: failed on a failed or timed-out step, cancelled on a cancelled step,
 * completed once `totalSteps` steps succeeded. `endsWith`, when given, is set in the same write
 * at the field `genledger` if this write ends a cast that is a cook piece: the cast's own
 * `piece` intent (rollup/intents.ts), so its apply to the cook is owed from that instant.
 */
export function castApplyPlan(castId: string, contribution: GenerationContribution, at: Date, endsWith?: (cookId: string) => Document): WritePlan {
  const running = statusIn(CAST_WORDS.running);
  let statusWhileRunning: Document | string;
  if (contribution.status === 'failed' || contribution.status === 'timeout') statusWhileRunning = 'failed';
  else if (contribution.status === 'cancelled_by_user') statusWhileRunning = 'cancelled';
  else {
    const successesAfter = { $add: [numberOr('outcomes.success', 0), 1] };
    const allStepsDone = { $and: [{ $isNumber: '$totalSteps' }, { $gte: ['$totalSteps', 1] }, { $gte: [successesAfter, '$totalSteps'] }] };
    statusWhileRunning = { $cond: [allStepsDone, 'completed', 'running'] };
  }
  const ends = { $and: [running, { $ne: [statusWhileRunning, 'running'] }] };
  const set: Document = {
    status: { $cond: [running, statusWhileRunning, field('status')] },
    ...moneyPlus(contribution),
    inFlightCount: { $subtract: [inFlightCount('openSteps'), 1] },
    ...completion(castId, ends, contribution.finishedAt),
    ...touch(at),
  };
  // A cast that ended earlier may still carry its piece intent: kept as it is.
  if (endsWith !== undefined) set.genledger = { $cond: [{ $and: [ends, HAS_COOK] }, endsWith(field('cookId')), field('genledger')] };
  return { filter: {}, update: [{ $set: set }] };
}

/** The stored cast has a cook (a top-level link: the backfill lifts legacy ones there). */
const HAS_COOK: Document = { $ne: [{ $ifNull: ['$cookId', null] }, null] };

/**
 * `transitionCast`: `finish` and `cancel` end a running cast; `expire` ends a running cast with
 * nothing in flight (completed without `totalSteps`, failed with). `pause`/`resume` never change a
 * cast: `null`, nothing to send.
 */
export function castTransitionPlan(castId: string, transition: ParentTransition, at: Date, endsWith?: (cookId: string) => Document): WritePlan | null {
  let filter: Document;
  let status: Document | string;
  if (transition === 'finish') [filter, status] = [RUNNING_CAST, 'completed'];
  else if (transition === 'cancel') [filter, status] = [RUNNING_CAST, 'cancelled'];
  else if (transition === 'expire') {
    filter = allOf(RUNNING_CAST, nothingInFlight('openSteps'));
    status = { $cond: [{ $and: [{ $isNumber: '$totalSteps' }, { $gte: ['$totalSteps', 1] }] }, 'failed', 'completed'] };
  } else return null;
  const set: Document = { status, ...completion(castId, true, at), ...touch(at) };
  if (endsWith !== undefined) set.genledger = { $cond: [HAS_COOK, endsWith(field('cookId')), '$$REMOVE'] };
  return { filter, update: [{ $set: set }] };
}

// ---------------------------------------------------------------------------------------------
// Cooks

const generatedCount = numberOr('generatedCount', 0);
const targetSupply = { $cond: [{ $and: [{ $isNumber: '$targetSupply' }, { $gte: ['$targetSupply', 1] }] }, '$targetSupply', 1] };

/** `cookReachedSupply` on the counts after the write, for a cook that was open before it. */
function completes(generatedAfter: Document, inFlightAfter: Document): Document {
  return { $and: [statusIn(OPEN_COOK_WORDS), { $gte: [generatedAfter, targetSupply] }, { $eq: [inFlightAfter, 0] }] };
}

function completesAt(cookId: string, condition: Document, at: Date): Document {
  return { status: { $cond: [condition, 'completed', field('status')] }, ...completion(cookId, condition, at) };
}

/** `openGenerationCount` as read: the stored count, else (legacy) the open-generation entries. */
const openGenerationCount = numberOr('openGenerationCount', { $size: arrayOr('openGenerations') });

/** `openGenerationCount` as read is below `cap`. */
function openGenerationsBelow(cap: number): Document {
  return { $or: [{ openGenerationCount: { $type: 'number', $lt: cap } }, { $and: [notANumber('openGenerationCount'), fewerThan('openGenerations', cap)] }] };
}

/**
 * `attachToCook`: a new piece needs a running cook below the in-flight cap; any other generation
 * below the cook (a step of a cast piece) needs an open (running or paused) cook with fewer than
 * the cap of generations open.
 */
export function cookAttachPlan(attachment: ChildAttachment): WritePlan {
  const { childId, kind, piece, caps, at } = attachment;
  const child = toStoredId(childId);
  const isGeneration = kind === 'generation';
  const filter = piece ? allOf(RUNNING_COOK, inFlightBelow('openPieces', caps.maxInFlight)) : allOf(OPEN_COOK, openGenerationsBelow(caps.maxInFlight));
  const set: Document = { ...touch(at) };
  if (piece) set.inFlightCount = { $add: [inFlightCount('openPieces'), 1] };
  if (isGeneration) {
    set.openGenerationCount = { $add: [openGenerationCount, 1] };
    set.generationIds = appendIfRoom('generationIds', child, caps.maxEmbeddedIds);
  } else {
    set.castIds = appendIfRoom('castIds', child, caps.maxEmbeddedIds);
  }
  return { filter, update: [{ $set: set }] };
}

/**
 * `detachFromCook`: undoes this creation's attach. If it was a piece and that leaves the cook
 * with its supply made and nothing in flight, the cook completes in the same update.
 */
export function cookDetachPlan(cookId: string, attachment: { readonly childId: string; readonly kind: 'generation' | 'cast'; readonly piece: boolean }, at: Date): WritePlan {
  const child = toStoredId(attachment.childId);
  const inFlightAfter = attachment.piece ? { $subtract: [inFlightCount('openPieces'), 1] } : inFlightCount('openPieces');
  const set: Document = {
    ...(attachment.piece ? completesAt(cookId, completes(generatedCount, inFlightAfter), at) : {}),
    inFlightCount: inFlightAfter,
    ...touch(at),
  };
  if (attachment.kind === 'generation') {
    set.openGenerationCount = { $subtract: [openGenerationCount, 1] };
    set.generationIds = withoutId('generationIds', child);
  } else {
    set.castIds = withoutId('castIds', child);
  }
  return { filter: {}, update: [{ $set: set }] };
}

/**
 * `applyToCook`: a generation adds its money and outcome and leaves the open generations; a piece
 * (a generation piece, or a cast piece, which carries no money) closes and moves its counter. The
 * cook completes in the same update once it has its supply and nothing is in flight.
 */
export function cookApplyPlan(cookId: string, contribution: ChildContribution, at: Date): WritePlan {
  const counter = pieceCounterFor(contribution.status);
  const closes = contribution.kind === 'cast' || contribution.piece;
  const inFlightAfter = closes ? { $subtract: [inFlightCount('openPieces'), 1] } : inFlightCount('openPieces');
  const generatedAfter = counter === 'generatedCount' && closes ? { $add: [generatedCount, 1] } : generatedCount;
  const set: Document = {
    ...completesAt(cookId, completes(generatedAfter, inFlightAfter), contribution.finishedAt),
    inFlightCount: inFlightAfter,
    ...touch(at),
  };
  if (closes) set[counter] = { $add: [numberOr(counter, 0), 1] };
  if (contribution.kind === 'generation') {
    Object.assign(set, moneyPlus(contribution));
    set.openGenerationCount = { $subtract: [openGenerationCount, 1] };
  }
  return { filter: {}, update: [{ $set: set }] };
}

/**
 * `transitionCook`: `finish` (running or paused; completed if any piece succeeded, else failed),
 * `cancel` (running or paused), `pause` (running), `resume` (paused), `expire` (running with
 * nothing in flight, as `finish`).
 */
export function cookTransitionPlan(cookId: string, transition: ParentTransition, at: Date): WritePlan {
  const finishedStatus = { $cond: [{ $gt: [generatedCount, 0] }, 'completed', 'failed'] };
  let filter: Document;
  let status: Document | string;
  let ends = true;
  switch (transition) {
    case 'finish':
      [filter, status] = [OPEN_COOK, finishedStatus];
      break;
    case 'cancel':
      [filter, status] = [OPEN_COOK, 'cancelled'];
      break;
    case 'pause':
      [filter, status, ends] = [RUNNING_COOK, 'paused', false];
      break;
    case 'resume':
      [filter, status, ends] = [PAUSED_COOK, 'running', false];
      break;
    case 'expire':
      [filter, status] = [allOf(RUNNING_COOK, nothingInFlight('openPieces')), finishedStatus];
      break;
  }
  return { filter, update: [{ $set: { status, ...completion(cookId, ends, at), ...touch(at) } }] };
}

// ---------------------------------------------------------------------------------------------
// Both

/**
 * `applyCostDelta`: a child's cost adjustment (a re-price) added to a cast's or cook's sums,
 * signed; status, counts and times stay. Its gate (the `adjust:<n>` entry, the lease) is
 * rollup/parent-apply.ts's.
 */
export function costDeltaPlan(deltaUsd: string, deltaPoints: number, at: Date): WritePlan {
  return {
    filter: {},
    update: [
      {
        $set: {
          pointsSpent: { $add: [numberOr('pointsSpent', 0), literal(deltaPoints)] },
          costUsd: { $add: [storedCost(), literal(Decimal128.fromString(deltaUsd))] },
          ...touch(at),
        },
      },
    ],
  };
}
