/**
 * Every statement the adapter sends, built once per repository from its table names.
 *
 * Each port write is ONE statement on one row, shaped the same way:
 *
 * ```sql
 * WITH old AS (SELECT * FROM t WHERE id = $id FOR UPDATE),         -- lock the row, read its latest version
 *      written AS (UPDATE t SET ... FROM old WHERE t.id = old.id AND <gate> RETURNING t.*)
 * SELECT true, old.status, written.* FROM written, old             -- changed: the row as written
 * UNION ALL
 * SELECT false, old.status, old.* FROM old WHERE NOT EXISTS (SELECT FROM written)  -- unchanged: as it stands
 * ```
 *
 * The gate (the reducer's "if ... return unchanged") is in the WHERE clause, the new values (the
 * reducer's body) in SET, the status rules in CASE expressions, and `old.status` is the status
 * before the write (`WriteResult.previousStatus`). Zero rows means the record does not exist.
 * Because `old` locks the row first, the UPDATE works on the newest version even under contention,
 * and a repeated write finds its gate closed: nothing counts twice.
 *
 * The roll-ups extend that shape across rows, in the order the data flows (generation, cast, cook):
 * the child's own transition is the gate (`UPDATE generations ... WHERE status IN ('pending',
 * 'processing') RETURNING`, a cast's `running -> terminal` UPDATE), and each parent's UPDATE reads
 * only the rows that UPDATE returned, so a repeat (the gate closed) applies nothing. A parent row
 * holds aggregates only (counts, money, status, times, capped id lists), so every statement costs
 * the same however many children a parent has in flight.
 */
import { defineStatement, sql, type Parameter, type Statement } from './client.js';
import {
  CAST_COLUMNS,
  COOK_COLUMNS,
  GENERATION_COLUMNS,
  CAST_AGGREGATE_COLUMNS,
  COOK_AGGREGATE_COLUMNS,
  epochMs,
  selectList,
  type Column,
} from './rows.js';
import { insertWithHoldStatement } from './parent-hold-sql.js';
import { applyToCookStage, assignFrom, COOK_APPLY_STAGE_COLUMNS, elapsedMs, writtenElseOld } from './rollup-sql.js';

/** Fully qualified table names, ready to splice into SQL. */
export interface TableNames {
  readonly generations: string;
  readonly casts: string;
  readonly cooks: string;
  readonly migrations: string;
  /** The change log (migration 0002): one row per write, read by the change feed to catch up. */
  readonly changes: string;
  /** How far the change log has been pruned. */
  readonly changesHorizon: string;
  /** Parents migration 0003 found with open entries naming missing or finished children, for reconcile. */
  readonly reconcileQueue: string;
  /** Accounts (migration 0004): one row per account, its ledger entries, holds, parents' budgets. */
  readonly accounts: string;
  readonly accountEntries: string;
  readonly holds: string;
  readonly budgets: string;
  /** The function (migration 0004) the creation statement calls to roll back a hold that lost a race. */
  readonly holdRaced: string;
  /** The function (migration 0008) `settle_generations` calls to refuse a hold whose account has no row. */
  readonly holdAccountMissing: string;
  /** Stored price tables (migration 0006): one row per revision. */
  readonly priceTables: string;
}

const OPEN_GENERATION = `('pending', 'processing')`;

/** The `old` CTE: the row, locked, at its newest committed version. */
function lockedRow(table: string, param: Parameter): string {
  return `old AS (SELECT * FROM ${table} WHERE id = ${param('id', 'text')} FOR UPDATE)`;
}

/** The final SELECT of a conditional write: the written row, or the row as it stands. */
function writeResult(columns: readonly Column[], extra: { changed?: string; unchanged?: string } = {}): string {
  return sql`
    SELECT true AS changed, old.status AS previous_status${extra.changed ? `, ${extra.changed}` : ''}, ${selectList('written', columns)}
    FROM written CROSS JOIN old
    UNION ALL
    SELECT false AS changed, old.status AS previous_status${extra.unchanged ? `, ${extra.unchanged}` : ''}, ${selectList('old', columns)}
    FROM old WHERE NOT EXISTS (SELECT 1 FROM written)`;
}

