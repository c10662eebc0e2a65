/**
 * Parent holds: `startCast({ hold })` / `startCook({ hold })` reserve an amount for the parent's
 * children with the parent, children on the parent's account draw on it, and what is left is
 * released once when the parent ends (docs/concepts.md, "Parent holds"). Skipped, with the reason
 * printed, for a store that declares `capabilities.parentHolds` false or absent; on every store
 * with accounts one test checks that a store without the capability refuses the call with an
 * `UnsupportedError`, writing nothing.
 *
 * - The hold taken or refused with the parent, atomically; a repeated key (also 8 at once) takes
 *   no second hold, and asking for another hold with it is an `IdempotencyConflictError`; a hold
 *   with a budget, or on a cook's piece, is a `ValidationError`.
 * - Children drawing on it: exact captures, a charge above the hold from the reservation first;
 *   a child of another account holds on its own; dollars, units beyond the parent's, an overdraft
 *   past the reservation and available; a piece's finish completing a held cook releases it; a
 *   settlement that wrote no entry emits no accountUpdate.
 * - The release, once, at every way a parent ends: finish, cancel, a failed step ending the cast,
 *   sweepStale expiring an idle cast and timing out a step; children still open settle later.
 * - 64 children at once never pass the limit; duplicate and concurrent completions and finishes
 *   capture and release once; reconcile finds no drift.
 * - Random runs (24 x 60 calls): after every call each account's held is exactly its open holds
 *   plus its open reservations' free parts (reserved once, nothing held unexplained).
 * - A crash at every port call of a scenario, before or after the write: after retry and sweep,
 *   the account, its ledger and the budgets equal the fault-free run's.
 */
import { describe, expect, it } from 'vitest';
import { addAmounts, amountOf, ZERO_AMOUNT, type AccountAmount, type Units } from '../domain/accounts/amounts.js';
import type { Account, Budget, LedgerEntry } from '../domain/accounts/records.js';
import { isTerminalGenerationStatus } from '../domain/status.js';
import { BudgetExceededError, IdempotencyConflictError, IllegalTransitionError, InsufficientFundsError, UnsupportedError } from '../errors.js';
import type { LedgerRepository } from '../port.js';
import type { AccountUpdateEvent } from '../tracker/events.js';
import { createTracker } from '../tracker/create-tracker.js';
import type { FaultMoment } from './fault-injection.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import { id, MINUTE, runWithOneFault, silent, type HostStep } from './host-steps.js';
import { expectExplainedByLedger, expectNotNegative } from './part-accounts.js';
import { seededRandom } from './seeded-random.js';
import type { ConformanceTarget } from './types.js';

const NO_PARENT_HOLDS = 'the store declares capabilities.parentHolds false (or absent)';

/** Runs `body` on a fresh harness, or skips (printing why) when the store keeps no parent holds. */
function withParentHolds(target: ConformanceTarget, title: string, body: (harness: Harness) => Promise<void>, timeoutMs?: number): void {
  it(
    title,
    async (context) => {
      const harness = await createHarness(target);
      if (!harness.repository.capabilities.accounts || !harness.repository.capabilities.parentHolds) {
        console.log(`[genledger conformance] ${target.name} parent holds: "${title}" skipped: ${NO_PARENT_HOLDS}`);
        context.skip(NO_PARENT_HOLDS);
        return;
      }
      await body(harness);
    },
    timeoutMs ?? target.timeoutMs ?? 60_000,
  );
}

async function refusal(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => null,
    (error: unknown) => error,
  );
}

function parentEntries(entries: readonly LedgerEntry[], parentId: string, kind: LedgerEntry['kind']): LedgerEntry[] {
  return entries.filter((entry) => entry.kind === kind && entry.cause.kind === 'parent' && entry.cause.parentId === parentId);
}

async function budgetOf(repository: LedgerRepository, kind: 'cast' | 'cook', parentId: string): Promise<Budget> {
  const budget = await repository.accounts.getBudget({ kind, id: parentId });
  if (budget === null) throw new Error(`no budget stored for ${kind} ${parentId}`);
  return budget;
}

