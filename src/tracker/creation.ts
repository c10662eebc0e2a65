/**
 * Creating records: `startCook`, `startCast` and `recordGeneration` after their input is parsed.
 * A record with no parent is one insert; a child (a cast piece, a cast step, a cook piece) is one
 * `insertAttached` store operation: the idempotency key first, then each parent's attach and the
 * insert, or nothing at all. Either way a taken key answers with the record it made when the
 * request is the same (src/domain/idempotency.ts; a cast's or cook's parent hold included, read
 * from its budget), else an `IdempotencyConflictError`; and a parent's refusal stands unless the
 * key turns out to be taken after all. Events are emitted after the write lands. Casts and generations share one algorithm; only their specs differ.
 */
import { newCast, newCook, newGeneration, type GenerationLinks } from '../domain/builders.js';
import { castRequestDifference, cookRequestDifference, generationRequestDifference, parentHoldDifference, type RequestDifference } from '../domain/idempotency.js';
import type { Units } from '../domain/accounts/amounts.js';
import type { z } from 'zod';
import type { recordGenerationInputSchema, startCastInputSchema, startCookInputSchema } from '../domain/inputs.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import { GenledgerError, IdempotencyConflictError, RepositoryError, ValidationError } from '../errors.js';
import type { CreationAccounting, HeldCreation, LimitedInsertion, ParentHeldCreation } from '../account-port.js';
import type { AttachedInsertion, Insertion, NewAttachedChild } from '../port.js';
import { creationAccounting, limitedError, announceHold, announceParentHold, parentCreationAccounting } from './accounts.js';

type StartCookInput = z.output<typeof startCookInputSchema>;
type StartCastInput = z.output<typeof startCastInputSchema>;
type RecordGenerationInput = z.output<typeof recordGenerationInputSchema>;
import type { TrackerContext } from './context.js';
import { attachRefusal, emitCastWrite, emitCookWrite, emitGenerationChange } from './rollup.js';

/** Where records of one kind are inserted and found by key. */
interface KeyedStore<T> {
  /** `limited`: a parent hold the account could not cover (nothing written). */
  insert(record: T, accounting?: CreationAccounting): Promise<(Insertion<T> & ParentHeldCreation) | LimitedInsertion>;
  findByIdempotencyKey(key: string): Promise<T | null>;
}

/**
 * The answer to a creation whose `idempotencyKey` is already taken: the record the key made, when
 * this is the same request (see src/domain/idempotency.ts), else an `IdempotencyConflictError`.
 */
function repeatOf<T extends { readonly id: string; readonly idempotencyKey: string | null }>(
  entity: 'generation' | 'cast' | 'cook',
  stored: T,
  difference: RequestDifference | null,
): T {
  if (difference === null) return stored;
  throw new IdempotencyConflictError(entity, stored.id, stored.idempotencyKey ?? '', difference);
}

/** The record holding `key` in `store`, or `null` (and no read) without a key. */
async function keyHolder<T>(store: KeyedStore<T>, key: string | null | undefined): Promise<T | null> {
  return key === undefined || key === null ? null : store.findByIdempotencyKey(key);
}

/**
 * A parent refused a keyed creation. If the key is taken after all (the first call's record,
 * committed while this one was deciding), that record is the answer, as for any repeat;
 * otherwise the refusal stands.
 */
async function refusalUnlessRepeated<T>(
  refusal: unknown,
  store: KeyedStore<T>,
  key: string | null | undefined,
  answer: (stored: T) => T | Promise<T>,
): Promise<T> {
  // A store failure is no refusal: the host retries it as it is.
  if (key === undefined || key === null || !(refusal instanceof GenledgerError) || refusal instanceof RepositoryError) throw refusal;
  const holder = await keyHolder(store, key);
  if (holder === null) throw refusal;
  return answer(holder);
}