/**
 * One conditional write on one row, with the gate and the assignments over `old`; `extra`: more
 * result columns over `old`, after `previous_status`.
 */
function conditionalWrite(
  label: string,
  table: string,
  columns: readonly Column[],
  body: (param: Parameter) => { gate: string; assignments: string; from?: string; extra?: string },
): Statement {
  return defineStatement(label, (param) => {
    const lock = lockedRow(table, param);
    const { gate, assignments, from, extra } = body(param);
    return sql`
      WITH ${lock},
      written AS (
        UPDATE ${table} AS t SET ${assignments}
        FROM old${from ? ` ${from}` : ''}
        WHERE t.id = old.id AND (${gate})
        RETURNING t.*
      )
      ${writeResult(columns, extra === undefined ? {} : { changed: extra, unchanged: extra })}`;
  });
}

/**
 * Whether the parent `id` (a SQL expression) had a parent hold's reservation still held, as the
 * statement's snapshot shows it: a result column that tells the adapter a write that ended it made
 * a release to report (migration 0009's trigger writes it after the statement; see `released`
 * in account-sql.ts).
 */
export function reservationHeld(budgets: string, kind: 'cast' | 'cook', id: string): string {
  return `EXISTS (SELECT 1 FROM ${budgets} AS rb WHERE rb.parent_kind = '${kind}' AND rb.parent_id = ${id} AND rb.reservation_status = 'held')`;
}

function insertStatement(label: string, table: string, columns: readonly Column[], budget?: { readonly table: string; readonly kind: 'cast' | 'cook' }): Statement {
  return defineStatement(label, (param) => {
    const values = columns.map((column) => param(column.name, column.type)).join(', ');
    // A parent started with a budget: its budget row, stored by the statement that stores the
    // parent (only if it did: a repeated key writes nothing).
    const budgetInsert =
      budget === undefined
        ? ''
        : `,
      budget AS (
        INSERT INTO ${budget.table} (parent_kind, parent_id, limit_points, limit_usd)
        SELECT '${budget.kind}', i.id, ${param('budget_points', 'bigint')}, ${param('budget_usd', 'numeric')} FROM inserted AS i
      )`;
    // A key already used returns the first record and writes nothing: the unique index makes the
    // check and the write one atomic step. A key taken by a transaction that committed after this
    // statement began is not visible here; the caller reads it with `selectByIdempotencyKey`.
    return sql`
      WITH inserted AS (
        INSERT INTO ${table} (${columns.map((column) => column.name).join(', ')})
        VALUES (${values})
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING *
      )${budgetInsert}
      SELECT true AS created, ${selectList('inserted', columns)} FROM inserted
      UNION ALL
      SELECT false AS created, ${selectList('existing', columns)} FROM ${table} AS existing
      WHERE existing.idempotency_key = ${param('idempotency_key', 'text')} AND NOT EXISTS (SELECT 1 FROM inserted)`;
  });
}

function selectStatements(label: string, table: string, columns: readonly Column[]) {
  return {
    byIds: defineStatement(`${label}_get`, (param) => `SELECT ${selectList('t', columns)} FROM ${table} AS t WHERE t.id = ANY(${param('ids', 'text[]')})`),
    byIdempotencyKey: defineStatement(
      `${label}_by_key`,
      (param) => `SELECT false AS created, ${selectList('t', columns)} FROM ${table} AS t WHERE t.idempotency_key = ${param('idempotency_key', 'text')}`,
    ),
  };
}

/** `SET a = $a, b = $b, ...` for the aggregates `replaceAggregates` writes (all but `version`). */
function aggregateAssignments(aggregates: readonly Column[], param: Parameter): string {
  return aggregates
    .filter((column) => column.name !== 'version')
    .map((column) => `${column.name} = ${param(column.name, column.type)}`)
    .join(', ');
}