export function parentHoldTests(target: ConformanceTarget): void {
  describe(`${target.name}: parent holds`, () => {
    it('a store without parent holds refuses startCast/startCook({ hold }) with an UnsupportedError naming it, writing nothing', async (context) => {
      const harness = await createHarness(target);
      if (!harness.repository.capabilities.accounts) {
        context.skip('the store keeps no accounts (the accounts part checks its refusals)');
        return;
      }
      // The store as declared, or (for one that keeps parent holds) the same store declaring it does not.
      const repository: LedgerRepository = harness.repository.capabilities.parentHolds ? { ...harness.repository, capabilities: { ...harness.repository.capabilities, parentHolds: false } } : harness.repository;
      const tracker = createTracker({ repository, clock: harness.clock, logger: silent });
      await tracker.credit('account-unsupported', { points: 100, reason: 'grant', idempotencyKey: 'u-grant' });
      for (const [label, call] of [
        ['startCook({ hold })', () => tracker.startCook({ collectionId: 'c-u', initiatorAccountId: 'account-unsupported', targetSupply: 2, hold: { points: 5 } })],
        ['startCast({ hold })', () => tracker.startCast({ spellId: 's-u', initiatorAccountId: 'account-unsupported', hold: { points: 5 } })],
      ] as const) {
        const error = await refusal(call());
        expect(error, label).toBeInstanceOf(UnsupportedError);
        expect((error as UnsupportedError).message, label).toContain(repository.name);
        expect((error as UnsupportedError).message, label).toContain('parentHolds');
      }
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
      expect((await tracker.getAccount('account-unsupported')).entryCount).toBe(1);
    });

    withParentHolds(target, 'a parent hold is taken with the parent or refused writing nothing; a repeated key (also 8 at once) takes no second hold; a hold with a budget or on a cook piece is a ValidationError', async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-parent';
      await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'ph-grant' });
      const short = await refusal(tracker.startCook({ collectionId: 'c-ph', initiatorAccountId: accountId, targetSupply: 3, idempotencyKey: 'ph-over', hold: { points: 150 } }));
      expect(short).toBeInstanceOf(InsufficientFundsError);
      expect(short).toMatchObject({ account: accountId, field: 'input.hold', requested: { points: 150 }, available: { points: 100 } });
      const both = await refusal(tracker.startCast({ spellId: 's-ph', initiatorAccountId: accountId, hold: { points: 10 }, budget: { points: 10 } }));
      expect(both).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.budget' });
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 0 }, entryCount: 1 });

      const heldEvents: { generationId: string | null; cause: LedgerEntry['cause'] | undefined }[] = [];
      tracker.on('accountUpdate', (event) => void (event.change === 'held' && heldEvents.push({ generationId: event.generationId, cause: event.entries[0]?.cause })));
      const cook = await tracker.startCook({ collectionId: 'c-ph', initiatorAccountId: accountId, targetSupply: 3, idempotencyKey: 'ph-1', hold: { points: 60 } });
      expect(heldEvents).toEqual([{ generationId: null, cause: { kind: 'parent', parentKind: 'cook', parentId: cook.id } }]);
      let account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ balance: { points: 100 }, held: { points: 60 }, available: { points: 40 }, entryCount: 2 });
      const entries = await expectExplainedByLedger(tracker, account);
      expect(entries[1]).toMatchObject({ kind: 'hold', amount: { points: 60 }, cause: { kind: 'parent', parentKind: 'cook', parentId: cook.id } });
      // The hold is the cook's budget, its reservation all free.
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ limit: { points: 60 }, held: { points: 0 }, spent: { points: 0 }, reservation: { accountId, free: { points: 60 }, status: 'held' } });

      // Enough money for a second hold, so only the key can stop one.
      await tracker.credit(accountId, { points: 500, reason: 'top-up', idempotencyKey: 'ph-top-up' });
      const again = await tracker.startCook({ collectionId: 'c-ph', initiatorAccountId: accountId, targetSupply: 3, idempotencyKey: 'ph-1', hold: { points: 60 } });
      expect(again.id).toBe(cook.id);
      const racing = await Promise.all(
        Array.from({ length: 8 }, () => tracker.startCast({ spellId: 's-ph', initiatorAccountId: accountId, idempotencyKey: 'ph-2', hold: { points: 30 } })),
      );
      expect(new Set(racing.map((cast) => cast.id)).size).toBe(1);
      account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ held: { points: 90 }, available: { points: 510 }, entryCount: 4 });
      // One event per hold taken: the repeats took none.
      expect(heldEvents).toHaveLength(2);
      await expectExplainedByLedger(tracker, account);

      const piece = await refusal(tracker.startCast({ spellId: 's-ph', initiatorAccountId: accountId, cookId: cook.id, hold: { points: 5 } }));
      expect(piece).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.hold' });
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 1, cooks: 1 });
      expect((await tracker.getAccount(accountId)).entryCount).toBe(4);
    });

    withParentHolds(target, 'a repeated key asking for another parent hold (other units, none, or one where the first had none) is an IdempotencyConflictError naming hold, and writes nothing', async (harness) => {
      const { tracker } = harness;
      const accountId = 'account-repeat';
      await tracker.credit(accountId, { points: 1000, costUsd: '10', reason: 'grant', idempotencyKey: 'rp-grant' });
      const cook = await tracker.startCook({ collectionId: 'c-rp', initiatorAccountId: accountId, targetSupply: 3, idempotencyKey: 'rp-cook', hold: { points: 60 } });
      const cast = await tracker.startCast({ spellId: 's-rp', initiatorAccountId: accountId, idempotencyKey: 'rp-cast', hold: { costUsd: '2.5' } });
      const plain = await tracker.startCast({ spellId: 's-rp', initiatorAccountId: accountId, idempotencyKey: 'rp-plain' });
      const before = await tracker.getAccount(accountId);
      expect(before).toMatchObject({ held: { points: 60, costUsd: '2.5' }, entryCount: 3 });
      const cookAsked = { collectionId: 'c-rp', initiatorAccountId: accountId, targetSupply: 3, idempotencyKey: 'rp-cook' };
      const castAsked = { spellId: 's-rp', initiatorAccountId: accountId, idempotencyKey: 'rp-cast' };
      for (const [label, call, stored, requested] of [
        ['cook: more points', () => tracker.startCook({ ...cookAsked, hold: { points: 600 } }), 'points 60', 'points 600'],
        ['cook: another unit too', () => tracker.startCook({ ...cookAsked, hold: { points: 60, costUsd: '1' } }), 'points 60', 'points 60, costUsd 1'],
        ['cook: no hold', () => tracker.startCook(cookAsked), 'points 60', 'none'],
        ['cook: a budget instead', () => tracker.startCook({ ...cookAsked, budget: { points: 60 } }), 'points 60', 'none'],
        ['cast: less', () => tracker.startCast({ ...castAsked, hold: { costUsd: '1' } }), 'costUsd 2.5', 'costUsd 1'],
        ['cast: over what the account has', () => tracker.startCast({ ...castAsked, hold: { costUsd: '50' } }), 'costUsd 2.5', 'costUsd 50'],
        ['cast made without a hold', () => tracker.startCast({ spellId: 's-rp', initiatorAccountId: accountId, idempotencyKey: 'rp-plain', hold: { points: 5 } }), 'none', 'points 5'],
      ] as const) {
        // Each call made in turn: made all at once, a store slower than microtasks would leave
        // the later refusals unhandled while the first is awaited.
        const error = await refusal(call());
        expect(error, label).toBeInstanceOf(IdempotencyConflictError);
        expect(error, label).toMatchObject({ field: 'input.idempotencyKey', difference: { field: 'hold', stored, requested } });
      }
      // The same hold (written another way) is the same request: the first parent, nothing taken.
      expect((await tracker.startCook({ ...cookAsked, hold: { points: 60 } })).id).toBe(cook.id);
      expect((await tracker.startCast({ ...castAsked, hold: { costUsd: '2.50' } })).id).toBe(cast.id);
      expect((await tracker.startCast({ spellId: 's-rp', initiatorAccountId: accountId, idempotencyKey: 'rp-plain' })).id).toBe(plain.id);
      expect(await tracker.getAccount(accountId)).toEqual(before);
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 2, cooks: 1 });
    });

    withParentHolds(target, 'children draw on the reservation: exact captures, a charge above the hold from the reservation first, another account holds on its own; finishing twice at once releases the rest once', async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-draw';
      await tracker.credit(accountId, { points: 200, reason: 'grant', idempotencyKey: 'd-grant' });
      await tracker.credit('account-guest', { points: 50, reason: 'grant', idempotencyKey: 'd-guest' });
      const cast = await tracker.startCast({ spellId: 's-d', initiatorAccountId: accountId, hold: { points: 100 } });
      const step = (account: string, points: number) => tracker.recordGeneration(generationInput({ masterAccountId: account, castId: cast.id, hold: { points } }));
      const first = await step(accountId, 30);
      const guest = await step('account-guest', 20);
      const third = await step(accountId, 30);
      // The steps on the cast's account drew on its reservation: the account's held did not grow.
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 100 }, available: { points: 100 }, entryCount: 2 });
      expect(await tracker.getAccount('account-guest')).toMatchObject({ held: { points: 20 }, available: { points: 30 } });
      expect(await budgetOf(repository, 'cast', cast.id)).toMatchObject({ held: { points: 80 }, reservation: { free: { points: 40 } } });
      const over = await refusal(step(accountId, 30));
      expect(over).toBeInstanceOf(BudgetExceededError);
      expect(await refusal(tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id })))).toBeInstanceOf(BudgetExceededError);

      // Twice at once: captured once. 10 of 30 spent, 20 back to the reservation.
      await Promise.all([0, 1].map(() => tracker.completeGeneration(first.id, { status: 'success', pointsSpent: 10 })));
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 190 }, held: { points: 90 }, available: { points: 100 } });
      expect(await budgetOf(repository, 'cast', cast.id)).toMatchObject({ held: { points: 50 }, spent: { points: 10 }, reservation: { free: { points: 60 } } });
      // 45 against a hold of 30: 15 more from the reservation's free part, none from available.
      await tracker.completeGeneration(third.id, { status: 'success', pointsSpent: 45 });
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 145 }, held: { points: 45 }, available: { points: 100 } });
      await tracker.completeGeneration(guest.id, { status: 'success', pointsSpent: 5 });
      expect(await tracker.getAccount('account-guest')).toMatchObject({ balance: { points: 45 }, held: { points: 0 } });

      const [finished, finishedAgain] = await Promise.all([tracker.finishCast(cast.id), tracker.finishCast(cast.id)]);
      expect(finished.status).toBe('completed');
      expect(finishedAgain.status).toBe('completed');
      const account = await tracker.getAccount(accountId);
      // 100 reserved - 10 - 45 captured from it = 45 released, once.
      expect(account).toMatchObject({ balance: { points: 145 }, held: { points: 0 }, available: { points: 145 }, spent: { points: 55 } });
      const entries = await expectExplainedByLedger(tracker, account);
      expect(parentEntries(entries, cast.id, 'release').map((entry) => entry.amount.points)).toEqual([45]);
      expect(entries.filter((entry) => entry.kind === 'capture').map((entry) => [entry.amount.points, entry.fromHold?.points])).toEqual([
        [10, 10],
        [45, 45],
      ]);
      expect(await budgetOf(repository, 'cast', cast.id)).toMatchObject({ held: { points: 0 }, spent: { points: 60 }, reservation: { free: { points: 0 }, status: 'released' } });
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
      expect((await tracker.reconcileAccount('account-guest')).drift).toBe(false);
    });

    withParentHolds(target, 'the reservation is released once at every way a parent ends: finish, cancel, a failed step, sweepStale expiring an idle cast and timing out a step; a child still open settles later to available', async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-ends';
      // Every entry this scenario writes must reach in-process listeners once, the releases included.
      // (Collected, then checked: a listener's throw never reaches the caller.)
      const announced: AccountUpdateEvent[] = [];
      tracker.on('accountUpdate', (event) => {
        if (event.account.accountId === accountId) announced.push(event);
      });
      await tracker.credit(accountId, { points: 1000, reason: 'grant', idempotencyKey: 'e-grant' });
      let charged = 0;

      // finishCook with a child still open: 50 - 20 (the open child) released; the child settles later.
      const finishedCook = await tracker.startCook({ collectionId: 'c-e', initiatorAccountId: accountId, targetSupply: 5, hold: { points: 50 } });
      const lateChild = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: finishedCook.id, hold: { points: 20 } }));
      await tracker.finishCook(finishedCook.id);
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 20 }, available: { points: 980 } });
      await tracker.completeGeneration(lateChild.id, { status: 'success', pointsSpent: 5 });
      charged += 5;
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 0 }, balance: { points: 1000 - charged } });

      // cancelCook: the cook's release, then its cancelled child's own.
      const cancelledCook = await tracker.startCook({ collectionId: 'c-e', initiatorAccountId: accountId, targetSupply: 5, hold: { points: 50 } });
      const cancelledChild = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cancelledCook.id, hold: { points: 20 } }));
      await tracker.cancelCook(cancelledCook.id);
      expect((await tracker.getGeneration(cancelledChild.id))!.status).toBe('cancelled_by_user');
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 0 }, balance: { points: 1000 - charged } });

      // A failed step fails its cast: the step is charged, its unspent part and the rest released once.
      const failedCast = await tracker.startCast({ spellId: 's-e', initiatorAccountId: accountId, hold: { points: 50 } });
      const failedStep = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: failedCast.id, hold: { points: 20 } }));
      await tracker.completeGeneration(failedStep.id, { status: 'failed', pointsSpent: 7 });
      charged += 7;
      expect((await tracker.getCast(failedCast.id))!.status).toBe('failed');
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 0 }, balance: { points: 1000 - charged } });

      // sweepStale: an idle cast is expired, a stuck step timed out (failing its cast).
      const idleCast = await tracker.startCast({ spellId: 's-e', initiatorAccountId: accountId, hold: { points: 40 } });
      const stuckCast = await tracker.startCast({ spellId: 's-e', initiatorAccountId: accountId, hold: { points: 40 } });
      const stuckStep = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: stuckCast.id, hold: { points: 25 } }));
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 80 } });
      harness.clock.advance(61 * MINUTE);
      await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect((await tracker.getGeneration(stuckStep.id))!.status).toBe('timeout');
      expect((await tracker.getCast(idleCast.id))!.status).not.toBe('running');
      expect((await tracker.getCast(stuckCast.id))!.status).toBe('failed');

      const account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ balance: { points: 1000 - charged }, held: { points: 0 }, available: { points: 1000 - charged }, spent: { points: charged } });
      const entries = await expectExplainedByLedger(tracker, account);
      const released: Record<string, number[]> = {};
      for (const [label, parentId] of [['finishCook', finishedCook.id], ['cancelCook', cancelledCook.id], ['failed step', failedCast.id], ['idle cast expired', idleCast.id], ['step timed out', stuckCast.id]] as const) {
        released[label] = parentEntries(entries, parentId, 'release').map((entry) => entry.amount.points);
      }
      expect(released).toEqual({ finishCook: [30], cancelCook: [30], 'failed step': [50 - 7], 'idle cast expired': [40], 'step timed out': [40] });
      const announcedSequences = announced.flatMap((event) => event.entries.map((entry) => entry.sequence)).sort((left, right) => left - right);
      expect(announcedSequences, 'every entry announced in process once, releases included').toEqual(entries.map((entry) => entry.sequence));
      const releaseEvents = announced.filter((event) => event.entries.some((entry) => entry.cause.kind === 'parent' && entry.kind === 'release'));
      expect(releaseEvents.map((event) => [event.change, event.generationId, event.entries.length])).toEqual(Array.from({ length: 5 }, () => ['settled', null, 1]));
      for (const event of releaseEvents) expect(event.account.entryCount, 'the account as after its release').toBe(event.entries[0]!.sequence);
      for (const [kind, parentId] of [['cook', finishedCook.id], ['cook', cancelledCook.id], ['cast', failedCast.id], ['cast', idleCast.id], ['cast', stuckCast.id]] as const) {
        expect((await budgetOf(repository, kind, parentId)).reservation?.status, `${kind} ${parentId}`).toBe('released');
      }
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
    });

    withParentHolds(target, "the steps of a held cook's cast piece draw on the cook's reservation (counted in the piece's budget too); cancelCast releases a held cast once", async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-piece';
      await tracker.credit(accountId, { points: 500, reason: 'grant', idempotencyKey: 'pc-grant' });
      const cook = await tracker.startCook({ collectionId: 'c-pc', initiatorAccountId: accountId, targetSupply: 5, hold: { points: 100 } });
      const piece = await tracker.startCast({ spellId: 's-pc', initiatorAccountId: accountId, cookId: cook.id, budget: { points: 40 } });
      const step = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: piece.id, hold: { points: 30 } }));
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 100 }, entryCount: 2 });
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ held: { points: 30 }, reservation: { free: { points: 70 } } });
      expect(await budgetOf(repository, 'cast', piece.id)).toMatchObject({ held: { points: 30 } });
      // The piece's own budget refuses first: 30 held + 20 > 40.
      const overPiece = await refusal(tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: piece.id, hold: { points: 20 } })));
      expect(overPiece).toMatchObject({ parentKind: 'cast', parentId: piece.id });
      await tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 12 });
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 488 }, held: { points: 88 } });
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ held: { points: 0 }, spent: { points: 12 }, reservation: { free: { points: 88 }, status: 'held' } });
      await tracker.cancelCook(cook.id);
      // A held cast cancelled with a step open: its free part released at once, the step's hold when it is cancelled.
      const cast = await tracker.startCast({ spellId: 's-pc', initiatorAccountId: accountId, hold: { points: 50 } });
      const open = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id, hold: { points: 15 } }));
      await Promise.all([tracker.cancelCast(cast.id), tracker.cancelCast(cast.id)]);
      expect((await tracker.getGeneration(open.id))!.status).toBe('cancelled_by_user');
      const account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ balance: { points: 488 }, held: { points: 0 }, available: { points: 488 }, spent: { points: 12 } });
      const entries = await expectExplainedByLedger(tracker, account);
      expect(parentEntries(entries, cook.id, 'release').map((entry) => entry.amount.points)).toEqual([88]);
      expect(parentEntries(entries, cast.id, 'release').map((entry) => entry.amount.points)).toEqual([35]);
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
    });

    withParentHolds(target, "a drawing child whose whole hold goes back to the reservation changes no account figure and emits no accountUpdate; one charged emits its capture", async (harness) => {
      const { tracker } = harness;
      const accountId = 'account-quiet';
      await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'q-grant' });
      const cast = await tracker.startCast({ spellId: 's-q', initiatorAccountId: accountId, hold: { points: 50 } });
      const free = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id, hold: { points: 20 } }));
      const charged = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id, hold: { points: 20 } }));
      const before = await tracker.getAccount(accountId);
      const settledEvents: { generationId: string | null; kinds: string[] }[] = [];
      tracker.on('accountUpdate', (event) => void settledEvents.push({ generationId: event.generationId, kinds: event.entries.map((entry) => entry.kind) }));
      // Nothing charged: its 20 go back to the reservation, no entry is written.
      await tracker.completeGeneration(free.id, { status: 'success', pointsSpent: 0 });
      expect(await tracker.getAccount(accountId)).toEqual(before);
      expect(settledEvents).toEqual([]);
      await tracker.completeGeneration(charged.id, { status: 'success', pointsSpent: 5 });
      expect(settledEvents).toEqual([{ generationId: charged.id, kinds: ['capture'] }]);
    });

    withParentHolds(target, "dollars and mixed units: a cook holding costUsd, a step holding points beyond it, charges above holds from the reservation then available; a piece's finish that completes a held cook releases it; a capture past the reservation and available is an overdraft", async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-mixed';
      await tracker.credit(accountId, { points: 100, costUsd: '10', reason: 'grant', idempotencyKey: 'm-grant' });
      const cook = await tracker.startCook({ collectionId: 'c-m', initiatorAccountId: accountId, targetSupply: 5, hold: { costUsd: '4' } });
      const piece = await tracker.startCast({ spellId: 's-m', initiatorAccountId: accountId, cookId: cook.id });
      // The step's dollars draw on the cook; its points (which the cook does not hold) are reserved from available.
      const step = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: piece.id, hold: { costUsd: '1', points: 20 } }));
      const direct = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, hold: { costUsd: '2' } }));
      expect(await tracker.getAccount(accountId)).toMatchObject({ held: { points: 20, costUsd: '4' }, available: { points: 80, costUsd: '6' } });
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ held: { costUsd: '3' }, reservation: { free: { costUsd: '1' } } });
      // 1.75 against 1: 0.75 from the reservation's free part. 30 points against 20: 10 from available.
      await tracker.completeGeneration(step.id, { status: 'success', costUsd: '1.75', pointsSpent: 30 });
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 70, costUsd: '8.25' }, held: { points: 0, costUsd: '2.25' }, available: { points: 70, costUsd: '6' } });
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ held: { costUsd: '2' }, spent: { costUsd: '1.75' }, reservation: { free: { costUsd: '0.25' } } });
      // The last 0.25 of the reservation, and 10 points beyond it; charged 4 of the 10: the 6 points
      // not spent go to available (the reservation holds no points), not to the reservation.
      const third = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: piece.id, hold: { costUsd: '0.25', points: 10 } }));
      await tracker.completeGeneration(third.id, { status: 'success', costUsd: '0.25', pointsSpent: 4 });
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 66, costUsd: '8' }, held: { points: 0, costUsd: '2' }, available: { points: 66, costUsd: '6' } });
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ reservation: { free: { points: 0, costUsd: '0' } } });
      // 5 against 2: the reservation has nothing free, so 3 from available.
      await tracker.completeGeneration(direct.id, { status: 'success', costUsd: '5' });
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 66, costUsd: '3' }, held: { points: 0, costUsd: '0' }, available: { points: 66, costUsd: '3' } });
      await tracker.finishCast(piece.id);
      await tracker.finishCook(cook.id);
      expect(await budgetOf(repository, 'cook', cook.id)).toMatchObject({ spent: { costUsd: '7' }, reservation: { free: { costUsd: '0' }, status: 'released' } });

      // A piece's finish completes its cook (its supply reached): the cook's reservation is released by that write.
      const small = await tracker.startCook({ collectionId: 'c-m', initiatorAccountId: accountId, targetSupply: 1, hold: { points: 30 } });
      const smallPiece = await tracker.startCast({ spellId: 's-m', initiatorAccountId: accountId, cookId: small.id });
      const smallStep = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: smallPiece.id, hold: { points: 10 } }));
      await tracker.completeGeneration(smallStep.id, { status: 'success', pointsSpent: 4 });
      await tracker.finishCast(smallPiece.id);
      expect((await tracker.getCook(small.id))!.status).toBe('completed');
      expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 62 }, held: { points: 0 }, available: { points: 62 } });

      // 62 points left, a cast holding all of them; a step charged 100 against its 10: 52 more from
      // the reservation, nothing available, 38 short: an overdraft entry, never a silent negative.
      const greedy = await tracker.startCast({ spellId: 's-m', initiatorAccountId: accountId, hold: { points: 62 } });
      const spender = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: greedy.id, hold: { points: 10 } }));
      await tracker.completeGeneration(spender.id, { status: 'success', pointsSpent: 100 });
      expect((await tracker.getCast(greedy.id))!.status).toBe('running');
      await tracker.finishCast(greedy.id);
      const account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ balance: { points: -38, costUsd: '3' }, held: { points: 0, costUsd: '0' }, spent: { points: 138, costUsd: '7' } });
      const entries = await expectExplainedByLedger(tracker, account);
      expect(entries.filter((entry) => entry.kind === 'overdraft').map((entry) => entry.amount.points)).toEqual([38]);
      expect(parentEntries(entries, cook.id, 'release')).toEqual([]);
      expect(parentEntries(entries, small.id, 'release').map((entry) => entry.amount.points)).toEqual([26]);
      expect(parentEntries(entries, greedy.id, 'release')).toEqual([]);
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
    });

    withParentHolds(target, '64 children at once under a cook holding 100 (room for 10 holds of 10): exactly 10 recorded, spent + held never passes it, held never grows; completions (10% twice) racing two finishes capture and release once', async (harness) => {
      const { tracker, repository } = harness;
      const random = seededRandom(Number(process.env.GENLEDGER_SEED) || 20261206);
      const accountId = 'account-race';
      await tracker.credit(accountId, { points: 1000, reason: 'grant', idempotencyKey: 'r-grant' });
      const cook = await tracker.startCook({ collectionId: 'c-r', initiatorAccountId: accountId, targetSupply: 1000, hold: { points: 100 } });
      const observed: { used: number; held: number }[] = [];
      const observedAccounts: Account[] = [];
      let racing = true;
      const reader = (async () => {
        while (racing) {
          const budget = await repository.accounts.getBudget({ kind: 'cook', id: cook.id });
          const account = await tracker.getAccount(accountId);
          observedAccounts.push(account);
          if (budget) observed.push({ used: budget.spent.points + budget.held.points, held: account.held.points });
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 64 }, (_, index) => tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, idempotencyKey: `r-${index}`, hold: { points: 10 } }))),
      );
      const recorded = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(recorded).toHaveLength(10);
      for (const error of refused) expect(error).toBeInstanceOf(BudgetExceededError);
      racing = false;
      await reader;
      // spent + held never passed the limit while children were created, and the account's held never grew.
      expect(observed.length).toBeGreaterThan(0);
      for (const point of observed) {
        expect(point.used).toBeLessThanOrEqual(100);
        expect(point.held).toBe(100);
      }
      let charged = 0;
      const charges = new Map<string, number>();
      const completions: (() => Promise<unknown>)[] = [];
      for (const generation of recorded) {
        const points = Math.floor(random() * 16); // some above their hold of 10
        charged += points;
        charges.set(generation.id, points);
        const complete = () => tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: points });
        completions.push(complete);
        if (completions.length % 10 === 1) completions.push(complete);
      }
      // Two finishes race the completions: children settle before and after the release.
      completions.push(() => tracker.finishCook(cook.id), () => tracker.finishCook(cook.id));
      completions.sort(() => random() - 0.5);
      await Promise.all(completions.map((complete) => complete()));
      for (const account of observedAccounts) expectNotNegative(account, 'during the race');
      const account = await tracker.getAccount(accountId);
      expect(account).toMatchObject({ balance: { points: 1000 - charged }, held: { points: 0 }, spent: { points: charged } });
      const entries = await expectExplainedByLedger(tracker, account);
      expect(parentEntries(entries, cook.id, 'hold')).toHaveLength(1);
      expect(parentEntries(entries, cook.id, 'release').length).toBeLessThanOrEqual(1);
      // Each child charged anything has exactly one capture, of exactly its charge.
      expect(entries.filter((entry) => entry.kind === 'capture').map((entry) => entry.amount.points).sort((a, b) => a - b)).toEqual(
        [...charges.values()].filter((points) => points > 0).sort((a, b) => a - b),
      );
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
      console.log(
        `[genledger conformance] ${target.name} parent holds: 64 children at once under a cook holding 100: ${recorded.length} recorded, ${refused.length} refused; ` +
          `${completions.length - 2} completions (${completions.length - 2 - recorded.length} duplicates) and 2 finishes, all at once; balance ${account.balance.points} = 1000 - ${charged} captured exactly`,
      );
    });

    withParentHolds(
      target,
      "random runs (parents held in points, dollars or both on two accounts, cook pieces, children drawing or not, beyond the parent's units, under or over their holds, finishes, cancels, sweeps): after every call each account's held is exactly its open holds plus its open reservations' free parts, its ledger explains it, and an overdraft entry covers any negative available; at the end nothing is held",
      async (harness) => {
        const runs = 24;
        const stepsPerRun = 60;
        const firstSeed = Number(process.env.GENLEDGER_SEED) || 20261206;
        const counted = { children: 0, captures: 0, parentReleases: 0, overdrafts: 0, refusals: 0 };
        for (let run = 0; run < runs; run += 1) {
          const fresh = run === 0 ? harness : await createHarness(target);
          const result = await randomParentHoldRun(fresh, seededRandom(firstSeed + run), stepsPerRun);
          for (const key of Object.keys(counted) as (keyof typeof counted)[]) counted[key] += result[key];
        }
        // The runs must exercise what they claim to check.
        expect(counted.children).toBeGreaterThan(runs * 5);
        expect(counted.captures).toBeGreaterThan(runs * 2);
        expect(counted.parentReleases).toBeGreaterThan(runs);
        console.log(
          `[genledger conformance] ${target.name} parent holds random runs: ${runs} runs of ${stepsPerRun} calls from seed ${firstSeed}: ${counted.children} children, ` +
            `${counted.captures} captures, ${counted.parentReleases} parent releases, ${counted.overdrafts} overdrafts, ${counted.refusals} typed refusals; held exact after every call`,
        );
      },
      (target.timeoutMs ?? 60_000) * 5,
    );

    withParentHolds(
      target,
      'crash at every port call of a parent-hold scenario, before or after the write: after retry and sweep the account, its ledger and the budgets equal the fault-free run',
      async () => {
        const reference = await runParentHoldScenario(target, null, 'before');
        expect(reference.final).toMatchObject({ balance: { points: 300 - 95 }, held: { points: 0 }, spent: { points: 95 } });
        let runs = 0;
        for (const moment of ['before', 'after'] as const) {
          for (let failCall = 1; failCall <= reference.calls; failCall += 1) {
            const faulted = await runParentHoldScenario(target, failCall, moment);
            expect(faulted.retries, `fault at call ${failCall} ${moment} never fired`).toBe(1);
            expect(faulted.snapshot, `state after a fault at call ${failCall} ${moment}`).toEqual(reference.snapshot);
            runs += 1;
          }
        }
        console.log(
          `[genledger conformance] ${target.name} parent holds crash at every port call: ${runs} faulted runs (${reference.calls} port calls x before/after), ` +
            `every account, ledger and budget equal to the fault-free run (balance ${reference.final.balance.points} points = 300 credited - 95 captured)`,
        );
      },
      (target.timeoutMs ?? 60_000) * 5,
    );
  });
}

