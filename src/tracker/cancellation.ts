/**
 * Cancelling a parent cancels its children that have not finished: the steps of a cast, the pieces
 * of a cook (a cast piece cancels its own steps), and any generation still open below a cook. The
 * children are found by the store's `openChildren` (never by a list in the parent), and each is
 * settled like any finished child, so counts stay exact. Everything here is safe to repeat: a
 * retried cancel, or the sweeper, finishes what a crash interrupted.
 */
import type { TrackerContext } from './context.js';
import { cancelOpenChildren, cancelOpenGeneration } from './rollup.js';

export { cancelOpenGeneration };

/** Cancels the open steps of a cancelled cast. Returns the ids it cancelled. */
export function cancelCastChildren(context: TrackerContext, castId: string): Promise<string[]> {
  return cancelOpenChildren(context, { kind: 'cast', id: castId });
}

/** Cancels the running cast pieces of a cancelled cook (with their steps), then every generation still open below it. */
export function cancelCookChildren(context: TrackerContext, cookId: string): Promise<string[]> {
  return cancelOpenChildren(context, { kind: 'cook', id: cookId });
}