/**
 * The apply of an ended cast to its cook, as CTEs of the statement that ended it: `piece` (the
 * cast's contribution, from `ended`, a relation of cast rows this statement moved from running to
 * a terminal status), `cook_old` (the cook, locked AFTER the cast: lock order cast, cook),
 * `cook_next` (`applyToCook` of the piece) and `cook_written`.
 */
function castPieceToCook(K: string, ended: string, at: string): string {
  return sql`
      piece AS (
        SELECT 'cast'::text AS kind, e.id AS child_id, e.status, 0::bigint AS points_spent, 0::bigint AS protocol_net_points,
          0::numeric AS cost_usd, e.completed_at AS finished_at, NULL::boolean AS piece, e.cook_id
        FROM ${ended} AS e WHERE e.cook_id IS NOT NULL
      ),
      cook_old AS (SELECT * FROM ${K} WHERE id = (SELECT cook_id FROM piece) FOR UPDATE),
      cook_next AS (${applyToCookStage('cook_old', 'piece', 'c.cook_id = p.id', at)}),
      cook_written AS (
        UPDATE ${K} AS t SET ${assignFrom('s', COOK_APPLY_STAGE_COLUMNS)}
        FROM cook_next AS s WHERE t.id = s.id AND s.applies
        RETURNING t.*
      )`;
}

/**
 * The result row of a cast's write (`CastEnding`): the cast (`c_`, with `c_changed` and
 * `c_previous_status`) as `cast_row` holds it, and the cook the piece was applied to (`k_`, with
 * `k_present`), from the CTEs of {@link castPieceToCook}.
 */
function castEndingResult(castRow: string, changed: string, budgets: string): string {
  return sql`
      SELECT ${changed} AS c_changed, old.status AS c_previous_status, ${selectList('n', CAST_COLUMNS, 'c_')},
        k.id IS NOT NULL AS k_present, true AS k_changed, ko.status AS k_previous_status, ${selectList('k', COOK_COLUMNS, 'k_')},
        ${reservationHeld(budgets, 'cast', 'n.id')} AS c_reserved, ${reservationHeld(budgets, 'cook', 'k.id')} AS k_reserved
      FROM old CROSS JOIN ${castRow} AS n
      LEFT JOIN cook_written AS k ON true
      LEFT JOIN cook_old AS ko ON true`;
}

/**
 * Parents maintenance must visit, paged by id: running ones with nothing in flight and no write
 * since `idle_before` (to expire), cancelled ones with something still in flight (a cancellation
 * cascade a crash cut short), both through the `watched` flag and its partial index; and those
 * migration 0003 queued for reconcile.
 */
function maintenanceStatements(label: string, table: string, queue: string, kind: 'cast' | 'cook', cascadeCut: string) {
  const build = (paged: boolean) =>
    defineStatement(`${label}_maintenance${paged ? '_after' : ''}`, (param) => {
      const limit = param('limit', 'integer');
      const after = (column: string) => (paged ? `AND ${column} > ${param('after_id', 'text')}` : '');
      return sql`
      WITH candidates AS (
        (SELECT w.id FROM ${table} AS w
         WHERE w.watched
           AND ((w.status = 'running' AND w.in_flight_count = 0 AND w.updated_at < ${param('idle_before', 'timestamptz')})
             OR (w.status = 'cancelled' AND ${cascadeCut}))
           ${after('w.id')}
         ORDER BY w.id LIMIT ${limit})
        UNION
        (SELECT q.id FROM ${queue} AS q WHERE q.kind = '${kind}' ${after('q.id')} ORDER BY q.id LIMIT ${limit})
      )
      SELECT ${selectList('t', kind === 'cast' ? CAST_COLUMNS : COOK_COLUMNS)} FROM ${table} AS t
      WHERE t.id IN (SELECT id FROM candidates)
      ORDER BY t.id
      LIMIT ${limit}`;
    });
  return { first: build(false), after: build(true) };
}

