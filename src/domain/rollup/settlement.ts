/**
 * Settlement: a generation's terminal transition and its roll-ups, as one atomic operation of the
 * store. The gate that makes the roll-ups happen once is the generation's own move from
 * pending/processing to a terminal status: only the operation that makes that move applies the
 * generation to its cast and its cook (and, when that ends the cast and the cast is a cook piece,
 * the cast to the cook). A repeat finds the generation terminal and applies nothing.
 *
 * Pure: the memory adapter runs it as its write; every other adapter must leave exactly what it
 * leaves (the conformance suite checks it).
 */
import { finishGeneration, type GenerationOutcome } from '../generation-reducer.js';
import type { Cast, Cook, Generation } from '../records.js';
import { isTerminalGenerationStatus } from '../status.js';
import { applyToCast } from './cast-reducer.js';
import { castPieceContribution, generationContribution } from './contribution.js';
import { applyToCook } from './cook-reducer.js';
import { endsCastPiece } from './cast-ending.js';
import type { WriteResult } from './write-result.js';

/** What one settlement did, write by write. */
export interface Settlement {
  /** The terminal write on the generation (`changed: false` when it had already finished, or was not stale, with the stored record). */
  readonly generation: WriteResult<Generation>;
  /** The apply to its cast; `null` when it has no cast (or the cast is gone) or this settlement did not finish it. */
  readonly cast: WriteResult<Cast> | null;
  /** The apply of its money (and, for a piece, its outcome) to its cook; `null` likewise. */
  readonly cook: WriteResult<Cook> | null;
  /** The apply of its cast to the cook, when this apply ended the cast and the cast is a cook piece; `null` otherwise. */
  readonly castPiece: WriteResult<Cook> | null;
}

/** Whether a generation write moved it from pending/processing to a terminal status: the settlement's gate. */
export function finishedNow(write: WriteResult<Generation>): boolean {
  return write.changed && !isTerminalGenerationStatus(write.previousStatus) && isTerminalGenerationStatus(write.record.status);
}

/**
 * Settles `generation` with `outcome`.
 *
 * @param cast the generation's cast as stored (`generation.castId`), `null` when it has none or it is gone
 * @param cook the generation's cook as stored (`generation.cookId`), `null` likewise
 * @returns the writes; the records to store are each non-null write's `record` with `changed: true`
 *   (the cook's last write is `castPiece` when there is one, else `cook`)
 */
export function settle(generation: Generation, cast: Cast | null, cook: Cook | null, outcome: GenerationOutcome, at: Date): Settlement {
  const written = finishGeneration(generation, outcome);
  if (!finishedNow(written)) return { generation: written, cast: null, cook: null, castPiece: null };
  const contribution = generationContribution(written.record);
  const castWrite = cast !== null && cast.id === written.record.castId ? applyToCast(cast, contribution, at) : null;
  const cookWrite = cook !== null && cook.id === written.record.cookId ? applyToCook(cook, contribution, at) : null;
  let castPiece: WriteResult<Cook> | null = null;
  if (castWrite !== null && endsCastPiece(castWrite)) {
    const ended = castWrite.record;
    // The cast's cook is the generation's cook: creation set the links from the cast.
    if (cookWrite !== null && cookWrite.record.id === ended.cookId) castPiece = applyToCook(cookWrite.record, castPieceContribution(ended), at);
  }
  return { generation: written, cast: castWrite, cook: cookWrite, castPiece };
}
