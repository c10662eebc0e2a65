/**
 * Group commit of creations on PostgreSQL (`insert_generations`, creation-sql.ts; the queue in
 * batch-queue.ts): generations with no parent that queue while a creation statement is in flight
 * go out as one statement, and each caller gets what `insert_attached_generation` alone would
 * have returned, the calls run one after another in queue order. The oracle is the domain's
 * `holdAtCreation`, call after call, over the accounts as stored just before the burst.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { postgresRepository, type PostgresQueryConfig, type PostgresRepository } from '../../adapters/postgres/index.js';
import { holdAtCreation } from '../../src/domain/accounts/creation.js';
import type { Account } from '../../src/domain/accounts/records.js';
import type { Units } from '../../src/domain/accounts/amounts.js';
import { newGeneration } from '../../src/domain/builders.js';
import type { Generation } from '../../src/domain/records.js';
import { ConflictError, InsufficientFundsError } from '../../src/errors.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { usePostgresRepository } from '../support/postgres-repository.js';

const db = usePostgresRepository({ name: 'creation_batch', tablePrefix: 'cb_' });
const { sent, creationBatches } = db;
let repository: PostgresRepository;
let tracker: Tracker;

beforeAll(() => {
  repository = db.repository;
  tracker = createTracker({ repository });
});

const later = (seconds: number) => new Date(Date.now() + 60_000 + seconds * 1000);
const caps = { maxInFlight: 100, maxEmbeddedIds: 100 };
const noLinks = { castId: null, cookId: null, spellId: null, collectionId: null };

interface Call {
  readonly id: string;
  readonly accountId: string;
  readonly units: Units | null;
  readonly key: string | null;
}

function recordOf(call: Call, at: Date): Generation {
  const input = {
    masterAccountId: call.accountId,
    toolId: 'tool',
    toolDisplayName: 'Tool',
    serviceName: 'service',
    status: 'processing' as const,
  };
  return newGeneration(call.key === null ? input : { ...input, idempotencyKey: call.key }, call.id, at, noLinks);
}

/** Every call fired at once, in order (each joins the queue before the next is made, in one turn of the event loop: they go out together). */
function fireAll(calls: readonly Call[], at: Date) {
  creationBatches.length = 0;
  sent.length = 0;
  return Promise.allSettled(
    calls.map((call) =>
      repository.insertAttached(
        { kind: 'generation', record: recordOf(call, at), castId: null, cookId: null, at, caps },
        { hold: call.units },
      ),
    ),
  );
}

const creationStatements = () => sent.filter((name) => name.includes('insert_attached_generation') || name.includes('insert_generations'));

