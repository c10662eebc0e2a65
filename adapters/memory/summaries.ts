/** Summing a parent's children for reconcile, straight from the stored children. */
import type { Cast, Generation } from 'genledger';
import { type ChildrenSummary, CastPieceTally, GenerationTally } from 'genledger/adapter';

function firstIds<T extends { id: string }>(records: readonly T[], time: (record: T) => Date, limit: number): string[] {
  return [...records]
    .sort((left, right) => time(left).getTime() - time(right).getTime() || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0))
    .slice(0, limit)
    .map((record) => record.id);
}

export function summarizeCastChildren(steps: readonly Generation[], maxEmbeddedIds: number): ChildrenSummary {
  const tally = new GenerationTally();
  // Steps are never cook pieces, whatever links they carry.
  for (const step of steps) tally.add(step, false);
  return { generations: tally.summary(firstIds(steps, (step) => step.requestTimestamp, maxEmbeddedIds)), casts: null };
}

export function summarizeCookChildren(generationChildren: readonly Generation[], castPieces: readonly Cast[], maxEmbeddedIds: number): ChildrenSummary {
  const generations = new GenerationTally();
  for (const child of generationChildren) generations.add(child, child.castId === null);
  const casts = new CastPieceTally();
  for (const cast of castPieces) casts.add(cast);
  return {
    generations: generations.summary(firstIds(generationChildren, (child) => child.requestTimestamp, maxEmbeddedIds)),
    casts: casts.summary(firstIds(castPieces, (cast) => cast.startedAt, maxEmbeddedIds)),
  };
}
