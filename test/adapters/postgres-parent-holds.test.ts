/**
 * Parent holds on PostgreSQL (migration 0009; parent-hold-sql.ts, the draw in
 * insert_attached_generation, the pool in settle_generations, the release trigger), beyond the
 * conformance part (src/conformance/part-parent-holds.ts, run by postgres.test.ts):
 *
 * - the SQL writes exactly what the domain decides (`parentHoldAtCreation`, `holdAtCreation`,
 *   `settleGenerationHold` applied call by call, a batch of drawing settlements included);
 * - every statement that can end a parent releases its reservation once: casts_end (finish,
 *   cancel, expire), cooks_transition (finish, cancel, expire), casts_replace and cooks_replace
 *   (reconcile), settle_generations (a failed step ending its cast, a piece completing its cook),
 *   a cast piece's end completing its cook; so removing the release from any of them fails here;
 * - the change feed reports the parent's hold and its release (naming no generation);
 * - account reconcile replays parent entries to the stored figures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { postgresRepository, type PostgresRepository } from '../../adapters/postgres/index.js';
import type { AccountedSettlement, HoldSettlement, ParentRelease } from '../../src/account-port.js';
import type { Units } from '../../src/domain/accounts/amounts.js';
import { holdAtCreation } from '../../src/domain/accounts/creation.js';
import { emptyAccount, replayEntries } from '../../src/domain/accounts/ledger.js';
import { parentHoldAtCreation } from '../../src/domain/accounts/parent-hold.js';
import type { Account, Budget, LedgerEntry } from '../../src/domain/accounts/records.js';
import { settleGenerationHold } from '../../src/domain/accounts/settlement.js';
import { newGeneration } from '../../src/domain/builders.js';
import type { GenerationOutcome } from '../../src/domain/generation-reducer.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import type { AccountUpdateEvent } from '../../src/tracker/events.js';
import { usePostgresRepository } from '../support/postgres-repository.js';

const silent = { warn: () => undefined, error: () => undefined };
const db = usePostgresRepository({ name: 'parent_holds', tablePrefix: 'ph_' });
let repository: PostgresRepository;
let tracker: Tracker;

beforeAll(() => {
  repository = db.repository;
  tracker = createTracker({ repository, logger: silent });
});

const later = (seconds: number) => new Date(Date.now() + 60_000 + seconds * 1000);

function outcome(status: GenerationOutcome['status'], seconds: number, costUsd: string, pointsSpent: number): GenerationOutcome {
  return { status, pointsSpent, protocolNetPoints: 0, costUsd, responseTimestamp: later(seconds), at: later(seconds) };
}

const input = (accountId: string) => ({
  masterAccountId: accountId,
  toolId: 'tool',
  toolDisplayName: 'Tool',
  serviceName: 'service',
  status: 'processing' as const,
});

async function stored(accountId: string): Promise<Account> {
  return (await repository.accounts.get(accountId)) ?? emptyAccount(accountId);
}

async function entriesOf(accountId: string): Promise<LedgerEntry[]> {
  return repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 10_000 });
}

async function budgetOf(kind: 'cast' | 'cook', id: string): Promise<Budget> {
  const budget = await repository.accounts.getBudget({ kind, id });
  if (budget === null) throw new Error(`no budget for ${kind} ${id}`);
  return budget;
}

function parentReleases(entries: readonly LedgerEntry[], parentId: string): number[] {
  return entries.filter((entry) => entry.kind === 'release' && entry.cause.kind === 'parent' && entry.cause.parentId === parentId).map((entry) => entry.amount.points);
}

describe('postgres: parent holds against the domain', () => {
  it('a parent hold writes what parentHoldAtCreation decides: the account, its entry (cause parent), the budget carrying the reservation', async () => {
    const accountId = 'ph-take';
    await tracker.credit(accountId, { points: 100, costUsd: '3', reason: 'grant', idempotencyKey: 'grant' });
    for (const [index, hold] of ([{ points: 40 }, { costUsd: '1.25' }, { points: 10, costUsd: '0.5' }] as Units[]).entries()) {
      const before = await stored(accountId);
      const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold, idempotencyKey: `take-${index}` });
      const expected = parentHoldAtCreation('cast', cast.id, accountId, before, hold, cast.updatedAt);
      if (expected.outcome !== 'held') throw new Error('the oracle refused');
      expect(await stored(accountId), `hold ${index}`).toEqual(expected.account);
      expect(await budgetOf('cast', cast.id), `hold ${index}`).toEqual(expected.budget);
      expect((await entriesOf(accountId)).at(-1), `hold ${index}`).toEqual(expected.entry);
    }
    expect((await repository.accounts.reconcile(accountId, later(0))).drift).toBe(false);
  });

  it("children's holds write what holdAtCreation decides: drawing on the reservation (the cook's through a piece too), units beyond it, another account, refusals", async () => {
    const accountId = 'ph-draw';
    await tracker.credit(accountId, { points: 200, costUsd: '5', reason: 'grant', idempotencyKey: 'grant' });
    await tracker.credit('ph-guest', { points: 50, reason: 'grant', idempotencyKey: 'grant' });
    const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: accountId, targetSupply: 50, hold: { points: 60 } });
    const piece = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, cookId: cook.id, budget: { points: 30 } });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { costUsd: '2' } });
    const cases: { owner: string; units: Units | null; castId?: string; cookId?: string }[] = [
      { owner: accountId, units: { points: 20 }, cookId: cook.id }, // draws 20 of the cook's 60
      { owner: accountId, units: { points: 10, costUsd: '0.5' }, cookId: cook.id }, // 10 drawn, 0.5 beyond: from available
      { owner: 'ph-guest', units: { points: 5 }, cookId: cook.id }, // another account: its own hold, counted in the budget
      { owner: accountId, units: { points: 20 }, castId: piece.id }, // the piece's budget (plain) and the cook's reservation
      { owner: accountId, units: { points: 10 }, castId: piece.id }, // the piece's budget takes it (30), the cook's refuses: 55 + 10 > 60
      { owner: accountId, units: null, cookId: cook.id }, // no hold under the cook's budget
      { owner: accountId, units: { costUsd: '2' }, castId: cast.id }, // the whole of the cast's reservation
      { owner: accountId, units: { costUsd: '0.01' }, castId: cast.id }, // over the cast's budget
      { owner: accountId, units: { costUsd: '0.5', points: 500 }, castId: undefined }, // no parent: short of points
    ];
    for (const [index, { owner, units, castId, cookId }] of cases.entries()) {
      const id = `ph-child-${index}`;
      const at = later(index);
      const record = newGeneration(input(owner), id, at, { castId: null, cookId: null, spellId: null, collectionId: null });
      const refs = [...(castId ? [{ kind: 'cast' as const, id: castId }] : []), ...(castId === piece.id || cookId ? [{ kind: 'cook' as const, id: cook.id }] : [])];
      const budgets = (await Promise.all(refs.map((ref) => repository.accounts.getBudget(ref)))).filter((budget): budget is Budget => budget !== null);
      const before = await repository.accounts.get(owner);
      const expected = holdAtCreation(owner, before, budgets, units, id, at);
      const result = await repository.insertAttached(
        { kind: 'generation', record, castId: castId ?? null, cookId: cookId ?? null, at, caps: { maxInFlight: 100, maxEmbeddedIds: 100 } },
        { hold: units },
      );
      if (expected.outcome === 'limited') {
        expect(result, `case ${index}`).toEqual(expected);
        expect(await repository.generations.get([id]), `case ${index} wrote nothing`).toEqual([]);
      } else {
        expect(result.outcome, `case ${index}`).toBe('created');
        expect((result as { held?: unknown }).held, `case ${index}`).toEqual(expected);
        if (expected.account !== null) expect(await stored(owner), `case ${index}`).toEqual(expected.account);
        else expect(await repository.accounts.get(owner), `case ${index}: a draw writes no account`).toEqual(before);
        for (const budget of expected.budgets) expect(await budgetOf(budget.parentKind, budget.parentId), `case ${index}`).toEqual(budget);
      }
    }
    // What the cases mean, spelled out: the account holds the cook's 60 and the cast's 2 once, plus the 0.5 beyond.
    expect(await stored(accountId)).toMatchObject({ held: { points: 60, costUsd: '2.5' } });
    expect(await budgetOf('cook', cook.id)).toMatchObject({ held: { points: 55 }, reservation: { free: { points: 10 }, status: 'held' } });
    expect((await repository.accounts.reconcile(accountId, later(50))).drift).toBe(false);
  });

  it('a batch of drawing settlements writes what settleGenerationHold decides, call by call in queue order: the pool passed from one to the next', async () => {
    const accountId = 'ph-settle';
    await tracker.credit(accountId, { points: 100, costUsd: '2', reason: 'grant', idempotencyKey: 'grant' });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 80 } });
    const step = async (units: Units) => (await tracker.recordGeneration({ ...input(accountId), castId: cast.id, hold: units })).id;
    const g = [await step({ points: 20 }), await step({ points: 20, costUsd: '0.5' }), await step({ points: 10 }), await step({ points: 10 }), await step({ points: 15 })];
    const calls = [
      { id: g[0]!, outcome: outcome('success', 1, '0', 5) }, // 15 back to the reservation
      { id: g[1]!, outcome: outcome('success', 2, '0.75', 35) }, // 15 above its hold from the reservation; 0.25 dollars beyond, from available
      { id: g[0]!, outcome: outcome('success', 3, '0', 50) }, // a duplicate: settles nothing
      { id: g[2]!, outcome: outcome('success', 4, '0', 30) }, // 20 above its hold: the reservation's free part, then available
      { id: g[3]!, outcome: outcome('success', 5, '0', 0) }, // nothing charged: all back, no entry
      { id: g[4]!, outcome: outcome('success', 6, '0', 200) }, // far past everything: an overdraft
    ];
    let account = await stored(accountId);
    let budget = await budgetOf('cast', cast.id);
    const holds = new Map(g.map((id, index) => [id, index]));
    const units: Units[] = [{ points: 20 }, { points: 20, costUsd: '0.5' }, { points: 10 }, { points: 10 }, { points: 15 }];
    const settled = new Set<string>();
    const expected = calls.map((call): HoldSettlement | null => {
      if (settled.has(call.id)) return null;
      settled.add(call.id);
      const hold = { generationId: call.id, accountId, units: units[holds.get(call.id)!]!, budgets: [{ kind: 'cast' as const, id: cast.id }], drawsOn: { kind: 'cast' as const, id: cast.id }, status: 'held' as const };
      const result = settleGenerationHold(hold, account, [budget], { pointsSpent: call.outcome.pointsSpent, costUsd: call.outcome.costUsd }, call.outcome.at)!;
      account = result.account;
      budget = result.budgets[0]!;
      return result;
    });
    db.batches.length = 0;
    const results = await Promise.all(calls.map((call) => repository.settleGeneration(call.id, call.outcome, call.outcome.at)));
    expect(db.batches).toEqual([1, calls.length - 1]);
    results.forEach((result, index) => expect((result as AccountedSettlement).hold ?? null, `call ${index}`).toEqual(expected[index]));
    expect(await stored(accountId)).toEqual(account);
    expect(await budgetOf('cast', cast.id)).toEqual(budget);
    const written = expected.flatMap((result) => result?.entries ?? []);
    expect((await entriesOf(accountId)).slice(-written.length)).toEqual(written);
    // Spelled out: the reservation gave 15 + 20 + 45 above holds, got 15 + 10 + 10 back; one overdraft.
    expect(budget.reservation).toMatchObject({ free: { points: 0 }, status: 'held' });
    expect(written.filter((entry) => entry.kind === 'overdraft')).toHaveLength(1);
    expect((await repository.accounts.reconcile(accountId, later(100))).drift).toBe(false);
  });
});

describe('postgres: every statement that ends a held parent releases its reservation, once', () => {
  /** A cast or cook holding 50 points on a fresh account, with 10 of it spent by a child: 40 free. */
  async function heldParent(kind: 'cast' | 'cook', label: string, extra: { totalSteps?: number; targetSupply?: number } = {}) {
    const accountId = `ph-end-${label}`;
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    const parent =
      kind === 'cast'
        ? await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 50 }, ...(extra.totalSteps ? { totalSteps: extra.totalSteps } : {}) })
        : await tracker.startCook({ collectionId: 'c', initiatorAccountId: accountId, targetSupply: extra.targetSupply ?? 5, hold: { points: 50 } });
    const spent = await tracker.recordGeneration({ ...input(accountId), ...(kind === 'cast' ? { castId: parent.id } : { cookId: parent.id }), hold: { points: 10 } });
    await tracker.completeGeneration(spent.id, { status: 'success', pointsSpent: 10 });
    expect((await budgetOf(kind, parent.id)).reservation).toMatchObject({ free: { points: 40 }, status: 'held' });
    return { accountId, parent };
  }

  /** The write reported exactly the release the ledger holds for the parent: its entry, and the account as after it. */
  async function expectReported(releases: readonly ParentRelease[] | undefined, accountId: string, parentId: string) {
    const entry = (await entriesOf(accountId)).find((candidate) => candidate.kind === 'release' && candidate.cause.kind === 'parent' && candidate.cause.parentId === parentId);
    expect(releases, `the release of ${parentId} reported`).toEqual([
      { budget: await repository.accounts.getBudget({ kind: entry!.cause.kind === 'parent' ? entry!.cause.parentKind : 'cast', id: parentId }), account: await stored(accountId), entries: [entry] },
    ]);
  }

  async function expectReleasedOnce(kind: 'cast' | 'cook', accountId: string, parentId: string, free = 40) {
    const entries = await entriesOf(accountId);
    expect(parentReleases(entries, parentId), `${kind} ${parentId}`).toEqual([free]);
    expect((await budgetOf(kind, parentId)).reservation).toMatchObject({ free: { points: 0 }, status: 'released' });
    const account = await stored(accountId);
    expect(account).toMatchObject({ held: { points: 0 }, balance: { points: 90 }, available: { points: 90 } });
    expect(replayEntries(accountId, entries)).toMatchObject({ balance: account.balance, held: account.held, spent: account.spent });
  }

  it('casts_end: finish, cancel, expire; a repeat releases nothing more', async () => {
    for (const transition of ['finish', 'cancel', 'expire'] as const) {
      const { accountId, parent } = await heldParent('cast', `cast-${transition}`);
      const first = await repository.casts.transition(parent.id, transition, later(1));
      expect(first?.cast.changed, transition).toBe(true);
      await expectReported(first?.releases, accountId, parent.id);
      expect((await repository.casts.transition(parent.id, transition, later(2)))?.releases, transition).toBeUndefined();
      expect((await repository.casts.transition(parent.id, 'cancel', later(3)))?.releases, transition).toBeUndefined();
      await expectReleasedOnce('cast', accountId, parent.id);
    }
  });

  it('cooks_transition: finish, cancel, expire (pause and resume release nothing); a repeat releases nothing more', async () => {
    for (const transition of ['finish', 'cancel', 'expire'] as const) {
      const { accountId, parent } = await heldParent('cook', `cook-${transition}`);
      await repository.cooks.transition(parent.id, 'pause', later(1));
      await repository.cooks.transition(parent.id, 'resume', later(2));
      expect(parentReleases(await entriesOf(accountId), parent.id)).toEqual([]);
      const first = await repository.cooks.transition(parent.id, transition, later(3));
      expect(first?.changed, transition).toBe(true);
      await expectReported(first?.releases, accountId, parent.id);
      expect((await repository.cooks.transition(parent.id, transition, later(4)))?.releases, transition).toBeUndefined();
      expect((await repository.cooks.transition(parent.id, 'cancel', later(5)))?.releases, transition).toBeUndefined();
      await expectReleasedOnce('cook', accountId, parent.id);
    }
  });

  it('casts_replace and cooks_replace: reconcile that ends a parent releases it; a later write releases nothing more', async () => {
    const cast = await heldParent('cast', 'cast-replace');
    const storedCast = (await repository.casts.get([cast.parent.id]))[0]!;
    const at = later(1);
    const castWrite = await repository.casts.replaceAggregates(storedCast.id, storedCast.version, { ...storedCast, status: 'completed', completedAt: at, durationMs: 1 }, at);
    await expectReported(castWrite?.releases, cast.accountId, cast.parent.id);
    await repository.casts.transition(cast.parent.id, 'cancel', later(2));
    await expectReleasedOnce('cast', cast.accountId, cast.parent.id);

    const cook = await heldParent('cook', 'cook-replace');
    const storedCook = (await repository.cooks.get([cook.parent.id]))[0]!;
    const cookWrite = await repository.cooks.replaceAggregates(storedCook.id, storedCook.version, { ...storedCook, status: 'failed', completedAt: at, durationMs: 1 }, at);
    await expectReported(cookWrite?.releases, cook.accountId, cook.parent.id);
    await repository.cooks.transition(cook.parent.id, 'cancel', later(2));
    await expectReleasedOnce('cook', cook.accountId, cook.parent.id);
  });

  it("settle_generations: a failed step ending its cast, a piece generation completing its cook; a cast piece's end completing its cook", async () => {
    const releaseEvents: AccountUpdateEvent[] = [];
    tracker.on('accountUpdate', (event) => {
      if (event.entries.some((entry) => entry.kind === 'release' && entry.cause.kind === 'parent')) releaseEvents.push(event);
    });
    // The step is charged 5 of its 10, then fails its cast: its 5 unspent go back to the 30 free first, so 35 are released.
    const failing = await heldParent('cast', 'settle-cast');
    const step = await tracker.recordGeneration({ ...input(failing.accountId), castId: failing.parent.id, hold: { points: 10 } });
    await tracker.completeGeneration(step.id, { status: 'failed', pointsSpent: 5 });
    expect((await tracker.getCast(failing.parent.id))!.status).toBe('failed');
    expect(parentReleases(await entriesOf(failing.accountId), failing.parent.id)).toEqual([35]);
    expect(await stored(failing.accountId)).toMatchObject({ held: { points: 0 }, balance: { points: 85 } });

    // A cook of supply 2: its first piece spent 10 (heldParent), its second completes it in settle_generations.
    const supplied = await heldParent('cook', 'settle-cook', { targetSupply: 2 });
    const last = await tracker.recordGeneration({ ...input(supplied.accountId), cookId: supplied.parent.id, hold: { points: 10 } });
    await tracker.completeGeneration(last.id, { status: 'success', pointsSpent: 0 });
    expect((await tracker.getCook(supplied.parent.id))!.status).toBe('completed');
    await expectReleasedOnce('cook', supplied.accountId, supplied.parent.id);

    // A cook of supply 2 whose second piece is a cast: the cast's finish completes the cook (casts_end's apply).
    const pieced = await heldParent('cook', 'piece-cook', { targetSupply: 2 });
    const piece = await tracker.startCast({ spellId: 's', initiatorAccountId: pieced.accountId, cookId: pieced.parent.id });
    await tracker.finishCast(piece.id);
    expect((await tracker.getCook(pieced.parent.id))!.status).toBe('completed');
    await expectReleasedOnce('cook', pieced.accountId, pieced.parent.id);

    // A cast of one step, a piece of a held cook of supply 1: the step's success completes the cast,
    // which completes the cook, in one settle_generations (its cook_written).
    const chained = await heldParent('cook', 'chain-cook', { targetSupply: 2 });
    const chainedPiece = await tracker.startCast({ spellId: 's', initiatorAccountId: chained.accountId, cookId: chained.parent.id, totalSteps: 1 });
    const chainedStep = await tracker.recordGeneration({ ...input(chained.accountId), castId: chainedPiece.id, hold: { points: 10 } });
    await tracker.completeGeneration(chainedStep.id, { status: 'success', pointsSpent: 0 });
    expect((await tracker.getCast(chainedPiece.id))!.status).toBe('completed');
    expect((await tracker.getCook(chained.parent.id))!.status).toBe('completed');
    await expectReleasedOnce('cook', chained.accountId, chained.parent.id);
    // Each of the four releases reached the tracker's listeners once, with the account as after it.
    expect(releaseEvents.map((event) => [event.change, event.generationId, event.entries.map((entry) => entry.amount.points), event.account.entryCount === event.entries[0]!.sequence])).toEqual([
      ['settled', null, [35], true],
      ['settled', null, [40], true],
      ['settled', null, [40], true],
      ['settled', null, [40], true],
    ]);
  });
});