describe('postgres: creations group commit', () => {
  it('a batch returns to each call what holdAtCreation decides, one call after another in queue order: a refused hold takes nothing, repeated and stored keys, new accounts', async () => {
    await tracker.credit('account-a', { points: 100, costUsd: '1', reason: 'grant', idempotencyKey: 'grant-a' });
    await tracker.credit('account-b', { points: 20, reason: 'grant', idempotencyKey: 'grant-b' });
    const preStored = await tracker.recordGeneration({
      masterAccountId: 'account-a',
      toolId: 'tool',
      toolDisplayName: 'Tool',
      serviceName: 'service',
      idempotencyKey: 'key-stored',
    });
    const calls: Call[] = [
      { id: 'g0', accountId: 'account-a', units: { points: 30 }, key: 'key-0' }, // 100 -> 70 available
      { id: 'g1', accountId: 'account-a', units: { points: 50 }, key: 'key-1' }, // 70 -> 20
      { id: 'g2', accountId: 'account-a', units: { points: 30 }, key: 'key-2' }, // short: takes nothing
      { id: 'g3', accountId: 'account-b', units: { points: 15 }, key: 'key-3' }, // another account in the same batch
      { id: 'g4', accountId: 'account-a', units: { points: 20 }, key: 'key-4' }, // exactly what the refusal left: 20 -> 0
      { id: 'g5', accountId: 'account-a', units: { costUsd: '0.4' }, key: 'key-5' },
      { id: 'g6', accountId: 'account-a', units: { points: 0, costUsd: '0.7' }, key: 'key-6' }, // 0.6 left: short in dollars
      { id: 'g7', accountId: 'account-a', units: null, key: 'key-7' }, // no hold
      { id: 'g8', accountId: 'account-a', units: { points: 50 }, key: 'key-1' }, // g1's key: starts the next batch, gets g1's record
      { id: 'g9', accountId: 'account-b', units: { points: 5 }, key: 'key-9' }, // exactly the rest of b
      { id: 'g10', accountId: 'account-fresh', units: { points: 0 }, key: 'key-10' }, // a zero hold on an account with no row
      { id: 'g11', accountId: 'account-fresh-2', units: { points: 1 }, key: 'key-11' }, // short on an account with no row
      { id: 'g12', accountId: 'account-a', units: { points: 1 }, key: 'key-stored' }, // a key stored before: its record
      { id: 'g13', accountId: 'account-a', units: { points: 1 }, key: null }, // no key; short (0 left)
      { id: 'g14', accountId: 'account-b', units: { points: 1, costUsd: '0' }, key: 'key-14' }, // b: 0 points left
    ];
    const at = later(0);

    // The oracle, call after call.
    const accounts = new Map<string, Account | null>();
    for (const call of calls)
      if (!accounts.has(call.accountId)) accounts.set(call.accountId, await repository.accounts.get(call.accountId));
    const keys = new Map<string, Generation>([['key-stored', preStored]]);
    const expected = calls.map((call) => {
      const holder = call.key === null ? undefined : keys.get(call.key);
      if (holder !== undefined) return { outcome: 'existing' as const, record: holder };
      const decision = holdAtCreation(call.accountId, accounts.get(call.accountId)!, [], call.units, call.id, at);
      if (decision.outcome === 'limited') return decision;
      const record = recordOf(call, at);
      if (call.key !== null) keys.set(call.key, record);
      if (decision.account !== null) accounts.set(call.accountId, decision.account);
      return { outcome: 'created' as const, record, held: decision.hold === null ? undefined : decision };
    });
    expect(expected.map((result) => result.outcome)).toEqual([
      'created',
      'created',
      'limited',
      'created',
      'created',
      'created',
      'limited',
      'created',
      'existing',
      'created',
      'created',
      'limited',
      'existing',
      'limited',
      'limited',
    ]);

    const results = await fireAll(calls, at);

    // g0..g7 in one statement, g8 (g1's key) starts the next.
    expect(creationBatches).toEqual([8, 7]);
    expect(creationStatements()).toHaveLength(2);
    results.forEach((result, index) => {
      expect(result.status, `call ${index}`).toBe('fulfilled');
      const value: unknown = (result as PromiseFulfilledResult<unknown>).value;
      const wanted = expected[index]!;
      if (wanted.outcome === 'created') {
        expect(value, `call ${index}`).toEqual({
          outcome: 'created',
          record: wanted.record,
          cast: null,
          cook: null,
          ...(wanted.held === undefined ? {} : { held: wanted.held }),
        });
      } else {
        expect(value, `call ${index}`).toEqual(wanted);
      }
    });
    // Stored as decided: the accounts, their ledgers numbered without a gap, nothing of a refused call.
    for (const [accountId, account] of accounts) {
      expect(await repository.accounts.get(accountId), accountId).toEqual(account);
      const entries = await repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 100 });
      expect(
        entries.map((entry) => entry.sequence),
        accountId,
      ).toEqual(Array.from({ length: account?.entryCount ?? 0 }, (_, index) => index + 1));
    }
    const createdIds = calls.filter((_, index) => expected[index]!.outcome === 'created').map((call) => call.id);
    expect((await repository.generations.get(calls.map((call) => call.id))).map((record) => record.id).sort()).toEqual(
      [...createdIds].sort(),
    );
  });

  it('64 concurrent holds on one account covering 40: exactly 40 held, 24 InsufficientFundsError, entries 1..41 without a gap, available never negative, far fewer statements than calls', async () => {
    const accountId = 'account-hot';
    await tracker.credit(accountId, { points: 400, reason: 'grant', idempotencyKey: 'grant-hot' });
    sent.length = 0;
    creationBatches.length = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, () =>
        tracker.recordGeneration({
          masterAccountId: accountId,
          toolId: 'tool',
          toolDisplayName: 'Tool',
          serviceName: 'service',
          status: 'processing',
          hold: { points: 10 },
        }),
      ),
    );
    const held = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result) => result.status === 'rejected');
    expect(held).toHaveLength(40);
    expect(refused).toHaveLength(24);
    for (const result of refused) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientFundsError);

    // One statement per batch, every call in exactly one (none sent twice: no statement failed), no other statement.
    const statements = creationStatements();
    expect(sent).toEqual(statements);
    expect(statements.length - creationBatches.length + creationBatches.reduce((sum, size) => sum + size, 0)).toBe(64);
    expect(statements.length).toBeLessThan(64 / 4);

    const account = (await repository.accounts.get(accountId))!;
    expect(account).toMatchObject({ balance: { points: 400 }, held: { points: 400 }, available: { points: 0 }, entryCount: 41 });
    const entries = await repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 100 });
    expect(entries.map((entry) => entry.sequence)).toEqual(Array.from({ length: 41 }, (_, index) => index + 1));
    for (const entry of entries) expect(entry.balanceAfter.points - entry.heldAfter.points).toBeGreaterThanOrEqual(0);
    const holdEntries = entries.filter((entry) => entry.kind === 'hold');
    expect(holdEntries.map((entry) => entry.heldAfter.points)).toEqual(Array.from({ length: 40 }, (_, index) => (index + 1) * 10));
    expect(new Set(holdEntries.map((entry) => (entry.cause as { generationId: string }).generationId))).toEqual(
      new Set(held.map((result) => (result as PromiseFulfilledResult<Generation>).value.id)),
    );
  });

  it('an id already stored fails its batch: the calls are sent again one by one, that one gets ConflictError, the others are created and held once', async () => {
    const accountId = 'account-conflict';
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant-conflict' });
    const at = later(1);
    await repository.insertAttached({
      kind: 'generation',
      record: recordOf({ id: 'g-taken', accountId, units: null, key: 'key-taken' }, at),
      castId: null,
      cookId: null,
      at,
      caps,
    });
    const calls: Call[] = [
      { id: 'c0', accountId, units: { points: 10 }, key: 'key-c0' },
      { id: 'c1', accountId, units: { points: 10 }, key: 'key-c1' },
      { id: 'g-taken', accountId, units: { points: 10 }, key: 'key-c2' },
      { id: 'c3', accountId, units: { points: 10 }, key: 'key-c3' },
    ];
    const results = await fireAll(calls, at);

    expect(creationBatches).toEqual([4]);
    // The batch of four (failed), then each call alone (insert_attached_generation).
    expect(creationStatements()).toHaveLength(5);
    expect(
      creationStatements()
        .slice(1)
        .every((name) => name.includes('insert_attached_generation')),
    ).toBe(true);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    for (const index of [0, 1, 3]) expect((results[index] as PromiseFulfilledResult<{ outcome: string }>).value.outcome).toBe('created');
    const account = (await repository.accounts.get(accountId))!;
    expect(account).toMatchObject({ held: { points: 30 }, entryCount: 4 });
    const entries = await repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 100 });
    expect(entries.filter((entry) => entry.kind === 'hold').map((entry) => (entry.cause as { generationId: string }).generationId)).toEqual(
      ['c0', 'c1', 'c3'],
    );
    expect((await repository.generations.get(['g-taken']))[0]).toMatchObject({ idempotencyKey: 'key-taken' });
  });

  it("the JSON fields of a batch's calls are stored as each call gave them: objects, arrays, a bare string or number, quotes, backslashes and non-ASCII text, null", async () => {
    const payloads: unknown[] = [
      { prompt: 'say "hi"\\ \u00e9t\u00e9 \u{1F600}', nested: { list: [1, 'two', null, { deep: true }] } },
      ['a', { b: 2 }],
      'a bare "string" with \\ and \n',
      42.5,
      null,
    ];
    const at = later(2);
    creationBatches.length = 0;
    const created = await Promise.all(
      payloads.map((requestPayload, index) =>
        repository.insertAttached({
          kind: 'generation',
          record: {
            ...recordOf({ id: `json-${index}`, accountId: 'account-json', units: null, key: `key-json-${index}` }, at),
            requestPayload,
            metadata: { index, label: `caf\u00e9 "${index}"` },
          } as Generation,
          castId: null,
          cookId: null,
          at,
          caps,
        }),
      ),
    );

    expect(creationBatches).toEqual([payloads.length]);
    expect(created.map((result) => result.outcome)).toEqual(payloads.map(() => 'created'));
    const stored = await repository.generations.get(payloads.map((_, index) => `json-${index}`));
    expect(stored.map((generation) => generation!.requestPayload)).toEqual(payloads);
    expect(stored.map((generation) => generation!.metadata)).toEqual(payloads.map((_, index) => ({ index, label: `caf\u00e9 "${index}"` })));
    expect(stored.map((generation) => generation!.artifactUrls)).toEqual(payloads.map(() => []));
  });
});

