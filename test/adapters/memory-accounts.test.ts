/**
 * The memory store's account maps on their own: a hold refused for an id that already has one
 * leaves nothing written, its parents' budgets included.
 */
import { describe, expect, it } from 'vitest';
import { memoryAccounts } from '../../adapters/memory/accounts.js';
import type { Generation } from '../../src/index.js';

const at = new Date('2026-12-05T08:00:00Z');

describe('memory accounts', () => {
  it('storing a second hold for a generation throws before its budget is counted again', async () => {
    const accounts = memoryAccounts();
    await accounts.store.move({ kind: 'credit', accountId: 'a', units: { points: 100 }, reason: 'grant', idempotencyKey: 'k' }, at);
    accounts.storeBudget('cook', 'cook-1', { points: 50 });
    const generation = { id: 'g-1', masterAccountId: 'a', castId: null, cookId: 'cook-1' } as Generation;
    const first = accounts.decideHold(generation, { points: 10 }, at);
    if (first?.outcome !== 'held') throw new Error('first hold refused');
    accounts.storeHold(first);
    const again = accounts.decideHold(generation, { points: 10 }, at);
    if (again?.outcome !== 'held') throw new Error('second hold refused by its budget');
    expect(() => accounts.storeHold(again)).toThrow(/already exists/);
    expect((await accounts.store.getBudget({ kind: 'cook', id: 'cook-1' }))?.held.points).toBe(10);
    expect((await accounts.store.get('a'))?.held.points).toBe(10);
  });
});
