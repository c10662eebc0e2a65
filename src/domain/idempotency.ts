/**
 * What "the same request" means for an idempotency key. A key names one request: a repeat of it
 * gets the record the first call made, whatever happened to its parents since; the same key with a
 * different request is a conflict, never another request's record (as Stripe treats its keys).
 *
 * A creation is the same request when it names the same account, the same parents and the same
 * thing to run: for a generation its `masterAccountId`, `toolId`, `castId` and `cookId`; for a
 * cast its `initiatorAccountId`, `spellId` and `cookId`; for a cook its `initiatorAccountId`,
 * `collectionId` and `targetSupply`. A parent the request leaves out is compared as "none", except
 * a step's cook, which the store takes from its cast. Everything else (labels, payloads, metadata,
 * times) may differ between a call and its retry and is not compared: the first record stands.
 * Keys are scoped by kind: `recordGeneration`, `startCast` and `startCook` each have their own.
 *
 * Pure: compares a parsed request with a stored record and says which field differs, if any.
 */
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
