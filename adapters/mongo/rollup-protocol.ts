/**
 * The port's composite operations (creation with parents, settlement, a cast's end, reconcile's
 * replacement, recovery) on MongoDB WITHOUT multi-document transactions, so a standalone server
 * keeps working. Each composite is a private sequence of single-document conditional writes, every
 * one safe to repeat, and the apply-once gate is the adapter's own:
 *
 * **The private gate (option (a) of design 12).** Parent documents keep open entries, as 0.1.0
 * wrote them: `openSteps` on a cast, `openPieces` and `openGenerations` on a cook, one
 * `{ id, kind, since }` per child in flight. Records never carry them (documents.ts strips them);
 * they are how this adapter makes each roll-up happen once when it spans several writes:
 *
 * - an attach adds the child's entry in the same write that checks the parent takes it;
 * - an apply matches only while the entry is there and removes it in the same write, so a retried,
 *   duplicated or racing apply (a repeat of `settleGeneration`, the sweeper's `recover`) matches
 *   nothing. So a settlement cut short by a crash is finished by repeating it: the generation's
 *   finish matches nothing, and the applies still owed land (each once);
 * - an entry whose child was never stored (a creation that died between its attach and its insert)
 *   is dropped by `recover` once older than its cut-off, by a private reconcile of the parent.
 *
 * The cost: a parent document grows with its children in flight (about 127 BSON bytes each), and
 * an apply rewrites the entry list. docs/mongodb.md, "Constant-size parents", says what closes it.
 */
import type { Collection, Document } from 'mongodb';
import {
  type Cast,
  type Cook,
  type Generation,
  isTerminalGenerationStatus,
  isTerminalParentStatus,
  ConflictError,
} from 'genledger';
import {
  finishGeneration,
  type GenerationOutcome,
  applyToCast,
  attachToCast,
  transitionCast,
  castPieceContribution,
  generationContribution,
  type ChildAttachment,
  applyToCook,
  attachToCook,
  type AttachedInsertion,
  type NewAttachedChild,
  type CastEnding,
  recomputeCast,
  recomputeCook,
  type Settlement,
  type AttachResult,
  type ParentTransition,
  type WriteResult,
  type OpenChildren,
  type ParentRef,
} from 'genledger/adapter';
import { conditionalWrite, gatedWrite, isDuplicateKeyError, type GateState, type WriteTarget } from './conditional-write.js';
import {
  castAggregateFields,
  cookAggregateFields,
  fromCastDocument,
  fromCookDocument,
  fromGenerationDocument,
  openChildDocuments,
  readOpenChildren,
  toCastDocument,
  toGenerationDocument,
  type OpenEntry,
} from './documents.js';
import { finishPlan } from './generation-writes.js';
import { fromStoredId, isObjectIdHex, toStoredId, type StoredDocument } from './ids.js';
import { castApplyPlan, castAttachPlan, castDetachPlan, castTransitionPlan, cookApplyPlan, cookAttachPlan, cookDetachPlan } from './parent-writes.js';
import { CAST_WORDS, OPEN_GENERATION_WORDS } from './status-words.js';
import { scanCastChildren, scanCookChildren, type ChildrenScan, type OpenChildSeen } from './summaries.js';

/**
 * How long `replaceAggregates` keeps an entry whose child is not stored: a creation between its
 * attach and its insert. Older ones are dropped by `recover` (the sweeper's cut-off).
 */
export const RECONCILE_GRACE_MS = 60_000;

/** Parents read per page by `recover`. */
const RECOVER_PAGE = 200;

/** How many times a private reconcile is tried while the parent keeps changing. */
const REBUILD_ATTEMPTS = 3;

export interface RollupCollections {
  readonly generations: Collection<StoredDocument>;
  readonly casts: Collection<StoredDocument>;
  readonly cooks: Collection<StoredDocument>;
}

type ParentKind = 'cast' | 'cook';

const changed = (result: { changed: boolean }) => result.changed;

/** Whether the open-entry list `raw` (as stored) has an entry for `childId`. */
function hasEntry(raw: unknown, childId: string): boolean {
  if (!Array.isArray(raw)) return false;
  return raw.some((entry) => typeof entry === 'object' && entry !== null && fromStoredId((entry as { id?: unknown }).id) === childId);
}

