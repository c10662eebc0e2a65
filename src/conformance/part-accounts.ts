/**
 * Accounts: balances, holds and parent budgets that hold exactly. Skipped, with the reason printed,
 * for a store that declares `capabilities.accounts: false`; for such a store one test instead
 * checks that every account call is refused with an `UnsupportedError` naming it, writing nothing.
 *
 * - 64 holds at once against one account whose balance covers exactly N of them: exactly N are
 *   recorded, the rest get `InsufficientFundsError` and leave nothing; `available` is never
 *   negative at any observed point; the completions (10% of them delivered twice, at once) and a
 *   sweep leave the balance at credits minus captures to the last unit.
 * - The same with a crash at every port call of a scenario (before and after the write), retried
 *   by a new tracker: the account, its ledger and the budget equal the fault-free run's.
 * - Budgets under 64-way creation; the settlement policy (failure charged, cancellation and
 *   timeout released, a charge above the hold taken from `available` with an overdraft entry when
 *   short); reconcile reports drift.
 */
import { describe, expect, it } from 'vitest';
import { replayEntries } from '../domain/accounts/ledger.js';
import type { Account, LedgerEntry } from '../domain/accounts/records.js';
import { BudgetExceededError, InsufficientFundsError, UnsupportedError } from '../errors.js';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import type { FaultMoment } from './fault-injection.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import { createPricingSetup, T1 } from './part-pricing.js';
import { id, MINUTE, runWithOneFault, silent, type HostStep, type Names } from './host-steps.js';
import { seededRandom } from './seeded-random.js';
import type { ConformanceTarget } from './types.js';

const NO_ACCOUNTS = 'the store declares capabilities.accounts: false';

/** Runs `body` on a fresh harness, or skips (printing why) when the store keeps no accounts. */
function withAccounts(target: ConformanceTarget, title: string, body: (harness: Harness) => Promise<void>, timeoutMs?: number): void {
  it(
    title,
    async (context) => {
      const harness = await createHarness(target);
      if (!harness.repository.capabilities.accounts) {
        console.log(`[genledger conformance] ${target.name} accounts: "${title}" skipped: ${NO_ACCOUNTS}`);
        context.skip(NO_ACCOUNTS);
        return;
      }
      await body(harness);
    },
    timeoutMs ?? target.timeoutMs ?? 60_000,
  );
}

export function expectNotNegative(account: Account, when: string): void {
  expect(account.available.points, `available points ${when}`).toBeGreaterThanOrEqual(0);
  expect(account.available.costUsd.startsWith('-'), `available dollars ${when}: ${account.available.costUsd}`).toBe(false);
}

/** The account's figures equal what its own ledger entries add up to. */
export async function expectExplainedByLedger(tracker: Tracker, account: Account): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Tracker['listLedgerEntries']>> = await tracker.listLedgerEntries({ accountId: account.accountId, cursor, limit: 100 });
    entries.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  const replayed = replayEntries(account.accountId, entries);
  expect(entries.map((entry) => entry.sequence)).toEqual(entries.map((_, index) => index + 1));
  expect({ balance: replayed.balance, held: replayed.held, spent: replayed.spent, entryCount: replayed.entryCount }).toEqual({
    balance: account.balance,
    held: account.held,
    spent: account.spent,
    entryCount: account.entryCount,
  });
  return entries;
}

