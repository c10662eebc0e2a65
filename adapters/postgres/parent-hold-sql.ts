/**
 * Parent holds in SQL (migration 0009): the insert of a cast or cook with `accounting.hold`
 * (`parentHoldAtCreation`), as ONE statement. The rest of a parent hold's life is written by the
 * statements that already write what it follows: a child's draw by `insert_attached_generation`
 * (creation-sql.ts), its settlement against the reservation by `settle_generations`
 * (settle-generations.ts), and the release when the parent ends by the trigger of migration 0009,
 * whichever statement ends it.
 *
 * ```sql
 * WITH key_holder AS (SELECT * FROM casts WHERE idempotency_key = $key),     -- the key first: a repeat takes no hold
 *      account_old AS (SELECT * FROM accounts WHERE account_id = $initiator FOR UPDATE),  -- only when the key is free
 *      decision AS (SELECT <existing | insufficient (coverageOf) | accepted> FROM <the account, or zeros>),
 *      inserted AS (INSERT INTO casts ... WHERE accepted ON CONFLICT (idempotency_key) DO NOTHING RETURNING *),
 *      account_now AS (UPDATE accounts SET held + the hold ... WHERE EXISTS inserted / INSERT a new one),
 *      entry AS (INSERT INTO account_entries <'hold', cause 'parent'>),
 *      budget AS (INSERT INTO budgets <limit = the hold, reservation: account, free = the hold, 'held'>)
 * SELECT <outcome>, <the account as found, its shortfall>, <what was written>, <the record>
 * ```
 *
 * The account is locked before anything is written and decided on as locked, so the decision is
 * final: `insufficient` writes nothing. The parent's insert is the gate: the account, the entry and
 * the budget are written only if it stored the row; a same-key insert that committed after this
 * statement's snapshot makes it `conflict` (nothing written; the adapter reads that record by its
 * key, and takes no hold). Lock order: the account, then the new rows (a new parent row is locked
 * by nobody else).
 */
import { accountJson, accountOrEmpty, budgetJson, entryJson, type AccountTableNames } from './account-sql.js';
import { defineStatement, sql, type Statement } from './client.js';
import { selectList, type Column } from './rows.js';

/**
 * `casts_insert_hold` / `cooks_insert_hold`. Parameters: the parent's columns (as `castToRow` /
 * `cookToRow` name them), `hold_points`, `hold_usd` (NULL: the unit is not held). The hold's time
 * is the parent's `updated_at`.
 *
 * One row, always: `outcome` ('created' | 'existing' | 'insufficient' | 'conflict'), `a_unit` and
 * `a_found` (the unit the account cannot cover, the account as found), `a_now`, `a_entry`,
 * `b_now` (what the hold wrote, when created), then the record's columns (created or existing).
 */
export function insertWithHoldStatement(label: string, kind: 'cast' | 'cook', table: string, columns: readonly Column[], tables: AccountTableNames): Statement {
  const { accounts: A, accountEntries: E, budgets: B } = tables;
  return defineStatement(label, (param) => {
    const hp = param('hold_points', 'bigint');
    const hu = param('hold_usd', 'numeric');
    const account = param('initiator_account_id', 'text');
    const at = param('updated_at', 'timestamptz');
    const values = columns.map((column) => param(column.name, column.type)).join(', ');
    return sql`
      WITH key_holder AS (SELECT k.* FROM ${table} AS k WHERE k.idempotency_key = ${param('idempotency_key', 'text')}),
      account_old AS (SELECT a.* FROM ${A} AS a WHERE a.account_id = ${account} AND NOT EXISTS (SELECT 1 FROM key_holder) FOR UPDATE),
      decision AS (
        SELECT f.*, s.unit,
          CASE WHEN EXISTS (SELECT 1 FROM key_holder) THEN 'existing' WHEN s.unit IS NOT NULL THEN 'insufficient' ELSE 'accepted' END AS verdict
        FROM (${accountOrEmpty(account, 'a')} FROM (SELECT 1) AS one LEFT JOIN account_old AS a ON true) AS f
        CROSS JOIN LATERAL (
          SELECT CASE WHEN ${hp} IS NOT NULL AND ${hp} > f.balance_points - f.held_points THEN 'points'
                      WHEN ${hu} IS NOT NULL AND ${hu} > f.balance_usd - f.held_usd THEN 'costUsd' END AS unit
        ) AS s
      ),
      inserted AS (
        INSERT INTO ${table} (${columns.map((column) => column.name).join(', ')})
        SELECT ${values} FROM decision AS d WHERE d.verdict = 'accepted'
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING *
      ),
      account_written AS (
        UPDATE ${A} AS t SET held_points = t.held_points + coalesce(${hp}, 0), held_usd = t.held_usd + coalesce(${hu}, 0),
          entry_count = t.entry_count + 1, version = t.version + 1, updated_at = ${at}
        FROM account_old AS o
        WHERE t.account_id = o.account_id AND EXISTS (SELECT 1 FROM inserted)
        RETURNING t.*
      ),
      account_created AS (
        INSERT INTO ${A} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
        SELECT ${account}, 0, 0, coalesce(${hp}, 0), coalesce(${hu}, 0), 0, 0, 1, 1, ${at}
        FROM inserted AS i WHERE NOT EXISTS (SELECT 1 FROM account_old)
        RETURNING *
      ),
      account_now AS (SELECT * FROM account_written UNION ALL SELECT * FROM account_created),
      entry AS (
        INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, parent_kind, parent_id,
          balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
        SELECT a.account_id, a.entry_count, 'hold', coalesce(${hp}, 0), coalesce(${hu}, 0), 'parent', '${kind}', i.id,
          a.balance_points, a.balance_usd, a.held_points, a.held_usd, ${at}
        FROM inserted AS i CROSS JOIN account_now AS a
        RETURNING *
      ),
      budget AS (
        INSERT INTO ${B} (parent_kind, parent_id, limit_points, limit_usd, reservation_account_id, free_points, free_usd, reservation_status)
        SELECT '${kind}', i.id, ${hp}, ${hu}, ${account}, coalesce(${hp}, 0), coalesce(${hu}, 0), 'held' FROM inserted AS i
        RETURNING *
      ),
      record AS (
        SELECT i.* FROM inserted AS i
        UNION ALL
        SELECT k.* FROM key_holder AS k
      )
      SELECT
        CASE WHEN d.verdict <> 'accepted' THEN d.verdict WHEN EXISTS (SELECT 1 FROM inserted) THEN 'created' ELSE 'conflict' END AS outcome,
        d.unit AS a_unit, ${accountJson('d')} AS a_found,
        (SELECT ${accountJson('n')} FROM account_now AS n) AS a_now,
        (SELECT ${entryJson('e')} FROM entry AS e) AS a_entry,
        (SELECT ${budgetJson('b')} FROM budget AS b) AS b_now,
        ${selectList('r', columns)}
      FROM decision AS d
      LEFT JOIN record AS r ON true`;
  });
}
