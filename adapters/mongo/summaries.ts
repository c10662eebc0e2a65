/**
 * Summing a parent's children for reconcile, straight from the stored children. Children are
 * streamed with a small projection and read by the same readers as every other read, so legacy
 * children count exactly as they read; money is summed as exact integers of 10^-18 dollars.
 * Reconcile is maintenance, off the hot path: a full pass over the children is its job.
 *
 * The same pass also lists the children still open (`scan*Children`), for `recover()`'s rebuild
 * of a parent that still carries 0.1.0's open-entry lists (rollup/reconcile.ts). A hidden child
 * (`version: 0`, its creation under way) is counted as in flight: reconcile refuses while its
 * attach has not landed on the parent, and once it has, that is what the child is.
 */
import type { Collection, Document } from 'mongodb';
import { isTerminalGenerationStatus } from 'genledger';
import { type ChildrenSummary, CastPieceTally, GenerationTally } from 'genledger/adapter';
import { fromCastDocument, fromGenerationDocument } from './documents.js';
import { fromStoredId, toStoredId, type StoredDocument } from './ids.js';

const GENERATION_FIGURES = {
  _id: 1, status: 1, pointsSpent: 1, protocolNetPoints: 1, costUsd: 1, requestTimestamp: 1, responseTimestamp: 1, durationMs: 1, castId: 1, 'metadata.castId': 1,
};
const CAST_FIGURES = { _id: 1, status: 1, startedAt: 1, completedAt: 1, updatedAt: 1, durationMs: 1 };

/** A child the pass found open. */
export interface OpenChildSeen {
  readonly id: string;
  /** Its request time (a generation) or start (a cast): the entry's `since` when the parent has none for it. */
  readonly since: Date;
  /** A generation that is itself a cook piece (never under a cast); always true for a cast piece. */
  readonly piece: boolean;
}

export interface ChildrenScan {
  readonly summary: ChildrenSummary;
  /** Generations still pending/processing below the parent. */
  readonly openGenerations: readonly OpenChildSeen[];
  /** Cast pieces still running (cooks only). */
  readonly openCasts: readonly OpenChildSeen[];
}

async function firstIds(collection: Collection<StoredDocument>, filter: Document, time: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const documents = await collection.find(filter, { projection: { _id: 1 }, sort: { [time]: 1, _id: 1 }, limit }).toArray();
  return documents.map((document) => fromStoredId(document._id)).filter((id): id is string => id !== null);
}

async function scanGenerations(
  generations: Collection<StoredDocument>,
  filter: Document,
  underCast: boolean,
  maxEmbeddedIds: number,
  open: OpenChildSeen[],
): Promise<ChildrenSummary['generations']> {
  const tally = new GenerationTally();
  for await (const document of generations.find(filter, { projection: GENERATION_FIGURES })) {
    const child = fromGenerationDocument(document);
    // Under a cast every child is a step; under a cook, a child without a cast is a piece.
    const piece = !underCast && child.castId === null;
    tally.add(child, piece);
    if (!isTerminalGenerationStatus(child.status)) open.push({ id: child.id, since: child.requestTimestamp, piece });
  }
  return tally.summary(await firstIds(generations, filter, 'requestTimestamp', maxEmbeddedIds));
}

export async function scanCastChildren(generations: Collection<StoredDocument>, castId: string, maxEmbeddedIds: number): Promise<ChildrenScan> {
  const openGenerations: OpenChildSeen[] = [];
  const summary = { generations: await scanGenerations(generations, { castId: toStoredId(castId) }, true, maxEmbeddedIds, openGenerations), casts: null };
  return { summary, openGenerations, openCasts: [] };
}

export async function scanCookChildren(
  generations: Collection<StoredDocument>,
  casts: Collection<StoredDocument>,
  cookId: string,
  maxEmbeddedIds: number,
): Promise<ChildrenScan> {
  const cookFilter = { cookId: toStoredId(cookId) };
  const tally = new CastPieceTally();
  const openCasts: OpenChildSeen[] = [];
  for await (const document of casts.find(cookFilter, { projection: CAST_FIGURES })) {
    const cast = fromCastDocument(document);
    tally.add(cast);
    if (cast.status === 'running') openCasts.push({ id: cast.id, since: cast.startedAt, piece: true });
  }
  const openGenerations: OpenChildSeen[] = [];
  const generationSummary = await scanGenerations(generations, cookFilter, false, maxEmbeddedIds, openGenerations);
  return {
    summary: { generations: generationSummary, casts: tally.summary(await firstIds(casts, cookFilter, 'startedAt', maxEmbeddedIds)) },
    openGenerations,
    openCasts,
  };
}

export async function summarizeCastChildren(generations: Collection<StoredDocument>, castId: string, maxEmbeddedIds: number): Promise<ChildrenSummary> {
  return (await scanCastChildren(generations, castId, maxEmbeddedIds)).summary;
}

export async function summarizeCookChildren(
  generations: Collection<StoredDocument>,
  casts: Collection<StoredDocument>,
  cookId: string,
  maxEmbeddedIds: number,
): Promise<ChildrenSummary> {
  return (await scanCookChildren(generations, casts, cookId, maxEmbeddedIds)).summary;
}
