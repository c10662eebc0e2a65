/**
 * The port's composite operations (creation with parents, settlement, a cast's end, reconcile's
 * replacement, recovery) on MongoDB WITHOUT multi-document transactions, so a standalone server
 * keeps working: each is a sequence of single-document writes gated by the child's intent and
 * the parent's in-progress entries (design 12, option (b): intents.ts says how). One file per
 * operation: create.ts, settle.ts, adjust.ts, reconcile.ts, recover.ts; parent-apply.ts is the fenced write
 * they share.
 */
import type { Collection, Document } from 'mongodb';
import type { Cast, Cook, Units } from 'genledger';
import type { ParentRef, OpenChildren } from 'genledger/adapter';
import { VISIBLE } from '../filters.js';
import { fromStoredId, toStoredId, type StoredDocument } from '../ids.js';
import { CAST_WORDS, OPEN_GENERATION_WORDS } from '../status-words.js';
import { createAdjustment } from './adjust.js';
import { createRollupContext, type RollupCollections } from './context.js';
import { createInsertAttached } from './create.js';
import type { LeaseSettings } from './intents.js';
import { createReconcile } from './reconcile.js';
import { createRecover } from './recover.js';
import { createSettlement } from './settle.js';
import { insertHeldParent, releaseIfEnded } from './parent-hold.js';

export type { RollupCollections } from './context.js';
export type { LeaseSettings } from './intents.js';
export { LeaseExpiredError } from './parent-apply.js';


export function createRollupProtocol(collections: RollupCollections, settings: LeaseSettings) {
  const context = createRollupContext(collections, settings);
  const creation = createInsertAttached(context);
  const settlement = createSettlement(context);
  const adjustment = createAdjustment(context, { driveSettle: settlement.driveSettle });
  const reconcile = createReconcile(context, settlement.drivePiece);
  const { recover } = createRecover(context, {
    driveSettle: settlement.driveSettle,
    driveAdjust: adjustment.driveAdjust,
    drivePiece: settlement.drivePiece,
    finishTakenOver: creation.finishTakenOver,
    rebuildCast: reconcile.rebuildCast,
    rebuildCook: reconcile.rebuildCook,
  });

  /** Open children of a parent (cancellation cascades, the sweeper), oldest first; hidden ones are not yet children. */
  async function openChildren(parent: ParentRef, limit: number): Promise<OpenChildren> {
    if (limit <= 0) return { generationIds: [], castIds: [] };
    const link = parent.kind === 'cast' ? 'castId' : 'cookId';
    const ids = async (collection: Collection<StoredDocument>, filter: object, sort: Record<string, 1>) =>
      (await collection.find({ ...filter, ...VISIBLE }, { projection: { _id: 1 }, sort, limit }).toArray()).map((document) => fromStoredId(document._id)).filter((id): id is string => id !== null);
    const generationIds = await ids(collections.generations, { [link]: toStoredId(parent.id), status: { $in: [...OPEN_GENERATION_WORDS] } }, { requestTimestamp: 1, _id: 1 });
    const castIds = parent.kind === 'cook' ? await ids(collections.casts, { cookId: toStoredId(parent.id), status: { $in: [...CAST_WORDS.running] } }, { startedAt: 1, _id: 1 }) : [];
    return { generationIds, castIds };
  }

  return {
    insertAttached: creation.insertAttached,
    insertHeldParent: <T extends Cast | Cook>(kind: 'cast' | 'cook', record: T, units: Units, flags: Document) => insertHeldParent(context, kind, record, units, flags),
    releaseIfEnded: (kind: 'cast' | 'cook', id: string, at: Date) => releaseIfEnded(context, kind, id, at),
    settleGeneration: settlement.settleGeneration,
    adjustGeneration: adjustment.adjustGeneration,
    transitionCast: settlement.transitionCast,
    replaceCastAggregates: reconcile.replaceCastAggregates,
    replaceCookAggregates: reconcile.replaceCookAggregates,
    openChildren,
    recover,
  };
}