describe('postgres: a parent hold whose account row was deleted by hand', () => {
  it('ending the parent fails and writes nothing (GL003); once the row is back it ends and releases once', async () => {
    const accountId = 'ph-gone';
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 30 } });
    const row = (await db.pool.query(`DELETE FROM "${db.schema}".ph_accounts WHERE account_id = $1 RETURNING *`, [accountId])).rows[0] as Record<string, unknown>;
    const error = await tracker.finishCast(cast.id).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(String((error as { cause?: unknown })?.cause ?? error)).toContain('whose row is gone');
    expect((await tracker.getCast(cast.id))!.status).toBe('running');
    expect((await budgetOf('cast', cast.id)).reservation).toMatchObject({ free: { points: 30 }, status: 'held' });
    const columns = Object.keys(row);
    await db.pool.query(
      `INSERT INTO "${db.schema}".ph_accounts (${columns.join(', ')}) VALUES (${columns.map((_, index) => `$${index + 1}`).join(', ')})`,
      columns.map((column) => row[column]),
    );
    await tracker.finishCast(cast.id);
    expect(parentReleases(await entriesOf(accountId), cast.id)).toEqual([30]);
    expect(await stored(accountId)).toMatchObject({ held: { points: 0 }, available: { points: 100 } });
  });
});