describe('postgres: creations group commit racing other writers', () => {
  it('two adapters batching the same keys on the same accounts, racing cast-step holds, credits, debits and settlements: each key stored once and held once, every caller of a key answered with its one record, ledgers gapless and equal to the stored figures', async () => {
    // A second repository on the same schema: its own queue, so its batches race the first's, as
    // two processes' do.
    const other = createTracker({ repository: db.another({ changeFeed: false }) });
    const accountIds = ['race-a', 'race-b', 'race-c'];
    for (const accountId of accountIds)
      await tracker.credit(accountId, { points: 150, costUsd: '0.6', reason: 'grant', idempotencyKey: `grant-${accountId}` });
    const cast = await tracker.startCast({ spellId: 'race-spell', initiatorAccountId: 'race-a' });

    type Outcome = { readonly key: string; readonly result: PromiseSettledResult<Generation> };
    creationBatches.length = 0;
    sent.length = 0;
    const outcomes: Promise<Outcome>[] = [];
    const others: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round += 1) {
      for (let index = 0; index < 24; index += 1) {
        const accountId = accountIds[index % accountIds.length]!;
        const key = `race-${round}-${index}`;
        const hold: Units = index % 4 === 3 ? { costUsd: '0.07' } : index % 4 === 2 ? { points: 3, costUsd: '0.01' } : { points: 7 };
        const input = {
          masterAccountId: accountId,
          toolId: 'tool',
          toolDisplayName: 'Tool',
          serviceName: 'service',
          status: 'processing' as const,
          idempotencyKey: key,
          hold,
        };
        // The same call through both adapters (a retry landing on another process), in opposite orders.
        for (const via of index % 2 === 0 ? [tracker, other] : [other, tracker])
          outcomes.push(
            via.recordGeneration(input).then(
              (value) => ({ key, result: { status: 'fulfilled', value } }),
              (reason: unknown) => ({ key, result: { status: 'rejected', reason } }),
            ),
          );
      }
      // Single statements on the same accounts meanwhile: a step of a cast (its hold taken by insert_attached_generation), a credit, a debit.
      others.push(
        tracker
          .recordGeneration({
            masterAccountId: 'race-a',
            toolId: 'tool',
            toolDisplayName: 'Tool',
            serviceName: 'service',
            status: 'processing',
            castId: cast.id,
            hold: { points: 2 },
          })
          .catch((error: unknown) => error),
        other.credit('race-b', { points: 11, costUsd: '0.11', reason: 'top-up', idempotencyKey: `top-up-${round}` }),
        tracker.debit('race-c', { points: 1, reason: 'fee', idempotencyKey: `fee-${round}` }).catch((error: unknown) => error),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    const settled = await Promise.all(outcomes);
    await Promise.all(others);

    // Settle half of what was held, through both adapters, while more is created.
    const created = settled.flatMap(({ result }) => (result.status === 'fulfilled' ? [result.value] : []));
    const firstOfKey = new Map<string, Generation>();
    for (const generation of created)
      if (!firstOfKey.has(generation.idempotencyKey!)) firstOfKey.set(generation.idempotencyKey!, generation);
    const toSettle = [...firstOfKey.values()].filter((_, index) => index % 2 === 0);
    await Promise.all([
      ...toSettle.map((generation, index) =>
        (index % 2 === 0 ? tracker : other).completeGeneration(generation.id, { status: 'success', pointsSpent: 1, costUsd: '0.001' }),
      ),
      ...Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? other : tracker)
          .recordGeneration({
            masterAccountId: accountIds[index % 3]!,
            toolId: 'tool',
            toolDisplayName: 'Tool',
            serviceName: 'service',
            status: 'processing',
            hold: { points: 1 },
          })
          .catch((error: unknown) => error),
      ),
    ]);

    // Every caller of a key got its one record, or was refused for want of funds.
    for (const { key, result } of settled) {
      if (result.status === 'rejected') {
        expect(result.reason, key).toBeInstanceOf(InsufficientFundsError);
        continue;
      }
      expect(result.value.id, key).toBe(firstOfKey.get(key)!.id);
    }
    const { pool, schema, tablePrefix } = db;
    const table = (name: string) => `"${schema}"."${tablePrefix}${name}"`;
    const perKey = await pool.query(
      `SELECT idempotency_key, count(*)::int AS n FROM ${table('generations')} WHERE idempotency_key LIKE 'race-%' GROUP BY 1 HAVING count(*) > 1`,
    );
    expect(perKey.rows).toEqual([]);
    expect(firstOfKey.size).toBeGreaterThan(20);
    // No hold without its generation (a call answered `existing` took nothing), none taken twice.
    const orphans = await pool.query(
      `SELECT h.generation_id FROM ${table('holds')} AS h LEFT JOIN ${table('generations')} AS g ON g.id = h.generation_id WHERE g.id IS NULL`,
    );
    expect(orphans.rows).toEqual([]);
    const twice = await pool.query(
      `SELECT generation_id FROM ${table('account_entries')} WHERE kind = 'hold' GROUP BY 1 HAVING count(*) > 1`,
    );
    expect(twice.rows).toEqual([]);

    for (const accountId of accountIds) {
      const account = (await repository.accounts.get(accountId))!;
      const entries = await repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 1000 });
      expect(
        entries.map((entry) => entry.sequence),
        accountId,
      ).toEqual(Array.from({ length: account.entryCount }, (_, index) => index + 1));
      // One hold entry per hold row, none for a refused call; what is held is what the open holds add up to.
      const holds = await pool.query(
        `SELECT count(*)::int AS n, coalesce(sum(points) FILTER (WHERE status = 'held'), 0)::text AS points, coalesce(sum(cost_usd) FILTER (WHERE status = 'held'), 0)::text AS usd FROM ${table('holds')} WHERE account_id = $1`,
        [accountId],
      );
      expect(entries.filter((entry) => entry.kind === 'hold').length, accountId).toBe(holds.rows[0].n);
      expect(account.held.points, accountId).toBe(Number(holds.rows[0].points));
      expect(Number(account.held.costUsd), accountId).toBeCloseTo(Number(holds.rows[0].usd), 12);
      expect(account.available.points, accountId).toBeGreaterThanOrEqual(0);
      const last = entries[entries.length - 1]!;
      expect({ balance: last.balanceAfter, held: last.heldAfter }, accountId).toEqual({ balance: account.balance, held: account.held });
      expect((await tracker.reconcileAccount(accountId)).drift, accountId).toBe(false);
    }
  });
});

