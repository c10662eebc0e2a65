/**
 * Cancelling a parent cancels its children that have not finished: the steps of a cast, the pieces
 * of a cook (a cast piece cancels its own steps), and any generation still open below a cook. Each
 * cancelled child is settled into its parents like any finished child, so counts stay exact.
 * Everything here is safe to repeat: a retried cancel finishes what a crash interrupted.
 */
import type { Cast, Cook } from '../domain/records.js';
import { forEachLimited } from './concurrency.js';
import type { TrackerContext } from './context.js';
import { cancelOpenGeneration, emitCastWrite, settleCastPiece } from './rollup.js';

export { cancelOpenGeneration };

const FAN_OUT = 8;

/** Cancels the open steps of a cancelled cast, then settles the cast into its cook. */
export async function cancelCastChildren(context: TrackerContext, cast: Cast): Promise<void> {
  await forEachLimited(cast.openSteps, FAN_OUT, async (step) => {
    await cancelOpenGeneration(context, step.id);
  });
  await settleCastPiece(context, cast);
}

/** Cancels a running cast piece and everything open below it. */
export async function cancelCastCascade(context: TrackerContext, castId: string): Promise<void> {
  const result = await context.repository.casts.transition(castId, 'cancel', context.clock.now());
  if (result === null) return;
  if (result.changed) emitCastWrite(context, 'cancelled', result);
  if (result.record.status === 'cancelled') await cancelCastChildren(context, result.record);
  else await settleCastPiece(context, result.record);
}

/** Cancels the open pieces of a cancelled cook, then any generation still open below it. */
export async function cancelCookChildren(context: TrackerContext, cook: Cook): Promise<void> {
  await forEachLimited(cook.openPieces, FAN_OUT, async (piece) => {
    if (piece.kind === 'cast') await cancelCastCascade(context, piece.id);
    else await cancelOpenGeneration(context, piece.id);
  });
  // Steps of cast pieces that ended before the cook was cancelled are still open: cancel them too.
  const [latest] = await context.repository.cooks.get([cook.id]);
  await forEachLimited(latest?.openGenerations ?? [], FAN_OUT, async (generation) => {
    await cancelOpenGeneration(context, generation.id);
  });
}
