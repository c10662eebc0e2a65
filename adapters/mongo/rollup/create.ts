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
import { ConflictError, type Budget, type Cast, type Cook, type Generation, type Hold, type Units } from 'genledger';
import {
  attachToCast,
  attachToCook,
  holdAtCreation,
  type AttachResult,
  type AttachedInsertion,
  type BudgetRef,
  type ChildAttachment,
  type CreationAccounting,
  type HoldDecision,
  type LimitedInsertion,
  type NewAttachedChild,
  type ParentCaps,
  unitsBeyond,
} from 'genledger/adapter';
import type { Collection, Document } from 'mongodb';
import { isDuplicateKeyError } from '../conditional-write.js';
import { fromCastDocument, fromCookDocument, fromGenerationDocument, toCastDocument, toGenerationDocument } from '../documents.js';
import { toStoredId, type StoredDocument } from '../ids.js';
import { castAttachPlan, castDetachPlan, cookAttachPlan, cookDetachPlan } from '../parent-writes.js';
import { isHidden, type ParentKind, type RollupContext } from './context.js';
import { adoptIntent, clearIntent, hasEntry, intentDocument, pullEntry, readIntent, type Intent, type Run } from './intents.js';
import { fencedParentWrite, fencedUndo, LeaseExpiredError } from './parent-apply.js';
import { fromAccountDocument, readStoredHold, toStoredHold } from '../accounts/documents.js';
import { budgetedParents, budgetFlags, countInBudget, pullBudgetEntries, readBudgetDocument, storeBudget, undoInBudget } from '../accounts/budgets.js';
import { budgetId, fromBudgetDocument } from '../accounts/documents.js';
import { releaseUndoneDraw, takeAccountHold } from '../accounts/hold.js';
import { releaseIfEnded as releaseParentIfEnded } from './parent-hold.js';

