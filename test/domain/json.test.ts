import { describe, expect, it } from 'vitest';
import { idSchema, labelSchema, metadataSchema, payloadSchema, runIdSchema, textSchema, urlSchema } from '../../src/domain/fields.js';
import { findJsonProblem } from '../../src/domain/json.js';
import { LIMITS } from '../../src/domain/limits.js';

describe('JSON limits', () => {
  it('accepts plain JSON', () => {
    expect(findJsonProblem({ a: [1, 'two', null, true, { b: 1.5 }], 'key-with-dash': 'ok' }, 1000)).toBeNull();
  });

  it.each([
    [{ $set: 1 }, ['$set'], 'starts with "$"'],
    [{ a: { 'b.c': 1 } }, ['a', 'b.c'], 'contains "."'],
    [JSON.parse('{"__proto__": {"x": 1}}'), ['__proto__'], 'prototype'],
    [{ constructor: 1 }, ['constructor'], 'prototype'],
    [{ a: Number.NaN }, ['a'], 'finite'],
    [{ a: new Date(0) }, ['a'], 'Date'],
    [{ a: () => 1 }, ['a'], 'function'],
    [{ a: 10n }, ['a'], 'bigint'],
    [{ a: new Map() }, ['a'], 'Map'],
  ])('refuses %o at %j', (value, path, reason) => {
    const problem = findJsonProblem(value, 1000);
    expect(problem?.path).toEqual(path);
    expect(problem?.reason).toContain(reason);
  });

  it('refuses values nested too deep, and cycles, without overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    for (let level = 0; level < 100_000; level += 1) deep = { d: deep };
    expect(findJsonProblem(deep, 10_000_000)?.reason).toContain('nested deeper');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(findJsonProblem(cyclic, 10_000_000)?.reason).toContain('nested deeper');
  });

  it('refuses values larger than the limit', () => {
    expect(findJsonProblem({ text: 'x'.repeat(2000) }, 1000)?.reason).toContain('larger than 1000 bytes');
  });
});

/**
 * Refusing an oversized value takes time in proportion to the limit, not to the value. Timings are
 * noisy, so these count reads instead: the arrays are Proxies and the objects have getters that
 * count each element or value read, and throw past a bound a few times what the limit allows (so a
 * walk that reads the whole value fails fast rather than slowly).
 */
describe('JSON limits are enforced in time proportional to the limit', () => {
  class ReadTooMuch extends Error {}

  /** An array of `length` elements (each `element`) that counts reads in `counter` and throws past `maxReads`. */
  function countingArray(length: number, element: unknown, maxReads: number, counter = { reads: 0 }) {
    const proxy = new Proxy(new Array<unknown>(length), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          counter.reads += 1;
          if (counter.reads > maxReads) throw new ReadTooMuch(`read more than ${maxReads} elements`);
          return element;
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { value: proxy as unknown[], counter };
  }

  /** A plain object of `keys` keys whose values are getters that count reads and throw past `maxReads`. */
  function countingObject(keys: number, maxReads: number) {
    const counter = { reads: 0 };
    const descriptors: PropertyDescriptorMap = {};
    const get = () => {
      counter.reads += 1;
      if (counter.reads > maxReads) throw new ReadTooMuch(`read more than ${maxReads} values`);
      return 1;
    };
    for (let index = 0; index < keys; index += 1) descriptors[`k${index}`] = { get, enumerable: true };
    return { value: Object.defineProperties({}, descriptors) as Record<string, unknown>, counter };
  }

  it('refuses a 10,000,000-element array from its length, reading no element', () => {
    const { value, counter } = countingArray(10_000_000, 1, LIMITS.payloadBytes);
    expect(findJsonProblem(value, LIMITS.payloadBytes)).toEqual({
      path: [],
      reason: `is larger than ${LIMITS.payloadBytes} bytes as JSON`,
    });
    expect(counter.reads).toBe(0);
  });

  it('refuses a 10,000,000-element requestPayload through payloadSchema, reading no element', () => {
    const { value, counter } = countingArray(10_000_000, 'x', LIMITS.payloadBytes);
    const result = payloadSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('larger than');
    expect(counter.reads).toBe(0);
  });

  it('stops within the budget when the elements, not their number, make the value too large', () => {
    // 20,000 elements pass the count check (2 bytes each at least), but each number takes 8 bytes.
    const { value, counter } = countingArray(20_000, 12345, 100_000);
    expect(findJsonProblem(value, 64 * 1024)?.reason).toContain('larger than');
    expect(counter.reads).toBeLessThanOrEqual(32 * 1024);
    // 1,000 arrays of 1,000 numbers, each array within the budget alone: the walk stops inside the
    // ninth, having read ~9,000 of the 1,000,000 numbers.
    const shared = { reads: 0 };
    const inner = Array.from({ length: 1_000 }, () => countingArray(1_000, 12345, 100_000, shared).value);
    expect(findJsonProblem(inner, 64 * 1024)?.reason).toContain('larger than');
    expect(shared.reads).toBeGreaterThan(0);
    expect(shared.reads).toBeLessThanOrEqual(32 * 1024);
  });

  it('refuses an object of 200,000 keys from its key count, reading no value', () => {
    // 64 KiB of metadata holds at most ~13,000 members; the bound lets a walk read twice that.
    const { value, counter } = countingObject(200_000, (2 * LIMITS.metadataBytes) / 5);
    const result = metadataSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(`is larger than ${LIMITS.metadataBytes} bytes as JSON`);
    expect(counter.reads).toBe(0);
  });

  it('refuses a value too large inside an object within budget without reading on', () => {
    const { value, counter } = countingArray(10_000_000, 1, 10);
    const problem = findJsonProblem({ a: 1, list: value, z: 'last' }, LIMITS.payloadBytes);
    expect(problem?.reason).toContain('larger than');
    expect(counter.reads).toBe(0);
  });

  it('accepts exactly what fits: the budget counts a value as before', () => {
    // [] is 2 bytes and each null 5: 2 + 5n.
    expect(findJsonProblem(new Array(10).fill(null), 52)).toBeNull();
    expect(findJsonProblem(new Array(10).fill(null), 51)?.reason).toContain('larger than 51');
    // {} is 2 bytes, each member its key + 3 and its value: 2 + (1 + 3 + 8) * 3.
    expect(findJsonProblem({ a: 1, b: 2, c: 3 }, 38)).toBeNull();
    expect(findJsonProblem({ a: 1, b: 2, c: 3 }, 37)?.reason).toContain('larger than 37');
    // A string is its length + 2.
    expect(findJsonProblem('x'.repeat(98), 100)).toBeNull();
    expect(findJsonProblem('x'.repeat(99), 100)?.reason).toContain('larger than 100');
  });

  it('refuses a string over its length limit by its length alone: no other check reads it', () => {
    // Were the other checks to run, each would add its own issue (control characters, U+0000).
    const result = idSchema.safeParse(`${'x'.repeat(1_000_000)}\u0000`);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([`must be at most ${LIMITS.idLength} characters`]);
    for (const [schema, limit] of [
      [labelSchema, LIMITS.labelLength],
      [textSchema, LIMITS.textLength],
      [urlSchema, LIMITS.urlLength],
      [runIdSchema, 512],
    ] as const) {
      const issues = schema.safeParse(`${'x'.repeat(limit)}\u0000`).error?.issues ?? [];
      expect(issues).toHaveLength(1);
      expect(issues[0]?.code).toBe('too_big');
    }
  });
});