/** A generation named a cast and a cook, and the cast belongs to another cook (or to none). */
function castOfAnotherCook(castId: string, cast: Cast): ValidationError {
  return new ValidationError([
    {
      field: 'input.cookId',
      reason: `cast "${castId}" belongs to cook ${cast.cookId === null ? 'none' : `"${cast.cookId}"`}`,
    },
  ]);
}

/**
 * The events of a new record and of the parents it was attached to (as they stood after the
 * attach), whichever way the store made them; returns the new record.
 */
function announceCreated<T extends Generation | Cast>(context: TrackerContext, record: T, cast: Cast | null, cook: Cook | null): T {
  if ('toolId' in record) emitGenerationChange(context, 'recorded', record);
  else emitCastWrite(context, 'started', { changed: true, record, previousStatus: 'running' });
  if (cast) emitCastWrite(context, 'childRecorded', { changed: true, record: cast, previousStatus: cast.status });
  if (cook) emitCookWrite(context, 'childRecorded', { changed: true, record: cook, previousStatus: cook.status });
  return record;
}

/** A child's creation: what differs between a cast and a generation. */
interface ChildCreation<T extends Generation | Cast> {
  readonly entity: 'generation' | 'cast';
  readonly store: KeyedStore<T>;
  readonly record: T;
  readonly key: string | null | undefined;
  difference(stored: T): RequestDifference | null | Promise<RequestDifference | null>;
  /** The `insertAttached` request, or `null` when the child names no parent (a plain insert). */
  readonly attached: NewAttachedChild | null;
  /** The typed error for a parent's refusal or a mismatch `insertAttached` reported. */
  refusal(result: Extract<AttachedInsertion<T>, { outcome: 'refused' | 'mismatch' }>): unknown;
  /** The hold or budget the creation carries (`{}`: none); passed to the store with the record. */
  readonly accounting: CreationAccounting;
}

async function createChild<T extends Generation | Cast>(context: TrackerContext, child: ChildCreation<T>): Promise<T> {
  const { repository } = context;
  const repeat = async (stored: T) => repeatOf(child.entity, stored, await child.difference(stored));
  if (child.attached === null) {
    const inserted = await child.store.insert(child.record, child.accounting);
    if ('outcome' in inserted) return notInserted(inserted, child.store, child.accounting, child.key, repeat);
    if (!inserted.created) return repeat(inserted.record);
    announceParentHold(context, inserted);
    return announceCreated(context, inserted.record, null, null);
  }
  const result = (await repository.insertAttached(child.attached, child.accounting)) as AttachedInsertion<T> | LimitedInsertion;
  switch (result.outcome) {
    case 'created':
      announceHold(context, result.record, result as HeldCreation);
      return announceCreated(context, result.record, result.cast, result.cook);
    case 'existing':
      return repeat(result.record);
    case 'refused':
    case 'mismatch':
      return refusalUnlessRepeated(child.refusal(result), child.store, child.key, repeat);
    case 'limited':
      return refusalUnlessRepeated(limitedError(result, child.accounting), child.store, child.key, repeat);
    default:
      throw new Error(
        `[genledger] repository "${repository.name}" answered "${(result as { outcome: string }).outcome}" to ${
          child.entity === 'cast' ? "a cast's insertAttached()" : 'insertAttached()'
        }`,
      );
  }
}

/**
 * The answer to a plain insert (a record with no parent) the store did not make: a parent hold
 * the account refused is its typed error, unless the key turns out to be taken after all (then
 * the answer to the repeat).
 */
async function notInserted<T>(
  result: LimitedInsertion,
  store: KeyedStore<T>,
  accounting: CreationAccounting,
  key: string | null | undefined,
  repeat: (stored: T) => Promise<T>,
): Promise<T> {
  if (result.outcome !== 'limited') throw new Error(`[genledger] a store answered "${(result as { outcome: string }).outcome}" to a parent's insert()`);
  return refusalUnlessRepeated(limitedError(result, accounting), store, key, repeat);
}

