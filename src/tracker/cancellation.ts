/**
 * Cancelling a parent cancels its children that have not finished: the steps of a cast, the pieces
 * of a cook (a cast piece cancels its own steps), and any generation still open below a cook. The
 * children are found by the store's `openChildren` (never by a list in the parent), and each is
 * settled like any finished child, so counts stay exact. Everything here is safe to repeat: a
 * retried cancel, or the sweeper, finishes what a crash interrupted. This is the one cancellation
 * path: `cancelCast`/`cancelCook`, a step cancelled by its user, and the sweeper all come here.
 */
import type { ParentRef } from '../port.js';
import { announceReleases } from './accounts.js';
import { FAN_OUT, forEachLimited } from './concurrency.js';
import type { TrackerContext } from './context.js';
import { emitCastEnding, finishAndSettle } from './rollup.js';

const PAGE = 200;

/** Cancels the open steps of a cancelled cast. Returns the ids it cancelled. */
export function cancelCastChildren(context: TrackerContext, castId: string): Promise<string[]> {
  return cancelOpenChildren(context, { kind: 'cast', id: castId });
}

/** Cancels the running cast pieces of a cancelled cook (with their steps), then every generation still open below it. */
export function cancelCookChildren(context: TrackerContext, cookId: string): Promise<string[]> {
  return cancelOpenChildren(context, { kind: 'cook', id: cookId });
}

/**
 * Cancels the open steps of a cast cancelled by one of its steps, if any are left (a crash cut the
 * cascade short): a retried `completeGeneration` finishes it, as the first call would have.
 */
export async function resumeStepCancellation(context: TrackerContext, castId: string): Promise<void> {
  const [cast] = await context.repository.casts.get([castId]);
  if (cast !== undefined && cast.status === 'cancelled' && cast.inFlightCount > 0) await cancelCastChildren(context, castId);
}

/**
 * Cancels what is still open below a parent, reading the store's open children again from the
 * start until none is left (a cancelled child leaves the set, so no cursor is needed): for a cook,
 * its running cast pieces first (each with its own steps), then every generation still open below
 * it. Returns the ids this call cancelled. A child is handled once per call: if a page holds only
 * children already handled (the store still lists them as open), it stops with a warning rather
 * than spin; `reconcile()` and the sweeper deal with such a parent.
 */
export async function cancelOpenChildren(context: TrackerContext, parent: ParentRef): Promise<string[]> {
  const cancelled: string[] = [];
  const handled = new Set<string>();
  for (;;) {
    const open = await context.repository.openChildren(parent, PAGE);
    const castIds = open.castIds.filter((id) => !handled.has(id));
    const generationIds = open.generationIds.filter((id) => !handled.has(id));
    if (castIds.length === 0 && generationIds.length === 0) {
      if (open.castIds.length + open.generationIds.length > 0) {
        context.logger.warn(`[genledger] ${parent.kind} "${parent.id}" still lists open children that could not be cancelled; reconcile() it`, {
          kind: parent.kind,
          id: parent.id,
          generationIds: open.generationIds.slice(0, 10),
          castIds: open.castIds.slice(0, 10),
        });
      }
      return cancelled;
    }
    for (const id of [...castIds, ...generationIds]) handled.add(id);
    await forEachLimited(castIds, FAN_OUT, async (castId) => {
      const ending = await context.repository.casts.transition(castId, 'cancel', context.clock.now());
      if (ending === null) return;
      emitCastEnding(context, 'cancelled', ending);
      announceReleases(context, ending);
      if (ending.cast.changed) cancelled.push(castId);
      if (ending.cast.record.status === 'cancelled') cancelled.push(...(await cancelOpenChildren(context, { kind: 'cast', id: castId })));
    });
    await forEachLimited(generationIds, FAN_OUT, async (generationId) => {
      if (await cancelOpenGeneration(context, generationId)) cancelled.push(generationId);
    });
  }
}

/** Cancels one generation if it is still open (as its user would), with its roll-ups. Whether this call cancelled it. */
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
