/**
 * Driving the roll-up through the port: attaching a new child to its parents, and settling a
 * finished child into them. Every step is one conditional write that is safe to repeat, so each
 * function here may be called again after a crash, a lost reply or a duplicate event, and it
 * finishes whatever the earlier call left undone without counting anything twice.
 */
import { castProgress, cookProgress } from '../domain/progress.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import { castPieceContribution, generationContribution, type ChildAttachment } from '../domain/rollup/contribution.js';
import type { AttachResult, WriteResult } from '../domain/rollup/write-result.js';
import { isTerminalGenerationStatus, isTerminalParentStatus } from '../domain/status.js';
import { ConflictError, IllegalTransitionError, NotFoundError } from '../errors.js';
import type { ChildContribution, GenerationOutcome, ParentStore, Settlement } from '../port.js';
import type { TrackerContext } from './context.js';
import type { ParentChange } from './events.js';

// Each emitter checks for listeners first: with none, building the payload is wasted work on the
// hot path (progress views are computed per event).

export function emitGenerationChange(
  context: TrackerContext,
  change: 'recorded' | 'started' | 'finished' | 'delivery',
  generation: Generation,
): void {
  const { bus } = context;
  if (bus.has('generationUpdate'))
    bus.emit('generationUpdate', { change, generation, castId: generation.castId, cookId: generation.cookId });
  if (change === 'finished' && bus.has('generationFinished')) {
    bus.emit('generationFinished', { generation, castId: generation.castId, cookId: generation.cookId });
  }
}

/** Emits a cast's update, and its finished event if this write ended it. */
export function emitCastWrite(context: TrackerContext, change: ParentChange, result: WriteResult<Cast>): void {
  const { bus } = context;
  const ended = result.previousStatus === 'running' && isTerminalParentStatus(result.record.status);
  if (!bus.has('castUpdate') && !(ended && bus.has('castFinished'))) return;
  const cast = result.record;
  const progress = castProgress(cast);
  bus.emit('castUpdate', { change, cast, progress });
  if (ended) bus.emit('castFinished', { cast, progress });
}

/** Emits a cook's update, and its finished event if this write ended it. */
export function emitCookWrite(context: TrackerContext, change: ParentChange, result: WriteResult<Cook>): void {
  const { bus } = context;
  const wasOpen = result.previousStatus === 'running' || result.previousStatus === 'paused';
  const ended = wasOpen && isTerminalParentStatus(result.record.status);
  if (!bus.has('cookUpdate') && !(ended && bus.has('cookFinished'))) return;
  const cook = result.record;
  const progress = cookProgress(cook);
  bus.emit('cookUpdate', { change, cook, progress });
  if (ended) bus.emit('cookFinished', { cook, progress });
}

/**
 * The parent an attach wrote, or the typed error that explains its refusal. `field` names the
 * input that pointed at the parent. Synchronous: the caller awaits the store's attach itself (one
 * promise fewer per attach than an async helper).
 */
export function attachedParent<T extends Cast | Cook>(
  context: TrackerContext,
  entity: 'cast' | 'cook',
  result: AttachResult<T> | null,
  parentId: string,
  attachment: ChildAttachment,
  field: string,
): T {
  if (result !== null && (result.outcome === 'attached' || result.outcome === 'already-attached')) return result.record;
  throw attachRefusal(context, entity, result, parentId, attachment.piece, field);
}

/**
 * The typed error for a parent that did not take a child: missing (`null`), closed, or full.
 * `piece` only words the message. Used by {@link attachedParent} and for the refusals
 * `insertAttached` reports.
 */
export function attachRefusal(
  context: TrackerContext,
  entity: 'cast' | 'cook',
  result: AttachResult<Cast | Cook> | null,
  parentId: string,
  piece: boolean,
  field: string,
): Error {
  if (result === null) return new NotFoundError(entity, parentId, field);
  switch (result.outcome) {
    case 'closed':
      return new IllegalTransitionError(
        entity,
        parentId,
        result.record.status,
        'add a child',
        field,
        `${entity} "${parentId}" is ${result.record.status} and takes no ${piece ? 'new pieces' : 'new children'}`,
      );
    case 'full':
      return new ConflictError(
        field,
        `${entity} "${parentId}" already has ${context.caps.maxInFlight} children in flight (limits.maxInFlightChildren); finish some first`,
      );
    default:
      // An adapter that reports a refusal with an outcome that is not one.
      return new Error(`[genledger] ${entity} "${parentId}" was reported refusing a child with outcome "${result.outcome}"`);
  }
}

/** Forgets open entries for a child that will never be stored (a lost idempotency race). */
export async function detachEverywhere(
  context: TrackerContext,
  childId: string,
  parents: readonly { kind: 'cast' | 'cook'; id: string }[],
): Promise<void> {
  const at = context.clock.now();
  for (const parent of parents) {
    const store: ParentStore<Cast | Cook, never> = parent.kind === 'cast' ? context.repository.casts : context.repository.cooks;
    await store.detach(parent.id, childId, at);
  }
}

