/**
 * Summing a parent's children for reconcile, straight from the stored children. Children are
 * streamed with a small projection and read by the same readers as every other read, so legacy
 * children count exactly as they read; money is summed as exact integers of 10^-18 dollars.
 * Reconcile is maintenance, off the hot path: a full pass over the children is its job.
 */
import type { Collection, Document } from 'mongodb';
import { formatUsdUnits, parseUsdUnits } from '../../src/domain/money.js';
import { addOutcome, ZERO_OUTCOMES, type OutcomeCounts } from '../../src/domain/records.js';
import type { ChildrenSummary, UnfinishedChild } from '../../src/domain/rollup/recompute.js';
import { isTerminalGenerationStatus } from '../../src/domain/status.js';
import { fromCastDocument, fromGenerationDocument } from './documents.js';
import { fromStoredId, toStoredId, type StoredDocument } from './ids.js';

const GENERATION_FIGURES = {
  _id: 1, status: 1, pointsSpent: 1, protocolNetPoints: 1, costUsd: 1, requestTimestamp: 1, responseTimestamp: 1, durationMs: 1, castId: 1, 'metadata.castId': 1,
};
const CAST_FIGURES = { _id: 1, status: 1, startedAt: 1, completedAt: 1, updatedAt: 1, durationMs: 1 };

function latest(current: Date | null, candidate: Date | null): Date | null {
  if (candidate === null) return current;
  return current === null || candidate > current ? candidate : current;
}

async function firstIds(collection: Collection<StoredDocument>, filter: Document, time: string, limit: number): Promise<string[]> {
  const documents = await collection.find(filter, { projection: { _id: 1 }, sort: { [time]: 1, _id: 1 }, limit }).toArray();
  return documents.map((document) => fromStoredId(document._id)).filter((id): id is string => id !== null);
}

async function summarizeGenerations(
  generations: Collection<StoredDocument>,
  filter: Document,
  underCast: boolean,
  maxEmbeddedIds: number,
): Promise<ChildrenSummary['generations']> {
  let outcomes: OutcomeCounts = ZERO_OUTCOMES;
  let finishedPieces: OutcomeCounts = ZERO_OUTCOMES;
  let pointsSpent = 0;
  let protocolNetPoints = 0;
  let costUnits = 0n;
  let lastFinishedAt: Date | null = null;
  const unfinished: UnfinishedChild[] = [];
  for await (const document of generations.find(filter, { projection: GENERATION_FIGURES })) {
    const child = fromGenerationDocument(document);
    // Under a cast every child is a step; under a cook, a child without a cast is a piece.
    const piece = !underCast && child.castId === null;
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
    firstIds: await firstIds(generations, filter, 'requestTimestamp', maxEmbeddedIds),
  };
}

export async function summarizeCastChildren(generations: Collection<StoredDocument>, castId: string, maxEmbeddedIds: number): Promise<ChildrenSummary> {
  return { generations: await summarizeGenerations(generations, { castId: toStoredId(castId) }, true, maxEmbeddedIds), casts: null };
}

export async function summarizeCookChildren(
  generations: Collection<StoredDocument>,
  casts: Collection<StoredDocument>,
  cookId: string,
  maxEmbeddedIds: number,
): Promise<ChildrenSummary> {
  const cookFilter = { cookId: toStoredId(cookId) };
  let completed = 0;
  let failed = 0;
  let cancelled = 0;
  let lastFinishedAt: Date | null = null;
  const unfinished: UnfinishedChild[] = [];
  for await (const document of casts.find(cookFilter, { projection: CAST_FIGURES })) {
    const cast = fromCastDocument(document);
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
    generations: await summarizeGenerations(generations, cookFilter, false, maxEmbeddedIds),
    casts: { completed, failed, cancelled, lastFinishedAt, unfinished, firstIds: await firstIds(casts, cookFilter, 'startedAt', maxEmbeddedIds) },
  };
}
