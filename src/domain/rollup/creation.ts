/**
 * Creation with parents: a new generation or cast stored and attached to its cast and cook as one
 * atomic operation of the store. The gate is the child's own insert (its id and its idempotency
 * key, checked by the store first, before the parents): only the operation that stores the child
 * bumps its parents' counts, so a retried creation changes no parent.
 *
 * The store does: (1) the key check (a holder is returned as `existing`, nothing written); (2)
 * read the cast (`child.castId`), then the cook (`creationCookId`); (3) `createAttached`; (4) when
 * it says `created`, store the parents it returns and insert the record, all or nothing (an id
 * that exists is a `ConflictError` and writes nothing). Pure, like the reducers.
 */
import type { Cast, Cook, Generation } from '../records.js';
import { attachToCast } from './cast-reducer.js';
import type { ChildAttachment, ParentCaps } from './contribution.js';
import { attachToCook } from './cook-reducer.js';
import type { AttachResult } from './write-result.js';

/**
 * A new child: the record to store and the parents it joins. `at` and `caps` make the attachments,
 * as in {@link ChildAttachment}.
 *
 * - `kind: 'generation'`: attached to `castId` (as a step), then to the cast's cook (a step inside
 *   a cast piece, `piece: false`) or, without a cast, to `cookId` (a generation piece, `piece:
 *   true`). When both `castId` and `cookId` are given, the cast must belong to that cook. The
 *   record's links are set from the parents that accepted it: `castId` and `spellId` from the
 *   cast, `cookId` and `collectionId` from the cook (or the cast's, without a cook).
 * - `kind: 'cast'`: attached to `cookId` as a piece (`kind: 'cast', piece: true`); the cast's
 *   `cookId` and `collectionId` are set from the cook.
 */
export type NewAttachedChild =
  | {
      readonly kind: 'generation';
      readonly record: Generation;
      readonly castId: string | null;
      readonly cookId: string | null;
      readonly at: Date;
      readonly caps: ParentCaps;
    }
  | { readonly kind: 'cast'; readonly record: Cast; readonly cookId: string; readonly at: Date; readonly caps: ParentCaps };

/**
 * What a creation with parents did. Only `created` writes anything.
 *
 * - `created`: the child is stored (`record`, links set) and attached to each parent (counts
 *   bumped, id embedded under the cap); `cast` and `cook` are the parents as that left them
 *   (`null` where the child has no such parent): the records to store.
 * - `existing`: a record with the child's `idempotencyKey` already existed; `record` is that
 *   record, and no parent was touched (nor asked: the key is checked before the parents).
 * - `refused`: a parent refused the child (`closed` or `full`, with the parent as it stands), or
 *   does not exist (`attach: null`). The cast is asked first, then the cook.
 * - `mismatch`: (generations given both `castId` and `cookId`) the cast belongs to another cook
 *   (or to none); `cast` is the cast as it stands.
 */
export type AttachedInsertion<T extends Generation | Cast> =
  | { readonly outcome: 'created'; readonly record: T; readonly cast: Cast | null; readonly cook: Cook | null }
  | { readonly outcome: 'existing'; readonly record: T }
  | {
      readonly outcome: 'refused';
      readonly parent: 'cast' | 'cook';
      readonly parentId: string;
      readonly attach: AttachResult<Cast> | AttachResult<Cook> | null;
    }
  | { readonly outcome: 'mismatch'; readonly cast: Cast };

/** The parents as the store holds them: `null` where the child names none or the record does not exist. */
export interface CreationParents {
  /** The cast named by the child's `castId`. */
  readonly cast: Cast | null;
  /** The cook named by {@link creationCookId}. */
  readonly cook: Cook | null;
}

/** The cook a creation joins, once its cast is read: the cast's cook for a step, else the child's `cookId`. */
export function creationCookId(child: NewAttachedChild, cast: Cast | null): string | null {
  if (child.kind === 'cast') return child.cookId;
  return cast === null ? child.cookId : cast.cookId;
}

function attachmentOf(child: NewAttachedChild, piece: boolean): ChildAttachment {
  return { childId: child.record.id, kind: child.kind, piece, at: child.at, caps: child.caps };
}

function refusal(parent: 'cast' | 'cook', parentId: string, attach: AttachResult<Cast> | AttachResult<Cook> | null) {
  return { outcome: 'refused', parent, parentId, attach } as const;
}

export type Creation<T extends Generation | Cast> = Exclude<AttachedInsertion<T>, { outcome: 'existing' }>;

/**
 * Decides a creation whose idempotency key is free: the parents' checks in order (the cast exists,
 * belongs to `cookId`, and takes the step; the cook exists and takes the child), and, when all
 * accept, the child with its links set and the parents with its attach applied.
 */
export function createAttached(child: Extract<NewAttachedChild, { kind: 'generation' }>, parents: CreationParents): Creation<Generation>;
export function createAttached(child: Extract<NewAttachedChild, { kind: 'cast' }>, parents: CreationParents): Creation<Cast>;
export function createAttached(child: NewAttachedChild, parents: CreationParents): Creation<Generation> | Creation<Cast>;
export function createAttached(child: NewAttachedChild, parents: CreationParents): Creation<Generation> | Creation<Cast> {
  if (child.kind === 'cast') {
    const cook = parents.cook;
    if (cook === null || cook.id !== child.cookId) return refusal('cook', child.cookId, null);
    const cookAttach = attachToCook(cook, attachmentOf(child, true));
    if (cookAttach.outcome !== 'attached') return refusal('cook', cook.id, cookAttach);
    const record = { ...child.record };
    record.cookId = cook.id;
    record.collectionId = cook.collectionId;
    return { outcome: 'created', record, cast: null, cook: cookAttach.record };
  }
  let cast: Cast | null = null;
  let castAttach: AttachResult<Cast> | null = null;
  if (child.castId !== null) {
    cast = parents.cast;
    if (cast === null || cast.id !== child.castId) return refusal('cast', child.castId, null);
    if (child.cookId !== null && cast.cookId !== child.cookId) return { outcome: 'mismatch', cast };
    castAttach = attachToCast(cast, attachmentOf(child, false));
    if (castAttach.outcome !== 'attached') return refusal('cast', cast.id, castAttach);
  }
  const cookId = creationCookId(child, cast);
  let cookAttach: AttachResult<Cook> | null = null;
  if (cookId !== null) {
    const cook = parents.cook;
    if (cook === null || cook.id !== cookId) return refusal('cook', cookId, null);
    cookAttach = attachToCook(cook, attachmentOf(child, cast === null));
    if (cookAttach.outcome !== 'attached') return refusal('cook', cook.id, cookAttach);
  }
  const record = { ...child.record };
  record.castId = cast === null ? null : cast.id;
  record.spellId = cast === null ? null : cast.spellId;
  record.cookId = cookAttach !== null ? cookAttach.record.id : null;
  record.collectionId = cookAttach !== null ? cookAttach.record.collectionId : cast === null ? null : cast.collectionId;
  return { outcome: 'created', record, cast: castAttach === null ? null : castAttach.record, cook: cookAttach === null ? null : cookAttach.record };
}