/**
 * Where a repeated cast's or cook's request asks for another parent hold than its key's parent
 * took. Read from the parent's budget only on a store that keeps parent holds (on any other, no
 * parent has one and a request with one was refused before the insert).
 */
async function heldDifference(context: TrackerContext, kind: 'cast' | 'cook', stored: Cast | Cook, requested: Units | undefined): Promise<RequestDifference | null> {
  if (!context.repository.capabilities.parentHolds) return null;
  return parentHoldDifference(requested, await context.repository.accounts.getBudget({ kind, id: stored.id }));
}

export async function createCook(context: TrackerContext, parsed: StartCookInput): Promise<Cook> {
  const accounting = parentCreationAccounting(context, parsed, 'startCook');
  const repeat = async (stored: Cook) => repeatOf('cook', stored, cookRequestDifference(parsed, stored) ?? (await heldDifference(context, 'cook', stored, parsed.hold)));
  const inserted = await context.repository.cooks.insert(newCook(parsed, context.ids('cook'), context.clock.now()), accounting);
  if ('outcome' in inserted) return notInserted(inserted, context.repository.cooks, accounting, parsed.idempotencyKey, repeat);
  if (!inserted.created) return repeat(inserted.record);
  announceParentHold(context, inserted);
  emitCookWrite(context, 'started', { changed: true, record: inserted.record, previousStatus: 'running' });
  return inserted.record;
}

export function createCast(context: TrackerContext, parsed: StartCastInput): Promise<Cast> {
  const id = context.ids('cast');
  const now = context.clock.now();
  const record = newCast(parsed, id, now, null);
  const cookId = parsed.cookId;
  const accounting = parentCreationAccounting(context, parsed, 'startCast');
  return createChild<Cast>(context, {
    accounting,
    entity: 'cast',
    store: context.repository.casts,
    record,
    key: parsed.idempotencyKey,
    difference: async (stored) => castRequestDifference(parsed, stored) ?? (await heldDifference(context, 'cast', stored, parsed.hold)),
    attached: cookId ? { kind: 'cast', record, cookId, at: now, caps: context.caps } : null,
    refusal: (result) =>
      // A cast's only parent is its cook, and no cast is asked which cook it belongs to.
      result.outcome === 'refused'
        ? attachRefusal(context, 'cook', result.attach, cookId!, true, 'input.cookId')
        : new Error(`[genledger] repository "${context.repository.name}" answered "mismatch" to a cast's insertAttached()`),
  });
}

export function createGeneration(context: TrackerContext, parsed: RecordGenerationInput): Promise<Generation> {
  const id = context.ids('generation');
  const now = context.clock.now();
  const links: { -readonly [K in keyof GenerationLinks]: GenerationLinks[K] } = { castId: null, cookId: null, spellId: null, collectionId: null };
  const record = newGeneration(parsed, id, now, links);
  const castId = parsed.castId ?? null;
  const cookId = parsed.cookId ?? null;
  const accounting = creationAccounting(context, parsed, 'recordGeneration');
  return createChild<Generation>(context, {
    accounting,
    entity: 'generation',
    store: context.repository.generations,
    record,
    key: parsed.idempotencyKey,
    difference: (stored) => generationRequestDifference(parsed, stored),
    // A hold is taken by insertAttached, with or without parents: it is the operation that can refuse.
    attached: !parsed.castId && !parsed.cookId && !accounting.hold ? null : { kind: 'generation', record, castId, cookId, at: now, caps: context.caps },
    refusal: (result) => {
      if (result.outcome === 'mismatch') return castOfAnotherCook(castId!, result.cast);
      const piece = result.parent === 'cook' && castId === null;
      return attachRefusal(context, result.parent, result.attach, result.parentId, piece, piece ? 'input.cookId' : 'input.castId');
    },
  });
}
