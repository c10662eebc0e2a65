import { describe, expect, it } from 'vitest';
import { findJsonProblem } from '../../src/domain/json.js';

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