export function accountTests(target: ConformanceTarget): void {
  describe(`${target.name}: accounts`, () => {
    it('a store without accounts refuses every account call with an UnsupportedError naming it, and writes nothing', async (context) => {
      const harness = await createHarness(target);
      if (harness.repository.capabilities.accounts) {
        context.skip('the store keeps accounts');
        return;
      }
      const { tracker, repository } = harness;
      const name = repository.name;
      const refusals: [string, () => Promise<unknown>][] = [
        ['credit', () => tracker.credit('account-u', { points: 1, reason: 'grant', idempotencyKey: 'u-1' })],
        ['debit', () => tracker.debit('account-u', { points: 1, reason: 'refund', idempotencyKey: 'u-2' })],
        ['getAccount', () => tracker.getAccount('account-u')],
        ['listLedgerEntries', () => tracker.listLedgerEntries({ accountId: 'account-u' })],
        ['reconcileAccount', () => tracker.reconcileAccount('account-u')],
        ['recordGeneration({ hold })', () => tracker.recordGeneration(generationInput({ masterAccountId: 'account-u', hold: { points: 5 } }))],
        ['startCook({ budget })', () => tracker.startCook({ collectionId: 'c-u', initiatorAccountId: 'account-u', targetSupply: 2, budget: { points: 5 } })],
        ['startCast({ budget })', () => tracker.startCast({ spellId: 's-u', initiatorAccountId: 'account-u', budget: { costUsd: '1' } })],
        ['accounts.get (the port)', () => repository.accounts.get('account-u')],
      ];
      for (const [label, call] of refusals) {
        const error = await call().then(() => null, (caught: unknown) => caught);
        expect(error, label).toBeInstanceOf(UnsupportedError);
        expect((error as UnsupportedError).code, label).toBe('UNSUPPORTED');
        expect((error as UnsupportedError).message, label).toContain(name);
      }
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
    });

    withAccounts(target, '64 holds at once against a balance covering exactly 40: 40 recorded, 24 InsufficientFundsError writing nothing, available never negative, the balance ends at credits minus captures', async (harness) => {
      const { tracker } = harness;
      const random = seededRandom(Number(process.env.GENLEDGER_SEED) || 20261205);
      const requests = 64;
      const covered = 40;
      const holdPoints = 25;
      const holdUsd = '0.25';
      const accountId = 'account-wallet';
      const observed: Account[] = [];
      tracker.on('accountUpdate', (event) => void observed.push(event.account));
      await tracker.credit(accountId, { points: covered * holdPoints, costUsd: '10', reason: 'top-up', idempotencyKey: 'top-up-1' });
      // Reads interleaved with the race: each one is an observed point too.
      let racing = true;
      const reader = (async () => {
        while (racing) {
          observed.push(await tracker.getAccount(accountId));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const outcomes = await Promise.allSettled(
        Array.from({ length: requests }, (_, index) =>
          tracker.recordGeneration(generationInput({ masterAccountId: accountId, idempotencyKey: `wallet-${index}`, hold: { points: holdPoints, costUsd: holdUsd } })),
        ),
      );
      racing = false;
      await reader;
      const recorded = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(recorded).toHaveLength(covered);
      expect(refused).toHaveLength(requests - covered);
      for (const error of refused) {
        expect(error).toBeInstanceOf(InsufficientFundsError);
        expect((error as InsufficientFundsError).code).toBe('INSUFFICIENT_FUNDS');
        expect((error as InsufficientFundsError).account).toBe(accountId);
        expect((error as InsufficientFundsError).requested.points).toBe(holdPoints);
      }
      // A refused hold wrote nothing: no generation, no entry.
      expect((await tracker.listGenerations({ masterAccountId: accountId, limit: 1000 })).items).toHaveLength(covered);
      const afterHolds = await tracker.getAccount(accountId);
      expect(afterHolds.held).toEqual({ points: covered * holdPoints, costUsd: '10' });
      expect(afterHolds.available).toEqual({ points: 0, costUsd: '0' });
      expect(afterHolds.entryCount).toBe(1 + covered);

      // Completions: most succeed below their hold, some fail with a cost (charged), some are
      // cancelled (released), a few are abandoned for the sweeper (released); 10% twice at once.
      let capturedPoints = 0;
      let capturedUsdCents = 0;
      const abandoned: string[] = [];
      const completions: (() => Promise<unknown>)[] = [];
      for (const generation of recorded) {
        const roll = random();
        if (roll < 0.1) {
          abandoned.push(generation.id);
          continue;
        }
        const status = roll < 0.2 ? 'cancelled_by_user' : roll < 0.35 ? 'failed' : 'success';
        const points = status === 'cancelled_by_user' ? 0 : 1 + Math.floor(random() * holdPoints);
        const cents = status === 'cancelled_by_user' ? 0 : Math.floor(random() * 26);
        capturedPoints += points;
        capturedUsdCents += cents;
        const complete = () => tracker.completeGeneration(generation.id, { status, pointsSpent: points, costUsd: (cents / 100).toFixed(2) });
        completions.push(complete);
        // Every tenth completion is delivered twice, both at once.
        if (completions.length % 10 === 1) completions.push(complete);
      }
      completions.sort(() => random() - 0.5);
      await Promise.all(completions.map((complete) => complete()));
      harness.clock.advance(61 * MINUTE);
      const sweep = await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect([...sweep.timedOut].sort()).toEqual([...abandoned].sort());

      for (const account of observed) expectNotNegative(account, 'during the race');
      const final = await tracker.getAccount(accountId);
      expectNotNegative(final, 'at the end');
      expect(final.held).toEqual({ points: 0, costUsd: '0' });
      expect(final.balance.points).toBe(covered * holdPoints - capturedPoints);
      expect(final.spent.points).toBe(capturedPoints);
      const expectedUsd = (1000 - capturedUsdCents) / 100;
      expect(Number(final.balance.costUsd) * 100).toBeCloseTo(expectedUsd * 100, 9);
      expect(final.balance.costUsd).toBe(formatCents(1000 - capturedUsdCents));
      expect(final.spent.costUsd).toBe(formatCents(capturedUsdCents));
      const entries = await expectExplainedByLedger(tracker, final);
      // Every recorded generation has exactly one hold entry and settled once: a capture and/or a release.
      for (const generation of recorded) {
        const own = entries.filter((entry) => entry.cause.kind === 'generation' && entry.cause.generationId === generation.id);
        expect(own.filter((entry) => entry.kind === 'hold')).toHaveLength(1);
        expect(own.filter((entry) => entry.kind === 'capture').length).toBeLessThanOrEqual(1);
        expect(own.filter((entry) => entry.kind === 'release').length).toBeLessThanOrEqual(1);
        expect(own.filter((entry) => entry.kind === 'capture' || entry.kind === 'release').length).toBeGreaterThanOrEqual(1);
      }
      expect((await tracker.reconcileAccount(accountId)).drift).toBe(false);
      console.log(
        `[genledger conformance] ${target.name} accounts: ${requests} holds at once on one account covering ${covered}: ${recorded.length} recorded, ${refused.length} refused; ` +
          `${completions.length} completions (${completions.length - (recorded.length - abandoned.length)} duplicates), ${abandoned.length} swept; ` +
          `${observed.length} observed points, none negative; balance ${final.balance.points} points / $${final.balance.costUsd} = credits minus captures exactly`,
      );
    });

    withAccounts(target, 'budgets: 64 holds at once under a cook budgeted for 10 of them: exactly 10 recorded, spent + held never passes the budget, children without a hold are refused', async (harness) => {
      const { tracker, repository } = harness;
      const accountId = 'account-budget';
      await tracker.credit(accountId, { points: 10_000, reason: 'grant', idempotencyKey: 'grant-1' });
      const cook = await tracker.startCook({ collectionId: 'collection-b', initiatorAccountId: accountId, targetSupply: 1000, budget: { points: 100 } });
      const observedBudgets: number[] = [];
      let racing = true;
      const reader = (async () => {
        while (racing) {
          const budget = await repository.accounts.getBudget({ kind: 'cook', id: cook.id });
          if (budget) observedBudgets.push(budget.spent.points + budget.held.points);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 64 }, (_, index) => tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, idempotencyKey: `b-${index}`, hold: { points: 10 } }))),
      );
      racing = false;
      await reader;
      const recorded = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(recorded).toHaveLength(10);
      for (const error of refused) {
        expect(error).toBeInstanceOf(BudgetExceededError);
        expect((error as BudgetExceededError).parentId).toBe(cook.id);
      }
      expect(Math.max(...observedBudgets)).toBeLessThanOrEqual(100);
      expect((await tracker.getCook(cook.id))!.inFlightCount).toBe(10);
      const noHold = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id })).then(() => null, (error: unknown) => error);
      expect(noHold).toBeInstanceOf(BudgetExceededError);
      expect((noHold as BudgetExceededError).held).toBe(false);
      // Finishing children below their holds makes room again, exactly.
      await Promise.all(recorded.map((generation) => tracker.completeGeneration(generation.id, { status: 'success', pointsSpent: 7 })));
      const budget = (await repository.accounts.getBudget({ kind: 'cook', id: cook.id }))!;
      expect(budget.spent.points).toBe(70);
      expect(budget.held.points).toBe(0);
      // A budgeted cast inside the cook: its steps count against both budgets, the cast's first.
      const cast = await tracker.startCast({ spellId: 'spell-b', initiatorAccountId: accountId, cookId: cook.id, budget: { points: 5 } });
      const overCast = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id, hold: { points: 6 } })).then(() => null, (error: unknown) => error);
      expect(overCast).toBeInstanceOf(BudgetExceededError);
      expect((overCast as BudgetExceededError).parentKind).toBe('cast');
      expect(await tracker.recordGeneration(generationInput({ masterAccountId: accountId, castId: cast.id, hold: { points: 5 } }))).toBeDefined();
      // 70 spent + 5 held leaves room for exactly two more holds of 10 in the cook.
      const refill = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) => tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, idempotencyKey: `refill-${index}`, hold: { points: 10 } }))),
      );
      expect(refill.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
      expect((await repository.accounts.getBudget({ kind: 'cook', id: cook.id }))!.held.points).toBe(25);
      const account = await tracker.getAccount(accountId);
      expect(account.held.points).toBe(25);
      await expectExplainedByLedger(tracker, account);
    });

    withAccounts(target, 'settlement policy: failed work with a cost is charged, cancellation and timeout release, a charge above the hold comes from available with an overdraft entry when short', async (harness) => {
      const { tracker } = harness;
      const accountId = 'account-policy';
      await tracker.credit(accountId, { points: 100, costUsd: '1', reason: 'grant', idempotencyKey: 'p-grant' });
      const failed = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 20, costUsd: '0.5' } }));
      await tracker.completeGeneration(failed.id, { status: 'failed', pointsSpent: 8, costUsd: '0.1' });
      let account = await tracker.getAccount(accountId);
      expect(account.balance).toEqual({ points: 92, costUsd: '0.9' });
      expect(account.held).toEqual({ points: 0, costUsd: '0' });
      const cook = await tracker.startCook({ collectionId: 'c-p', initiatorAccountId: accountId, targetSupply: 3 });
      const cancelled = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, cookId: cook.id, hold: { points: 30 } }));
      await tracker.cancelCook(cook.id);
      expect((await tracker.getGeneration(cancelled.id))!.status).toBe('cancelled_by_user');
      account = await tracker.getAccount(accountId);
      expect(account.held.points).toBe(0);
      expect(account.balance.points).toBe(92);
      // Only the units the hold names are charged: a points hold never touches dollars.
      const pointsOnly = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 10 } }));
      const other = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 50 } }));
      await tracker.completeGeneration(pointsOnly.id, { status: 'success', pointsSpent: 40, costUsd: '0.3' });
      // 10 from the hold, 30 from available (32 left after the other hold): no overdraft.
      account = await tracker.getAccount(accountId);
      expect(account.balance).toEqual({ points: 52, costUsd: '0.9' });
      expect(account.available.points).toBe(2);
      await tracker.completeGeneration(other.id, { status: 'success', pointsSpent: 60 });
      // 50 from the hold, 2 from available, 8 short: the balance goes below zero by an overdraft entry.
      account = await tracker.getAccount(accountId);
      expect(account.balance.points).toBe(-8);
      expect(account.available.points).toBe(-8);
      const entries = await expectExplainedByLedger(tracker, account);
      const overdraft = entries.filter((entry) => entry.kind === 'overdraft');
      expect(overdraft).toHaveLength(1);
      expect(overdraft[0]!.amount.points).toBe(8);
      expect(overdraft[0]!.cause).toEqual({ kind: 'generation', generationId: other.id });
      // A debit never overdraws.
      const debit = await tracker.debit(accountId, { points: 1, reason: 'refund', idempotencyKey: 'p-debit' }).then(() => null, (error: unknown) => error);
      expect(debit).toBeInstanceOf(InsufficientFundsError);
      // The sweeper releases the hold of work it times out.
      await tracker.credit(accountId, { points: 100, reason: 'top-up', idempotencyKey: 'p-top-up' });
      const stuck = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, hold: { points: 40 } }));
      harness.clock.advance(61 * MINUTE);
      await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect((await tracker.getGeneration(stuck.id))!.status).toBe('timeout');
      account = await tracker.getAccount(accountId);
      expect(account.held.points).toBe(0);
      expect(account.balance.points).toBe(92);
    });

    withAccounts(target, 'credit and debit: a repeated key moves nothing, a different request under the key is refused, invalid input writes nothing', async (harness) => {
      const { tracker } = harness;
      const first = await tracker.credit('account-k', { points: 5, costUsd: 0.1, reason: 'grant', idempotencyKey: 'k-1' });
      const again = await tracker.credit('account-k', { points: 5, costUsd: '0.1', reason: 'grant', idempotencyKey: 'k-1' });
      expect(again.repeated).toBe(true);
      expect(again.entry).toEqual(first.entry);
      await expect(tracker.credit('account-k', { points: 6, reason: 'grant', idempotencyKey: 'k-1' })).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(tracker.credit('account-k', { points: -1, reason: 'grant', idempotencyKey: 'k-2' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(tracker.credit('account-k', { reason: 'grant', idempotencyKey: 'k-3' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(tracker.credit('account-k', { points: 1, costUsd: '0.1234567890123456789', reason: 'x', idempotencyKey: 'k-4' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(tracker.recordGeneration(generationInput({ masterAccountId: 'account-k', hold: { points: 1.5 } }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.hold.points' });
      await expect(tracker.recordGeneration(generationInput({ masterAccountId: 'account-k', hold: {} }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(tracker.startCook({ collectionId: 'c', initiatorAccountId: 'account-k', targetSupply: 1, budget: { points: 1, extra: 1 } as never })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
      const account = await tracker.getAccount('account-k');
      expect(account.balance).toEqual({ points: 5, costUsd: '0.1' });
      expect(account.entryCount).toBe(1);
      expect((await tracker.getAccount('account-never-moved')).balance).toEqual({ points: 0, costUsd: '0' });
    });

    it('a hold on a generation priced from usage captures the computed cost (also completed by a tracker that did not record it), once under a duplicate completion', async (context) => {
      const { tracker, repository, newTracker } = await createPricingSetup(target);
      if (!repository.capabilities.accounts) {
        context.skip(NO_ACCOUNTS);
        return;
      }
      const accountId = 'account-priced';
      await tracker.credit(accountId, { points: 1_000, costUsd: '1', reason: 'grant', idempotencyKey: 'priced-grant' });
      const hold = { points: 50, costUsd: '0.05' };
      const remembered = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, toolId: 'tool-chat', requestTimestamp: T1, hold }));
      const readBack = await tracker.recordGeneration(generationInput({ masterAccountId: accountId, toolId: 'tool-chat', requestTimestamp: T1, hold }));
      // chat-v2: 1200 * 0.0000025 + 350 * 0.00001 = 0.0065, ceil(6.5) = 7 points at its 1000/$.
      const usage = { inputTokens: 1200, outputTokens: 350 };
      const [first, second] = await Promise.all([
        tracker.completeGeneration(remembered.id, { status: 'success', usage }),
        tracker.completeGeneration(remembered.id, { status: 'success', usage }),
      ]);
      expect(second).toEqual(first);
      // Another process (it did not record the generation, so it reads its pricing key):
      // 2000 * 0.0000025 + 100 * 0.00001 = 0.006, 6 points.
      const other = await newTracker().completeGeneration(readBack.id, { status: 'failed', usage: { inputTokens: 2000, outputTokens: 100 } });
      expect([first!.costUsd, first!.pointsSpent, other.costUsd, other.pointsSpent]).toEqual(['0.0065', 7, '0.006', 6]);
      const account = await tracker.getAccount(accountId);
      expect(account.held).toEqual({ points: 0, costUsd: '0' });
      expect(account.spent).toEqual({ points: 13, costUsd: '0.0125' });
      expect(account.balance).toEqual({ points: 987, costUsd: '0.9875' });
      const entries = await expectExplainedByLedger(tracker, account);
      const captures = entries.filter((entry) => entry.kind === 'capture').map((entry) => [entry.cause, entry.amount]);
      expect(captures).toEqual([
        [{ kind: 'generation', generationId: remembered.id }, { points: 7, costUsd: '0.0065' }],
        [{ kind: 'generation', generationId: readBack.id }, { points: 6, costUsd: '0.006' }],
      ]);
    });

    withAccounts(target, 'reconcileAccount rebuilds the figures from the ledger and reports drift', async (harness) => {
      const { tracker } = harness;
      await tracker.credit('account-r', { points: 50, reason: 'grant', idempotencyKey: 'r-1' });
      await tracker.recordGeneration(generationInput({ masterAccountId: 'account-r', hold: { points: 20 } }));
      const clean = await tracker.reconcileAccount('account-r');
      expect(clean.drift).toBe(false);
      if (!target.tamperAccount) {
        console.log(`[genledger conformance] ${target.name} accounts: drift repair not checked: the target gives no tamperAccount()`);
        return;
      }
      const before = await tracker.getAccount('account-r');
      await target.tamperAccount(harness.repository, 'account-r', { balance: { points: 999, costUsd: '0' }, held: { points: 0, costUsd: '0' } });
      const report = await tracker.reconcileAccount('account-r');
      expect(report.drift).toBe(true);
      expect(report.before.balance.points).toBe(999);
      expect(report.after.balance).toEqual(before.balance);
      expect(report.after.held).toEqual(before.held);
      expect((await tracker.getAccount('account-r')).available.points).toBe(30);
    });

    withAccounts(
      target,
      'crash at every port call of an account scenario, before or after the write: after retry and sweep the account, its ledger and the budget equal the fault-free run',
      async () => {
        const reference = await runAccountScenario(target, null, 'before');
        expect(reference.final.balance).toEqual({ points: 100, costUsd: '0' });
        expect(reference.final.held).toEqual({ points: 0, costUsd: '0' });
        let runs = 0;
        for (const moment of ['before', 'after'] as const) {
          for (let failCall = 1; failCall <= reference.calls; failCall += 1) {
            const faulted = await runAccountScenario(target, failCall, moment);
            expect(faulted.retries, `fault at call ${failCall} ${moment} never fired`).toBe(1);
            expect(faulted.snapshot, `state after a fault at call ${failCall} ${moment}`).toEqual(reference.snapshot);
            runs += 1;
          }
        }
        console.log(
          `[genledger conformance] ${target.name} accounts crash at every port call: ${runs} faulted runs (${reference.calls} port calls x before/after), ` +
            `every account, ledger and budget equal to the fault-free run (balance ${reference.final.balance.points} points = 200 credited - 5 debited - 95 captured)`,
        );
      },
      (target.timeoutMs ?? 60_000) * 5,
    );
  });
}

function formatCents(cents: number): string {
  const whole = Math.floor(cents / 100);
  const fraction = String(cents % 100).padStart(2, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

const ACCOUNT = 'account-crash-wallet';

function hold(name: string, points: number, links: { cook?: string } = {}, refusal?: typeof InsufficientFundsError | typeof BudgetExceededError): HostStep {
  return {
    label: `recordGeneration ${name} (hold ${points})`,
    async run(tracker, names) {
      try {
        const generation = await tracker.recordGeneration(
          generationInput({ masterAccountId: ACCOUNT, idempotencyKey: `key-${name}`, cookId: links.cook ? id(names, links.cook) : undefined, hold: { points } }),
        );
        if (refusal) throw new Error(`scenario: ${name} should have been refused`);
        names.set(name, { id: generation.id, kind: 'generation' });
      } catch (error) {
        if (refusal && error instanceof refusal) return;
        throw error;
      }
    },
  };
}

function finish(name: string, status: 'success' | 'failed', pointsSpent: number): HostStep {
  return { label: `completeGeneration ${name} ${status} ${pointsSpent}`, run: (tracker, names) => tracker.completeGeneration(id(names, name), { status, pointsSpent }) };
}

/**
 * 200 credited, 5 debited, 95 captured (25 + failed 10 + 15 + 45, the last 5 above its hold);
 * one hold refused for funds, one for the cook's budget, one abandoned and swept.
 */
const ACCOUNT_SCENARIO: readonly HostStep[] = [
  { label: 'credit 200', run: (tracker) => tracker.credit(ACCOUNT, { points: 200, reason: 'top-up', idempotencyKey: 'crash-credit' }) },
  hold('G1', 30),
  hold('G2', 30),
  hold('G3', 150, {}, InsufficientFundsError),
  finish('G1', 'success', 25),
  finish('G1', 'success', 25),
  finish('G2', 'failed', 10),
  hold('G4', 40),
  { label: 'debit 5', run: (tracker) => tracker.debit(ACCOUNT, { points: 5, reason: 'refund', idempotencyKey: 'crash-debit' }) },
  hold('G5', 10),
  {
    label: 'startCook with a budget of 20',
    async run(tracker, names) {
      const cook = await tracker.startCook({ collectionId: 'collection-wallet', initiatorAccountId: ACCOUNT, targetSupply: 5, idempotencyKey: 'key-cook', budget: { points: 20 } });
      names.set('cook', { id: cook.id, kind: 'cook' });
    },
  },
  hold('P1', 15, { cook: 'cook' }),
  hold('P2', 10, { cook: 'cook' }, BudgetExceededError),
  finish('P1', 'success', 15),
  finish('G4', 'success', 45),
  { label: 'advance the clock past the sweep threshold', run: async () => {} },
  { label: 'sweepStale', run: (tracker) => tracker.sweepStale({ olderThanMs: 30 * MINUTE }) },
  { label: 'reconcileAccount', run: (tracker) => tracker.reconcileAccount(ACCOUNT) },
];

interface AccountScenarioRun {
  readonly snapshot: unknown;
  readonly final: Account;
  readonly calls: number;
  readonly retries: number;
}

async function runAccountScenario(target: ConformanceTarget, failCall: number | null, moment: FaultMoment): Promise<AccountScenarioRun> {
  const { inner, clock, ids, names, calls, retries } = await runWithOneFault(target, ACCOUNT_SCENARIO, failCall, moment);
  // Read around the faulty wrapper: these reads are not part of the scenario.
  const auditor = createTracker({ repository: inner, clock, ids, logger: silent });
  const final = await auditor.getAccount(ACCOUNT);
  const entries = await expectExplainedByLedger(auditor, final);
  const budget = await inner.accounts.getBudget({ kind: 'cook', id: id(names, 'cook') });
  const statuses: Record<string, string> = {};
  for (const [name, entry] of names) if (entry.kind === 'generation') statuses[name] = (await auditor.getGeneration(entry.id))!.status;
  const nameOf = new Map([...names].map(([name, entry]) => [entry.id, name]));
  const snapshot = JSON.parse(
    JSON.stringify({ account: final, entries, budget, statuses, counts: await target.inspect().count() }, (key, value: unknown) => {
      if (key === 'updatedAt' || key === 'at' || key === 'version') return undefined;
      if (typeof value === 'string' && nameOf.has(value)) return `<${nameOf.get(value)}>`;
      return value;
    }),
  );
  return { snapshot, final, calls, retries };
}
