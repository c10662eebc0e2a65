/**
 * `insertAttached`: a creation with its parents, child first (intents.ts).
 *
 * 1. The key and the id, in one read: a visible holder of the key is the answer; a hidden one
 *    (`version: 0`, a creation under way) is too, unless its creation was this process's and has
 *    ended (the host's retry after a crash): then this call adopts and finishes it.
 * 2. The parents are read, so the child is stored with its links and the domain's refusal of a
 *    closed or full parent writes nothing.
 * 3. `insertOne` of the child, hidden, with its `attach` intent: the unique key index makes this the
 *    creation's gate.
 * 4. Each parent takes it (fenced write: cast, then cook). A refusal undoes the parents that took
 *    it and deletes the child (owner-fenced).
 * 5. The intent cleared and `version: 1` set in one owner-fenced write: the child is visible.
 * 6. The parents' in-progress entries pulled.
 */
import { ConflictError, type Cast, type Cook, type Generation } from 'genledger';
import { attachToCast, attachToCook, type AttachResult, type AttachedInsertion, type ChildAttachment, type NewAttachedChild, type ParentCaps } from 'genledger/adapter';
import type { Collection, Document } from 'mongodb';
import { isDuplicateKeyError } from '../conditional-write.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument, toCastDocument, toGenerationDocument } from '../documents.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { castAttachPlan, castDetachPlan, cookAttachPlan, cookDetachPlan } from '../parent-writes.js';
import { isHidden, type ParentKind, type RollupContext } from './context.js';
import { adoptIntent, clearIntent, hasEntry, intentDocument, pullEntry, readIntent, type Intent, type Run } from './intents.js';
import { fencedParentWrite, fencedUndo, LeaseExpiredError } from './parent-apply.js';

type Insertion = AttachedInsertion<Generation> | AttachedInsertion<Cast>;
type ChildRecord = { readonly kind: 'generation'; readonly record: Generation } | { readonly kind: 'cast'; readonly record: Cast };

/** A parent a child attaches to, in the order the attaches run. */
interface ParentSlot {
  readonly kind: ParentKind;
  readonly id: string;
  /** Whether the child is a piece of this parent (always false under a cast). */
  readonly piece: boolean;
}

/** The parents of a child, from its own links: a step's cast, then the cook. */
export function parentsOf(child: ChildRecord): ParentSlot[] {
  if (child.kind === 'cast') return child.record.cookId === null ? [] : [{ kind: 'cook', id: child.record.cookId, piece: true }];
  const slots: ParentSlot[] = [];
  if (child.record.castId !== null) slots.push({ kind: 'cast', id: child.record.castId, piece: false });
  if (child.record.cookId !== null) slots.push({ kind: 'cook', id: child.record.cookId, piece: child.record.castId === null });
  return slots;
}

function refusal(parent: ParentKind, parentId: string, attach: AttachResult<Cast> | AttachResult<Cook> | null) {
  return { outcome: 'refused', parent, parentId, attach } as const;
}

