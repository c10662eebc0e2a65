/**
 * Parent holds (src/domain/accounts/parent-hold.ts) on their own: the hold taken with a cast or a
 * cook, children drawing on its reservation, their settlement against it (unspent back to it, a
 * charge above the hold from it first), the one release when the parent ends, and the replay
 * reconcile relies on. A property check drives random children through it and compares the
 * account with an independent model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holdAtCreation } from '../../src/domain/accounts/creation.js';
import { applyMovement, emptyAccount, reconcileFigures, replayEntries, settleHold } from '../../src/domain/accounts/ledger.js';
import { drawFromReservation, parentHoldAtCreation, parentHoldBudget, releaseReservation, returnDraw, settleInReservation, unitsBeyond } from '../../src/domain/accounts/parent-hold.js';
import { ZERO_AMOUNT as ZERO } from '../../src/domain/accounts/amounts.js';
import type { Account, Budget, Hold, LedgerEntry } from '../../src/domain/accounts/records.js';
import { budgetSchema, holdSchema, ledgerEntrySchema } from '../../src/domain/accounts/records.js';
import { settleGenerationHold } from '../../src/domain/accounts/settlement.js';

const at = new Date('2026-12-06T08:00:00Z');

function credited(points: number, costUsd = '0', accountId = 'a'): { account: Account; entries: LedgerEntry[] } {
  const result = applyMovement(emptyAccount(accountId), { kind: 'credit', accountId, units: { points, costUsd }, reason: 'grant', idempotencyKey: 'k' }, at);
  if (result.outcome !== 'applied') throw new Error('credit refused');
  return { account: result.account, entries: [result.entry] };
}

function heldParent(account: Account, points: number): { account: Account; budget: Budget; entry: LedgerEntry } {
  const decided = parentHoldAtCreation('cook', 'k1', account.accountId, account, { points }, at);
  if (decided.outcome !== 'held') throw new Error('parent hold refused');
  return decided;
}

describe('parent holds', () => {
  it('a parent hold reserves its units from available with one hold entry naming the parent, or is refused writing nothing', () => {
    const { account } = credited(100);
    const refused = parentHoldAtCreation('cast', 'c1', 'a', account, { points: 101 }, at);
    expect(refused).toMatchObject({ outcome: 'limited', limit: { outcome: 'insufficient', unit: 'points', requested: { points: 101, costUsd: '0' } } });
    const held = parentHoldAtCreation('cast', 'c1', 'a', account, { points: 60 }, at);
    if (held.outcome !== 'held') throw new Error('refused');
    expect(held.account.held.points).toBe(60);
    expect(held.account.available.points).toBe(40);
    expect(held.entry).toMatchObject({ kind: 'hold', amount: { points: 60, costUsd: '0' }, cause: { kind: 'parent', parentKind: 'cast', parentId: 'c1' } });
    expect(ledgerEntrySchema.parse(held.entry)).toEqual(held.entry);
    // The hold is the parent's budget: its limit is the hold's units, its reservation all free.
    expect(held.budget).toMatchObject({ limit: { points: 60 }, held: { points: 0 }, spent: { points: 0 }, reservation: { accountId: 'a', free: { points: 60, costUsd: '0' }, status: 'held' } });
    expect(budgetSchema.parse(held.budget)).toEqual(held.budget);
  });

  it("a child on the parent's account draws on the reservation: the account's held does not grow and no entry is written", () => {
    const parent = heldParent(credited(100).account, 60);
    const child = holdAtCreation('a', parent.account, [parent.budget], { points: 25 }, 'g1', at);
    if (child.outcome !== 'held') throw new Error('refused');
    expect(child.account).toBeNull();
    expect(child.entry).toBeNull();
    expect(child.hold).toMatchObject({ drawsOn: { kind: 'cook', id: 'k1' }, units: { points: 25 } });
    expect(holdSchema.parse(child.hold)).toEqual(child.hold);
    expect(child.budgets[0]).toMatchObject({ held: { points: 25 }, reservation: { free: { points: 35 } } });
  });

  it('a child on another account holds on its own account, counted in the budget, the reservation untouched', () => {
    const parent = heldParent(credited(100).account, 60);
    const other = credited(10, '0', 'b').account;
    const child = holdAtCreation('b', other, [parent.budget], { points: 10 }, 'g1', at);
    if (child.outcome !== 'held') throw new Error('refused');
    expect(child.entry).toMatchObject({ accountId: 'b', kind: 'hold', amount: { points: 10 } });
    expect(child.hold?.drawsOn).toBeUndefined();
    expect(child.budgets[0]).toMatchObject({ held: { points: 10 }, reservation: { free: { points: 60 } } });
  });

  it('units a drawing child names beyond the parent hold are reserved from available as any hold', () => {
    const parent = heldParent(credited(100, '1').account, 60);
    const child = holdAtCreation('a', parent.account, [parent.budget], { points: 20, costUsd: '0.4' }, 'g1', at);
    if (child.outcome !== 'held') throw new Error('refused');
    expect(child.entry).toMatchObject({ kind: 'hold', amount: { points: 0, costUsd: '0.4' } });
    expect(child.account).toMatchObject({ held: { points: 60, costUsd: '0.4' } });
    const tooMuch = holdAtCreation('a', parent.account, [parent.budget], { points: 20, costUsd: '1.5' }, 'g2', at);
    expect(tooMuch).toMatchObject({ outcome: 'limited', limit: { outcome: 'insufficient', unit: 'costUsd' } });
  });

  it('the budget refuses a child past the hold, and one without a hold', () => {
    const parent = heldParent(credited(100).account, 60);
    expect(holdAtCreation('a', parent.account, [parent.budget], { points: 61 }, 'g1', at)).toMatchObject({ outcome: 'limited', limit: { outcome: 'overBudget', unit: 'points' } });
    expect(holdAtCreation('a', parent.account, [parent.budget], null, 'g1', at)).toMatchObject({ outcome: 'limited', limit: { outcome: 'overBudget', held: false } });
  });

  it('a drawing child settled while the parent is open: the charge is captured from held, the unspent part stays in the reservation', () => {
    const parent = heldParent(credited(100).account, 60);
    const child = holdAtCreation('a', parent.account, [parent.budget], { points: 25 }, 'g1', at);
    if (child.outcome !== 'held' || child.hold === null) throw new Error('refused');
    const settled = settleGenerationHold(child.hold, parent.account, child.budgets, { pointsSpent: 10, costUsd: '0' }, at)!;
    expect(settled.entries.map((entry) => [entry.kind, entry.amount.points, entry.fromHold?.points ?? null])).toEqual([['capture', 10, 10]]);
    expect(settled.account).toMatchObject({ balance: { points: 90 }, held: { points: 50 }, available: { points: 40 } });
    expect(settled.budgets[0]).toMatchObject({ held: { points: 0 }, spent: { points: 10 }, reservation: { free: { points: 50 }, status: 'held' } });
    // The parent ends: what is free (60 - 10 captured) is released once, by one entry naming it.
    const released = releaseReservation(settled.budgets[0]!, settled.account, at)!;
    expect(released.entries).toEqual([expect.objectContaining({ kind: 'release', amount: { points: 50, costUsd: '0' }, cause: { kind: 'parent', parentKind: 'cook', parentId: 'k1' } })]);
    expect(released.account).toMatchObject({ balance: { points: 90 }, held: { points: 0 }, available: { points: 90 } });
    expect(releaseReservation(released.budget, released.account, at)).toBeNull();
  });

  it('a drawing child charged above its hold takes the difference from the free reservation first, then available, then an overdraft entry', () => {
    const parent = heldParent(credited(100).account, 60);
    const child = holdAtCreation('a', parent.account, [parent.budget], { points: 20 }, 'g1', at);
    if (child.outcome !== 'held' || child.hold === null) throw new Error('refused');
    // 20 from its hold, 40 from the reservation's free part, 40 from available, 10 short.
    const settled = settleGenerationHold(child.hold, parent.account, child.budgets, { pointsSpent: 110, costUsd: '0' }, at)!;
    expect(settled.entries.map((entry) => [entry.kind, entry.amount.points, entry.fromHold?.points ?? null])).toEqual([
      ['capture', 110, 60],
      ['overdraft', 10, null],
    ]);
    expect(settled.account).toMatchObject({ balance: { points: -10 }, held: { points: 0 }, available: { points: -10 } });
    expect(settled.budgets[0]).toMatchObject({ spent: { points: 110 }, reservation: { free: { points: 0 } } });
    expect(releaseReservation(settled.budgets[0]!, settled.account, at)!.entries).toEqual([]);
  });

  it('a child still open when the parent ends keeps its part held; settled later, its unspent part goes to available', () => {
    const parent = heldParent(credited(100).account, 60);
    const child = holdAtCreation('a', parent.account, [parent.budget], { points: 25 }, 'g1', at);
    if (child.outcome !== 'held' || child.hold === null) throw new Error('refused');
    const released = releaseReservation(child.budgets[0]!, parent.account, at)!;
    expect(released.entries[0]!.amount.points).toBe(35);
    expect(released.account).toMatchObject({ held: { points: 25 }, available: { points: 75 } });
    const settled = settleGenerationHold(child.hold, released.account, [released.budget], { pointsSpent: 5, costUsd: '0' }, at)!;
    expect(settled.entries.map((entry) => [entry.kind, entry.amount.points])).toEqual([
      ['capture', 5],
      ['release', 20],
    ]);
    expect(settled.account).toMatchObject({ balance: { points: 95 }, held: { points: 0 }, available: { points: 95 } });
    expect(settled.budgets[0]!.reservation).toMatchObject({ free: { points: 0 }, status: 'released' });
  });

  it('settleHold without a pool is unchanged: the unspent part is released, the excess comes from available', () => {
    const account = credited(100).account;
    const held = { ...account, held: { points: 20, costUsd: '0' }, available: { points: 80, costUsd: '0' } };
    const settled = settleHold(held, { points: 20 }, 'g', { pointsSpent: 5, costUsd: '0' }, at);
    expect(settled.entries.map((entry) => [entry.kind, entry.amount.points])).toEqual([
      ['capture', 5],
      ['release', 15],
    ]);
    expect(settled.poolFree).toBeNull();
  });

  it('a draw never takes more than the reservation has free (a guard behind the budget)', () => {
    const parent = heldParent(credited(100).account, 60);
    const short: Budget = { ...parent.budget, reservation: { ...parent.budget.reservation!, free: { points: 5, costUsd: '0' } } };
    expect(drawFromReservation(short, { points: 6 })).toBeNull();
    expect(drawFromReservation(short, { points: 5 })!.budget.reservation!.free.points).toBe(0);
  });

  it('property: random children (drawing or not, under or over their hold, settled before or after the parent ends) leave the account equal to a model, replayable from its entries, never double-releasing', () => {
    const childArb = fc.record({ hold: fc.integer({ min: 0, max: 30 }), spent: fc.integer({ min: 0, max: 45 }), afterEnd: fc.boolean() });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), fc.array(childArb, { maxLength: 12 }), (credit, reservation, children) => {
        const start = credited(credit);
        const parent = parentHoldAtCreation('cast', 'c', 'a', start.account, { points: reservation }, at);
        if (parent.outcome !== 'held') {
          expect(reservation).toBeGreaterThan(credit);
          return;
        }
        let account = parent.account;
        let budget = parent.budget;
        const entries = [...start.entries, parent.entry];
        const open: { hold: Hold; spent: number; afterEnd: boolean }[] = [];
        let charged = 0;
        for (const [index, child] of children.entries()) {
          const decided = holdAtCreation('a', account, [budget], { points: child.hold }, `g${index}`, at);
          if (decided.outcome === 'limited') {
            expect(decided.limit.outcome).toBe('overBudget');
            continue;
          }
          budget = decided.budgets[0]!;
          open.push({ hold: decided.hold!, spent: child.spent, afterEnd: child.afterEnd });
          // spent + held never passes the limit, and the reservation's free part covers every draw.
          expect(budget.spent.points + budget.held.points).toBeLessThanOrEqual(reservation);
          expect(budget.reservation!.free.points).toBeGreaterThanOrEqual(0);
        }
        const settle = (child: { hold: Hold; spent: number }) => {
          const settled = settleGenerationHold(child.hold, account, [budget], { pointsSpent: child.spent, costUsd: '0' }, at)!;
          account = settled.account;
          budget = settled.budgets[0]!;
          entries.push(...settled.entries);
          charged += child.spent;
          expect(account.held.points).toBeGreaterThanOrEqual(0);
        };
        for (const child of open.filter((candidate) => !candidate.afterEnd)) settle(child);
        const released = releaseReservation(budget, account, at)!;
        account = released.account;
        budget = released.budget;
        entries.push(...released.entries);
        expect(releaseReservation(budget, account, at)).toBeNull();
        for (const child of open.filter((candidate) => candidate.afterEnd)) settle(child);
        // Everything settled and released: nothing held, the balance is credits minus charges.
        expect(account.held.points).toBe(0);
        expect(account.balance.points).toBe(credit - charged);
        expect(account.spent.points).toBe(charged);
        expect(entries.filter((entry) => entry.kind === 'release' && entry.cause.kind === 'parent')).toHaveLength(released.entries.length);
        const replayed = replayEntries('a', entries);
        expect({ balance: replayed.balance, held: replayed.held, spent: replayed.spent }).toEqual({ balance: account.balance, held: account.held, spent: account.spent });
        expect(reconcileFigures('a', account, entries, at).drift).toBe(false);
        // Never a silent negative: the overdraft entries cover at least how far the balance ended below zero.
        const overdrawn = entries.filter((entry) => entry.kind === 'overdraft').reduce((sum, entry) => sum + entry.amount.points, 0);
        expect(overdrawn).toBeGreaterThanOrEqual(Math.max(0, charged - credit));
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});

describe('parent holds split in two writes (a store that writes the budget and the account apart, MongoDB)', () => {
  it('settleInReservation then settleHold with its pool equals settleGenerationHold in one step: the same entries, account, budget and free, open or released, in points and dollars', () => {
    const units = fc.record({ points: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }), costUsd: fc.option(fc.integer({ min: 0, max: 400 }).map((tenths) => String(tenths / 10)), { nil: undefined }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 100 }),
        units,
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 600 }),
        fc.boolean(),
        (credit, reserved, hold, pointsSpent, centsSpent, released) => {
          const start = credited(credit, '50').account;
          const parent = parentHoldAtCreation('cook', 'k', 'a', start, { points: reserved }, new Date(0));
          fc.pre(parent.outcome === 'held' && (hold.points !== undefined || hold.costUsd !== undefined));
          if (parent.outcome !== 'held') return;
          const budget: Budget = released ? { ...parent.budget, reservation: { ...parent.budget.reservation!, status: 'released', free: ZERO } } : parent.budget;
          const heldHold: Hold = { generationId: 'g', accountId: 'a', units: { points: hold.points, costUsd: hold.costUsd }, budgets: [{ kind: 'cook', id: 'k' }], drawsOn: { kind: 'cook', id: 'k' }, status: 'held' };
          const charge = { pointsSpent, costUsd: String(centsSpent / 100) };
          const oneStep = settleGenerationHold(heldHold, parent.account, [budget], charge, new Date(1));
          const split = settleInReservation(budget, heldHold.units, charge);
          const account = settleHold(parent.account, heldHold.units, 'g', charge, new Date(1), split.pool);
          expect(account.entries).toEqual(oneStep!.entries);
          expect(account.account).toEqual(oneStep!.account);
          expect(split.budget).toEqual(oneStep!.budgets[0]);
          expect(split.pool === null).toBe(released);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('returnDraw gives a drawn part back to free while the reservation is held, and names it for the account once it was released', () => {
    const start = credited(100).account;
    const parent = parentHoldAtCreation('cast', 'c', 'a', start, { points: 50 }, new Date(0));
    if (parent.outcome !== 'held') throw new Error('the parent hold was refused');
    const drawn = drawFromReservation(parent.budget, { points: 20, costUsd: '1' })!;
    expect(drawn.beyond).toEqual(unitsBeyond({ points: 50 }, { points: 20, costUsd: '1' }));
    expect(drawn.beyond).toEqual({ points: undefined, costUsd: '1' });
    expect(returnDraw(drawn.budget, { points: 20, costUsd: '1' })).toEqual({ budget: parent.budget, release: null });
    const released = { ...drawn.budget, reservation: { ...drawn.budget.reservation!, status: 'released' as const, free: ZERO } };
    expect(returnDraw(released, { points: 20, costUsd: '1' })).toEqual({ budget: released, release: { points: 20, costUsd: '0' } });
    expect(parentHoldBudget('cast', 'c', 'a', { points: 50 })).toEqual(parent.budget);
  });
});
