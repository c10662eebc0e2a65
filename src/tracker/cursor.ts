/**
 * Opaque page cursors for `listGenerations`: the position of the last item returned, as
 * (`requestTimestamp`, id), encoded so callers treat it as a token rather than build their own.
 */
import { dateSchema, idSchema } from '../domain/fields.js';
import { ValidationError } from '../errors.js';

export interface CursorPosition {
  readonly requestTimestamp: Date;
  readonly id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.requestTimestamp.getTime(), position.id]), 'utf8').toString('base64url');
}

/**
 * The position a cursor holds. Anything but a position `encodeCursor` could have written (an id
 * `idSchema` accepts, a valid date between 1970 and 9999, as every stored `requestTimestamp` is) is
 * a `ValidationError` on `field`, decided here, before the store is asked: a forged cursor must not
 * reach a store that refuses it (PostgreSQL refuses U+0000 in text) as a store failure.
 */
export function decodeCursor(cursor: string, field = 'input.cursor'): CursorPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // not JSON: the typed error below
  }
  if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === 'number') {
    const id = idSchema.safeParse(decoded[1]);
    const requestTimestamp = dateSchema.safeParse(new Date(decoded[0]));
    if (id.success && requestTimestamp.success) return { requestTimestamp: requestTimestamp.data, id: id.data };
  }
  throw new ValidationError([{ field, reason: 'is not a cursor returned by listGenerations' }]);
}