describe('postgres: creations group commit when the statement cannot be sent', () => {
  it('a batch that never reached the server (the pool gives no connection in time) fails every call at once, writing nothing: not sent again call by call, each call waiting for the pool once more', async () => {
    // A pool of one connection, held elsewhere: every query waits connectionTimeoutMillis, then fails.
    const tiny = new pg.Pool({ ...db.server.connection, max: 1, connectionTimeoutMillis: 150 });
    tiny.on('error', () => {});
    const attempts: string[] = [];
    const starved = postgresRepository(
      {
        query(config: PostgresQueryConfig) {
          attempts.push(config.name ?? config.text);
          return tiny.query(config as pg.QueryConfig) as never;
        },
      },
      { schema: db.schema, tablePrefix: db.tablePrefix, changeFeed: false },
    );
    let held: pg.PoolClient | null = await tiny.connect();
    try {
      const at = later(2);
      const calls: Call[] = Array.from({ length: 12 }, (_, index) => ({
        id: `starved-${index}`,
        accountId: 'account-starved',
        units: { points: 1 },
        key: `key-starved-${index}`,
      }));
      const startedAt = performance.now();
      const results = await Promise.allSettled(
        calls.map((call) =>
          starved.insertAttached(
            { kind: 'generation', record: recordOf(call, at), castId: null, cookId: null, at, caps },
            { hold: call.units },
          ),
        ),
      );
      const elapsedMs = performance.now() - startedAt;
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect(String((result as PromiseRejectedResult).reason)).toMatch(/timeout/i);
      }
      // One statement tried (the batch), one wait for the pool: not 1 + 12 of each.
      expect(attempts.filter((name) => name.includes('insert_generations') || name.includes('insert_attached_generation'))).toHaveLength(1);
      expect(elapsedMs).toBeLessThan(12 * 150);
      held.release();
      held = null;
      expect(await repository.generations.get(calls.map((call) => call.id))).toEqual([]);
      expect(await repository.accounts.get('account-starved')).toBeNull();
    } finally {
      held?.release();
      await tiny.end();
    }
  });
});