function gateOn(path: string, childId: string): (document: Document) => GateState {
  return (document) => (hasEntry(document[path], childId) ? 'open' : 'done');
}

/** A write result reported only when it changed something. */
function ifChanged<T extends { changed: boolean }>(result: T | null): T | null {
  return result !== null && result.changed ? result : null;
}

/** `_id > afterId` in the order MongoDB sorts ids (strings before ObjectIds). */
export function idAfter(afterId: string | undefined): Document {
  if (afterId === undefined) return {};
  if (isObjectIdHex(afterId)) return { _id: { $gt: toStoredId(afterId) } };
  return { $or: [{ _id: { $type: 'string', $gt: afterId } }, { _id: { $type: 'objectId' } }] };
}

/**
 * The most children a parent document takes in flight, whatever `maxInFlightChildren` says: each
 * one is a private open entry of about 125 BSON bytes (a generation piece is in two lists), and a
 * document may not pass 16 MiB. 40,000 keeps a cook under about 10 MB; past it a creation is
 * refused as `full` (a `ConflictError`), never a write the server rejects half way.
 */
export const MAX_OPEN_ENTRIES_PER_DOCUMENT = 40_000;

export function withinDocumentLimit(attachment: ChildAttachment): ChildAttachment {
  if (attachment.caps.maxInFlight <= MAX_OPEN_ENTRIES_PER_DOCUMENT) return attachment;
  return { ...attachment, caps: { ...attachment.caps, maxInFlight: MAX_OPEN_ENTRIES_PER_DOCUMENT } };
}