/**
 * Applies a finished generation to its cast and its cook, once each, then a cast that has ended
 * to its cook. Money first, so a cook that completes on its last piece already holds that
 * piece's cost. Safe to repeat.
 */
export async function settleGeneration(context: TrackerContext, generation: Generation): Promise<void> {
  const at = context.clock.now();
  const contribution = generationContribution(generation);
  let cast: Cast | null = null;
  if (generation.castId !== null) {
    const result = await context.repository.casts.apply(generation.castId, contribution, at);
    if (result === null) warnMissingParent(context, 'cast', generation.castId, generation.id);
    else {
      if (result.changed) emitCastWrite(context, 'childFinished', result);
      cast = result.record;
      // A step cancelled by the user cancels its cast, and a cancelled cast cancels its other
      // open steps, as cancelCast() would. (A crash here is finished by the sweeper.)
      if (result.previousStatus === 'running' && cast.status === 'cancelled') await cancelOpenSteps(context, cast);
    }
  }
  if (generation.cookId !== null) await applyToCook(context, generation.cookId, contribution, generation.id);
  if (cast !== null) await settleCastPiece(context, cast);
}

async function cancelOpenSteps(context: TrackerContext, cast: Cast): Promise<void> {
  for (const step of cast.openSteps) await cancelOpenGeneration(context, step.id);
}

/** Cancels one generation if it is still open (as its user would), and settles it into its parents. */
export async function cancelOpenGeneration(context: TrackerContext, generationId: string): Promise<boolean> {
  const at = context.clock.now();
  const result = await finishAndSettle(context, generationId, {
    status: 'cancelled_by_user',
    pointsSpent: 0,
    protocolNetPoints: 0,
    costUsd: '0',
    responseTimestamp: at,
    at,
  });
  return result?.changed ?? false;
}

/**
 * The terminal transition of a generation and its roll-up, in one atomic store operation when the
 * store offers `settleGeneration`, else as the sequence of conditional writes. When the generation
 * had already finished, the roll-up is driven again (each write a no-op if it landed before), so a
 * retry finishes what a crash interrupted. `null` when the generation does not exist.
 */
export function finishAndSettle(
  context: TrackerContext,
  generationId: string,
  outcome: GenerationOutcome,
): Promise<WriteResult<Generation> | null> {
  const { repository } = context;
  if (repository.settleGeneration) {
    // Chained rather than awaited in an async function: one promise fewer per completion.
    return repository.settleGeneration(generationId, outcome, outcome.at).then((settlement) => afterSettlement(context, settlement));
  }
  return finishInSequence(context, generationId, outcome);
}

/** Emits what a one-operation settlement wrote, and cancels the open steps of a cast a step cancelled. */
function afterSettlement(
  context: TrackerContext,
  settlement: Settlement | null,
): WriteResult<Generation> | null | Promise<WriteResult<Generation>> {
  if (settlement === null) return null;
  const { generation, cast, cook, castPiece } = settlement;
  if (generation.changed) emitGenerationChange(context, 'finished', generation.record);
  if (cast?.changed) emitCastWrite(context, 'childFinished', cast);
  if (cook?.changed) emitCookWrite(context, 'childFinished', cook);
  if (castPiece?.changed) emitCookWrite(context, 'childFinished', castPiece);
  if (cast && cast.previousStatus === 'running' && cast.record.status === 'cancelled') {
    return cancelOpenSteps(context, cast.record).then(() => generation);
  }
  return generation;
}

async function finishInSequence(
  context: TrackerContext,
  generationId: string,
  outcome: GenerationOutcome,
): Promise<WriteResult<Generation> | null> {
  const result = await context.repository.generations.finish(generationId, outcome);
  if (result === null) return null;
  if (result.changed) emitGenerationChange(context, 'finished', result.record);
  if (isTerminalGenerationStatus(result.record.status)) await settleGeneration(context, result.record);
  return result;
}

/** Applies an ended cast to its cook as a finished piece, once. Does nothing for a running cast or one without a cook. */
export async function settleCastPiece(context: TrackerContext, cast: Cast): Promise<void> {
  if (cast.cookId === null || !isTerminalParentStatus(cast.status)) return;
  await applyToCook(context, cast.cookId, castPieceContribution(cast), cast.id);
}

async function applyToCook(context: TrackerContext, cookId: string, contribution: ChildContribution, childId: string): Promise<void> {
  const result = await context.repository.cooks.apply(cookId, contribution, context.clock.now());
  if (result === null) warnMissingParent(context, 'cook', cookId, childId);
  else if (result.changed) emitCookWrite(context, 'childFinished', result);
}

function warnMissingParent(context: TrackerContext, kind: 'cast' | 'cook', parentId: string, childId: string): void {
  // A child only ever links to a parent that accepted it, so this means the parent was deleted
  // behind the library's back. The child's own record stands; there is nothing to roll up into.
  context.logger.warn(`[genledger] ${kind} "${parentId}" of "${childId}" no longer exists; nothing rolled up`, { kind, parentId, childId });
}
