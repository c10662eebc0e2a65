/**
 * Driving the roll-up through the port: settling a finished child into its parents, and the events
 * of each write (cancelling what is open below a parent is `cancellation.ts`). Every roll-up is one
 * atomic store operation gated by the child's own transition, so each function here may be called
 * again after a crash, a lost reply or a duplicate event, and counts nothing twice.
 */
import { castProgress, cookProgress } from '../domain/progress.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { AttachResult, WriteResult } from '../domain/rollup/write-result.js';
import { isTerminalParentStatus } from '../domain/status.js';
import { ConflictError, IllegalTransitionError, NotFoundError } from '../errors.js';
import type { AccountedSettlement } from '../account-port.js';
import type { CastEnding, GenerationOutcome } from '../port.js';
import { announceReleases, announceSettledHold } from './accounts.js';
import { cancelOpenChildren } from './cancellation.js';
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
 * The typed error for a parent that did not take a child: missing (`null`), closed, or full.
 * `piece` only words the message. Used for the refusals `insertAttached` reports.
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
        `${entity} "${parentId}" already has as many children in flight as it takes (limits.maxInFlightChildren is ${context.caps.maxInFlight}; a store may cap lower, see its docs); finish some first`,
      );
    default:
      // An adapter that reports a refusal with an outcome that is not one.
      return new Error(`[genledger] ${entity} "${parentId}" was reported refusing a child with outcome "${result.outcome}"`);
  }
}

/** Emits a cast's write and, when it ended a cook piece, the piece's apply to the cook. */
export function emitCastEnding(context: TrackerContext, change: ParentChange, ending: CastEnding): void {
  if (ending.cast.changed) emitCastWrite(context, change, ending.cast);
  if (ending.castPiece?.changed) emitCookWrite(context, 'childFinished', ending.castPiece);
}

/**
 * The terminal transition of a generation and its roll-ups: one atomic store operation
 * (`settleGeneration`), whose gate is the generation's own move to a terminal status, so a repeat
 * writes nothing. `null` when the generation does not exist.
 */
export function finishAndSettle(
  context: TrackerContext,
  generationId: string,
  outcome: GenerationOutcome,
): Promise<WriteResult<Generation> | null> {
  // Chained rather than awaited in an async function: one promise fewer per completion.
  return context.repository.settleGeneration(generationId, outcome, outcome.at).then((settlement) => afterSettlement(context, settlement));
}

/** Emits what a settlement wrote, and cancels the open steps of a cast a step cancelled. */
function afterSettlement(
  context: TrackerContext,
  settlement: AccountedSettlement | null,
): WriteResult<Generation> | null | Promise<WriteResult<Generation>> {
  if (settlement === null) return null;
  const { generation, cast, cook, castPiece } = settlement;
  if (generation.changed) emitGenerationChange(context, 'finished', generation.record);
  announceSettledHold(context, settlement);
  if (generation.changed) warnIfParentGone(context, generation.record, settlement);
  if (cast?.changed) emitCastWrite(context, 'childFinished', cast);
  if (cook?.changed) emitCookWrite(context, 'childFinished', cook);
  if (castPiece?.changed) emitCookWrite(context, 'childFinished', castPiece);
  announceReleases(context, settlement);
  // A step cancelled by the user cancels its cast, and a cancelled cast cancels its other open
  // steps, as cancelCast() would. (A crash here is finished by the sweeper: the cast is cancelled
  // with steps in flight.)
  if (cast && cast.previousStatus === 'running' && cast.record.status === 'cancelled') {
    return cancelOpenChildren(context, { kind: 'cast', id: cast.record.id }).then(() => generation);
  }
  return generation;
}

function warnIfParentGone(context: TrackerContext, generation: Generation, settlement: AccountedSettlement): void {
  // A child only ever links to a parent that accepted it, so this means the parent was deleted
  // behind the library's back. The child's own record stands; there is nothing to roll up into.
  if (generation.castId !== null && settlement.cast === null) warnMissingParent(context, 'cast', generation.castId, generation.id);
  if (generation.cookId !== null && settlement.cook === null) warnMissingParent(context, 'cook', generation.cookId, generation.id);
}

function warnMissingParent(context: TrackerContext, kind: 'cast' | 'cook', parentId: string, childId: string): void {
  context.logger.warn(`[genledger] ${kind} "${parentId}" of "${childId}" no longer exists; nothing rolled up`, { kind, parentId, childId });
}