const ACCOUNT = 'account-crash-parent';

function child(name: string, points: number, parent: string, parentKind: 'cast' | 'cook', refused?: typeof BudgetExceededError): HostStep {
  return {
    label: `recordGeneration ${name} (hold ${points} in ${parent})`,
    async run(tracker, names) {
      try {
        const generation = await tracker.recordGeneration(
          generationInput({ masterAccountId: ACCOUNT, idempotencyKey: `key-${name}`, [parentKind === 'cast' ? 'castId' : 'cookId']: id(names, parent), hold: { points } }),
        );
        if (refused) throw new Error(`scenario: ${name} should have been refused`);
        names.set(name, { id: generation.id, kind: 'generation' });
      } catch (error) {
        if (refused && error instanceof refused) return;
        throw error;
      }
    },
  };
}

function finishChild(name: string, status: 'success' | 'failed', pointsSpent: number): HostStep {
  return { label: `completeGeneration ${name} ${status} ${pointsSpent}`, run: (tracker, names) => tracker.completeGeneration(id(names, name), { status, pointsSpent }) };
}

function parent(name: string, kind: 'cast' | 'cook', points: number, refused?: typeof InsufficientFundsError): HostStep {
  return {
    label: `start${kind === 'cast' ? 'Cast' : 'Cook'} ${name} (hold ${points})`,
    async run(tracker, names) {
      try {
        const record =
          kind === 'cast'
            ? await tracker.startCast({ spellId: 'spell-crash', initiatorAccountId: ACCOUNT, idempotencyKey: `key-${name}`, hold: { points } })
            : await tracker.startCook({ collectionId: 'collection-crash', initiatorAccountId: ACCOUNT, targetSupply: 10, idempotencyKey: `key-${name}`, hold: { points } });
        if (refused) throw new Error(`scenario: ${name} should have been refused`);
        names.set(name, { id: record.id, kind });
      } catch (error) {
        if (refused && error instanceof refused) return;
        throw error;
      }
    },
  };
}