export function createInsertAttached(context: RollupContext) {
  const { generations, casts, cooks, settings, owners } = context;
  const collectionOf = (kind: ParentKind) => (kind === 'cast' ? casts : cooks);

  /** What each parent's attach reported, or the refusal (after undoing the parents that took it). */
  type AttachOutcome =
    | { readonly outcome: 'attached'; readonly cast: Cast | null; readonly cook: Cook | null }
    | ReturnType<typeof refusal>;

  /**
   * Steps 4 to 6 for a stored hidden child owned by `run`. `caps` and `at` are the creation's
   * (a retry passes its own: the same request).
   */
  async function driveAttach(child: ChildRecord, run: Run, caps: ParentCaps, at: Date): Promise<AttachOutcome> {
    const childId = child.record.id;
    const own = child.kind === 'cast' ? casts : generations;
    const taken: ParentSlot[] = [];
    let cast: Cast | null = null;
    let cook: Cook | null = null;
    for (const slot of parentsOf(child)) {
      const attachment: ChildAttachment = { childId, kind: child.kind, piece: slot.piece, at, caps };
      const decideCast = (document: Document) => attachToCast(fromCastDocument(document), attachment);
      const decideCook = (document: Document) => attachToCook(fromCookDocument(document), attachment);
      const decide = slot.kind === 'cast' ? decideCast : decideCook;
      const plan = slot.kind === 'cast' ? castAttachPlan(attachment) : cookAttachPlan(attachment);
      const found = await fencedParentWrite(collectionOf(slot.kind), slot.id, childId, 'attach', run, plan, settings, (current) => isHidden(current) || decide(current).outcome !== 'attached');
      if (found !== null && found.kind === 'done' && !hasEntry(found.current, childId, 'attach', true)) {
        // The entry is marked undone: a parent refused this creation before a crash cut its undo
        // short. The undo is finished; which parent refused is not recorded, so this says so.
        await undo(child, [...taken, slot], run, at);
        throw new ConflictError('parent', `the creation of ${child.kind} "${childId}" was refused by a parent before a crash cut it short, and is undone; retry it`);
      }
      if (found === null || found.kind === 'refused') {
        const decided = found === null || isHidden(found.current) ? null : decide(found.current);
        await undo(child, taken, run, at);
        return refusal(slot.kind, slot.id, decided);
      }
      taken.push(slot);
      const decided = found.kind === 'written' ? decide(found.before) : { outcome: 'attached' as const, record: slot.kind === 'cast' ? fromCastDocument(found.current) : fromCookDocument(found.current) };
      if (slot.kind === 'cast') cast = decided.record as Cast;
      else cook = decided.record as Cook;
    }
    if (!(await clearIntent(own, childId, run, { version: 1 }))) {
      // recover() took the creation over (this call outlived its lease): the answer is its to give.
      throw new LeaseExpiredError(`the creation of ${child.kind} "${childId}"`);
    }
    if (!run.adopted) for (const slot of taken) await pullEntry(collectionOf(slot.kind), slot.id, childId, 'attach');
    return { outcome: 'attached', cast, cook };
  }

  /** Undoes the attaches `taken` (reverse order), deletes the hidden child, pulls the entries. */
  async function undo(child: ChildRecord, taken: readonly ParentSlot[], run: Run, at: Date): Promise<void> {
    const childId = child.record.id;
    for (const slot of [...taken].reverse()) {
      const plan = slot.kind === 'cast' ? castDetachPlan(childId, at) : cookDetachPlan(slot.id, { childId, kind: child.kind, piece: slot.piece }, at);
      await fencedUndo(collectionOf(slot.kind), slot.id, childId, run, plan);
    }
    const own = child.kind === 'cast' ? casts : generations;
    const deleted = await own.deleteOne({ _id: toStoredId(childId), version: 0, 'genledger.owner': run.owner });
    // Not if recover() took the creation over: its attaches may be to come (as in settle.ts).
    if (deleted.deletedCount === 1 && !run.adopted) for (const slot of taken) await pullEntry(collectionOf(slot.kind), slot.id, childId, 'attach');
  }

  /**
   * Finishes a creation whose owner is gone (recover's takeover) as its owner would have, with the
   * caps its intent recorded: a duplicate from another process may already hold the record.
   * Without recorded caps (not written by this version), it is undone: the host's call failed.
   */
  async function finishTakenOver(child: ChildRecord, intent: Intent, run: Run, at: Date): Promise<void> {
    if (intent.caps === undefined) await undo(child, parentsOf(child), run, at);
    else await driveAttach(child, run, intent.caps, at);
  }

  function childRecord(kind: 'generation' | 'cast', document: Document): ChildRecord {
    return kind === 'cast' ? { kind, record: fromCastDocument(document) } : { kind, record: fromGenerationDocument(document) };
  }

  /**
   * The answer for a stored holder of the key: the record; if it is hidden and its creation was
   * this process's and ended, this call finishes that creation first.
   */
  async function fromHolder(kind: 'generation' | 'cast', holder: Document, run: Run, caps: ParentCaps, at: Date): Promise<Insertion> {
    const child = childRecord(kind, holder);
    const intent = readIntent(holder);
    if (isHidden(holder) && intent !== null && intent.op === 'attach' && owners.orphaned(intent.owner)) {
      const own = kind === 'cast' ? casts : generations;
      const adopted = await adoptIntent(own, child.record.id, intent, run);
      if (adopted !== null) {
        const attached = await driveAttach(child, adopted, caps, at);
        if (attached.outcome === 'refused') return attached;
      }
    }
    // A hidden holder owned by a live call is reported as it will read once its parents took it
    // (a duplicate may return before the owner's roll-up lands).
    return { outcome: 'existing', record: child.record } as Insertion;
  }

  async function readParent(kind: ParentKind, id: string): Promise<Document | null> {
    const document = await collectionOf(kind).findOne({ _id: toStoredId(id) });
    return document === null || isHidden(document) ? null : document;
  }

  async function insertAttached(given: NewAttachedChild): Promise<Insertion> {
    const run = owners.begin(settings);
    try {
      return await create(given, run);
    } finally {
      run.end();
    }
  }

  async function create(given: NewAttachedChild, run: Run): Promise<Insertion> {
    const key = given.record.idempotencyKey;
    const own = given.kind === 'cast' ? casts : generations;
    const childKey = toStoredId(given.record.id);
    const holders = await own.find(key === null ? { _id: childKey } : { $or: [{ idempotencyKey: key }, { _id: childKey }] }, { limit: 2 }).toArray();
    const keyHolder = key === null ? undefined : holders.find((holder) => holder.idempotencyKey === key);
    if (keyHolder !== undefined) return fromHolder(given.kind, keyHolder, run, given.caps, given.at);
    if (holders.length > 0) throw new ConflictError('id', `a ${given.kind} with id "${given.record.id}" already exists`);
    const attachment = (piece: boolean): ChildAttachment => ({ childId: given.record.id, kind: given.kind, piece, at: given.at, caps: given.caps });

    // The parents, read: the child's links come from them, and a refusal writes nothing.
    let child: ChildRecord;
    if (given.kind === 'cast') {
      const found = await readParent('cook', given.cookId);
      if (found === null) return refusal('cook', given.cookId, null);
      const cook = fromCookDocument(found);
      const decided = attachToCook(cook, attachment(true));
      if (decided.outcome !== 'attached') return refusal('cook', given.cookId, decided);
      child = { kind: 'cast', record: { ...given.record, cookId: cook.id, collectionId: cook.collectionId } };
    } else {
      let cast: Cast | null = null;
      if (given.castId !== null) {
        const found = await readParent('cast', given.castId);
        if (found === null) return refusal('cast', given.castId, null);
        cast = fromCastDocument(found);
        if (given.cookId !== null && cast.cookId !== given.cookId) return { outcome: 'mismatch', cast };
        const decided = attachToCast(cast, attachment(false));
        if (decided.outcome !== 'attached') return refusal('cast', given.castId, decided);
      }
      let collectionId = cast === null ? null : cast.collectionId;
      const cookId = cast === null ? given.cookId : cast.cookId;
      if (cast === null && cookId !== null) {
        // A generation piece: its collection is the cook's. (A step's cook was checked when its cast attached.)
        const found = await readParent('cook', cookId);
        if (found === null) return refusal('cook', cookId, null);
        const decided = attachToCook(fromCookDocument(found), attachment(true));
        if (decided.outcome !== 'attached') return refusal('cook', cookId, decided);
        collectionId = decided.record.collectionId;
      }
      child = {
        kind: 'generation',
        record: { ...given.record, castId: cast === null ? null : cast.id, spellId: cast === null ? null : cast.spellId, cookId, collectionId },
      };
    }

    const parents = parentsOf(child);
    const document: StoredDocument = {
      ...(child.kind === 'cast' ? toCastDocument(child.record) : toGenerationDocument(child.record)),
      version: 0,
      genledger: { ...intentDocument('attach', parents.map((slot) => toStoredId(slot.id)), run), caps: { ...given.caps } },
    };
    try {
      await own.insertOne(document);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const holder = key === null ? null : await own.findOne({ idempotencyKey: key });
      // A racing call with the same key stored its record first: that record is the answer.
      if (holder !== null) return fromHolder(given.kind, holder, run, given.caps, given.at);
      throw new ConflictError('id', `a ${given.kind} with id "${given.record.id}" already exists`, error);
    }
    const attached = await driveAttach(child, run, given.caps, given.at);
    if (attached.outcome === 'refused') return attached;
    return { outcome: 'created', record: child.record, cast: attached.cast, cook: attached.cook } as Insertion;
  }

  return { insertAttached, finishTakenOver };
}

/** The collection of a child kind. */
export function childCollection(context: RollupContext, kind: 'generation' | 'cast'): Collection<StoredDocument> {
  return kind === 'cast' ? context.casts : context.generations;
}