describe('postgres: parent holds on the change feed and in reconcile', () => {
  it("watch() reports a parent hold's take and its release at the parent's end, naming no generation", async () => {
    // On the pool itself (the recorded one is no pg.Pool): the feed takes its LISTEN connection from it.
    const feedRepository = postgresRepository(db.pool, { schema: db.schema, tablePrefix: db.tablePrefix, changeFeed: { minReconnectDelayMs: 1000 }, logger: silent });
    const writer = createTracker({ repository, logger: silent });
    const reader = createTracker({ repository: feedRepository, logger: silent });
    const seen: AccountUpdateEvent[] = [];
    const errors: unknown[] = [];
    const watch = reader.watch({ masterAccountId: 'ph-watch' }, { onError: (error) => void errors.push(error) });
    watch.on('accountUpdate', (event) => void seen.push(event));
    await watch.ready;
    try {
      await writer.credit('ph-watch', { points: 100, reason: 'top-up', idempotencyKey: 'k1' });
      // Each write waits for its notice before the next, so each event is exactly one write's.
      // (Written without waiting, they come as one coalesced event carrying both entries; the
      // change-feed conformance part checks that case.)
      await until(() => seen.length === 1, `the credit (errors ${errors.map(String).join('; ')})`);
      const cook = await writer.startCook({ collectionId: 'c', initiatorAccountId: 'ph-watch', targetSupply: 1, hold: { points: 40 } });
      await until(() => seen.length === 2, `the credit and the hold (seen ${seen.length}, errors ${errors.map(String).join('; ')})`);
      expect(seen[1]).toMatchObject({ change: 'held', generationId: null, entries: [{ kind: 'hold', cause: { kind: 'parent', parentKind: 'cook', parentId: cook.id } }] });
      expect(seen[1]!.account.held.points).toBe(40);
      await writer.finishCook(cook.id);
      await until(() => seen.length === 3, 'the release');
      expect(seen[2]).toMatchObject({ change: 'settled', generationId: null, entries: [{ kind: 'release', amount: { points: 40 }, cause: { kind: 'parent', parentKind: 'cook', parentId: cook.id } }] });
      expect(seen[2]!.account).toMatchObject({ held: { points: 0 }, available: { points: 100 } });
    } finally {
      await watch.close();
    }
  });

  it("reconcile replays parent holds and releases: figures tampered by hand are rebuilt to the ledger's", async () => {
    const accountId = 'ph-reconcile';
    await tracker.credit(accountId, { points: 100, costUsd: '1', reason: 'grant', idempotencyKey: 'grant' });
    const ended = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 30, costUsd: '0.5' } });
    const open = await tracker.startCook({ collectionId: 'c', initiatorAccountId: accountId, targetSupply: 3, hold: { points: 20 } });
    const child = await tracker.recordGeneration({ ...input(accountId), cookId: open.id, hold: { points: 5 } });
    await tracker.completeGeneration(child.id, { status: 'success', pointsSpent: 8 });
    await tracker.finishCast(ended.id);
    const before = await stored(accountId);
    expect(before).toMatchObject({ balance: { points: 92, costUsd: '1' }, held: { points: 12, costUsd: '0' } });
    await db.pool.query(`UPDATE "${db.schema}".ph_accounts SET held_points = 0, held_usd = 7 WHERE account_id = $1`, [accountId]);
    const reconciled = await repository.accounts.reconcile(accountId, later(10));
    expect(reconciled.drift).toBe(true);
    expect(await stored(accountId)).toMatchObject({ balance: before.balance, held: before.held, spent: before.spent, entryCount: before.entryCount });
    expect((await repository.accounts.reconcile(accountId, later(11))).drift).toBe(false);
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('postgres: concurrent repeats of one parent hold', () => {
  it('same-key startCast({ hold }) calls sent at once all answer with the one parent, whose hold is taken once (none is refused as insufficient by the hold the first took)', async () => {
    const accountId = 'ph-dup';
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    // One tracker per call, as separate processes would be (a tracker may join its own repeats).
    const calls = Array.from({ length: 8 }, () => createTracker({ repository, logger: silent }).startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 60 }, idempotencyKey: 'dup-cast' }));
    const answers = await Promise.allSettled(calls);
    const refused = answers.filter((answer) => answer.status === 'rejected').map((answer) => String((answer as PromiseRejectedResult).reason));
    expect(refused).toEqual([]);
    const ids = new Set(answers.map((answer) => (answer as PromiseFulfilledResult<{ id: string }>).value.id));
    expect(ids.size).toBe(1);
    const account = await stored(accountId);
    expect(account.held.points).toBe(60);
    expect((await entriesOf(accountId)).filter((entry) => entry.kind === 'hold')).toHaveLength(1);
  });
});

