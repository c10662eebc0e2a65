/**
 * Why 64 concurrent holds on one account run far below the raw single-row UPDATE rate
 * (bench/pg-holds.ts): hand-written one-statement shapes of a hold, each run as 64 concurrent
 * calls over one pool of 50, in rounds, against the raw `UPDATE counter SET n = n + 1`.
 *
 * - raw: the raw single-row UPDATE.
 * - ledger: the account's UPDATE and its entry's INSERT, nothing else.
 * - generationOnly: a generation's INSERT (its change-feed trigger included), no account.
 * - ledgerThenGeneration: the three, the account locked LAST (its UPDATE runs after the insert).
 * - lockFirstThenGeneration: the three, the account locked FIRST (FOR UPDATE), as
 *   insert_attached_generation locks it today (before the generation's insert and the result).
 *
 * The ratios are taken within one run (the machine is shared): `node --import tsx bench/pg-hold-shapes.ts [rounds=20]`
 */
import { benchSchema, startBenchPostgres } from './postgres.js';
const postgres = await startBenchPostgres();
try {
  const pool = postgres.pool(50);
  const schema = benchSchema('diag');
  const repository = await postgres.repository(pool, schema);
  const t = repository.tables;
  await pool.query(`CREATE TABLE "${schema}".counter (id integer PRIMARY KEY, n bigint NOT NULL)`);
  await pool.query(`INSERT INTO "${schema}".counter VALUES (1, 0)`);
  await pool.query(`INSERT INTO ${t.accounts} (account_id, balance_points) VALUES ('a', 1000000000)`);
  let n = 0;
  const gen = () =>
    `INSERT INTO ${t.generations} (id, master_account_id, tool_id, tool_display_name, service_name, status, request_timestamp, notification_platform, delivery_status, updated_at) VALUES ('g' || $1::text, 'a', 't', 'T', 's', 'processing', now(), 'none', 'skipped', now())`;
  const shapes: Record<string, () => { text: string; values: unknown[] }> = {
    raw: () => ({ text: `UPDATE "${schema}".counter SET n = n + 1 WHERE id = 1`, values: [] }),
    ledger: () => ({
      text: `WITH a AS (UPDATE ${t.accounts} SET held_points = held_points + 10, entry_count = entry_count + 1 WHERE account_id = 'a' RETURNING *) INSERT INTO ${t.accountEntries} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id, balance_after_points, balance_after_usd, held_after_points, held_after_usd, at) SELECT 'a', a.entry_count, 'hold', 10, 0, 'generation', 'x', 0, 0, 0, 0, now() FROM a`,
      values: [],
    }),
    generationOnly: () => ({ text: gen(), values: [String(n++)] }),
    ledgerThenGeneration: () => ({
      text: `WITH a AS (UPDATE ${t.accounts} SET held_points = held_points + 10, entry_count = entry_count + 1 WHERE account_id = 'a' RETURNING *), e AS (INSERT INTO ${t.accountEntries} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id, balance_after_points, balance_after_usd, held_after_points, held_after_usd, at) SELECT 'a', a.entry_count, 'hold', 10, 0, 'generation', 'x', 0, 0, 0, 0, now() FROM a) ${gen()}`,
      values: [String(n++)],
    }),
    lockFirstThenGeneration: () => ({
      text: `WITH l AS (SELECT * FROM ${t.accounts} WHERE account_id = 'a' FOR UPDATE), g AS (${gen().replace("VALUES ('g' || $1::text, 'a', 't', 'T', 's', 'processing', now(), 'none', 'skipped', now())", "SELECT 'g' || $1::text, 'a', 't', 'T', 's', 'processing', now(), 'none', 'skipped', now() FROM l")} RETURNING *), a AS (UPDATE ${t.accounts} SET held_points = held_points + 10, entry_count = entry_count + 1 WHERE account_id = 'a' AND EXISTS (SELECT 1 FROM g) RETURNING *), e AS (INSERT INTO ${t.accountEntries} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id, balance_after_points, balance_after_usd, held_after_points, held_after_usd, at) SELECT 'a', a.entry_count, 'hold', 10, 0, 'generation', 'x', 0, 0, 0, 0, now() FROM a RETURNING *) SELECT (SELECT count(*) FROM e), (SELECT row_to_json(g) FROM g)`,
      values: [String(n++)],
    }),
  };
  for (const [name, shape] of Object.entries(shapes)) for (let i = 0; i < 64; i++) await pool.query(shape());
  const ms: Record<string, number> = {};
  const rounds = Number(process.argv[2] ?? 20);
  for (let round = 0; round < rounds; round++) {
    for (const [name, shape] of Object.entries(shapes)) {
      const start = performance.now();
      await Promise.all(Array.from({ length: 64 }, () => pool.query(shape())));
      ms[name] = (ms[name] ?? 0) + performance.now() - start;
    }
  }
  for (const [name, total] of Object.entries(ms))
    console.log(`${name}: ${((64 * rounds) / (total / 1000)).toFixed(0)}/s, ${(ms.raw! / total).toFixed(2)}x raw`);
  await pool.end();
} finally {
  await postgres.stop();
}