/**
 * Open children of a parent, oldest first, at most `limit` of each, as two jsonb arrays of ids.
 * Each sub-select matches a partial index of migration 0003 exactly (the status literals are in
 * the query, not parameters, so the planner can prove the index's predicate).
 */
function openChildrenStatement(label: string, G: string, C: string, link: 'cast_id' | 'cook_id'): Statement {
  return defineStatement(label, (param) => {
    const parent = param('parent_id', 'text');
    const limit = param('limit', 'integer');
    const castIds =
      link === 'cook_id'
        ? `to_jsonb(ARRAY(
            SELECT c.id FROM ${C} AS c WHERE c.cook_id = ${parent} AND c.status = 'running'
            ORDER BY c.started_at, c.id LIMIT ${limit}))`
        : `'[]'::jsonb`;
    return sql`
      SELECT
        to_jsonb(ARRAY(
          SELECT g.id FROM ${G} AS g WHERE g.${link} = ${parent} AND g.status IN ${OPEN_GENERATION}
          ORDER BY g.request_timestamp, g.id LIMIT ${limit})) AS generation_ids,
        ${castIds} AS cast_ids`;
  });
}

export interface GenerationListShape {
  readonly castId: boolean;
  readonly cookId: boolean;
  readonly masterAccountId: boolean;
  readonly toolId: boolean;
  readonly statuses: boolean;
  readonly after: boolean;
  readonly order: 'asc' | 'desc';
}