type Insertion = AttachedInsertion<Generation> | AttachedInsertion<Cast>;
/** A generation carries its hold (accounts), if it brought one: stored on its document from its insert. */
type ChildRecord = { readonly kind: 'generation'; readonly record: Generation; readonly hold?: Hold | null } | { readonly kind: 'cast'; readonly record: Cast };
type Held = Extract<HoldDecision, { outcome: 'held' }>;

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
  const { generations, casts, cooks, settings, owners, accounts } = context;
  const collectionOf = (kind: ParentKind) => (kind === 'cast' ? casts : cooks);
  const releaseIfEnded = (kind: ParentKind, id: string, at: Date) => releaseParentIfEnded(context, kind, id, at);

  /** What each parent's attach reported, or the refusal (after undoing the parents that took it). */
  type AttachOutcome =
    | { readonly outcome: 'attached'; readonly cast: Cast | null; readonly cook: Cook | null; readonly held: Held | null }
    | ReturnType<typeof refusal>
    | LimitedInsertion;

  /**
   * Steps 4 to 6 for a stored hidden child owned by `run`. `caps` and `at` are the creation's
   * (a retry passes its own: the same request).
   */
  async function driveAttach(child: ChildRecord, run: Run, caps: ParentCaps, at: Date, budgetReads: ReadonlyMap<string, Document> = new Map()): Promise<AttachOutcome> {
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
        // (Its hold's budgets too: a refusal for money undoes them before the parents.)
        await undo(child, [...taken, slot], run, at, child.kind === 'generation' ? (child.hold ?? null) : null);
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
    const hold = child.kind === 'generation' ? (child.hold ?? null) : null;
    let held: Held | null = null;
    if (hold !== null) {
      const money = await takeMoney(child, hold, taken, run, at, budgetReads);
      if (money.outcome === 'limited') return money;
      held = money;
    }
    if (!(await clearIntent(own, childId, run, { version: 1 }))) {
      // recover() took the creation over (this call outlived its lease): the answer is its to give.
      throw new LeaseExpiredError(`the creation of ${child.kind} "${childId}"`);
    }
    if (!run.adopted) {
      for (const slot of taken) await pullEntry(collectionOf(slot.kind), slot.id, childId, 'attach');
      if (hold !== null) await pullBudgetEntries(accounts.budgets, hold.budgets, childId, 'attach');
    }
    return { outcome: 'attached', cast, cook, held };
  }

  /**
   * The hold of a generation its parents took: counted in its parents' budgets (cast, then cook),
   * then taken from its account, as `holdAtCreation` orders them. A refusal undoes the budgets
   * counted and the parents' attaches, deletes the hidden child, and is the creation's answer.
   */
  async function takeMoney(child: ChildRecord, hold: Hold, taken: readonly ParentSlot[], run: Run, at: Date, budgetReads: ReadonlyMap<string, Document>): Promise<Held | LimitedInsertion> {
    const fence = { run, settings };
    const budgets: Budget[] = [];
    /** The units its account holds: all of them, unless a budget's reservation gave those the parent names. */
    let accountUnits: Units | null = hold.units;
    for (const ref of hold.budgets) {
      const counted = await countInBudget(accounts.budgets, ref, hold, fence, budgetReads.get(budgetId(ref.kind, ref.id)) ?? null);
      if (counted === null) continue;
      if (counted.outcome === 'undone') {
        // As for a parent (driveAttach): a refusal before a crash cut its undo short.
        await undo(child, taken, run, at, hold);
        throw new ConflictError('budget', `the creation of generation "${hold.generationId}" was refused for money before a crash cut it short, and is undone; retry it`);
      }
      if (counted.outcome === 'overBudget') {
        await undo(child, taken, run, at, hold);
        return { outcome: 'limited', limit: counted };
      }
      if (counted.drew) accountUnits = unitsBeyond(counted.budget.limit, hold.units);
      budgets.push(counted.budget);
    }
    if (accountUnits === null) return { outcome: 'held', hold, account: null, entry: null, budgets };
    const account = await takeAccountHold(accounts, hold, accountUnits, at, fence);
    if (account.outcome === 'insufficient') {
      await undo(child, taken, run, at, hold);
      return { outcome: 'limited', limit: account };
    }
    return { outcome: 'held', hold, account: account.account, entry: account.entry, budgets };
  }

  /** Undoes the budgets' counts of `hold` and the attaches `taken` (reverse order), deletes the hidden child, pulls the entries. */
  async function undo(child: ChildRecord, taken: readonly ParentSlot[], run: Run, at: Date, hold: Hold | null = null): Promise<void> {
    const childId = child.record.id;
    if (hold !== null) {
      for (const ref of [...hold.budgets].reverse()) {
        const undone = await undoInBudget(accounts.budgets, ref, hold, { run, settings });
        if (undone?.release) await releaseUndoneDraw(accounts, hold, undone.release, at, { run, settings });
      }
    }
    for (const slot of [...taken].reverse()) {
      const plan = slot.kind === 'cast' ? castDetachPlan(childId, at) : cookDetachPlan(slot.id, { childId, kind: child.kind, piece: slot.piece }, at);
      await fencedUndo(collectionOf(slot.kind), slot.id, childId, run, plan);
      // A piece's detach may complete its cook: a held cook's reservation is then released.
      if (slot.kind === 'cook' && slot.piece) await releaseIfEnded('cook', slot.id, at);
    }
    const own = child.kind === 'cast' ? casts : generations;
    const deleted = await own.deleteOne({ _id: toStoredId(childId), version: 0, 'genledger.owner': run.owner });
    // Not if recover() took the creation over: its attaches may be to come (as in settle.ts).
    if (deleted.deletedCount === 1 && !run.adopted) {
      for (const slot of taken) await pullEntry(collectionOf(slot.kind), slot.id, childId, 'attach');
      if (hold !== null) await pullBudgetEntries(accounts.budgets, hold.budgets, childId, 'attach');
    }
  }

  /**
   * Finishes a creation whose owner is gone (recover's takeover) as its owner would have, with the
   * caps its intent recorded: a duplicate from another process may already hold the record.
   * Without recorded caps (not written by this version), it is undone: the host's call failed.
   */
  async function finishTakenOver(child: ChildRecord, intent: Intent, run: Run, at: Date): Promise<void> {
    if (intent.caps === undefined) {
      await undo(child, parentsOf(child), run, at, child.kind === 'generation' ? (child.hold ?? null) : null);
      return;
    }
    try {
      await driveAttach(child, run, intent.caps, at);
    } catch (error) {
      // A creation refused (by a parent or for money) before a crash cut its undo short: driveAttach
      // finished the undo, which is all there is to finish; the ConflictError is for a host's retry,
      // not for the sweep, whose other operations must still run.
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  function childRecord(kind: 'generation' | 'cast', document: Document): ChildRecord {
    return kind === 'cast' ? { kind, record: fromCastDocument(document) } : { kind, record: fromGenerationDocument(document), hold: readStoredHold(document) };
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
        if (attached.outcome !== 'attached') return attached as Insertion;
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

  async function insertAttached(given: NewAttachedChild, accounting: CreationAccounting = {}): Promise<Insertion | LimitedInsertion> {
    const run = owners.begin(settings);
    try {
      return await create(given, run, accounting);
    } finally {
      run.end();
    }
  }

  async function create(given: NewAttachedChild, run: Run, accounting: CreationAccounting): Promise<Insertion | LimitedInsertion> {
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
    /** The cast's budget flags (accounts/budgets.ts, `budgetFlags`). */
    let flags: Document = {};
    /** The budgets' documents as decideHold read them (each read once). */
    const budgetReads = new Map<string, Document>();
    if (given.kind === 'cast') {
      const found = await readParent('cook', given.cookId);
      if (found === null) return refusal('cook', given.cookId, null);
      const cook = fromCookDocument(found);
      const decided = attachToCook(cook, attachment(true));
      if (decided.outcome !== 'attached') return refusal('cook', given.cookId, decided);
      child = { kind: 'cast', record: { ...given.record, cookId: cook.id, collectionId: cook.collectionId } };
      // Its budget before the cast itself: no step can join it before the budget exists.
      if (accounting.budget) await storeBudget(accounts.budgets, 'cast', given.record.id, accounting.budget);
      flags = budgetFlags(accounting.budget, found);
    } else {
      let cast: Cast | null = null;
      /** The budgets the generation joins, by its parents' flags (read here anyway). */
      const budgeted: BudgetRef[] = [];
      if (given.castId !== null) {
        const found = await readParent('cast', given.castId);
        if (found === null) return refusal('cast', given.castId, null);
        cast = fromCastDocument(found);
        budgeted.push(...budgetedParents(found, 'cast', cast.id, cast.cookId));
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
        budgeted.push(...budgetedParents(found, 'cook', cookId, null));
      }
      const record: Generation = { ...given.record, castId: cast === null ? null : cast.id, spellId: cast === null ? null : cast.spellId, cookId, collectionId };
      const decided = await decideHold(record, budgeted, accounting.hold ?? null, given.at, budgetReads);
      if (decided !== null && decided.outcome === 'limited') return decided;
      child = { kind: 'generation', record, hold: decided?.hold ?? null };
    }

    const parents = parentsOf(child);
    const document: StoredDocument = {
      ...(child.kind === 'cast' ? toCastDocument(child.record) : toGenerationDocument(child.record)),
      version: 0,
      genledger: { ...intentDocument('attach', parents.map((slot) => toStoredId(slot.id)), run), caps: { ...given.caps } },
      ...(child.kind === 'generation' && child.hold && { genledgerHold: toStoredHold(child.hold) }),
      ...flags,
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
    const attached = await driveAttach(child, run, given.caps, given.at, budgetReads);
    if (attached.outcome !== 'attached') return attached as Insertion | LimitedInsertion;
    return { outcome: 'created', record: child.record, cast: attached.cast, cook: attached.cook, ...(attached.held !== null && { held: attached.held }) } as Insertion;
  }

  /**
   * The domain's hold decision over the generation's account and its parents' budgets (`refs`:
   * those its parents' flags name, cast first) as read
   * (`holdAtCreation`): a refusal writes nothing, not even the hidden child; otherwise the hold to
   * store with the child, each of its writes deciding again on what it finds (takeMoney).
   * `null` when neither a hold nor a budget concerns the generation.
   */
  async function decideHold(generation: Generation, refs: readonly BudgetRef[], units: CreationAccounting['hold'], at: Date, budgetReads: Map<string, Document>): Promise<HoldDecision | null> {
    const budgets: Budget[] = [];
    for (const ref of refs) {
      const document = await readBudgetDocument(accounts.budgets, ref);
      if (document === null) continue;
      // Read once: the count (takeMoney) starts from this document; its version filter catches a change since.
      budgetReads.set(budgetId(ref.kind, ref.id), document);
      budgets.push(fromBudgetDocument(document));
    }
    if ((units ?? null) === null && budgets.length === 0) return null;
    const stored = await accounts.accounts.findOne({ _id: toStoredId(generation.masterAccountId) });
    const account = stored === null || stored.version === 0 ? null : fromAccountDocument(stored);
    return holdAtCreation(generation.masterAccountId, account, budgets, units ?? null, generation.id, at);
  }

  return { insertAttached, finishTakenOver };
}

/** The collection of a child kind. */
export function childCollection(context: RollupContext, kind: 'generation' | 'cast'): Collection<StoredDocument> {
  return kind === 'cast' ? context.casts : context.generations;
}
