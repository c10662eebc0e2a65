/**
 * The conditional updates on casts and cooks: attach, detach, apply, transition. Each is one
 * `findOneAndUpdate` on the parent's document, its filter the reducer's precondition and its
 * pipeline the reducer's change, with the parent status rules of DESIGN.md evaluated inside the
 * pipeline (`$cond`), so a parent never sits with counts that say "done" and a status that says
 * "running", whatever crashes between two writes.
 *
 * The gate of the roll-up is the child's open entry: apply matches only while the entry is there
 * and removes it in the same update, so a retried, duplicated or racing apply matches nothing.
 */
import type { Document } from 'mongodb';
import { TERMINAL_GENERATION_STATUSES } from 'genledger';
import {
  type ChildAttachment,
  type ChildContribution,
  type GenerationContribution,
  pieceCounterFor,
  type ParentTransition,
} from 'genledger/adapter';
import { openChildDocument } from './documents.js';
import {
  append,
  appendIfRoom,
  dateOr,
  elapsed,
  field,
  hasOpenEntry,
  inFlightCount,
  literal,
  numberOr,
  statusIn,
  storedCost,
  touch,
  withoutEntry,
  withoutId,
} from './expressions.js';
import { allOf, fewerThan, inFlightBelow, nothingInFlight } from './filters.js';
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

/** `attachToCast`: a running cast, without this step open, below the in-flight cap. */
export function castAttachPlan(attachment: ChildAttachment): WritePlan {
  const child = toStoredId(attachment.childId);
  return {
    filter: allOf({ 'openSteps.id': { $ne: child } }, RUNNING_CAST, inFlightBelow('openSteps', attachment.caps.maxInFlight)),
    update: [
      {
        $set: {
          openSteps: append('openSteps', openChildDocument(attachment.childId, 'generation', attachment.at)),
          stepGenerationIds: appendIfRoom('stepGenerationIds', child, attachment.caps.maxEmbeddedIds),
          inFlightCount: { $add: [inFlightCount('openSteps'), 1] },
          ...touch(attachment.at),
        },
      },
    ],
  };
}

/** `detachFromCast`: forgets an open step. */
export function castDetachPlan(childId: string, at: Date): WritePlan {
  const child = toStoredId(childId);
  return {
    filter: { 'openSteps.id': child },
    update: [
      {
        $set: {
          openSteps: withoutEntry('openSteps', child),
          stepGenerationIds: withoutId('stepGenerationIds', child),
          inFlightCount: { $subtract: [inFlightCount('openSteps'), 1] },
          ...touch(at),
        },
      },
    ],
  };
}

/**
 * `applyToCast`: gated on the step's open entry, which it removes. Money always lands; the status
 * moves only while running, by `castStatusAfterStep`: failed on a failed or timed-out step,
 * cancelled on a cancelled step, completed once `totalSteps` steps succeeded.
 */
export function castApplyPlan(castId: string, contribution: GenerationContribution, at: Date): WritePlan {
  const child = toStoredId(contribution.childId);
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
  return {
    filter: { 'openSteps.id': child },
    update: [
      {
        $set: {
          status: { $cond: [running, statusWhileRunning, field('status')] },
          ...moneyPlus(contribution),
          openSteps: withoutEntry('openSteps', child),
          inFlightCount: { $subtract: [inFlightCount('openSteps'), 1] },
          ...completion(castId, ends, contribution.finishedAt),
          ...touch(at),
        },
      },
    ],
  };
}

/**
 * `transitionCast`: `finish` and `cancel` end a running cast; `expire` ends a running cast with
 * nothing in flight (completed without `totalSteps`, failed with). `pause`/`resume` never change a
 * cast: `null`, nothing to send.
 */
