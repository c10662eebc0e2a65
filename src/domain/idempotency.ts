/**
 * What "the same request" means for an idempotency key. A key names one request: a repeat of it
 * gets the record the first call made, whatever happened to its parents since; the same key with a
 * different request is a conflict, never another request's record (as Stripe treats its keys).
 *
 * A creation is the same request when it names the same account, the same parents and the same
 * thing to run: for a generation its `masterAccountId`, `toolId`, `castId` and `cookId`; for a
 * cast its `initiatorAccountId`, `spellId` and `cookId`; for a cook its `initiatorAccountId`,
 * `collectionId` and `targetSupply`. A parent the request leaves out is compared as "none", except
 * a step's cook, which the store takes from its cast. A cast or cook also asks for the same parent
 * hold (`hold`, or none): the hold is money moved from the account with the parent and the limit of
 * its children, so a retry asking for another amount would otherwise be told it holds what it does
 * not. Everything else (labels, payloads, metadata, times; a generation's own `hold`, an estimate
 * of its cost; a parent's `budget`) may differ between a call and its retry and is not compared:
 * the first record stands.
 * Keys are scoped by kind: `recordGeneration`, `startCast` and `startCook` each have their own.
 *
 * Pure: compares a parsed request with a stored record and says which field differs, if any.
 */
import type { Units } from './accounts/amounts.js';
import type { Budget } from './accounts/records.js';
import type { Cast, Cook, Generation } from './records.js';

/** The fields of a `recordGeneration` request that make it the request it is. */
export interface GenerationRequestIdentity {
  readonly masterAccountId: string;
  readonly toolId: string;
  readonly castId?: string | null | undefined;
  readonly cookId?: string | null | undefined;
}

/** The fields of a `startCast` request that make it the request it is. */
export interface CastRequestIdentity {
  readonly initiatorAccountId: string;
  readonly spellId: string;
  readonly cookId?: string | null | undefined;
}

/** The fields of a `startCook` request that make it the request it is. */
export interface CookRequestIdentity {
  readonly initiatorAccountId: string;
  readonly collectionId: string;
  readonly targetSupply: number;
}

/** The first field in which a repeated key's request differs from the record the key made. */
export interface RequestDifference {
  /** The input field, as the caller named it (e.g. `cookId`). */
  readonly field: string;
  /** What the record the key made has, as text (`none` for no parent). */
  readonly stored: string;
  /** What this request asks for, as text. */
  readonly requested: string;
}

const shown = (value: string | number | null | undefined): string => (value === null || value === undefined ? 'none' : String(value));

function firstDifference(pairs: readonly (readonly [string, string | number | null, string | number | null])[]): RequestDifference | null {
  for (const [field, stored, requested] of pairs) {
    if (stored !== requested) return { field, stored: shown(stored), requested: shown(requested) };
  }
  return null;
}

/**
 * Where `request` differs from `stored`, the generation its key made; `null` when it is the same
 * request. A step named by `castId` alone takes its cook from the cast, so its `cookId` is only
 * compared when the request gives one.
 */
export function generationRequestDifference(request: GenerationRequestIdentity, stored: Generation): RequestDifference | null {
  const castId = request.castId ?? null;
  const cookId = request.cookId ?? (castId === null ? null : stored.cookId);
  return firstDifference([
    ['masterAccountId', stored.masterAccountId, request.masterAccountId],
    ['castId', stored.castId, castId],
    ['cookId', stored.cookId, cookId],
    ['toolId', stored.toolId, request.toolId],
  ]);
}

/** Where `request` differs from `stored`, the cast its key made; `null` when it is the same request. */
export function castRequestDifference(request: CastRequestIdentity, stored: Cast): RequestDifference | null {
  return firstDifference([
    ['initiatorAccountId', stored.initiatorAccountId, request.initiatorAccountId],
    ['cookId', stored.cookId, request.cookId ?? null],
    ['spellId', stored.spellId, request.spellId],
  ]);
}

/** Where `request` differs from `stored`, the cook its key made; `null` when it is the same request. */
export function cookRequestDifference(request: CookRequestIdentity, stored: Cook): RequestDifference | null {
  return firstDifference([
    ['initiatorAccountId', stored.initiatorAccountId, request.initiatorAccountId],
    ['collectionId', stored.collectionId, request.collectionId],
    ['targetSupply', stored.targetSupply, request.targetSupply],
  ]);
}

/** A parent hold as text: its named units (`points 60, costUsd 2.5`), or `none`. */
function holdShown(units: Units | null | undefined): string {
  if (units === null || units === undefined) return 'none';
  const named: string[] = [];
  if (units.points !== undefined) named.push(`points ${units.points}`);
  if (units.costUsd !== undefined) named.push(`costUsd ${units.costUsd}`);
  return named.join(', ');
}

/**
 * Where a repeated `startCast`/`startCook` request's parent hold differs from the one its key's
 * parent took; `null` when they are the same (both none, or the same units named).
 *
 * @param requested the request's `hold`, parsed (amounts in their canonical form)
 * @param stored the parent's budget as stored (`null`: none); it carries the hold as its reservation
 */
export function parentHoldDifference(requested: Units | undefined, stored: Budget | null): RequestDifference | null {
  const took = stored?.reservation ? stored.limit : null;
  const storedShown = holdShown(took);
  const requestedShown = holdShown(requested);
  return storedShown === requestedShown ? null : { field: 'hold', stored: storedShown, requested: requestedShown };
}