/**
 * 300 credited; a cook holding 100 and a cast holding 50; 95 captured (P1 10, P2 40 of which 10
 * above its hold from the reservation, S1 failed 5, P4 40 after its cook ended, 10 above its hold
 * from available); one child refused for the budget, one parent for funds, one child swept.
 */
const PARENT_SCENARIO: readonly HostStep[] = [
  { label: 'credit 300', run: (tracker) => tracker.credit(ACCOUNT, { points: 300, reason: 'top-up', idempotencyKey: 'crash-credit' }) },
  parent('cook', 'cook', 100),
  child('P1', 30, 'cook', 'cook'),
  child('P2', 30, 'cook', 'cook'),
  child('P3', 50, 'cook', 'cook', BudgetExceededError),
  finishChild('P1', 'success', 10),
  finishChild('P1', 'success', 10),
  finishChild('P2', 'success', 40),
  parent('cast', 'cast', 50),
  child('S1', 20, 'cast', 'cast'),
  child('S2', 10, 'cast', 'cast'),
  finishChild('S1', 'failed', 5),
  child('P4', 30, 'cook', 'cook'),
  { label: 'finishCook', run: (tracker, names) => tracker.finishCook(id(names, 'cook')) },
  finishChild('P4', 'success', 40),
  parent('greedy', 'cook', 500, InsufficientFundsError),
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
  { label: 'reconcileAccount', run: (tracker) => tracker.reconcileAccount(ACCOUNT) },
];

