/**
 * The account reducers (src/domain/accounts) on their own: exact dollar arithmetic with signed
 * balances, the settlement policy unit by unit, budgets, and the replay reconcile relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addAmounts, subtractAmounts, unitsInputSchema } from '../../src/domain/accounts/amounts.js';
import { holdInBudget, newBudget, settleInBudget } from '../../src/domain/accounts/budget.js';
import { holdAtCreation } from '../../src/domain/accounts/creation.js';
import { applyMovement, emptyAccount, reconcileFigures, replayEntries, settleHold, takeHold } from '../../src/domain/accounts/ledger.js';
import type { Account, LedgerEntry } from '../../src/domain/accounts/records.js';
import { accountSchema, ledgerEntrySchema } from '../../src/domain/accounts/records.js';
import { toUsdAmount } from '../../src/domain/money.js';

const at = new Date('2026-12-05T08:00:00Z');

function credited(points: number, costUsd: string): Account {
  const result = applyMovement(emptyAccount('a'), { kind: 'credit', accountId: 'a', units: { points, costUsd }, reason: 'grant', idempotencyKey: 'k' }, at);
  if (result.outcome !== 'applied') throw new Error('credit refused');
  return result.account;
}

describe('account amounts', () => {
  it('signed dollar sums are exact and canonical', () => {
    expect(addAmounts({ points: 1, costUsd: '0.1' }, { points: 2, costUsd: '0.2' })).toEqual({ points: 3, costUsd: '0.3' });
    expect(subtractAmounts({ points: 1, costUsd: '0.1' }, { points: 3, costUsd: '0.35' })).toEqual({ points: -2, costUsd: '-0.25' });
    expect(addAmounts({ points: 0, costUsd: '-0.25' }, { points: 0, costUsd: '0.25' })).toEqual({ points: 0, costUsd: '0' });
  });

  it('a hold or a budget names at least one unit, never negative, never fractional points', () => {
    expect(unitsInputSchema.safeParse({}).success).toBe(false);
    expect(unitsInputSchema.safeParse({ points: -1 }).success).toBe(false);
    expect(unitsInputSchema.safeParse({ points: 1.5 }).success).toBe(false);
    expect(unitsInputSchema.safeParse({ costUsd: '-0.1' }).success).toBe(false);
    expect(unitsInputSchema.parse({ costUsd: 0.1 })).toEqual({ costUsd: '0.1' });
  });
});

describe('holds and their settlement', () => {
  it('a hold is refused when available is short in any unit it names, and writes nothing', () => {
    const account = credited(10, '1');
    const refused = takeHold(account, { points: 5, costUsd: '1.01' }, 'g', at);
    expect(refused).toMatchObject({ outcome: 'insufficient', unit: 'costUsd', available: { points: 10, costUsd: '1' } });
    const held = takeHold(account, { points: 10 }, 'g', at);
    expect(held.outcome).toBe('held');
    if (held.outcome === 'held') expect(held.account.available).toEqual({ points: 0, costUsd: '1' });
  });

  it('captures what the generation records in the units the hold names and releases the rest', () => {
    const held = takeHold(credited(100, '1'), { points: 30, costUsd: '0.5' }, 'g', at);
    if (held.outcome !== 'held') throw new Error('hold refused');
    const settled = settleHold(held.account, { points: 30, costUsd: '0.5' }, 'g', { pointsSpent: 12, costUsd: '0.123456789012345678' }, at);
    expect(settled.entries.map((entry) => entry.kind)).toEqual(['capture', 'release']);
    expect(settled.account.balance).toEqual({ points: 88, costUsd: '0.876543210987654322' });
    expect(settled.account.held).toEqual({ points: 0, costUsd: '0' });
    expect(settled.entries[1]!.amount).toEqual({ points: 18, costUsd: '0.376543210987654322' });
  });

  it('a charge above the hold comes from available, and an overdraft entry records what even that could not cover', () => {
    const held = takeHold(credited(20, '0'), { points: 10 }, 'g', at);
    if (held.outcome !== 'held') throw new Error('hold refused');
    const settled = settleHold(held.account, { points: 10 }, 'g', { pointsSpent: 25, costUsd: '3' }, at);
    expect(settled.entries.map((entry) => [entry.kind, entry.amount.points])).toEqual([['capture', 25], ['overdraft', 5]]);
    // Dollars are not named by the hold: never charged.
    expect(settled.account.balance).toEqual({ points: -5, costUsd: '0' });
    expect(settled.entries[0]!.fromHold).toEqual({ points: 10, costUsd: '0' });
  });

  it('replaying the entries of any sequence of movements, holds and settlements gives the account exactly', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('credit' as const), points: fc.integer({ min: 0, max: 1000 }), cents: fc.integer({ min: 0, max: 10_000 }) }),
      fc.record({ kind: fc.constant('debit' as const), points: fc.integer({ min: 0, max: 1000 }), cents: fc.integer({ min: 0, max: 10_000 }) }),
      fc.record({ kind: fc.constant('hold' as const), points: fc.integer({ min: 0, max: 500 }), cents: fc.integer({ min: 0, max: 5000 }), charged: fc.integer({ min: 0, max: 800 }), chargedCents: fc.integer({ min: 0, max: 8000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let account = emptyAccount('a');
        const entries: LedgerEntry[] = [];
        for (const [index, item] of steps.entries()) {
          const costUsd = toUsdAmount((item.cents / 100).toFixed(2));
          if (item.kind !== 'hold') {
            const moved = applyMovement(account, { kind: item.kind, accountId: 'a', units: { points: item.points, costUsd }, reason: 'r', idempotencyKey: `k${index}` }, at);
            if (moved.outcome === 'applied') {
              account = moved.account;
              entries.push(moved.entry);
            }
            continue;
          }
          const units = { points: item.points, costUsd };
          const taken = takeHold(account, units, `g${index}`, at);
          if (taken.outcome !== 'held') continue;
          entries.push(taken.entry);
          const settled = settleHold(taken.account, units, `g${index}`, { pointsSpent: item.charged, costUsd: toUsdAmount((item.chargedCents / 100).toFixed(2)) }, at);
          account = settled.account;
          entries.push(...settled.entries);
        }
        for (const entry of entries) expect(ledgerEntrySchema.safeParse(entry).success).toBe(true);
        expect(accountSchema.safeParse(account).success).toBe(true);
        const replayed = replayEntries('a', entries);
        expect([replayed.balance, replayed.held, replayed.available, replayed.spent, replayed.entryCount]).toEqual([
          account.balance,
          account.held,
          account.available,
          account.spent,
          account.entryCount,
        ]);
        // A debit or a hold never took available below zero; only an overdraft entry may have.
        if (!entries.some((entry) => entry.kind === 'overdraft')) expect(account.available.points).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300, seed: 20261205 },
    );
  });
});

describe('budgets', () => {
  it('counts holds until spent + held would pass the limit, refuses a child without a hold in a budgeted unit', () => {
    let budget = newBudget('cook', 'c', { points: 25 });
    const first = holdInBudget(budget, { points: 10 });
    if (first.outcome !== 'counted') throw new Error('refused');
    budget = first.budget;
    expect(holdInBudget(budget, { points: 16 })).toMatchObject({ outcome: 'overBudget', unit: 'points', held: true });
    expect(holdInBudget(budget, null)).toMatchObject({ outcome: 'overBudget', held: false });
    expect(holdInBudget(budget, { costUsd: '1' })).toMatchObject({ outcome: 'overBudget', held: false });
    budget = settleInBudget(budget, { points: 10 }, { points: 4, costUsd: '0' });
    expect(budget).toMatchObject({ held: { points: 0 }, spent: { points: 4 } });
    // 4 spent: 21 more reaches the limit exactly, 22 passes it.
    expect(holdInBudget(budget, { points: 22 }).outcome).toBe('overBudget');
    expect(holdInBudget(budget, { points: 21 }).outcome).toBe('counted');
  });

  it('holdAtCreation asks the budgets first and the account last, and a refusal leaves no hold', () => {
    const budget = newBudget('cast', 'c', { points: 5 });
    const overBudget = holdAtCreation('a', credited(100, '0'), [budget], { points: 6 }, 'g', at);
    expect(overBudget).toMatchObject({ outcome: 'limited', limit: { outcome: 'overBudget' } });
    const short = holdAtCreation('a', credited(3, '0'), [budget], { points: 5 }, 'g', at);
    expect(short).toMatchObject({ outcome: 'limited', limit: { outcome: 'insufficient' } });
    const held = holdAtCreation('a', null, [], null, 'g', at);
    expect(held).toMatchObject({ outcome: 'held', hold: null, account: null });
  });
});

describe('reconcileFigures', () => {
  it('reports drift in any one figure and rebuilds the account as its next version; no drift leaves the stored account as it is', () => {
    const credit = applyMovement(emptyAccount('a'), { kind: 'credit', accountId: 'a', units: { points: 10, costUsd: '0.5' }, reason: 'grant', idempotencyKey: 'k' }, at);
    if (credit.outcome !== 'applied') throw new Error('credit refused');
    const held = takeHold(credit.account, { points: 4 }, 'g-1', at);
    if (held.outcome !== 'held') throw new Error('hold refused');
    const stored = held.account;
    const entries = [credit.entry, held.entry];
    const later = new Date(at.getTime() + 60_000);
    expect(reconcileFigures('a', stored, entries, later)).toEqual({ stored, rebuilt: stored, drift: false });
    expect(reconcileFigures('a', null, [], later)).toEqual({ stored: null, rebuilt: emptyAccount('a'), drift: false });
    const tampered: Partial<Account>[] = [
      { balance: { points: 10, costUsd: '0.51' } },
      { held: { points: 3, costUsd: '0' } },
      { available: { points: 7, costUsd: '0.5' } },
      { spent: { points: 1, costUsd: '0' } },
      { entryCount: 3 },
    ];
    for (const figures of tampered) {
      const report = reconcileFigures('a', { ...stored, ...figures }, entries, later);
      expect(report.drift, JSON.stringify(figures)).toBe(true);
      expect(report.rebuilt).toEqual({ ...stored, version: stored.version + 1, updatedAt: later });
    }
  });
});
