/**
 * `listGenerations` cursors: a position `encodeCursor` wrote decodes to itself; anything else is a
 * ValidationError on `input.cursor`, decided before the store is asked. The cross-adapter half is in
 * the conformance suite (part-validation.ts, "listGenerations() with a forged cursor ...").
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { ValidationError } from '../../src/errors.js';
import type { LedgerRepository } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { decodeCursor, encodeCursor } from '../../src/tracker/cursor.js';

const forged = (decoded: unknown) => Buffer.from(JSON.stringify(decoded), 'utf8').toString('base64url');
const at = Date.UTC(2024, 5, 1, 12);

const MALFORMED: readonly (readonly [string, string])[] = [
  ['not base64 JSON', 'not-a-cursor'],
  ['an object', forged({ t: at, id: 'g-1' })],
  ['three items', forged([at, 'g-1', 'x'])],
  ['a string time', forged(['2024-06-01', 'g-1'])],
  ['an Infinity time', Buffer.from(`[1e999,"g-1"]`).toString('base64url')],
  ['a time past the last valid Date', forged([8.64e15 + 1, 'g-1'])],
  ['a time before 1970', forged([-1, 'g-1'])],
  ['a time after 9999', forged([Date.UTC(10000, 0, 1), 'g-1'])],
  ['U+0000 in the id', forged([at, 'g-\u00001'])],
  ['a control character in the id', forged([at, 'g-\n1'])],
  ['an unpaired surrogate in the id', forged([at, 'g-\uDC00'])],
  ['an empty id', forged([at, ''])],
  ['a 129-character id', forged([at, 'g'.repeat(129)])],
  ['a numeric id', forged([at, 1])],
  ['a null id', forged([at, null])],
];

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('listGenerations cursors', () => {
  it('decode to the position they were made from', () => {
    const position = { requestTimestamp: new Date(at), id: 'generation-\u{1F600}' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor(encodeCursor({ requestTimestamp: new Date(0), id: 'x'.repeat(128) })).id).toHaveLength(128);
  });

  it.each(MALFORMED)('refuse a cursor holding %s, on input.cursor', (_title, cursor) => {
    const error = refusal(() => decodeCursor(cursor));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.field).toBe('input.cursor');
    expect(error.issues.map((issue) => issue.field)).toEqual(['input.cursor']);
  });

  it('are refused before the store is asked', async () => {
    const repository = memoryRepository();
    let lists = 0;
    const list = repository.generations.list.bind(repository.generations);
    const counting: LedgerRepository = {
      ...repository,
      generations: {
        ...repository.generations,
        list: (query) => {
          lists += 1;
          return list(query);
        },
      },
    };
    const tracker = createTracker({ repository: counting });
    for (const [, cursor] of MALFORMED) {
      const error = await tracker.listGenerations({ cursor }).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('input.cursor');
    }
    expect(lists).toBe(0);
    await tracker.listGenerations({ cursor: encodeCursor({ requestTimestamp: new Date(at), id: 'g-1' }) });
    expect(lists).toBe(1);
  });
});
