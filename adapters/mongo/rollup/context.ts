/** What every roll-up operation of the MongoDB adapter works with. */
import type { Collection, Document } from 'mongodb';
import type { Cast, Cook, Generation } from 'genledger';
import type { WriteTarget } from '../conditional-write.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument } from '../documents.js';
import type { StoredDocument } from '../ids.js';
import { createOwners, type LeaseSettings, type Owners } from './intents.js';
import type { AccountCollections } from '../accounts/apply.js';

export interface RollupCollections {
  readonly generations: Collection<StoredDocument>;
  readonly casts: Collection<StoredDocument>;
  readonly cooks: Collection<StoredDocument>;
  /** Accounts, their ledger entries and parents' budgets: a generation's hold is one more write of its creation and its settlement. */
  readonly accounts: AccountCollections;
}

export type ParentKind = 'cast' | 'cook';

export interface RollupContext extends RollupCollections {
  readonly settings: LeaseSettings;
  readonly owners: Owners;
  readonly generationTarget: WriteTarget<Generation>;
  readonly castTarget: WriteTarget<Cast>;
  readonly cookTarget: WriteTarget<Cook>;
}

export function createRollupContext(collections: RollupCollections, settings: LeaseSettings): RollupContext {
  return {
    ...collections,
    settings,
    owners: createOwners(),
    generationTarget: { collection: collections.generations, read: fromGenerationDocument, entity: 'generation' },
    castTarget: { collection: collections.casts, read: fromCastDocument, entity: 'cast' },
    cookTarget: { collection: collections.cooks, read: fromCookDocument, entity: 'cook' },
  };
}

/** A stored child or parent that is hidden: `version: 0`, its creation still under way (create.ts). */
export function isHidden(document: Document | null): boolean {
  return document !== null && document.version === 0;
}

/** A write result reported only when it changed something. */
export function ifChanged<T extends { changed: boolean }>(result: T | null): T | null {
  return result !== null && result.changed ? result : null;
}

/** The record as stored, reported as a write that changed nothing. */
export function unchangedWrite<T extends { status: string }>(record: T): { changed: false; record: T; previousStatus: T['status'] } {
  return { changed: false, record, previousStatus: record.status };
}