export function buildStatements(tables: TableNames) {
  const { generations: G, casts: C, cooks: K, reconcileQueue: Q } = tables;

  const listCache = new Map<string, Statement>();
  /** One statement per combination of filters, so each uses its own index. */
  function listGenerations(shape: GenerationListShape): Statement {
    const key = JSON.stringify(shape);
    let statement = listCache.get(key);
    if (!statement) {
      statement = defineStatement(`generations_list`, (param) => {
        const conditions: string[] = [];
        if (shape.castId) conditions.push(`t.cast_id = ${param('cast_id', 'text')}`);
        if (shape.cookId) conditions.push(`t.cook_id = ${param('cook_id', 'text')}`);
        if (shape.masterAccountId) conditions.push(`t.master_account_id = ${param('master_account_id', 'text')}`);
        if (shape.toolId) conditions.push(`t.tool_id = ${param('tool_id', 'text')}`);
        if (shape.statuses) conditions.push(`t.status = ANY(${param('statuses', 'text[]')})`);
        const direction = shape.order === 'asc' ? 'ASC' : 'DESC';
        if (shape.after) {
          conditions.push(`(t.request_timestamp, t.id) ${shape.order === 'asc' ? '>' : '<'} (${param('after_timestamp', 'timestamptz')}, ${param('after_id', 'text')})`);
        }
        return sql`
          SELECT ${selectList('t', GENERATION_COLUMNS)} FROM ${G} AS t
          ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
          ORDER BY t.request_timestamp ${direction}, t.id ${direction}
          LIMIT ${param('limit', 'integer')}`;
      });
      listCache.set(key, statement);
    }
    return statement;
  }

  const generations = {
    insert: insertStatement('generations_insert', G, GENERATION_COLUMNS),
    ...selectStatements('generations', G, GENERATION_COLUMNS),
    list: listGenerations,
    findStale: defineStatement('generations_stale', (param) => sql`
      SELECT ${selectList('t', GENERATION_COLUMNS)} FROM ${G} AS t
      WHERE t.status IN ${OPEN_GENERATION} AND t.updated_at < ${param('updated_before', 'timestamptz')}
      ORDER BY t.updated_at, t.id
      LIMIT ${param('limit', 'integer')}`),
    // startGeneration: pending -> processing.
    start: conditionalWrite('generations_start', G, GENERATION_COLUMNS, (param) => ({
      gate: `old.status = 'pending'`,
      assignments: `status = 'processing', started_at = ${param('at', 'timestamptz')}, version = old.version + 1, updated_at = ${param('at', 'timestamptz')}`,
    })),
    // recordGenerationProgress: forward only, while open; starts a pending generation.
    recordProgress: conditionalWrite('generations_progress', G, GENERATION_COLUMNS, (param) => ({
      gate: `old.status IN ${OPEN_GENERATION} AND ${param('progress', 'numeric')} >= old.progress`,
      assignments: `status = 'processing', started_at = coalesce(old.started_at, ${param('at', 'timestamptz')}),
        progress = ${param('progress', 'numeric')}, version = old.version + 1, updated_at = ${param('at', 'timestamptz')}`,
    })),
    // recordGenerationDelivery (checkDelivery): finished, with someone to notify, not yet recorded.
    recordDelivery: conditionalWrite('generations_delivery', G, GENERATION_COLUMNS, (param) => ({
      gate: `old.status NOT IN ${OPEN_GENERATION} AND old.delivery_status = 'pending'`,
      assignments: `delivery_status = ${param('outcome', 'text')},
        delivery_attempts = coalesce(${param('attempts', 'integer')}, old.delivery_attempts + 1),
        delivery_timestamp = ${param('at', 'timestamptz')}, delivery_error = ${param('error', 'text')},
        version = old.version + 1, updated_at = ${param('at', 'timestamptz')}`,
    })),
  };

  const casts = {
    insert: insertStatement('casts_insert', C, CAST_COLUMNS),
    insertWithBudget: insertStatement('casts_insert_budget', C, CAST_COLUMNS, { table: tables.budgets, kind: 'cast' }),
    insertWithHold: insertWithHoldStatement('casts_insert_hold', 'cast', C, CAST_COLUMNS, tables),
    ...selectStatements('casts', C, CAST_COLUMNS),
    /**
     * `endCast` for `transitionCast`: only a running cast moves (`finish`, `cancel`; `expire` needs
     * nothing in flight), and when it is a cook piece, the same statement applies it to the cook.
     * The cast's UPDATE is the gate: a repeat finds it ended, writes nothing and applies nothing.
     * Locks the cast, then the cook.
     */
    transition: defineStatement('casts_end', (param) => {
      const transition = param('transition', 'text');
      const at = param('at', 'timestamptz');
      return sql`
      WITH ${lockedRow(C, param)},
      next AS (
        SELECT CASE
          WHEN old.status <> 'running' THEN NULL
          WHEN ${transition} = 'finish' THEN 'completed'
          WHEN ${transition} = 'cancel' THEN 'cancelled'
          WHEN ${transition} = 'expire' AND old.in_flight_count = 0 THEN CASE WHEN old.total_steps IS NULL THEN 'completed' ELSE 'failed' END
        END AS status
        FROM old
      ),
      written AS (
        UPDATE ${C} AS t SET status = next.status, completed_at = ${at}, duration_ms = ${elapsedMs('old.started_at', at)},
          version = old.version + 1, updated_at = ${at}
        FROM old, next
        WHERE t.id = old.id AND next.status IS NOT NULL
        RETURNING t.*
      ),
      ${castPieceToCook(K, 'written', at)},
      cast_now AS (${writtenElseOld('written', 'old')})
      ${castEndingResult('cast_now', 'EXISTS (SELECT 1 FROM written)', tables.budgets)}`;
    }),
    /**
     * Reconcile's write: the recomputed aggregates, only at the expected version (a CAS). If that
     * moves the cast from running to a terminal status and it is a cook piece, the piece's apply to
     * the cook in the same statement; the cast's row in the repair queue goes too. No row when the
     * version moved (or the cast is gone).
     */
    replaceAggregates: defineStatement('casts_replace', (param) => {
      const expected = param('expected_version', 'integer');
      const at = param('updated_at', 'timestamptz');
      return sql`
      WITH ${lockedRow(C, param)},
      written AS (
        UPDATE ${C} AS t SET ${aggregateAssignments(CAST_AGGREGATE_COLUMNS, param)}, version = ${expected} + 1
        FROM old WHERE t.id = old.id AND old.version = ${expected}
        RETURNING t.*
      ),
      dequeued AS (DELETE FROM ${Q} AS q WHERE q.kind = 'cast' AND q.id IN (SELECT id FROM written)),
      ended AS (SELECT w.* FROM written AS w CROSS JOIN old WHERE old.status = 'running' AND w.status <> 'running'),
      ${castPieceToCook(K, 'ended', at)}
      ${castEndingResult('written', 'true', tables.budgets)}`;
    }),
    maintenance: maintenanceStatements('casts', C, Q, 'cast', 'w.in_flight_count > 0'),
    summarize: defineStatement('casts_summary', (param) => summarizeGenerations(G, 'cast_id', param, { pieces: false })),
    openChildren: openChildrenStatement('casts_open_children', G, C, 'cast_id'),
  };

  const cooks = {
    insert: insertStatement('cooks_insert', K, COOK_COLUMNS),
    insertWithBudget: insertStatement('cooks_insert_budget', K, COOK_COLUMNS, { table: tables.budgets, kind: 'cook' }),
    insertWithHold: insertWithHoldStatement('cooks_insert_hold', 'cook', K, COOK_COLUMNS, tables),
    ...selectStatements('cooks', K, COOK_COLUMNS),
    // transitionCook: finish/cancel from running|paused, pause from running, resume from paused,
    // expire a running cook with nothing in flight (finished as by `finish`).
    transition: conditionalWrite('cooks_transition', K, COOK_COLUMNS, (param) => {
      const transition = param('transition', 'text');
      const at = param('at', 'timestamptz');
      const finished = `CASE WHEN old.generated_count > 0 THEN 'completed' ELSE 'failed' END`;
      return {
        from: `CROSS JOIN LATERAL (
          SELECT CASE
            WHEN ${transition} = 'finish' AND old.status IN ('running', 'paused') THEN ${finished}
            WHEN ${transition} = 'cancel' AND old.status IN ('running', 'paused') THEN 'cancelled'
            WHEN ${transition} = 'pause' AND old.status = 'running' THEN 'paused'
            WHEN ${transition} = 'resume' AND old.status = 'paused' THEN 'running'
            WHEN ${transition} = 'expire' AND old.status = 'running' AND old.in_flight_count = 0 THEN ${finished}
          END AS status
        ) AS next
        CROSS JOIN LATERAL (SELECT next.status IN ('completed', 'failed', 'cancelled') AS ends) AS e`,
        gate: `next.status IS NOT NULL`,
        assignments: `status = next.status,
          completed_at = CASE WHEN e.ends THEN ${at} ELSE old.completed_at END,
          duration_ms = CASE WHEN e.ends THEN ${elapsedMs('old.started_at', at)} ELSE old.duration_ms END,
          version = old.version + 1, updated_at = ${at}`,
        extra: `${reservationHeld(tables.budgets, 'cook', 'old.id')} AS reserved`,
      };
    }),
    /** Reconcile's write: a CAS on the version; the cook's row in the repair queue goes too. */
    replaceAggregates: defineStatement('cooks_replace', (param) => {
      const expected = param('expected_version', 'integer');
      return sql`
      WITH ${lockedRow(K, param)},
      written AS (
        UPDATE ${K} AS t SET ${aggregateAssignments(COOK_AGGREGATE_COLUMNS, param)}, version = ${expected} + 1
        FROM old WHERE t.id = old.id AND old.version = ${expected}
        RETURNING t.*
      ),
      dequeued AS (DELETE FROM ${Q} AS q WHERE q.kind = 'cook' AND q.id IN (SELECT id FROM written))
      SELECT true AS changed, old.status AS previous_status, ${selectList('written', COOK_COLUMNS)}, ${reservationHeld(tables.budgets, 'cook', 'old.id')} AS reserved
      FROM written CROSS JOIN old`;
    }),
    maintenance: maintenanceStatements('cooks', K, Q, 'cook', '(w.in_flight_count > 0 OR w.open_generation_count > 0)'),
    summarize: defineStatement('cooks_summary', (param) => sql`
      SELECT generations.*, pieces.*
      FROM (${summarizeGenerations(G, 'cook_id', param, { pieces: true })}) AS generations
      CROSS JOIN (
        SELECT
          count(*) FILTER (WHERE c.status = 'completed') AS casts_completed,
          count(*) FILTER (WHERE c.status = 'failed') AS casts_failed,
          count(*) FILTER (WHERE c.status NOT IN ('running', 'completed', 'failed')) AS casts_cancelled,
          ${epochMs(`max(c.completed_at) FILTER (WHERE c.status <> 'running')`)} AS casts_last_finished_at,
          count(*) FILTER (WHERE c.status = 'running') AS casts_unfinished,
          (SELECT coalesce(jsonb_agg(first.id ORDER BY first.started_at, first.id), '[]'::jsonb)
             FROM (SELECT f.id, f.started_at FROM ${C} AS f WHERE f.cook_id = ${param('parent_id', 'text')}
                   ORDER BY f.started_at, f.id LIMIT ${param('max_embedded_ids', 'integer')}) AS first) AS casts_first_ids
        FROM ${C} AS c WHERE c.cook_id = ${param('parent_id', 'text')}
      ) AS pieces`),
    openChildren: openChildrenStatement('cooks_open_children', G, C, 'cook_id'),
  };

  return { generations, casts, cooks };
}