export function createRollupProtocol(collections: RollupCollections) {
  const { generations, casts, cooks } = collections;
  const generationTarget: WriteTarget<Generation> = { collection: generations, read: fromGenerationDocument, entity: 'generation' };
  const castTarget: WriteTarget<Cast> = { collection: casts, read: fromCastDocument, entity: 'cast' };
  const cookTarget: WriteTarget<Cook> = { collection: cooks, read: fromCookDocument, entity: 'cook' };

  // -------------------------------------------------------------------------------------------
  // Attach and detach (private: creation only)

  interface Attached<T> {
    readonly result: AttachResult<T> | null;
    /** Whether this call's write added the entry (false: it was there already, or refused). */
    readonly wrote: boolean;
  }

  /**
   * The attach write: adds the child's entry where the parent takes it. When the filter matches
   * nothing, the document tells why: missing (`null`), the entry already there (an id attached
   * before: reported attached, not written), or the domain's refusal (`closed`, `full`).
   */
  async function attach<T extends Cast | Cook>(
    target: WriteTarget<T>,
    parentId: string,
    plan: { filter: Document; update: Document[] },
    entryPath: string,
    attachment: ChildAttachment,
    decide: (record: T) => AttachResult<T>,
  ): Promise<Attached<T>> {
    const _id = toStoredId(parentId);
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const before = await target.collection.findOneAndUpdate({ ...plan.filter, _id }, plan.update, { returnDocument: 'before' });
      if (before !== null) return { result: decide(target.read(before)), wrote: true };
      const current = await target.collection.findOne({ _id });
      if (current === null) return { result: null, wrote: false };
      if (hasEntry(current[entryPath], attachment.childId)) return { result: { outcome: 'attached', record: target.read(current) }, wrote: false };
      const decided = decide(target.read(current));
      if (decided.outcome !== 'attached') return { result: decided, wrote: false };
    }
    throw new Error(`[genledger] [mongo] the attach on ${target.entity} "${parentId}" did not match although the domain rule takes the child; the document kept changing`);
  }

  function attachCast(castId: string, given: ChildAttachment): Promise<Attached<Cast>> {
    const attachment = withinDocumentLimit(given);
    return attach(castTarget, castId, castAttachPlan(attachment), 'openSteps', attachment, (cast) => attachToCast(cast, attachment));
  }

  function attachCook(cookId: string, given: ChildAttachment): Promise<Attached<Cook>> {
    const attachment = withinDocumentLimit(given);
    return attach(cookTarget, cookId, cookAttachPlan(attachment), attachment.piece ? 'openPieces' : 'openGenerations', attachment, (cook) => attachToCook(cook, attachment));
  }

  /** Undoes this call's own attaches (a refusal by a later parent, a lost key race, a taken id). */
  async function detachAll(childId: string, attached: readonly { kind: ParentKind; id: string }[], at: Date): Promise<void> {
    for (const parent of [...attached].reverse()) {
      const plan = parent.kind === 'cast' ? castDetachPlan(childId, at) : cookDetachPlan(parent.id, childId, at);
      const collection = parent.kind === 'cast' ? casts : cooks;
      await collection.updateOne({ ...plan.filter, _id: toStoredId(parent.id) }, plan.update);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Creation

  function refusal(parent: ParentKind, parentId: string, attach: AttachResult<Cast> | AttachResult<Cook> | null) {
    return { outcome: 'refused', parent, parentId, attach } as const;
  }

  /**
   * Creation with parents as a sequence: the key first (a holder is the answer, nothing written),
   * the cast's cook against `cookId`, the cast's attach, the cook's attach, then the insert. A
   * refusal, a key taken by a racing call or a taken id undoes this call's own attaches; any other
   * failure leaves them, for a retry with the key (which gets the record if the insert landed) or
   * for `recover` (which drops the entries of a child never stored).
   */
  async function insertAttached(child: NewAttachedChild): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>> {
    const key = child.record.idempotencyKey;
    const own = child.kind === 'cast' ? casts : generations;
    const read = child.kind === 'cast' ? fromCastDocument : fromGenerationDocument;
    // The key first (a holder is the answer, whatever its parents' state now), and the id in the
    // same read: an id that exists writes nothing (no attach to undo).
    const childKey = toStoredId(child.record.id);
    const holders = await own
      .find(key === null ? { _id: childKey } : { $or: [{ idempotencyKey: key }, { _id: childKey }] }, { limit: 2 })
      .toArray();
    const keyHolder = key === null ? undefined : holders.find((holder) => holder.idempotencyKey === key);
    if (keyHolder !== undefined) return { outcome: 'existing', record: read(keyHolder) } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
    if (holders.length > 0) throw new ConflictError('id', `a ${child.kind} with id "${child.record.id}" already exists`);
    const childId = child.record.id;
    const attachment = (piece: boolean): ChildAttachment => ({ childId, kind: child.kind, piece, at: child.at, caps: child.caps });
    const attached: { kind: ParentKind; id: string }[] = [];

    if (child.kind === 'cast') {
      const cookAttach = await attachCook(child.cookId, attachment(true));
      if (cookAttach.result === null || cookAttach.result.outcome !== 'attached') return refusal('cook', child.cookId, cookAttach.result);
      if (cookAttach.wrote) attached.push({ kind: 'cook', id: child.cookId });
      const cook = cookAttach.result.record;
      const record: Cast = { ...child.record, cookId: cook.id, collectionId: cook.collectionId };
      return insertChild(casts, toCastDocument(record), key, read, childId, attached, child.at, () => ({ outcome: 'created', record, cast: null, cook }));
    }

    let cast: Cast | null = null;
    if (child.castId !== null) {
      if (child.cookId !== null) {
        // Checked before any write, so a mismatch writes nothing (a cast's cook never changes).
        const stored = await casts.findOne({ _id: toStoredId(child.castId) });
        if (stored === null) return refusal('cast', child.castId, null);
        const found = fromCastDocument(stored);
        if (found.cookId !== child.cookId) return { outcome: 'mismatch', cast: found };
      }
      const castAttach = await attachCast(child.castId, attachment(false));
      if (castAttach.result === null || castAttach.result.outcome !== 'attached') return refusal('cast', child.castId, castAttach.result);
      if (castAttach.wrote) attached.push({ kind: 'cast', id: child.castId });
      cast = castAttach.result.record;
    }
    const cookId = cast === null ? child.cookId : cast.cookId;
    let cook: Cook | null = null;
    if (cookId !== null) {
      const cookAttach = await attachCook(cookId, attachment(cast === null));
      if (cookAttach.result === null || cookAttach.result.outcome !== 'attached') {
        // Refused by the second parent: forget the first attachment, so nothing is left behind.
        await detachAll(childId, attached, child.at);
        return refusal('cook', cookId, cookAttach.result);
      }
      if (cookAttach.wrote) attached.push({ kind: 'cook', id: cookId });
      cook = cookAttach.result.record;
    }
    const record: Generation = {
      ...child.record,
      castId: cast === null ? null : cast.id,
      spellId: cast === null ? null : cast.spellId,
      cookId: cook === null ? null : cook.id,
      collectionId: cook !== null ? cook.collectionId : cast === null ? null : cast.collectionId,
    };
    return insertChild(generations, toGenerationDocument(record), key, read, childId, attached, child.at, () => ({ outcome: 'created', record, cast, cook }));
  }

  async function insertChild<T extends Generation | Cast>(
    collection: Collection<StoredDocument>,
    document: StoredDocument,
    key: string | null,
    read: (document: Document) => Generation | Cast,
    childId: string,
    attached: readonly { kind: ParentKind; id: string }[],
    at: Date,
    created: () => AttachedInsertion<T>,
  ): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>> {
    try {
      await collection.insertOne(document);
      return created() as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      if (key !== null) {
        const holder = await collection.findOne({ idempotencyKey: key });
        if (holder !== null) {
          // A racing call with the same key stored its record first: that record stands, and
          // this call's attachments are forgotten so no parent waits for a child never stored.
          await detachAll(childId, attached, at);
          return { outcome: 'existing', record: read(holder) } as AttachedInsertion<Generation> | AttachedInsertion<Cast>;
        }
      }
      // The id is taken (an ids generator that repeats). Only the entries this call wrote are
      // removed: an entry that was there already belongs to the record that holds the id.
      await detachAll(childId, attached, at);
      throw new ConflictError('id', `a ${collection === casts ? 'cast' : 'generation'} with id "${childId}" already exists`, error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Applies (gated by the entries)

  function applyCastPiece(cast: Cast, at: Date): Promise<WriteResult<Cook> | null> {
    const contribution = castPieceContribution(cast);
    return gatedWrite(cookTarget, cast.cookId!, cookApplyPlan(cast.cookId!, contribution, at), gateOn('openPieces', cast.id), (cook) => applyToCook(cook, contribution, at));
  }

  /**
   * The applies a finished generation owes: to its cast, to its cook (money first, so a cook
   * that completes on its last piece already holds that piece's cost), then, when its cast has
   * ended and is a cook piece, the cast to the cook. Each is gated by its entry, so driving them
   * again (a repeat, the sweeper) applies only what has not landed.
   */
  async function driveApplies(generation: Generation, at: Date): Promise<Pick<Settlement, 'cast' | 'cook' | 'castPiece'>> {
    const contribution = generationContribution(generation);
    let cast: WriteResult<Cast> | null = null;
    let cook: WriteResult<Cook> | null = null;
    let castPiece: WriteResult<Cook> | null = null;
    if (generation.castId !== null) {
      const castId = generation.castId;
      cast = await gatedWrite(castTarget, castId, castApplyPlan(castId, contribution, at), gateOn('openSteps', generation.id), (record) => applyToCast(record, contribution, at));
    }
    if (generation.cookId !== null) {
      const cookId = generation.cookId;
      cook = await gatedWrite(cookTarget, cookId, cookApplyPlan(cookId, contribution, at), gateOn('openGenerations', generation.id), (record) =>
        applyToCook(record, contribution, at),
      );
    }
    if (cast !== null && isTerminalParentStatus(cast.record.status) && cast.record.cookId !== null) {
      castPiece = ifChanged(await applyCastPiece(cast.record, at));
    }
    return { cast, cook, castPiece };
  }

  /**
   * The generation's terminal write, then its applies. Only the call that moved the generation
   * reports its parents' writes as they are; a repeat drives the applies again (finishing what a
   * crash cut short) and reports only those that changed something.
   */
  async function settleGeneration(id: string, outcome: GenerationOutcome, at: Date): Promise<Settlement | null> {
    const written = await conditionalWrite(generationTarget, id, finishPlan(id, outcome), (generation) => finishGeneration(generation, outcome), changed);
    if (written === null) return null;
    if (!isTerminalGenerationStatus(written.record.status)) return { generation: written, cast: null, cook: null, castPiece: null };
    const applies = await driveApplies(written.record, at);
    if (written.changed && !isTerminalGenerationStatus(written.previousStatus)) return { generation: written, ...applies };
    return { generation: written, cast: ifChanged(applies.cast), cook: ifChanged(applies.cook), castPiece: ifChanged(applies.castPiece) };
  }

  /** A cast's transition, then, when the cast has ended and is a cook piece, its apply to the cook (gated). */
  async function transitionCastWithPiece(id: string, transition: ParentTransition, at: Date): Promise<CastEnding | null> {
    const write = await conditionalWrite(castTarget, id, castTransitionPlan(id, transition, at), (cast) => transitionCast(cast, transition, at), changed);
    if (write === null) return null;
    const cast = write.record;
    const castPiece = isTerminalParentStatus(cast.status) && cast.cookId !== null ? ifChanged(await applyCastPiece(cast, at)) : null;
    return { cast: write, castPiece };
  }

  const OPEN_ENTRY_PATHS: Record<ParentKind, readonly string[]> = { cast: ['openSteps'], cook: ['openPieces', 'openGenerations'] };

  // -------------------------------------------------------------------------------------------
  // Reconcile: the aggregates and the entries rebuilt from one pass over the children

  /**
   * The entries a parent must hold after a rebuild from `scan`: one per child the pass found open
   * (keeping the stored `since`), plus the stored entries whose child is not stored at all and
   * that are younger than `phantomCutoff` (creations between their attach and their insert).
   */
  async function rebuiltEntries(kind: ParentKind, document: Document, scan: ChildrenScan, phantomCutoff: Date) {
    const since = (stored: readonly OpenEntry[], seen: OpenChildSeen) => stored.find((entry) => entry.id === seen.id)?.since ?? seen.since;
    const phantomsOf = async (stored: readonly OpenEntry[]): Promise<OpenEntry[]> => {
      const young = stored.filter((entry) => entry.since >= phantomCutoff);
      if (young.length === 0) return [];
      const generationIds = young.filter((entry) => entry.kind === 'generation').map((entry) => toStoredId(entry.id));
      const castIds = young.filter((entry) => entry.kind === 'cast').map((entry) => toStoredId(entry.id));
      const found = new Set<string>();
      for (const [collection, ids] of [[generations, generationIds], [casts, castIds]] as const) {
        if (ids.length === 0) continue;
        for (const child of await collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()) found.add(fromStoredId(child._id) ?? '');
      }
      return young.filter((entry) => !found.has(entry.id));
    };
    if (kind === 'cast') {
      const stored = readOpenChildren(document.openSteps);
      const steps: OpenEntry[] = [...scan.openGenerations.map((seen) => ({ id: seen.id, kind: 'generation' as const, since: since(stored, seen) })), ...(await phantomsOf(stored))];
      return { openSteps: steps, inFlightCount: steps.length };
    }
    const storedPieces = readOpenChildren(document.openPieces);
    const storedGenerations = readOpenChildren(document.openGenerations);
    const openGenerations: OpenEntry[] = [
      ...scan.openGenerations.map((seen) => ({ id: seen.id, kind: 'generation' as const, since: since(storedGenerations, seen) })),
      ...(await phantomsOf(storedGenerations)),
    ];
    const openPieces: OpenEntry[] = [
      ...scan.openGenerations.filter((seen) => seen.piece).map((seen) => ({ id: seen.id, kind: 'generation' as const, since: since(storedPieces, seen) })),
      ...scan.openCasts.map((seen) => ({ id: seen.id, kind: 'cast' as const, since: since(storedPieces, seen) })),
      ...(await phantomsOf(storedPieces)),
    ];
    return { openPieces, openGenerations, inFlightCount: openPieces.length };
  }

  /**
   * Applies the finished children a parent still lists (a settlement a crash cut short, or one
   * still under way): each gated, so each lands once. Whether any of them changed something.
   */
  async function applyListed(kind: ParentKind, document: Document, at: Date, olderThan: Date | null): Promise<boolean> {
    const entries = OPEN_ENTRY_PATHS[kind]
      .flatMap((path) => readOpenChildren(document[path]))
      .filter((entry) => olderThan === null || entry.since < olderThan);
    if (entries.length === 0) return false;
    const parentId = fromStoredId(document._id);
    const generationIds = [...new Set(entries.filter((entry) => entry.kind === 'generation').map((entry) => entry.id))].map(toStoredId);
    const castIds = [...new Set(entries.filter((entry) => entry.kind === 'cast').map((entry) => entry.id))].map(toStoredId);
    const finishedGenerations =
      generationIds.length === 0 ? [] : await generations.find({ _id: { $in: generationIds }, status: { $nin: [...OPEN_GENERATION_WORDS] } }).toArray();
    const endedCasts = castIds.length === 0 ? [] : await casts.find({ _id: { $in: castIds }, status: { $nin: [...CAST_WORDS.running] } }).toArray();
    let applied = false;
    for (const generation of finishedGenerations.map(fromGenerationDocument)) {
      if (!isTerminalGenerationStatus(generation.status)) continue;
      const applies = await driveApplies(generation, at);
      if (applies.cast?.changed || applies.cook?.changed || applies.castPiece?.changed) applied = true;
    }
    for (const cast of endedCasts.map(fromCastDocument)) {
      if (!isTerminalParentStatus(cast.status) || cast.cookId !== parentId) continue;
      if ((await applyCastPiece(cast, at))?.changed) applied = true;
    }
    return applied;
  }

  /**
   * Writes `recomputed` (or, without it, the parent recomputed here from the same pass) with the
   * entries rebuilt from the children as stored, compare-and-set on the version.
   *
   * Why the entries stay exact: first every finished child the parent still lists is applied (its
   * entry gone); if that changed anything the version moved, and the caller recomputes (`null`).
   * So a finished child still listed when the children are read finished after the caller's
   * summary: its figures are not in `recomputed`, and its entry is kept for its own apply. A child
   * applied meanwhile moved the version: the compare-and-set fails. Returns the write, or `null`.
   */
  async function rebuild<T extends Cast | Cook>(
    kind: ParentKind,
    id: string,
    expectedVersion: number | null,
    recomputed: T | null,
    phantomCutoff: Date,
    at: Date,
  ): Promise<WriteResult<T> | null> {
    const target = (kind === 'cast' ? castTarget : cookTarget) as unknown as WriteTarget<T>;
    const document = await target.collection.findOne({ _id: toStoredId(id) });
    if (document === null) return null;
    const stored = target.read(document);
    if (expectedVersion !== null && stored.version !== expectedVersion) return null;
    if (await applyListed(kind, document, at, null)) return null;
    const version = stored.version;
    const cap = (record: Cast | Cook) => ('stepGenerationIds' in record ? record.stepGenerationIds.length : Math.max(record.generationIds.length, record.castIds.length));
    const scan = kind === 'cast' ? await scanCastChildren(generations, id, cap(stored)) : await scanCookChildren(generations, casts, id, cap(stored));
    const figures =
      recomputed ??
      ((kind === 'cast'
        ? recomputeCast(stored as Cast, scan.summary, { now: at, maxEmbeddedIds: cap(stored) })
        : recomputeCook(stored as Cook, scan.summary, { now: at, maxEmbeddedIds: cap(stored) })) as T);
    const entries = await rebuiltEntries(kind, document, scan, phantomCutoff);
    const fields: Document =
      kind === 'cast'
        ? { ...castAggregateFields(figures as Cast), openSteps: openChildDocuments((entries as { openSteps: OpenEntry[] }).openSteps) }
        : {
            ...cookAggregateFields(figures as Cook),
            openPieces: openChildDocuments((entries as { openPieces: OpenEntry[] }).openPieces),
            openGenerations: openChildDocuments((entries as { openGenerations: OpenEntry[] }).openGenerations),
          };
    // A legacy document without `version` reads as version 1.
    const versionIs = version === 1 ? { $or: [{ version: 1 }, { version: { $not: { $type: 'number' } } }] } : { version };
    // The in-flight count is the number of piece entries (steps for a cast): the entries are
    // this adapter's truth, and an apply takes one off each.
    const after = await target.collection.findOneAndUpdate(
      { ...versionIs, _id: toStoredId(id) },
      { $set: { ...fields, inFlightCount: entries.inFlightCount, version: version + 1, updatedAt: at } },
      { returnDocument: 'after' },
    );
    if (after === null) return null;
    return { changed: true, record: target.read(after), previousStatus: stored.status };
  }

  async function replaceCastAggregates(id: string, expectedVersion: number, recomputed: Cast, at: Date): Promise<CastEnding | null> {
    const write = await rebuild<Cast>('cast', id, expectedVersion, recomputed, new Date(at.getTime() - RECONCILE_GRACE_MS), at);
    if (write === null) return null;
    const cast = write.record;
    const castPiece = isTerminalParentStatus(cast.status) && cast.cookId !== null ? ifChanged(await applyCastPiece(cast, at)) : null;
    return { cast: write, castPiece };
  }

  function replaceCookAggregates(id: string, expectedVersion: number, recomputed: Cook, at: Date): Promise<WriteResult<Cook> | null> {
    return rebuild<Cook>('cook', id, expectedVersion, recomputed, new Date(at.getTime() - RECONCILE_GRACE_MS), at);
  }

  // -------------------------------------------------------------------------------------------
  // Open children (cancellation cascades, the sweeper)

  async function openChildren(parent: ParentRef, limit: number): Promise<OpenChildren> {
    if (limit <= 0) return { generationIds: [], castIds: [] };
    const link = parent.kind === 'cast' ? 'castId' : 'cookId';
    const open = await generations
      .find({ [link]: toStoredId(parent.id), status: { $in: [...OPEN_GENERATION_WORDS] } }, { projection: { _id: 1 }, sort: { requestTimestamp: 1, _id: 1 }, limit })
      .toArray();
    const running =
      parent.kind === 'cook'
        ? await casts.find({ cookId: toStoredId(parent.id), status: { $in: [...CAST_WORDS.running] } }, { projection: { _id: 1 }, sort: { startedAt: 1, _id: 1 }, limit }).toArray()
        : [];
    const ids = (documents: Document[]) => documents.map((document) => fromStoredId(document._id)).filter((id): id is string => id !== null);
    return { generationIds: ids(open), castIds: ids(running) };
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  
  /**
   * Finishes what crashes left half done, on parents holding an entry older than `olderThan`:
   * a finished generation or cast still listed gets its applies (gated: each lands once); entries
   * whose child was never stored are dropped by a private reconcile of the parent (so a parent an
   * abandoned entry held back completes at the time its children say). Returns how many it
   * finished, stopping once `limit` is reached.
   */
  async function recover(options: { readonly limit: number; readonly olderThan: Date; readonly now?: Date }): Promise<{ readonly repaired: number }> {
    const now = options.now ?? new Date();
    let repaired = 0;
    for (const kind of ['cast', 'cook'] as const) {
      const collection = kind === 'cast' ? casts : cooks;
      const hasOldEntry = { $or: OPEN_ENTRY_PATHS[kind].map((path) => ({ [`${path}.since`]: { $lt: options.olderThan } })) };
      let afterId: string | undefined;
      for (;;) {
        const page = await collection.find({ ...idAfter(afterId), ...hasOldEntry }, { sort: { _id: 1 }, limit: RECOVER_PAGE }).toArray();
        for (const document of page) {
          repaired += await recoverParent(kind, document, options.olderThan, now);
          if (repaired >= options.limit) return { repaired };
        }
        if (page.length < RECOVER_PAGE) break;
        afterId = fromStoredId(page[page.length - 1]!._id) ?? undefined;
      }
    }
    return { repaired };
  }

  async function recoverParent(kind: ParentKind, document: Document, olderThan: Date, now: Date): Promise<number> {
    const id = fromStoredId(document._id);
    if (id === null) return 0;
    const old = OPEN_ENTRY_PATHS[kind].flatMap((path) => readOpenChildren(document[path])).filter((entry) => entry.since < olderThan);
    let repaired = (await applyListed(kind, document, now, olderThan)) ? 1 : 0;
    const generationIds = old.filter((entry) => entry.kind === 'generation').map((entry) => toStoredId(entry.id));
    const castIds = old.filter((entry) => entry.kind === 'cast').map((entry) => toStoredId(entry.id));
    const found = new Set<string>();
    for (const [collection, ids] of [[generations, generationIds], [casts, castIds]] as const) {
      if (ids.length === 0) continue;
      for (const child of await collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()) found.add(fromStoredId(child._id) ?? '');
    }
    const abandoned = new Set(old.filter((entry) => !found.has(entry.id)).map((entry) => entry.id));
    if (abandoned.size === 0) return repaired;
    for (let attempt = 0; attempt < REBUILD_ATTEMPTS; attempt += 1) {
      const write = await rebuild(kind, id, null, null, olderThan, now);
      if (write === null) continue;
      const record = write.record;
      if (kind === 'cast' && isTerminalParentStatus(record.status) && (record as Cast).cookId !== null) await applyCastPiece(record as Cast, now);
      return repaired + abandoned.size;
    }
    return repaired;
  }

  return {
    insertAttached,
    settleGeneration,
    transitionCast: transitionCastWithPiece,
    replaceCastAggregates,
    replaceCookAggregates,
    openChildren,
    recover,
  };
}