describe('postgres: a held parent ending while its children are created and settled', () => {
  it('settlement, a new child and the parent\'s end sent at once: every point accounted for, the reservation released once, the ledger replays to the stored figures', async () => {
    for (let round = 0; round < 12; round += 1) {
      const accountId = `ph-race-${round}`;
      await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
      const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, hold: { points: 50 } });
      const first = await tracker.recordGeneration({ ...input(accountId), castId: cast.id, hold: { points: 20 } });
      const charge = [5, 20, 35, 70][round % 4]!;
      const others = createTracker({ repository, logger: silent });
      const [settled, created, ended] = await Promise.allSettled([
        others.completeGeneration(first.id, { status: 'success', pointsSpent: charge }),
        tracker.recordGeneration({ ...input(accountId), castId: cast.id, hold: { points: 10 } }),
        repository.casts.transition(cast.id, 'finish', later(round)),
      ]);
      expect(settled.status, `round ${round}`).toBe('fulfilled');
      expect(ended.status, `round ${round}`).toBe('fulfilled');
      // Whatever the order, end every child: the second (if the cast took it) charged 3.
      let secondCharged = 0;
      if (created.status === 'fulfilled') {
        await tracker.completeGeneration(created.value.id, { status: 'success', pointsSpent: 3 });
        secondCharged = 3;
      }
      const entries = await entriesOf(accountId);
      const account = await stored(accountId);
      // One release entry, or none when the charge past the first child's hold took all that was free.
      expect(parentReleases(entries, cast.id).length, `round ${round}`).toBeLessThanOrEqual(1);
      expect((await budgetOf('cast', cast.id)).reservation, `round ${round}`).toMatchObject({ free: { points: 0 }, status: 'released' });
      expect(account.held.points, `round ${round}: nothing left held`).toBe(0);
      expect(account.balance.points, `round ${round}`).toBe(100 - charge - secondCharged);
      expect(replayEntries(accountId, entries), `round ${round}`).toMatchObject({ balance: account.balance, held: account.held, spent: account.spent });
      expect((await repository.accounts.reconcile(accountId, later(100))).drift, `round ${round}`).toBe(false);
    }
  });
});