describe('postgres: creations group commit against a lone creation of the same key', () => {
  it('a batch (account locked, then the key inserted) and a lone insert_attached_generation of one of its keys on the same account (key inserted, then the account) deadlock; the server aborts one, it is sent again, and each caller gets the one record, held once', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), error: (message: string) => warnings.push(message) };
    const batching = db.another({ changeFeed: false, logger });
    const lone = db.another({ changeFeed: false, logger });
    const accountId = 'account-crossed';
    await tracker.credit(accountId, { points: 100, reason: 'grant', idempotencyKey: 'grant-crossed' });
    const { pool, schema, tablePrefix } = db;
    const waiting = async () =>
      Number(
        (await pool.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))
          .rows[0].n,
      );
    const until = async (count: number) => {
      for (let tries = 0; (await waiting()) < count; tries += 1) {
        if (tries > 200) throw new Error(`fewer than ${count} statements waiting on a lock`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const at = later(3);
    const create = (repo: PostgresRepository, call: Call) =>
      repo.insertAttached({ kind: 'generation', record: recordOf(call, at), castId: null, cookId: null, at, caps }, { hold: call.units });

    // A third connection holds the account, so the batch queues on its lock first, then the lone call behind it.
    const holder = await pool.connect();
    let released = false;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${schema}"."${tablePrefix}accounts" WHERE account_id = $1 FOR UPDATE`, [accountId]);
      const batch = Promise.allSettled([
        create(batching, { id: 'crossed-0', accountId, units: { points: 1 }, key: 'key-crossed' }),
        create(batching, { id: 'crossed-1', accountId, units: { points: 1 }, key: 'key-crossed-1' }),
      ]);
      await until(1);
      const single = create(lone, { id: 'crossed-lone', accountId, units: { points: 1 }, key: 'key-crossed' }).then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      );
      await until(2);
      await holder.query('COMMIT');
      holder.release();
      released = true;
      const [batched, alone] = [await batch, await single];

      for (const result of [...batched, alone]) expect(result.status).toBe('fulfilled');
      const outcomes = [batched[0]!, alone].map(
        (result) => (result as PromiseFulfilledResult<{ outcome: string; record: Generation }>).value,
      );
      expect(outcomes.map((result) => result.outcome).sort()).toEqual(['created', 'existing']);
      expect(outcomes[0]!.record.id).toBe(outcomes[1]!.record.id);
      const account = (await repository.accounts.get(accountId))!;
      expect(account).toMatchObject({ held: { points: 2 }, entryCount: 3 });
      const entries = await repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 10 });
      expect(entries.map((entry) => entry.sequence)).toEqual([1, 2, 3]);
      // The deadlock itself (known, not fixed: the lone statement inserts its key before it locks
      // the account, the batch locks its accounts before it inserts the keys). It costs the victim
      // deadlock_timeout (1 s) and a resend, no money. Once both take the account first, invert this.
      expect(warnings.some((warning) => warning.includes('40P01'))).toBe(true);
    } finally {
      if (!released) {
        await holder.query('ROLLBACK').catch(() => {});
        holder.release();
      }
    }
  });
});
