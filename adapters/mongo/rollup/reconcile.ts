/**
 * `replaceAggregates` (reconcile) on MongoDB: the given figures (or, for `recover()`, the parent
 * recomputed here from one pass over its children) written with a compare-and-set on `version`,
 * the 0.1.0 open-entry lists `$unset` in the same write.
 *
 * Why it stays exact beside roll-ups in flight (intents.ts): the children's summary counts a child
 * as it is stored (finished, or open: a hidden child too, as in flight). A child whose intent
 * targets this parent without its entry there yet has moved (its gate transition) but its apply has
 * not landed: the summary would count it once and its owner's apply once more, so the rebuild
 * refuses (`null`: the caller recomputes, and the parent is reconciled once the apply landed). A
 * child whose entry is there was applied and is counted as stored. Any apply landing after the
 * caller read the parent moves `version`, and the compare-and-set fails.
 */
import { isTerminalParentStatus, type Cast, type Cook } from 'genledger';
import { recomputeCast, recomputeCook, type CastEnding, type ReleasedReservations, type WriteResult } from 'genledger/adapter';
import type { Document } from 'mongodb';
import { castAggregateFields, cookAggregateFields, fromCastDocument, fromCookDocument } from '../documents.js';
import { fromStoredId, toStoredId } from '../ids.js';
import { scanCastChildren, scanCookChildren } from '../summaries.js';
import { ifChanged, isHidden, type ParentKind, type RollupContext } from './context.js';
import { hasEntry, intentDocument, readIntent, type Run } from './intents.js';
import { holdsReservation, keepRelease, releaseParentHold, withReleases } from './parent-hold.js';

/** The 0.1.0 lists a rebuild removes. */
const LEGACY_LISTS = { cast: { openSteps: '' }, cook: { openPieces: '', openGenerations: '' } } as const;

export function createReconcile(context: RollupContext, drivePiece: (cast: Cast, run: Run, at: Date) => Promise<WriteResult<Cook> | null>) {
  const { generations, casts, cooks, settings, owners } = context;

  /** Whether a child's intent targets this parent while its entry is not (or no longer live) there. */
  async function applyUnderWay(kind: ParentKind, id: string, parent: Document): Promise<boolean> {
    const link = kind === 'cast' ? 'castId' : 'cookId';
    const filter = { [link]: toStoredId(id), genledger: { $exists: true } };
    const projection = { projection: { _id: 1, genledger: 1 } };
    const children = [...(await generations.find(filter, projection).toArray()), ...(kind === 'cook' ? await casts.find(filter, projection).toArray() : [])];
    return children.some((child) => {
      const intent = readIntent(child);
      const childId = fromStoredId(child._id);
      return intent !== null && childId !== null && !hasEntry(parent, childId, intent.op, true);
    });
  }

  /**
   * Writes `recomputed` (or the parent recomputed from its children), compare-and-set on the
   * version; a cast it ends that is a cook piece gets its `piece` intent (owned by `run`) in the
   * same write. The write, or `null` (the version moved, or an apply is under way).
   */
  async function rebuild<T extends Cast | Cook>(kind: ParentKind, id: string, expectedVersion: number | null, recomputed: T | null, at: Date, run: Run): Promise<WriteResult<T> | null> {
    const collection = kind === 'cast' ? casts : cooks;
    const read = (kind === 'cast' ? fromCastDocument : fromCookDocument) as unknown as (document: Document) => T;
    const document = await collection.findOne({ _id: toStoredId(id) });
    if (document === null || isHidden(document)) return null;
    const stored = read(document);
    if (expectedVersion !== null && stored.version !== expectedVersion) return null;
    const cap = (record: Cast | Cook) => ('stepGenerationIds' in record ? record.stepGenerationIds.length : Math.max(record.generationIds.length, record.castIds.length));
    let figures = recomputed;
    if (figures === null) {
      const maxEmbeddedIds = Math.max(cap(stored), 1);
      figures = (
        kind === 'cast'
          ? recomputeCast(stored as Cast, (await scanCastChildren(generations, id, maxEmbeddedIds)).summary, { now: at, maxEmbeddedIds })
          : recomputeCook(stored as Cook, (await scanCookChildren(generations, casts, id, maxEmbeddedIds)).summary, { now: at, maxEmbeddedIds })
      ) as T;
    }
    // After the children were read (here or by the caller): a child that moved before that read is
    // counted by it, so its intent must be seen here; one that moves after it was read as open.
    if (await applyUnderWay(kind, id, document)) return null;
    const version = stored.version;
    const set: Document = { ...(kind === 'cast' ? castAggregateFields(figures as Cast) : cookAggregateFields(figures as Cook)), version: version + 1, updatedAt: at };
    const endsPiece = kind === 'cast' && stored.status === 'running' && isTerminalParentStatus(figures.status) && (figures as Cast).cookId !== null;
    if (endsPiece) set.genledger = intentDocument('piece', [toStoredId((figures as Cast).cookId!)], run);
    // A legacy document without `version` reads as version 1.
    const versionIs = version === 1 ? { $or: [{ version: 1 }, { version: { $not: { $type: 'number' } } }] } : { version };
    const after = await collection.findOneAndUpdate({ ...versionIs, _id: toStoredId(id) }, { $set: set, $unset: LEGACY_LISTS[kind] }, { returnDocument: 'after' });
    if (after === null) return null;
    const record = read(after);
    // A rebuild that ends a held parent releases its reservation (parent-hold.ts).
    if (holdsReservation(after) && !isTerminalParentStatus(stored.status) && isTerminalParentStatus(record.status)) keepRelease(run, await releaseParentHold(context, kind, id, at));
    return { changed: true, record, previousStatus: stored.status };
  }

  /** Rebuilds a cast; a cast this ends is then applied to its cook (the piece). */
  async function rebuildCast(id: string, expectedVersion: number | null, recomputed: Cast | null, at: Date): Promise<(CastEnding & ReleasedReservations) | null> {
    const run = owners.begin(settings);
    try {
      const write = await rebuild<Cast>('cast', id, expectedVersion, recomputed, at, run);
      if (write === null) return null;
      const ends = write.previousStatus === 'running' && isTerminalParentStatus(write.record.status) && write.record.cookId !== null;
      return withReleases({ cast: write, castPiece: ends ? ifChanged(await drivePiece(write.record, run, at)) : null }, run);
    } finally {
      run.end();
    }
  }

  async function rebuildCook(id: string, expectedVersion: number | null, recomputed: Cook | null, at: Date): Promise<(WriteResult<Cook> & ReleasedReservations) | null> {
    const run = owners.begin(settings);
    try {
      return withReleases(await rebuild<Cook>('cook', id, expectedVersion, recomputed, at, run), run);
    } finally {
      run.end();
    }
  }

  return {
    replaceCastAggregates: (id: string, expectedVersion: number, recomputed: Cast, at: Date) => rebuildCast(id, expectedVersion, recomputed, at),
    replaceCookAggregates: (id: string, expectedVersion: number, recomputed: Cook, at: Date) => rebuildCook(id, expectedVersion, recomputed, at),
    rebuildCast,
    rebuildCook,
  };
}
