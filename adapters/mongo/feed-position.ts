/**
 * Change feed positions: the opaque strings a notice carries and a later subscriber passes back as
 * `after`. Each names the mode that made it, because a position means something only to that mode:
 *
 * - change streams: `cs:` + the change event's resume token (its `_id`) as canonical Extended JSON.
 *   The server orders tokens; resuming is `startAfter` that token.
 * - polling: `poll:` + per collection (generations, casts, cooks, accounts) the newest `updatedAt`
 *   read, in milliseconds (empty when none was read). Resuming reads again from `pollOverlapMs`
 *   before each. A position of an earlier version names no accounts: resumed from it, the feed
 *   reads every account with an `updatedAt` once (each reported at its latest version).
 */
import { BSON, type ResumeToken } from 'mongodb';
import { ConflictError } from 'genledger';
import type { ChangeKind } from 'genledger/adapter';

/** The newest `updatedAt` (ms since the epoch) polling has read per kind; `null` before the first. */
export type Watermarks = Record<ChangeKind, number | null>;

export type FeedPosition = { readonly mode: 'changeStreams'; readonly token: ResumeToken } | { readonly mode: 'polling'; readonly watermarks: Watermarks };

const STREAM_PREFIX = 'cs:';
const POLL_PREFIX = 'poll:';
const KINDS: readonly ChangeKind[] = ['generation', 'cast', 'cook', 'account'];
/** The kinds a position of an earlier version named, before accounts were polled. */
const RECORD_KINDS = 3;

export function streamPosition(token: ResumeToken): string {
  return STREAM_PREFIX + BSON.EJSON.stringify(token as BSON.Document, { relaxed: false });
}

export function pollPosition(watermarks: Watermarks): string {
  return POLL_PREFIX + KINDS.map((kind) => watermarks[kind] ?? '').join('.');
}

function refuse(position: string, why: string): never {
  const shown = position.length > 80 ? `${position.slice(0, 80)}...` : position;
  throw new ConflictError('after', `mongo change feed position "${shown}" ${why}`);
}

/** Reads a position given back as `after`; throws a `ConflictError` on `after` when it is not one this adapter gave. */
export function readPosition(position: string): FeedPosition {
  if (position.startsWith(STREAM_PREFIX)) {
    let token: unknown;
    try {
      token = BSON.EJSON.parse(position.slice(STREAM_PREFIX.length), { relaxed: false });
    } catch (error) {
      refuse(position, `is not a resume token this feed gave (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof token !== 'object' || token === null || Array.isArray(token)) refuse(position, 'is not a resume token this feed gave');
    return { mode: 'changeStreams', token };
  }
  if (position.startsWith(POLL_PREFIX)) {
    const parts = position.slice(POLL_PREFIX.length).split('.');
    if (parts.length !== KINDS.length && parts.length !== RECORD_KINDS) refuse(position, 'is not a polling position this feed gave');
    const watermarks = {} as Record<ChangeKind, number | null>;
    KINDS.forEach((kind, index) => {
      const part = parts[index] ?? '';
      const value = part === '' ? null : Number(part);
      if (value !== null && !(/^-?\d+$/.test(part) && Number.isSafeInteger(value))) refuse(position, 'is not a polling position this feed gave');
      watermarks[kind] = value;
    });
    return { mode: 'polling', watermarks };
  }
  return refuse(position, "is not one this adapter gave (it starts with neither 'cs:' nor 'poll:')");
}