/** The crash scenario's account and steps, for a store's own write-level fault tests (test/mongo/parent-holds-crash.test.ts). */
export { ACCOUNT as PARENT_HOLD_CRASH_ACCOUNT, PARENT_SCENARIO as PARENT_HOLD_CRASH_SCENARIO };

interface ScenarioRun {
  readonly snapshot: unknown;
  readonly final: Account;
  readonly calls: number;
  readonly retries: number;
}

async function runParentHoldScenario(target: ConformanceTarget, failCall: number | null, moment: FaultMoment): Promise<ScenarioRun> {
  const { inner, clock, ids, names, calls, retries } = await runWithOneFault(target, PARENT_SCENARIO, failCall, moment);
  const auditor = createTracker({ repository: inner, clock, ids, logger: silent });
  const final = await auditor.getAccount(ACCOUNT);
  const entries = await expectExplainedByLedger(auditor, final);
  const budgets = { cook: await inner.accounts.getBudget({ kind: 'cook', id: id(names, 'cook') }), cast: await inner.accounts.getBudget({ kind: 'cast', id: id(names, 'cast') }) };
  const statuses: Record<string, string> = {};
  for (const [name, entry] of names) {
    if (entry.kind === 'generation') statuses[name] = (await auditor.getGeneration(entry.id))!.status;
    else statuses[name] = ((entry.kind === 'cast' ? await auditor.getCast(entry.id) : await auditor.getCook(entry.id)) ?? { status: 'missing' }).status;
  }
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const snapshot = JSON.parse(
    JSON.stringify({ account: final, entries, budgets, statuses, counts: await target.inspect().count() }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'at' || key === 'version') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      return value;
    }),
  );
  return { snapshot, final, calls, retries };
}

