/**
 * Summing a parent's children for reconcile, straight from the stored children. Money is summed
 * as exact integers of 10^-18 dollars.
 */
import { formatUsdUnits, parseUsdUnits } from '../../src/domain/money.js';
import { addOutcome, ZERO_OUTCOMES, type Cast, type Generation, type OutcomeCounts } from '../../src/domain/records.js';
import type { ChildrenSummary, UnfinishedChild } from '../../src/domain/rollup/recompute.js';
import { isTerminalGenerationStatus } from '../../src/domain/status.js';

function firstIds<T extends { id: string }>(records: readonly T[], time: (record: T) => Date, limit: number): string[] {
  return [...records]
    .sort((left, right) => time(left).getTime() - time(right).getTime() || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0))
    .slice(0, limit)
    .map((record) => record.id);
}

function latest(current: Date | null, candidate: Date | null): Date | null {
  if (candidate === null) return current;
  return current === null || candidate > current ? candidate : current;
}

function summarizeGenerations(children: readonly Generation[], maxEmbeddedIds: number): ChildrenSummary['generations'] {
  let outcomes: OutcomeCounts = ZERO_OUTCOMES;
  let finishedPieces: OutcomeCounts = ZERO_OUTCOMES;
  let pointsSpent = 0;
  let protocolNetPoints = 0;
  let costUnits = 0n;
  let lastFinishedAt: Date | null = null;
  const unfinished: UnfinishedChild[] = [];
  for (const child of children) {
    const piece = child.castId === null;
    if (isTerminalGenerationStatus(child.status)) {
      outcomes = addOutcome(outcomes, child.status);
      if (piece) finishedPieces = addOutcome(finishedPieces, child.status);
      pointsSpent += child.pointsSpent;
      protocolNetPoints += child.protocolNetPoints;
      costUnits += parseUsdUnits(child.costUsd);
      lastFinishedAt = latest(lastFinishedAt, child.responseTimestamp);
    } else {
      unfinished.push({ id: child.id, since: child.requestTimestamp, piece });
    }
  }
  return {
    finished: { outcomes, pointsSpent, protocolNetPoints, costUsd: formatUsdUnits(costUnits) },
    finishedPieces,
    lastFinishedAt,
    unfinished,
    firstIds: firstIds(children, (child) => child.requestTimestamp, maxEmbeddedIds),
  };
}

export function summarizeCastChildren(steps: readonly Generation[], maxEmbeddedIds: number): ChildrenSummary {
  const generations = summarizeGenerations(steps, maxEmbeddedIds);
  // Steps are never cook pieces, whatever links they carry.
  return {
    generations: {
      ...generations,
      finishedPieces: ZERO_OUTCOMES,
      unfinished: generations.unfinished.map((step) => ({ ...step, piece: false })),
    },
    casts: null,
  };
}

export function summarizeCookChildren(
  generationChildren: readonly Generation[],
  castPieces: readonly Cast[],
  maxEmbeddedIds: number,
): ChildrenSummary {
  let completed = 0;
  let failed = 0;
  let cancelled = 0;
  let lastFinishedAt: Date | null = null;
  const unfinished: UnfinishedChild[] = [];
  for (const cast of castPieces) {
    if (cast.status === 'running') {
      unfinished.push({ id: cast.id, since: cast.startedAt, piece: true });
      continue;
    }
    if (cast.status === 'completed') completed += 1;
    else if (cast.status === 'failed') failed += 1;
    else cancelled += 1;
    lastFinishedAt = latest(lastFinishedAt, cast.completedAt);
  }
  return {
    generations: summarizeGenerations(generationChildren, maxEmbeddedIds),
    casts: {
      completed,
      failed,
      cancelled,
      lastFinishedAt,
      unfinished,
      firstIds: firstIds(castPieces, (cast) => cast.startedAt, maxEmbeddedIds),
    },
  };
}
