/**
 * Summing a parent's children for reconcile, straight from the stored children. Children are
 * streamed with a small projection and read by the same readers as every other read, so legacy
 * children count exactly as they read; money is summed as exact integers of 10^-18 dollars.
 * Reconcile is maintenance, off the hot path: a full pass over the children is its job.
 */
import type { Collection, Document } from 'mongodb';
import type { ChildrenSummary } from '../../src/domain/rollup/recompute.js';
import { CastPieceTally, GenerationTally } from '../../src/domain/rollup/tally.js';
import { fromCastDocument, fromGenerationDocument } from './documents.js';
import { fromStoredId, toStoredId, type StoredDocument } from './ids.js';

const GENERATION_FIGURES = {
  _id: 1, status: 1, pointsSpent: 1, protocolNetPoints: 1, costUsd: 1, requestTimestamp: 1, responseTimestamp: 1, durationMs: 1, castId: 1, 'metadata.castId': 1,
};
const CAST_FIGURES = { _id: 1, status: 1, startedAt: 1, completedAt: 1, updatedAt: 1, durationMs: 1 };

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
  const tally = new GenerationTally();
  for await (const document of generations.find(filter, { projection: GENERATION_FIGURES })) {
    const child = fromGenerationDocument(document);
    // Under a cast every child is a step; under a cook, a child without a cast is a piece.
    tally.add(child, !underCast && child.castId === null);
  }
  return tally.summary(await firstIds(generations, filter, 'requestTimestamp', maxEmbeddedIds));
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
  const tally = new CastPieceTally();
  for await (const document of casts.find(cookFilter, { projection: CAST_FIGURES })) tally.add(fromCastDocument(document));
  return {
    generations: await summarizeGenerations(generations, cookFilter, false, maxEmbeddedIds),
    casts: tally.summary(await firstIds(casts, cookFilter, 'startedAt', maxEmbeddedIds)),
  };
}
