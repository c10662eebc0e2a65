/**
 * Host-driven parent transitions (`finishCast`, `cancelCast`, `finishCook`, `cancelCook`,
 * `pauseCook`, `resumeCook`): one algorithm, with what differs between a cast and a cook in a
 * per-kind spec. The transition is one store operation (for a cast piece, with its apply to the
 * cook). A repeat of a transition that already happened is a success, and finishes what a crash may
 * have left (the children of a cancelled parent); anything else from a terminal status is illegal.
 */
import type { Cast, Cook } from '../domain/records.js';
import type { ParentTransition, WriteResult } from '../domain/rollup/write-result.js';
import { IllegalTransitionError, NotFoundError } from '../errors.js';
import type { CastEnding, LedgerRepository, ParentStore } from '../port.js';
import { announceReleases } from './accounts.js';
import { cancelOpenChildren } from './cancellation.js';
import type { TrackerContext } from './context.js';
import type { ParentChange } from './events.js';
import { parseId } from './parse.js';
import { emitCastEnding, emitCookWrite } from './rollup.js';

/** What differs between a cast and a cook in a host transition. */
export interface HostTransitionSpec<R extends Cast | Cook, W> {
  readonly kind: 'cast' | 'cook';
  store(repository: LedgerRepository): ParentStore<R, W>;
  /** The parent's own write within what the store reported. */
  written(write: W): WriteResult<R>;
  /** Emits the events of the write (only of what changed). */
  announce(context: TrackerContext, change: ParentChange, write: W): void;
}

export const castTransitions: HostTransitionSpec<Cast, CastEnding> = {
  kind: 'cast',
  store: (repository) => repository.casts,
  written: (ending) => ending.cast,
  // The cast's end and, for a cook piece, its apply to the cook.
  announce: (context, change, ending) => emitCastEnding(context, change, ending),
};

export const cookTransitions: HostTransitionSpec<Cook, WriteResult<Cook>> = {
  kind: 'cook',
  store: (repository) => repository.cooks,
  written: (result) => result,
  announce: (context, change, result) => {
    if (result.changed) emitCookWrite(context, change, result);
  },
};

const CHANGE: Record<ParentTransition, ParentChange> = {
  finish: 'finished',
  cancel: 'cancelled',
  pause: 'paused',
  resume: 'resumed',
  expire: 'finished',
};

/**
 * Applies `transition` to the parent named by `idInput`. `accepted` are the statuses a repeat may
 * find the parent in (the first names the transition in an error).
 */
export async function transitionByHost<R extends Cast | Cook, W>(
  context: TrackerContext,
  spec: HostTransitionSpec<R, W>,
  idInput: string,
  transition: ParentTransition,
  accepted: readonly R['status'][],
): Promise<R> {
  const field = `${spec.kind}Id`;
  const id = parseId(idInput, field);
  const store = spec.store(context.repository);
  const write = await store.transition(id, transition, context.clock.now());
  if (write === null) throw new NotFoundError(spec.kind, id, field);
  const result = spec.written(write);
  const parent = result.record;
  if (!result.changed && !accepted.includes(parent.status)) {
    throw new IllegalTransitionError(spec.kind, id, parent.status, accepted[0]!);
  }
  spec.announce(context, CHANGE[transition], write);
  announceReleases(context, write);
  if (parent.status !== 'cancelled') return parent;
  await cancelOpenChildren(context, { kind: spec.kind, id });
  const [reread] = await store.get([id]);
  return reread ?? parent;
}
