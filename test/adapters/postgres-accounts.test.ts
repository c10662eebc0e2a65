/**
 * Accounts on PostgreSQL (adapters/postgres/account-sql.ts, the hold in the creation statement,
 * its settlement in `settle_generations`): the SQL must write exactly what the domain decides.
 * The oracles are the domain's `applyMovement`, `holdAtCreation` and `settleGenerationHold`,
 * applied call by call over the account and budgets as stored just before; and a hold costs no
 * statement of its own (counted at the pool).
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { postgresRepository, type PostgresQueryConfig, type PostgresRepository } from '../../adapters/postgres/index.js';
import { holdAtCreation } from '../../src/domain/accounts/creation.js';
import { applyMovement, emptyAccount } from '../../src/domain/accounts/ledger.js';
import type { Account, Budget, Hold } from '../../src/domain/accounts/records.js';
import { settleGenerationHold } from '../../src/domain/accounts/settlement.js';
import type { Units } from '../../src/domain/accounts/amounts.js';
import type { GenerationOutcome } from '../../src/domain/generation-reducer.js';
import { newGeneration } from '../../src/domain/builders.js';
import type { AccountedSettlement, HoldSettlement } from '../../src/account-port.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { ConflictError } from '../../src/errors.js';
import { usePostgresRepository } from '../support/postgres-repository.js';

const db = usePostgresRepository({ name: 'accounts', tablePrefix: 'ac_' });
/** Names of the statements sent, in order; sizes of the `settle_generations` statements sent, in order. */
const { sent, batches, schema } = db;
let pool: pg.Pool;
let repository: PostgresRepository;
let tracker: Tracker;

beforeAll(() => {
  ({ pool, repository } = db);
  tracker = createTracker({ repository });
});

const later = (seconds: number) => new Date(Date.now() + 60_000 + seconds * 1000);

function outcome(status: GenerationOutcome['status'], seconds: number, costUsd: string, pointsSpent: number): GenerationOutcome {
  return { status, pointsSpent, protocolNetPoints: 0, costUsd, responseTimestamp: later(seconds), at: later(seconds) };
}

const input = (accountId: string, extra: Record<string, unknown> = {}) => ({
  masterAccountId: accountId,
  toolId: 'tool',
  toolDisplayName: 'Tool',
  serviceName: 'service',
  status: 'processing' as const,
  ...extra,
});

async function stored(accountId: string): Promise<Account> {
  return (await repository.accounts.get(accountId)) ?? emptyAccount(accountId);
}

async function entriesOf(accountId: string) {
  return repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 1000 });
}