export function castTransitionPlan(castId: string, transition: ParentTransition, at: Date): WritePlan | null {
  let filter: Document;
  let status: Document | string;
  if (transition === 'finish') [filter, status] = [RUNNING_CAST, 'completed'];
  else if (transition === 'cancel') [filter, status] = [RUNNING_CAST, 'cancelled'];
  else if (transition === 'expire') {
    filter = allOf(RUNNING_CAST, nothingInFlight('openSteps'));
    status = { $cond: [{ $and: [{ $isNumber: '$totalSteps' }, { $gte: ['$totalSteps', 1] }] }, 'failed', 'completed'] };
  } else return null;
  return { filter, update: [{ $set: { status, ...completion(castId, true, at), ...touch(at) } }] };
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

/**
 * `attachToCook`: a new piece needs a running cook below the in-flight cap; any other generation
 * below the cook (a step of a cast piece) needs an open (running or paused) cook with fewer than
 * the cap of generations open.
 */
export function cookAttachPlan(attachment: ChildAttachment): WritePlan {
  const { childId, kind, piece, caps, at } = attachment;
  const child = toStoredId(childId);
  const entry = openChildDocument(childId, kind, at);
  const isGeneration = kind === 'generation';
  const filter = piece
    ? allOf({ 'openPieces.id': { $ne: child } }, RUNNING_COOK, inFlightBelow('openPieces', caps.maxInFlight))
    : allOf({ 'openGenerations.id': { $ne: child } }, OPEN_COOK, fewerThan('openGenerations', caps.maxInFlight));
  const set: Document = { ...touch(at) };
  if (piece) {
    set.openPieces = append('openPieces', entry);
    set.inFlightCount = { $add: [inFlightCount('openPieces'), 1] };
  }
  if (isGeneration) {
    set.openGenerations = append('openGenerations', entry);
    set.generationIds = appendIfRoom('generationIds', child, caps.maxEmbeddedIds);
  } else {
    set.castIds = appendIfRoom('castIds', child, caps.maxEmbeddedIds);
  }
  return { filter, update: [{ $set: set }] };
}

/**
 * `detachFromCook`: forgets an open child. If it was a piece and that leaves the cook with its
 * supply made and nothing in flight, the cook completes in the same update.
 */
export function cookDetachPlan(cookId: string, childId: string, at: Date): WritePlan {
  const child = toStoredId(childId);
  const wasPiece = hasOpenEntry('openPieces', child);
  const inFlightAfter = { $cond: [wasPiece, { $subtract: [inFlightCount('openPieces'), 1] }, inFlightCount('openPieces')] };
  return {
    filter: { $or: [{ 'openPieces.id': child }, { 'openGenerations.id': child }] },
    update: [
      {
        $set: {
          ...completesAt(cookId, { $and: [wasPiece, completes(generatedCount, inFlightAfter)] }, at),
          openPieces: withoutEntry('openPieces', child),
          openGenerations: withoutEntry('openGenerations', child),
          generationIds: withoutId('generationIds', child),
          castIds: withoutId('castIds', child),
          inFlightCount: inFlightAfter,
          ...touch(at),
        },
      },
    ],
  };
}

/**
 * `applyToCook`: a generation is gated on its entry in `openGenerations` and adds its money and
 * outcome; if it is a piece still open, the same update closes the piece and moves its counter. A
 * cast piece is gated on its entry in `openPieces` and moves only the counters. The cook completes
 * in the same update once it has its supply and nothing is in flight.
 */
export function cookApplyPlan(cookId: string, contribution: ChildContribution, at: Date): WritePlan {
  const child = toStoredId(contribution.childId);
  const counter = pieceCounterFor(contribution.status);
  const closes: Document | boolean = contribution.kind === 'cast' ? true : contribution.piece ? hasOpenEntry('openPieces', child) : false;
  const inFlight = inFlightCount('openPieces');
  const inFlightAfter = closes === false ? inFlight : { $cond: [closes, { $subtract: [inFlight, 1] }, inFlight] };
  const counterAfter = closes === false ? field(counter) : { $cond: [closes, { $add: [numberOr(counter, 0), 1] }, field(counter)] };
  const generatedAfter = counter === 'generatedCount' && closes !== false ? { $cond: [closes, { $add: [generatedCount, 1] }, generatedCount] } : generatedCount;
  const set: Document = {
    ...completesAt(cookId, completes(generatedAfter, inFlightAfter), contribution.finishedAt),
    inFlightCount: inFlightAfter,
    ...touch(at),
  };
  if (closes !== false) {
    set[counter] = counterAfter;
    set.openPieces = closes === true ? withoutEntry('openPieces', child) : { $cond: [closes, withoutEntry('openPieces', child), field('openPieces')] };
  }
  if (contribution.kind === 'generation') {
    Object.assign(set, moneyPlus(contribution));
    set.openGenerations = withoutEntry('openGenerations', child);
  }
  const gate = contribution.kind === 'generation' ? { 'openGenerations.id': child } : { 'openPieces.id': child };
  return { filter: gate, update: [{ $set: set }] };
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
