/**
 * Opaque page cursors for `listGenerations`: the position of the last item returned, as
 * (`requestTimestamp`, id), encoded so callers treat it as a token rather than build their own.
 */
import { ValidationError } from '../errors.js';

export interface CursorPosition {
  readonly requestTimestamp: Date;
  readonly id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.requestTimestamp.getTime(), position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, field = 'input.cursor'): CursorPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && Number.isFinite(decoded[0]) && typeof decoded[1] === 'string') {
      return { requestTimestamp: new Date(decoded[0] as number), id: decoded[1] };
    }
  } catch {
    // fall through to the typed error below
  }
  throw new ValidationError([{ field, reason: 'is not a cursor returned by listGenerations' }]);
}