const RANDOM_ACCOUNTS = ['account-random-1', 'account-random-2'] as const;

/** A unit amount drawn at random: whole points, or dollars in tenths. */
function randomUnits(random: () => number, names: { points: boolean; costUsd: boolean }, max: number): Units {
  return {
    ...(names.points ? { points: Math.floor(random() * max) } : {}),
    ...(names.costUsd ? { costUsd: String(Math.floor(random() * max) / 10) } : {}),
  };
}

/**
 * One random run for the random-runs test: calls drawn from `random` on a fresh harness, each
 * followed by the check that every account's held is exactly its open holds plus its open
 * reservations' free parts (the money is reserved once, and nothing is held that no hold or
 * reservation explains), its ledger replays to it, and an overdraft covers a negative available.
 * Refusals must be typed (a budget, funds, a parent that ended). At the end every parent is
 * cancelled and every child completed, and nothing may stay held.
 */
async function randomParentHoldRun(harness: Harness, random: () => number, steps: number) {
  const { tracker, repository, clock } = harness;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const parents: { kind: 'cast' | 'cook'; id: string; pieces: string[] }[] = [];
  const children: { id: string; accountId: string; hold: Units }[] = [];
  const counted = { children: 0, captures: 0, parentReleases: 0, overdrafts: 0, refusals: 0 };
  const trace: string[] = [];
  for (const accountId of RANDOM_ACCOUNTS) await tracker.credit(accountId, { points: 120, costUsd: '12', reason: 'grant', idempotencyKey: `grant-${accountId}` });

  const isOpen = async (child: { id: string }) => !isTerminalGenerationStatus((await tracker.getGeneration(child.id))!.status);
  const openParents = async () => {
    const open: typeof parents = [];
    for (const parent of parents) {
      const record = parent.kind === 'cast' ? await tracker.getCast(parent.id) : await tracker.getCook(parent.id);
      if (record!.status === 'running') open.push(parent);
    }
    return open;
  };
  const check = async (when: string) => {
    for (const accountId of RANDOM_ACCOUNTS) {
      let expected: AccountAmount = ZERO_AMOUNT;
      for (const child of children) if (child.accountId === accountId && (await isOpen(child))) expected = addAmounts(expected, amountOf(child.hold));
      for (const parent of parents) {
        const budget = await budgetOf(repository, parent.kind, parent.id);
        if (budget.reservation?.status === 'held' && budget.reservation.accountId === accountId) expected = addAmounts(expected, budget.reservation.free);
      }
      const account = await tracker.getAccount(accountId);
      expect(account.held, `${accountId} held after ${when}; the run:\n${trace.join('\n')}`).toEqual(expected);
      const entries = await expectExplainedByLedger(tracker, account);
      const overdrawn = entries.filter((entry) => entry.kind === 'overdraft').reduce((sum, entry) => sum + entry.amount.points, 0);
      expect(overdrawn, `${accountId} overdraft entries after ${when}`).toBeGreaterThanOrEqual(-Math.min(0, account.available.points));
    }
  };

  for (let step = 0; step < steps; step += 1) {
    const roll = random();
    const accountId = pick(RANDOM_ACCOUNTS);
    const open = await openParents();
    const openChildren: typeof children = [];
    for (const child of children) if (await isOpen(child)) openChildren.push(child);
    try {
      if (roll < 0.15 || open.length === 0) {
        const kind = random() < 0.5 ? 'cast' : 'cook';
        const which = random();
        const hold = randomUnits(random, { points: which < 0.8, costUsd: which >= 0.6 }, 80);
        const record =
          kind === 'cast'
            ? await tracker.startCast({ spellId: 'spell-random', initiatorAccountId: accountId, hold })
            : await tracker.startCook({ collectionId: 'collection-random', initiatorAccountId: accountId, targetSupply: 1 + Math.floor(random() * 4), hold });
        parents.push({ kind, id: record.id, pieces: [] });
        trace.push(`start${kind === 'cast' ? 'Cast' : 'Cook'} ${record.id} on ${accountId} hold ${JSON.stringify(hold)}`);
      } else if (roll < 0.22 && open.some((parent) => parent.kind === 'cook')) {
        const cook = pick(open.filter((parent) => parent.kind === 'cook'));
        const piece = await tracker.startCast({ spellId: 'spell-random', initiatorAccountId: accountId, cookId: cook.id });
        cook.pieces.push(piece.id);
        trace.push(`startCast ${piece.id} piece of ${cook.id}`);
      } else if (roll < 0.6) {
        const parent = pick(open);
        const limit = (await budgetOf(repository, parent.kind, parent.id)).limit;
        // Every unit the parent holds, sometimes one beyond it.
        const hold = randomUnits(random, { points: limit.points !== undefined || random() < 0.3, costUsd: limit.costUsd !== undefined || random() < 0.3 }, 30);
        const under = parent.kind === 'cast' ? { castId: parent.id } : parent.pieces.length > 0 && random() < 0.5 ? { castId: pick(parent.pieces) } : { cookId: parent.id };
        const child = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, ...under, hold }));
        children.push({ id: child.id, accountId, hold });
        counted.children += 1;
        trace.push(`recordGeneration ${child.id} on ${accountId} under ${JSON.stringify(under)} hold ${JSON.stringify(hold)}`);
      } else if (roll < 0.85 && openChildren.length > 0) {
        const child = pick(openChildren);
        const status = pick(['success', 'success', 'failed', 'cancelled_by_user'] as const);
        const figures = { pointsSpent: Math.floor(random() * 45), costUsd: String(Math.floor(random() * 45) / 10) };
        await tracker.completeGeneration(child.id, status === 'cancelled_by_user' ? { status } : { status, ...figures });
        trace.push(`completeGeneration ${child.id} ${status} ${JSON.stringify(figures)}`);
      } else if (roll < 0.95) {
        const parent = pick(open);
        const how = Math.floor(random() * 3);
        if (parent.kind === 'cast') await (how === 0 ? tracker.cancelCast(parent.id) : tracker.finishCast(parent.id));
        else if (how === 2 && parent.pieces.length > 0) await tracker.finishCast(pick(parent.pieces));
        else await (how === 0 ? tracker.cancelCook(parent.id) : tracker.finishCook(parent.id));
        trace.push(`end ${parent.kind} ${parent.id} (${how})`);
      } else {
        clock.advance(61 * MINUTE);
        await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
        trace.push('sweepStale');
      }
    } catch (error) {
      if (!(error instanceof BudgetExceededError || error instanceof InsufficientFundsError || error instanceof IllegalTransitionError)) throw error;
      counted.refusals += 1;
      trace.push(`  refused: ${error.constructor.name}`);
    }
    await check(`call ${step} (${trace.at(-1)})`);
  }

  for (const parent of parents) {
    const record = parent.kind === 'cast' ? await tracker.getCast(parent.id) : await tracker.getCook(parent.id);
    if (record!.status === 'running') await (parent.kind === 'cast' ? tracker.cancelCast(parent.id) : tracker.cancelCook(parent.id));
  }
  for (const child of children) if (await isOpen(child)) await tracker.completeGeneration(child.id, { status: 'success', pointsSpent: 3, costUsd: '0.3' });
  await check('the end');
  for (const accountId of RANDOM_ACCOUNTS) {
    const account = await tracker.getAccount(accountId);
    expect(account.held, `${accountId} at the end`).toEqual(ZERO_AMOUNT);
    const entries = await expectExplainedByLedger(tracker, account);
    counted.captures += entries.filter((entry) => entry.kind === 'capture').length;
    counted.parentReleases += entries.filter((entry) => entry.kind === 'release' && entry.cause.kind === 'parent').length;
    counted.overdrafts += entries.filter((entry) => entry.kind === 'overdraft').length;
    expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
  }
  return counted;
}