/**
 * Sums the generations below one parent, as stored: per-outcome counts, points and exact money of
 * the finished ones (and, for a cook, of those that are pieces), how many are unfinished, and the
 * first ids by (request time, id).
 */
function summarizeGenerations(G: string, link: 'cast_id' | 'cook_id', param: Parameter, { pieces }: { pieces: boolean }): string {
  const parent = param('parent_id', 'text');
  const finished = `g.status NOT IN ${OPEN_GENERATION}`;
  const isPiece = pieces ? 'g.cast_id IS NULL' : 'false';
  return sql`
    SELECT
      count(*) FILTER (WHERE g.status = 'success') AS success,
      count(*) FILTER (WHERE g.status = 'failed') AS failed,
      count(*) FILTER (WHERE g.status = 'cancelled_by_user') AS cancelled_by_user,
      count(*) FILTER (WHERE g.status = 'timeout') AS timeout,
      count(*) FILTER (WHERE g.status = 'success' AND ${isPiece}) AS piece_success,
      count(*) FILTER (WHERE g.status = 'failed' AND ${isPiece}) AS piece_failed,
      count(*) FILTER (WHERE g.status = 'cancelled_by_user' AND ${isPiece}) AS piece_cancelled_by_user,
      count(*) FILTER (WHERE g.status = 'timeout' AND ${isPiece}) AS piece_timeout,
      coalesce(sum(g.points_spent) FILTER (WHERE ${finished}), 0) AS points_spent,
      coalesce(sum(g.protocol_net_points) FILTER (WHERE ${finished}), 0) AS protocol_net_points,
      coalesce(sum(g.cost_usd) FILTER (WHERE ${finished}), 0)::text AS cost_usd,
      ${epochMs(`max(g.response_timestamp) FILTER (WHERE ${finished})`)} AS last_finished_at,
      count(*) FILTER (WHERE NOT (${finished})) AS unfinished,
      count(*) FILTER (WHERE NOT (${finished}) AND ${isPiece}) AS unfinished_pieces,
      (SELECT coalesce(jsonb_agg(first.id ORDER BY first.request_timestamp, first.id), '[]'::jsonb)
         FROM (SELECT f.id, f.request_timestamp FROM ${G} AS f WHERE f.${link} = ${parent}
               ORDER BY f.request_timestamp, f.id LIMIT ${param('max_embedded_ids', 'integer')}) AS first) AS first_ids
    FROM ${G} AS g WHERE g.${link} = ${parent}`;
}