describe('postgres: accounts against the domain', () => {
  it('credit and debit write what applyMovement decides: figures, entry, shortfall, repeats', async () => {
    const accountId = 'account-moves';
    const at = later(0);
    const requests = [
      { kind: 'credit' as const, units: { points: 100, costUsd: '1.5' }, key: 'm1' },
      { kind: 'debit' as const, units: { points: 30 }, key: 'm2' },
      { kind: 'debit' as const, units: { costUsd: '1.6' }, key: 'm3' },
      { kind: 'debit' as const, units: { points: 71, costUsd: '0.1' }, key: 'm4' },
      { kind: 'credit' as const, units: { costUsd: '0.000000000000000001' }, key: 'm5' },
      { kind: 'debit' as const, units: { points: 70, costUsd: '1.500000000000000001' }, key: 'm6' },
    ];
    for (const request of requests) {
      const movement = { kind: request.kind, accountId, units: request.units, reason: 'test', idempotencyKey: request.key };
      const expected = applyMovement(await stored(accountId), movement, at);
      expect(await repository.accounts.move(movement, at), request.key).toEqual(expected);
    }
    const final = await stored(accountId);
    expect(final).toMatchObject({ balance: { points: 0, costUsd: '0' }, entryCount: 4 });
    // A repeated key: its entry, nothing written.
    const repeat = await repository.accounts.move(
      { kind: 'credit', accountId, units: { points: 100, costUsd: '1.5' }, reason: 'test', idempotencyKey: 'm1' },
      later(1),
    );
    expect(repeat).toMatchObject({ outcome: 'existing', account: final, entry: (await entriesOf(accountId))[0] });
    expect(await stored(accountId)).toEqual(final);
  });

  it('a hold at creation writes what holdAtCreation decides, over the account and budgets as stored; refusals write nothing', async () => {
    const accountId = 'account-holds';
    await tracker.credit(accountId, { points: 100, costUsd: '1', reason: 'grant', idempotencyKey: 'grant' });
    const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: accountId, targetSupply: 50, budget: { points: 60 } });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: accountId, cookId: cook.id, budget: { costUsd: '0.5' } });
    const cases: { units: Units | null; castId?: string; cookId?: string }[] = [
      { units: { points: 40 } },
      { units: { points: 40, costUsd: '0.3' }, cookId: cook.id },
      { units: { points: 30 }, cookId: cook.id }, // over the cook's budget (40 + 30 > 60)
      { units: null, cookId: cook.id }, // no hold under a budget
      { units: { points: 10, costUsd: '0.3' }, castId: cast.id }, // over the cast's budget in dollars (0 + 0.3 ok), then...
      { units: { points: 10, costUsd: '0.3' }, castId: cast.id }, // ...0.3 + 0.3 > 0.5
      { units: { points: 11 } }, // 100 - 40 - 40 - 10 = 10 available: short
      { units: { costUsd: '0.4' } }, // 1 - 0.3 - 0.3 = 0.4: covered exactly
      { units: { points: 0 } }, // a zero hold on an account never moved before
    ];
    let index = 0;
    for (const { units, castId, cookId } of cases) {
      const owner = index === cases.length - 1 ? 'account-new' : accountId;
      const id = `generation-hold-${index}`;
      const at = later(index);
      const record = newGeneration(input(owner), id, at, { castId: null, cookId: null, spellId: null, collectionId: null });
      // The budgets of the parents it joins, cast first: the cast's, then the cook's (its own, or its cast's).
      const refs = [
        ...(castId ? [{ kind: 'cast' as const, id: castId }] : []),
        ...(castId || cookId ? [{ kind: 'cook' as const, id: cook.id }] : []),
      ];
      const budgets = (await Promise.all(refs.map((ref) => repository.accounts.getBudget(ref)))).filter(
        (budget): budget is Budget => budget !== null,
      );
      const before = await repository.accounts.get(owner);
      const expected = holdAtCreation(owner, before, budgets, units, id, at);
      const caps = { maxInFlight: 100, maxEmbeddedIds: 100 };
      const result = await repository.insertAttached(
        { kind: 'generation', record, castId: castId ?? null, cookId: cookId ?? null, at, caps },
        { hold: units },
      );
      if (expected.outcome === 'limited') {
        expect(result, `case ${index}`).toEqual(expected);
        expect(await repository.generations.get([id]), `case ${index} wrote nothing`).toEqual([]);
        expect(await repository.accounts.get(owner), `case ${index} wrote nothing`).toEqual(before);
      } else {
        expect(result.outcome, `case ${index}`).toBe('created');
        expect((result as { held?: unknown }).held, `case ${index}`).toEqual(expected);
        expect(await repository.accounts.get(owner)).toEqual(expected.account);
      }
      index += 1;
    }
    expect((await stored(accountId)).available).toEqual({ points: 10, costUsd: '0' });
    expect(await repository.accounts.getBudget({ kind: 'cook', id: cook.id })).toMatchObject({ held: { points: 50, costUsd: '0' } }); // 40, then 10 by the cast's step
  });

  it('a batch of settlements writes what settleGenerationHold decides, call by call in queue order: capture, release, overdraft, duplicates, budgets', async () => {
    const accountId = 'account-settle';
    await tracker.credit(accountId, { points: 100, costUsd: '2', reason: 'grant', idempotencyKey: 'grant' });
    const cook = await tracker.startCook({
      collectionId: 'c2',
      initiatorAccountId: accountId,
      targetSupply: 50,
      budget: { points: 80, costUsd: '1.5' },
    });
    const holds: Hold[] = [];
    const make = async (units: Units, inCook: boolean) => {
      const generation = await tracker.recordGeneration({ ...input(accountId), ...(inCook ? { cookId: cook.id } : {}), hold: units });
      holds.push({ generationId: generation.id, accountId, units, budgets: inCook ? [{ kind: 'cook', id: cook.id }] : [], status: 'held' });
      return generation.id;
    };
    const g = [
      await make({ points: 20, costUsd: '0.5' }, true), // charged less: capture and release
      await make({ points: 20, costUsd: '0.5' }, true), // charged more than held, covered by available
      await make({ points: 10 }, false), // charged nothing (cancelled): released whole
      await make({ costUsd: '0.25' }, false), // charged dollars far past everything: overdraft
      await make({ points: 5, costUsd: '0.1' }, true), // failed with a cost: charged it
      await make({ points: 10 }, false), // charged exactly the hold: capture only
    ];
    const calls = [
      { id: g[0]!, outcome: outcome('success', 1, '0.2', 7) },
      { id: g[1]!, outcome: outcome('success', 2, '0.75', 30) },
      { id: g[0]!, outcome: outcome('failed', 3, '9', 9) }, // a duplicate: settles nothing
      { id: g[2]!, outcome: outcome('cancelled_by_user', 4, '0', 0) },
      { id: g[3]!, outcome: outcome('success', 5, '5.5', 3) },
      { id: g[4]!, outcome: outcome('failed', 6, '0.05', 2) },
      { id: g[5]!, outcome: outcome('success', 7, '0', 10) },
    ];
    // The oracle: each hold settled once, at its first call, over the account and budget as the previous call left them.
    let account = await stored(accountId);
    const budgets = new Map<string, Budget>([['cook', (await repository.accounts.getBudget({ kind: 'cook', id: cook.id }))!]]);
    const settledIds = new Set<string>();
    const expected = calls.map((call): HoldSettlement | null => {
      if (settledIds.has(call.id)) return null;
      settledIds.add(call.id);
      const hold = holds.find((candidate) => candidate.generationId === call.id)!;
      const counted = hold.budgets.map(() => budgets.get('cook')!);
      const result = settleGenerationHold(
        hold,
        account,
        counted,
        { pointsSpent: call.outcome.pointsSpent, costUsd: call.outcome.costUsd },
        call.outcome.at,
      );
      account = result!.account;
      for (const budget of result!.budgets) budgets.set('cook', budget);
      return result;
    });
    batches.length = 0;
    const settled = await Promise.all(calls.map((call) => repository.settleGeneration(call.id, call.outcome, call.outcome.at)));
    expect(batches).toEqual([1, calls.length - 1]);
    settled.forEach((result, index) => expect((result as AccountedSettlement).hold ?? null, `call ${index}`).toEqual(expected[index]));
    expect(await stored(accountId)).toEqual(account);
    expect(await repository.accounts.getBudget({ kind: 'cook', id: cook.id })).toEqual(budgets.get('cook'));
    const entries = await entriesOf(accountId);
    expect(entries.slice(-expected.flatMap((result) => result?.entries ?? []).length)).toEqual(
      expected.flatMap((result) => result?.entries ?? []),
    );
    // What the sequence means, spelled out: one overdraft, the balance below zero by exactly it.
    expect(entries.filter((entry) => entry.kind === 'overdraft')).toHaveLength(1);
    expect(account.balance.costUsd.startsWith('-')).toBe(true);
    expect(account.held).toEqual({ points: 0, costUsd: '0' });
    expect((await repository.accounts.reconcile(accountId, later(100))).drift).toBe(false);
  });

  it('a hold adds no statement: recordGeneration with a hold and its completion are one statement each, as without', async () => {
    const accountId = 'account-count';
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    const count = async (body: () => Promise<unknown>) => {
      const start = sent.length;
      await body();
      return sent.slice(start);
    };
    let withHold = '';
    let without = '';
    const created = {
      hold: await count(async () => (withHold = (await tracker.recordGeneration({ ...input(accountId), hold: { points: 10 } })).id)),
      none: await count(async () => (without = (await tracker.recordGeneration(input(accountId))).id)),
    };
    expect(created.hold).toHaveLength(1);
    expect(created.none).toHaveLength(1);
    expect(created.hold[0]).toContain('insert_attached_generation');
    const completed = {
      hold: await count(() => tracker.completeGeneration(withHold, { status: 'success', pointsSpent: 4, costUsd: '0' })),
      none: await count(() => tracker.completeGeneration(without, { status: 'success', pointsSpent: 4, costUsd: '0' })),
    };
    expect(completed.hold).toEqual(completed.none);
    expect(completed.hold.filter((name) => name.includes('settle_generations'))).toHaveLength(1);
    expect(await tracker.getAccount(accountId)).toMatchObject({ balance: { points: 96 }, held: { points: 0 }, spent: { points: 4 } });
  });

  it('a hold that loses races on a busy account is sent again until it is decided, quietly, even with maxAttempts: 1', async () => {
    // 64 holds of 10 on an account covering 40 of them, through a repository that gives up on a
    // server abort at once: a lost account race (GL001) is still resent, without a warning, so
    // every call ends taken or refused by the domain, never with the race's own error.
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), error: () => {} };
    const busy = db.another({ changeFeed: false, maxAttempts: 1, logger });
    const hot = createTracker({ repository: busy, logger });
    const accountId = 'account-busy';
    await hot.credit(accountId, { points: 400, reason: 'grant', idempotencyKey: 'busy-grant' });
    const settled = await Promise.allSettled(Array.from({ length: 64 }, () => hot.recordGeneration({ ...input(accountId), hold: { points: 10 } })));
    const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as { code?: string }] : []));
    expect(settled.filter((result) => result.status === 'fulfilled')).toHaveLength(40);
    expect(failures.map((failure) => failure.code)).toEqual(Array.from({ length: 24 }, () => 'INSUFFICIENT_FUNDS'));
    expect(warnings.filter((warning) => warning.includes('GL001'))).toEqual([]);
    expect(await stored(accountId)).toMatchObject({ balance: { points: 400 }, held: { points: 400 }, available: { points: 0 } });
  });
  /**
   * recordGeneration with a hold and an idempotency key, repeated `times` (one after another, or
   * all at once): every call returns the first generation, and the account holds one hold's amount
   * with one hold entry and one hold row. Returns what it found, for the broken variant below.
   */
  async function repeatHold(on: Tracker, accountId: string, mode: 'sequential' | 'concurrent', times = 10) {
    await on.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    const create = () => on.recordGeneration({ ...input(accountId), hold: { points: 10 }, idempotencyKey: `hold-key-${accountId}` });
    const created =
      mode === 'concurrent' ? await Promise.all(Array.from({ length: times }, create)) : await Array.from({ length: times }).reduce<Promise<{ id: string }[]>>(async (all) => [...(await all), await create()], Promise.resolve([]));
    const account = await stored(accountId);
    const holdEntries = (await entriesOf(accountId)).filter((entry) => entry.kind === 'hold');
    const { rows } = await pool.query(`SELECT count(*)::int AS holds FROM "${schema}".ac_holds WHERE account_id = $1`, [accountId]);
    return { ids: new Set(created.map((generation) => generation.id)).size, held: account.held.points, holdEntries: holdEntries.length, holdRows: (rows[0] as { holds: number }).holds };
  }

  it('a repeated idempotency key takes no second hold: 10 repeats, one after another and all at once, hold 10 once', async () => {
    for (const mode of ['sequential', 'concurrent'] as const) {
      expect(await repeatHold(tracker, `account-repeat-${mode}`, mode), mode).toEqual({ ids: 1, held: 10, holdEntries: 1, holdRows: 1 });
    }
    expect((await repository.accounts.reconcile('account-repeat-concurrent', later(200))).drift).toBe(false);
  });

  it('the repeated-key check fails on a store that forgets the key: it holds once per repeat', async () => {
    // The deliberately broken variant: insertAttached drops the idempotency key, so every repeat is
    // a new generation and takes its own hold. The check above must see it.
    const forgetful: PostgresRepository = {
      ...repository,
      insertAttached: ((child: Parameters<PostgresRepository['insertAttached']>[0], accounting: Parameters<PostgresRepository['insertAttached']>[1]) =>
        repository.insertAttached({ ...child, record: { ...child.record, idempotencyKey: null } } as typeof child, accounting)) as PostgresRepository['insertAttached'],
    };
    const broken = createTracker({ repository: forgetful });
    expect(await repeatHold(broken, 'account-repeat-broken', 'sequential')).toEqual({ ids: 10, held: 100, holdEntries: 10, holdRows: 10 });
  });
  it('reconcile reads the ledger in pages: 25,001 entries rebuild drifted figures exactly, and an entry past entry_count is drift', async () => {
    const accountId = 'account-long';
    const entries = 25_001; // three pages of 10,000
    const E = repository.tables.accountEntries;
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       SELECT $1, i, 'credit', 1, 0.01, 'movement', 'seed', 'seed-' || i, i, i * 0.01, 0, 0, now() FROM generate_series(1, $2::bigint) AS i`,
      [accountId, entries],
    );
    // Figures off by one point and one cent.
    await pool.query(
      `INSERT INTO ${repository.tables.accounts} (account_id, balance_points, balance_usd, entry_count, version, updated_at) VALUES ($1, $2::bigint + 1, $2::bigint * 0.01 + 0.01, $2::bigint, 7, now())`,
      [accountId, entries],
    );
    const pages = () => sent.filter((name) => name.includes('accounts_entry_page')).length;
    const before = pages();
    const drifted = await repository.accounts.reconcile(accountId, later(300));
    expect(pages() - before).toBe(3);
    expect(drifted.drift).toBe(true);
    expect(await stored(accountId)).toMatchObject({ balance: { points: entries, costUsd: '250.01' }, entryCount: entries, version: 8 });
    expect((await repository.accounts.reconcile(accountId, later(301))).drift).toBe(false);
    // An entry appended by hand, the account row left alone (same version): its figures miss it.
    await pool.query(
      `INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
         balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
       VALUES ($1, $2::bigint + 1, 'credit', 5, 0, 'movement', 'by hand', 'by-hand', $2::bigint + 5, 250.01, 0, 0, now())`,
      [accountId, entries],
    );
    expect((await repository.accounts.reconcile(accountId, later(302))).drift).toBe(true);
    expect(await stored(accountId)).toMatchObject({ balance: { points: entries + 5 }, entryCount: entries + 1 });
  });

  it('reconcile of an account written while its entries are read is not drift: entries past the figures read belong to the later version', async () => {
    const accountId = 'account-written-meanwhile';
    await tracker.credit(accountId, { points: 10, reason: 'grant', idempotencyKey: 'first' });
    // A pool that lets a credit land between the account's read and the first page of its entries.
    let injected = false;
    const meddling = {
      async query(config: PostgresQueryConfig) {
        if (!injected && config.name?.includes('accounts_entry_page')) {
          injected = true;
          await tracker.credit(accountId, { points: 5, reason: 'meanwhile', idempotencyKey: 'meanwhile' });
        }
        sent.push(config.name ?? config.text);
        return pool.query(config as pg.QueryConfig) as never;
      },
    };
    const watched = postgresRepository(meddling, { schema, tablePrefix: 'ac_', changeFeed: false });
    const start = sent.length;
    const result = await watched.accounts.reconcile(accountId, later(400));
    expect(injected).toBe(true);
    expect(result).toMatchObject({ drift: false, stored: { balance: { points: 10 }, entryCount: 1 } });
    // One read of the account, the credit, one page, one read of the account again (it had moved): no write, no second round.
    expect(sent.slice(start).map((name) => name.replace(/^genledger_(\w+?)_[0-9a-f]{12}$/, '$1'))).toEqual(['accounts_get', 'accounts_move', 'accounts_entry_page', 'accounts_get']);
    expect(await stored(accountId)).toMatchObject({ balance: { points: 15 }, entryCount: 2 });
  });
  it('account figures read back in the canonical spelling, signed and exact to 18 digits: "-0.50" is "-0.5", available is balance - held', async () => {
    const accountId = 'account-spelling';
    await pool.query(
      `INSERT INTO ${repository.tables.accounts} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
       VALUES ($1, -3, -0.50, 2, 0.250, 0, 1000000000000.000000000000000001, 0, 1, now())`,
      [accountId],
    );
    expect(await repository.accounts.get(accountId)).toMatchObject({
      balance: { points: -3, costUsd: '-0.5' },
      held: { points: 2, costUsd: '0.25' },
      available: { points: -5, costUsd: '-0.75' },
      spent: { points: 0, costUsd: '1000000000000.000000000000000001' },
    });
  });
  it('a hold whose account row was deleted by hand is not settled: a ConflictError, nothing written; once the row is back it settles', async () => {
    const accountId = 'account-deleted';
    const other = 'account-kept';
    for (const id of [accountId, other]) await tracker.credit(id, { points: 100, reason: 'grant', idempotencyKey: 'grant' });
    const lost = await tracker.recordGeneration({ ...input(accountId), hold: { points: 10 } });
    const kept = await tracker.recordGeneration({ ...input(other), hold: { points: 10 } });
    const entriesBefore = await entriesOf(accountId);
    await pool.query(`DELETE FROM ${repository.tables.accounts} WHERE account_id = $1`, [accountId]);
    // Both completions at once (one batch, if they queue together): the one on the deleted account fails alone.
    const [failed, settled] = await Promise.allSettled([
      tracker.completeGeneration(lost.id, { status: 'success', pointsSpent: 4, costUsd: '0' }),
      tracker.completeGeneration(kept.id, { status: 'success', pointsSpent: 4, costUsd: '0' }),
    ]);
    expect(settled.status).toBe('fulfilled');
    expect(await stored(other)).toMatchObject({ balance: { points: 96 }, held: { points: 0 }, spent: { points: 4 } });
    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as ConflictError;
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.field).toBe('masterAccountId');
    expect(error.message).toContain(`account "${accountId}", whose row is gone`);
    // Nothing written: the generation is still open, its hold still held, the ledger as it was.
    expect((await tracker.getGeneration(lost.id))?.status).toBe('processing');
    const { rows } = await pool.query(`SELECT status FROM ${repository.tables.holds} WHERE generation_id = $1`, [lost.id]);
    expect(rows).toEqual([{ status: 'held' }]);
    expect(await entriesOf(accountId)).toEqual(entriesBefore);
    // sweepStale tries every stale generation (another one, on an account that is there, times out),
    // then throws the refusal; the held one stays open.
    const stale = await tracker.recordGeneration({ ...input(other), hold: { points: 10 } });
    const sweeper = createTracker({ repository, clock: { now: () => later(3600) }, logger: { warn: () => {}, error: () => {} } });
    const swept = await sweeper.sweepStale({ olderThanMs: 60_000 }).catch((caught: unknown) => caught);
    expect(swept).toBeInstanceOf(ConflictError);
    expect((await tracker.getGeneration(stale.id))?.status).toBe('timeout');
    expect((await tracker.getGeneration(lost.id))?.status).toBe('processing');
    expect(await entriesOf(accountId)).toEqual(entriesBefore);
    // The row put back from its entries (what reconcile rebuilds), the settlement goes through.
    const { rebuilt } = await repository.accounts.reconcile(accountId, later(500));
    expect(rebuilt).toMatchObject({ balance: { points: 100 }, held: { points: 10 }, entryCount: 2 });
    await pool.query(
      `INSERT INTO ${repository.tables.accounts} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now())`,
      [accountId, rebuilt.balance.points, rebuilt.balance.costUsd, rebuilt.held.points, rebuilt.held.costUsd, rebuilt.spent.points, rebuilt.spent.costUsd, rebuilt.entryCount],
    );
    await tracker.completeGeneration(lost.id, { status: 'success', pointsSpent: 4, costUsd: '0' });
    expect(await stored(accountId)).toMatchObject({ balance: { points: 96 }, held: { points: 0 }, spent: { points: 4 }, entryCount: 4 });
  });
});
