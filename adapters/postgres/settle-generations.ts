/**
 * `settleGeneration` with group commit: the statement `settle_generations`, which settles a batch
 * of calls in ONE statement (one transaction), and the queue that forms the batches.
 *
 * Why: every completion below one cook updates the cook's row, so concurrent completions wait on
 * that row's lock one after another, each paying a statement's whole cost (parse, plan, the
 * generation's update, the change-feed triggers, the commit) while holding it. Sent together,
 * the calls that queued while the previous statement ran share one lock hold, one cook UPDATE and
 * one commit.
 *
 * What a caller sees is exactly what a statement of its own would have returned, had the calls of
 * its batch run one after another in queue order (their ordinals): the statement applies them in
 * that order, one stage per call (recursive chains of the same stages `rollup-sql.ts` defines), and
 * returns each call's view: its generation, and its cast and cook right after its own apply.
 * Duplicates of one generation in a batch: the first whose gate passes (by ordinal) wins, the rest
 * find the generation finished, as a repeat would. A cast that ends in the batch applies its piece
 * to the cook once, right after the step that ended it.
 *
 * The queue (batch-queue.ts, shared with the creations' group commit) sends the first call alone
 * at once, and what queues while a statement is in flight as the next batch (at most
 * {@link MAX_SETTLE_BATCH} calls); a batch that fails is sent again call by call, so a call that
 * cannot be settled fails alone.
 */
import { isTerminalParentStatus, type CastStatus } from 'genledger';
import type { AccountedSettlement } from 'genledger/adapter';
import { BatchQueue, type Ordinal } from './batch-queue.js';
import { accountJson, accountMissing, budgetJson, entryJson, holdSettlementFromJson } from './account-sql.js';
import { defineStatement, sql, type Parameter, type Statement } from './client.js';
import {
  castFromRow,
  CAST_COLUMNS,
  epochMs,
  columns,
  cookFromRow,
  COOK_APPLY_COLUMNS,
  COOK_COLUMNS,
  generationFromRow,
  GENERATION_COLUMNS,
  type Column,
  type Row,
  writeResultFromRow,
} from './rows.js';
import {
  applyToCastStage,
  applyToCookStage,
  assignFrom,
  CAST_APPLY_STAGE_COLUMNS,
  COOK_APPLY_STAGE_COLUMNS,
  finishGeneration,
} from './rollup-sql.js';
import { reservationHeld, type TableNames } from './statements.js';

/** A cook's columns no apply changes: sent once per batch (see `cook_fixed`). */
const COOK_FIXED_COLUMNS: readonly Column[] = COOK_COLUMNS.filter((column) => !COOK_APPLY_COLUMNS.some((changed) => changed.name === column.name));

/** The most calls one `settle_generations` statement carries. */
export const MAX_SETTLE_BATCH = 100;

/**
 * One call's input: a row of the statement's `jsonb` array, read back by `jsonb_to_recordset` with
 * these column types. `ordinal` is the call's place in the batch; the rest is the outcome as
 * `finishGeneration` reads it, and `apply_at`, when the roll-ups are written. A new outcome column
 * is one entry here (and its assignment in `finishGeneration`, its value in `settleInput`).
 */
export const SETTLE_INPUT_COLUMNS: readonly Column[] = columns({
  ordinal: 'integer',
  id: 'text',
  status: 'text',
  points_spent: 'bigint',
  protocol_net_points: 'bigint',
  cost_usd: 'numeric',
  cost_provenance: 'jsonb',
  response_timestamp: 'timestamptz',
  only_if_updated_before: 'timestamptz',
  set_response_payload: 'boolean',
  response_payload: 'jsonb',
  artifact_urls: 'jsonb',
  set_error_details: 'boolean',
  error_details: 'jsonb',
  platform_specific_run_id: 'text',
  at: 'timestamptz',
  apply_at: 'timestamptz',
});

/** A call's input row, as JSON: every value already checked storable (see `settleInput` in index.ts). */
export type SettleInput = Readonly<Record<string, unknown>> & { readonly id: string };

/** `finishGeneration`'s inputs as columns of the batch's input row `alias`; a name not in {@link SETTLE_INPUT_COLUMNS} is a bug. */
function inputColumns(alias: string): Parameter {
  return (name, type) => {
    const column = SETTLE_INPUT_COLUMNS.find((candidate) => candidate.name === name);
    if (column === undefined || column.type !== type) throw new Error(`[genledger] [postgres] settle_generations has no input column ${name} ${type}`);
    return `${alias}.${name}`;
  };
}

/**
 * `settle_generations`: a batch of `settleGeneration` calls, as ONE statement. Parameter: `calls`,
 * a jsonb array of input rows ({@link SETTLE_INPUT_COLUMNS}). Result: one row per call whose
 * generation exists (`ordinal`, then `g`, `c`, `k1`, `k2` as below); a call without a row found no
 * generation.
 *
 * - The gate of each call is its generation's own transition, as in a single settle: `winner` is,
 *   per generation, the first call (by ordinal) whose gate passes on the locked row; `gen_written`
 *   writes each winner once; every later step reads only the rows it returned (`contribution`).
 * - Rows are found by `id = ANY (ARRAY(...))`: an index lookup whatever the plan's row estimates
 *   (a join on `id IN (SELECT ...)` may be planned as a sequential scan, and a prepared statement
 *   keeps its generic plan as the tables grow).
 * - Locks are taken in the order the data flows, each table's rows by id: the generations
 *   (`gen_old`), their casts (`cast_old`), their cooks (`cook_old`), so two batches, or a batch
 *   and any other statement, cannot deadlock each other.
 * - `cast_chain` and `cook_chain` apply the contributions to each parent in ordinal order, one
 *   stage per contribution, starting from the locked row (step 0): a step's row is the parent right
 *   after that call's apply, which is what that call returns. To a cook, a call contributes its
 *   generation (sub 1) and, if its step ended its cast and the cast is a piece of the same cook,
 *   the cast piece (sub 2). Each parent is then written once, from its last step.
 * - Per call: `g` the generation as the call finds it after its turn (changed only for the winner;
 *   a later duplicate sees the winner's write), `c` the cast after its step, `k1` the cook after
 *   the generation's apply, `k2` after the cast piece's; null when absent or not applied.
 */
export function buildSettleGenerations(tables: TableNames): Statement {
  const { generations: G, casts: C, cooks: K } = tables;
  return defineStatement('settle_generations', (param) => {
    const finish = finishGeneration('old', inputColumns('x'));
    const inputTypes = SETTLE_INPUT_COLUMNS.map((column) => `${column.name} ${column.type}`).join(', ');
    const at = 'c.apply_at';
    const castChain = (previous: string, joinOn: string, carry: string, appliedOnly: boolean) =>
      applyToCastStage(previous, 'cast_steps', joinOn, at, { carry, appliedOnly });
    const cookChain = (previous: string, joinOn: string, carry: string, appliedOnly: boolean) =>
      applyToCookStage(previous, 'cook_steps', joinOn, at, { carry, appliedOnly });
    // Each parent written once, from its last step (one with step 0 only, the locked row, is not
    // written); `locked` (its FOR UPDATE CTE) keeps the row lookup an index scan.
    const writeLastStep = (table: string, chain: string, stageColumns: readonly string[], locked: string) => sql`
      UPDATE ${table} AS t SET ${assignFrom('s', stageColumns)}
      FROM (SELECT DISTINCT ON (l.id) l.* FROM ${chain} AS l ORDER BY l.id, l.step DESC) AS s
      WHERE t.id = s.id AND s.step > 0 AND t.id = ANY (ARRAY(SELECT id FROM ${locked}))
      RETURNING t.id`;
    // A parent's record after a step: what the apply changes from the step's row, the rest as locked.
    const parentRecord = (all: readonly Column[], changed: readonly string[], step: string, old: string) =>
      jsonRecord([
        ['changed', 'true'],
        ['previous_status', `${step}.previous_status`],
        ...all.map((column) => jsonField(changed.includes(column.name) ? step : old, column)),
      ]);
    return sql`
      WITH RECURSIVE input AS (
        SELECT * FROM jsonb_to_recordset(${param('calls', 'jsonb')}) AS x(${inputTypes})
      ),
      gen_old AS (SELECT * FROM ${G} WHERE id = ANY (ARRAY(SELECT id FROM input)) ORDER BY id FOR UPDATE),
      winner AS (
        SELECT DISTINCT ON (x.id) x.*
        FROM input AS x JOIN gen_old AS old ON old.id = x.id
        WHERE ${finish.gate}
        ORDER BY x.id, x.ordinal
      ),
      gen_written AS (
        UPDATE ${G} AS t SET ${finish.assignments}
        FROM winner AS x JOIN gen_old AS old ON old.id = x.id
        WHERE t.id = x.id AND t.id = ANY (ARRAY(SELECT id FROM winner))
        RETURNING t.*
      ),
      contribution AS (
        SELECT 'generation'::text AS kind, g.id AS child_id, g.status, g.points_spent, g.protocol_net_points, g.cost_usd,
          g.response_timestamp AS finished_at, g.cast_id IS NULL AS piece, g.cast_id, g.cook_id, x.ordinal, x.apply_at
        FROM gen_written AS g JOIN winner AS x ON x.id = g.id
      ),
      cast_old AS (SELECT * FROM ${C} WHERE id = ANY (ARRAY(SELECT cast_id FROM contribution)) ORDER BY id FOR UPDATE),
      cast_steps AS (
        SELECT c.*, row_number() OVER (PARTITION BY c.cast_id ORDER BY c.ordinal)::integer AS step
        FROM contribution AS c WHERE c.cast_id IS NOT NULL
      ),
      cast_chain AS (
        ${castChain('cast_old', 'false', '0 AS step, NULL::integer AS ordinal', false)}
        UNION ALL
        ${castChain('cast_chain', 'c.cast_id = p.id AND c.step = p.step + 1', 'c.step, c.ordinal', true)}
      ),
      cast_written AS (
        ${writeLastStep(C, 'cast_chain', CAST_APPLY_STAGE_COLUMNS, 'cast_old')}
      ),
      -- Reading cast_written makes the casts' UPDATE, and their locks, come before the cooks' lock.
      piece AS (
        SELECT 'cast'::text AS kind, s.id AS child_id, s.status, 0::bigint AS points_spent, 0::bigint AS protocol_net_points,
          0::numeric AS cost_usd, s.completed_at AS finished_at, NULL::boolean AS piece, NULL::text AS cast_id, s.cook_id, s.ordinal, c.apply_at
        FROM cast_chain AS s JOIN contribution AS c ON c.ordinal = s.ordinal
        WHERE s.ends AND s.cook_id = c.cook_id AND s.id IN (SELECT id FROM cast_written)
      ),
      cook_old AS (
        SELECT * FROM ${K}
        WHERE id = ANY (ARRAY(SELECT cook_id FROM contribution UNION SELECT cook_id FROM piece))
        ORDER BY id FOR UPDATE
      ),
      cook_steps AS (
        SELECT a.*, row_number() OVER (PARTITION BY a.cook_id ORDER BY a.ordinal, a.sub)::integer AS step
        FROM (
          SELECT c.*, 1 AS sub FROM contribution AS c WHERE c.cook_id IS NOT NULL
          UNION ALL
          SELECT pc.*, 2 AS sub FROM piece AS pc
        ) AS a
      ),
      cook_chain AS (
        ${cookChain('cook_old', 'false', '0 AS step, NULL::integer AS ordinal, NULL::integer AS sub', false)}
        UNION ALL
        ${cookChain('cook_chain', 'c.cook_id = p.id AND c.step = p.step + 1', 'c.step, c.ordinal, c.sub', true)}
      ),
      cook_written AS (
        ${writeLastStep(K, 'cook_chain', COOK_APPLY_STAGE_COLUMNS, 'cook_old')}
      ),
      ${holdSettlement(tables)}
      -- Each call's records, built apart (MATERIALIZED: planned as small queries of their own, not
      -- as one join of every relation above, whose planning would cost more than the batch).
      gen_result AS MATERIALIZED (
        SELECT x.ordinal,
          ${jsonRecord([
            ['changed', 'coalesce(wn.ordinal = x.ordinal, false)'],
            ['previous_status', 'CASE WHEN wn.ordinal = x.ordinal THEN go.status ELSE g.status END'],
            ...GENERATION_COLUMNS.map((column) => jsonField('g', column)),
          ])} AS record
        FROM input AS x
        JOIN gen_old AS go ON go.id = x.id
        LEFT JOIN winner AS wn ON wn.id = x.id
        LEFT JOIN gen_written AS gw ON gw.id = x.id AND wn.ordinal <= x.ordinal
        CROSS JOIN LATERAL (SELECT gw.* WHERE gw.id IS NOT NULL UNION ALL SELECT go.* WHERE gw.id IS NULL) AS g
      ),
      cast_result AS MATERIALIZED (
        SELECT cs.ordinal, ${parentRecord(CAST_COLUMNS, CAST_APPLY_STAGE_COLUMNS, 'cs', 'co')} AS record
        FROM cast_chain AS cs JOIN cast_old AS co ON co.id = cs.id
        WHERE cs.step > 0
      ),
      -- A cook's columns its applies change, per call; the rest (its id lists among them, up to
      -- maxEmbeddedChildIds ids each) once per batch, in the row of its first call.
      cook_result AS MATERIALIZED (
        SELECT ks.ordinal, ks.sub,
          ${jsonRecord([
            ['changed', 'true'],
            ['previous_status', 'ks.previous_status'],
            ['id', 'ks.id'],
            ...COOK_APPLY_COLUMNS.map((column) => jsonField('ks', column)),
          ])} AS record
        FROM cook_chain AS ks
        WHERE ks.step > 0
      ),
      cook_fixed AS MATERIALIZED (
        SELECT f.first_ordinal AS ordinal, ${jsonRecord(COOK_FIXED_COLUMNS.map((column) => jsonField('ko', column)))} AS record
        FROM (SELECT l.id, min(l.ordinal) AS first_ordinal FROM cook_chain AS l WHERE l.step > 0 GROUP BY l.id) AS f
        JOIN cook_old AS ko ON ko.id = f.id
      )
      SELECT r.ordinal, r.record AS g, c.record AS c, k1.record AS k1, k2.record AS k2, kf.record AS kf, h.record AS h,
        c.record IS NOT NULL AND ${reservationHeld(tables.budgets, 'cast', "(c.record->>'id')")} AS c_reserved,
        k1.record IS NOT NULL AND ${reservationHeld(tables.budgets, 'cook', "(k1.record->>'id')")} AS k1_reserved,
        k2.record IS NOT NULL AND ${reservationHeld(tables.budgets, 'cook', "(k2.record->>'id')")} AS k2_reserved
      FROM gen_result AS r
      LEFT JOIN hold_result AS h ON h.ordinal = r.ordinal
      LEFT JOIN cast_result AS c ON c.ordinal = r.ordinal
      LEFT JOIN cook_fixed AS kf ON kf.ordinal = r.ordinal
      LEFT JOIN cook_result AS k1 ON k1.ordinal = r.ordinal AND k1.sub = 1
      LEFT JOIN cook_result AS k2 ON k2.ordinal = r.ordinal AND k2.sub = 2`;
  });
}

/**
 * The holds of the generations this batch finished (`settleGenerationHold`), as CTEs of
 * `settle_generations`: only the winners' generations (`contribution`, the rows `gen_written`
 * returned) are looked up, so a duplicate or a repeat settles nothing; a hold still `held` is
 * settled once and marked `settled`.
 *
 * - Locks after the cooks (reading `cook_written` first): the holds, their budgets, their accounts
 *   (each by key, in key order), as the creation statement takes budgets before accounts.
 * - A hold that drew on a reservation still held (`settleHold`'s pool; `pool_chain`, per
 *   reservation in ordinal order from the locked budget's free part): in the parent's units, the
 *   charge beyond the hold comes from the free part first, and the unspent part goes back to it
 *   instead of being released. The release of what is left when the parent ends is migration
 *   0009's trigger, at the end of this statement, after these settlements.
 * - Per hold (`settleHold`): captured = the generation's points and dollars in the units the hold
 *   names; from the hold = the smaller of captured and held; released = held - from the hold;
 *   overdraft = what the charge beyond the hold exceeds the account's available amount (at least
 *   0) by. Entries in that order, each only when not zero.
 * - Several holds of one account in a batch are settled in ordinal order: each one's account
 *   figures before it are the locked row's minus what the earlier ones charged and released
 *   (window sums over the account's holds, `hold_chain`), which is what settling them one after
 *   another gives, entry numbers included. Each account and budget is written once, from its last.
 * - `hold_result`: per call, the settlement as a json object (see `holdSettlementFromJson`).
 */
function holdSettlement(tables: TableNames): string {
  const { accounts: A, accountEntries: E, holds: H, budgets: B } = tables;
  const before = 'PARTITION BY h.account_id ORDER BY h.ordinal ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING';
  const afterFigures = (s: string) => `SELECT ${s}.account_id, ${s}.bal_points - ${s}.cap_points AS balance_points, ${s}.bal_usd - ${s}.cap_usd AS balance_usd,
          ${s}.held_points_before - ${s}.drop_points AS held_points, ${s}.held_usd_before - ${s}.drop_usd AS held_usd,
          ${s}.spent_points_before + ${s}.cap_points AS spent_points, ${s}.spent_usd_before + ${s}.cap_usd AS spent_usd,
          ${s}.seq0 + ${s}.n AS entry_count, ${s}.version_before + ${s}.n AS version,
          CASE WHEN ${s}.n > 0 THEN ${s}.apply_at ELSE coalesce(${s}.ats_before[cardinality(${s}.ats_before)], ${s}.updated_at0) END AS updated_at`;
  const entryColumns = `account_id, sequence, kind, amount_points, amount_usd, from_hold_points, from_hold_usd, cause_kind, generation_id,
          balance_after_points, balance_after_usd, held_after_points, held_after_usd, at`;
  const settledAfter = (s: string) =>
    `${s}.bal_points - ${s}.cap_points, ${s}.bal_usd - ${s}.cap_usd, ${s}.held_points_before - ${s}.drop_points, ${s}.held_usd_before - ${s}.drop_usd, ${s}.apply_at`;
  return sql`
      hold_old AS (
        SELECT h.*, c.ordinal, c.apply_at,
          CASE WHEN h.points IS NULL THEN 0 ELSE c.points_spent END AS cap_points,
          CASE WHEN h.cost_usd IS NULL THEN 0 ELSE c.cost_usd END AS cap_usd,
          coalesce(h.points, 0) AS hold_points, coalesce(h.cost_usd, 0) AS hold_usd
        FROM ${H} AS h JOIN contribution AS c ON c.child_id = h.generation_id
        WHERE h.generation_id = ANY (ARRAY(SELECT child_id FROM contribution WHERE (SELECT count(*) FROM cook_written) >= 0))
          AND h.status = 'held'
        FOR UPDATE OF h
      ),
      budget_old AS (
        SELECT b.* FROM ${B} AS b
        WHERE (b.parent_kind = 'cast' AND b.parent_id = ANY (ARRAY(SELECT budget_cast_id FROM hold_old)))
          OR (b.parent_kind = 'cook' AND b.parent_id = ANY (ARRAY(SELECT budget_cook_id FROM hold_old)))
        ORDER BY b.parent_kind, b.parent_id
        FOR UPDATE
      ),
      -- Reading budget_old first locks the budgets before the accounts.
      account_old AS (
        SELECT a.* FROM ${A} AS a
        WHERE a.account_id = ANY (ARRAY(SELECT account_id FROM hold_old WHERE (SELECT count(*) FROM budget_old) >= 0))
        ORDER BY a.account_id
        FOR UPDATE
      ),
      -- settleHold's pool: the holds that drew on a reservation still held, per reservation in
      -- ordinal order. In the reservation's units (its budget's limit), a hold's charge beyond
      -- itself comes from the free part first, and what it did not spend goes back to it; each
      -- step starts from the free part the previous one left (step 0: the locked budget's).
      pool_step AS (
        SELECT h.ordinal, b.parent_kind, b.parent_id, b.free_points AS free0_points, b.free_usd AS free0_usd,
          CASE WHEN b.limit_points IS NULL THEN 0 ELSE h.cap_points - least(h.cap_points, h.hold_points) END AS beyond_points,
          CASE WHEN b.limit_usd IS NULL THEN 0 ELSE h.cap_usd - least(h.cap_usd, h.hold_usd) END AS beyond_usd,
          CASE WHEN b.limit_points IS NULL THEN 0 ELSE h.hold_points - least(h.cap_points, h.hold_points) END AS unspent_points,
          CASE WHEN b.limit_usd IS NULL THEN 0 ELSE h.hold_usd - least(h.cap_usd, h.hold_usd) END AS unspent_usd,
          row_number() OVER (PARTITION BY b.parent_kind, b.parent_id ORDER BY h.ordinal)::integer AS step
        FROM hold_old AS h
        JOIN budget_old AS b ON b.reservation_status = 'held' AND b.parent_kind = h.drawn_from
          AND b.parent_id = CASE h.drawn_from WHEN 'cast' THEN h.budget_cast_id ELSE h.budget_cook_id END
      ),
      pool_chain AS (
        SELECT s.parent_kind, s.parent_id, 0 AS step, NULL::integer AS ordinal, s.free0_points AS free_points, s.free0_usd AS free_usd,
          0::bigint AS from_pool_points, 0::numeric AS from_pool_usd, 0::bigint AS returned_points, 0::numeric AS returned_usd
        FROM pool_step AS s WHERE s.step = 1
        UNION ALL
        SELECT p.parent_kind, p.parent_id, s.step, s.ordinal,
          p.free_points - x.from_points + s.unspent_points, p.free_usd - x.from_usd + s.unspent_usd,
          x.from_points, x.from_usd, s.unspent_points, s.unspent_usd
        FROM pool_chain AS p
        JOIN pool_step AS s ON s.parent_kind = p.parent_kind AND s.parent_id = p.parent_id AND s.step = p.step + 1
        CROSS JOIN LATERAL (
          SELECT least(s.beyond_points, greatest(p.free_points, 0)) AS from_points, least(s.beyond_usd, greatest(p.free_usd, 0)) AS from_usd
        ) AS x
      ),
      -- Per hold, what it takes from its account's held: its own part charged, its part of the
      -- pool, and what is released (its unspent part minus what goes back to the pool).
      hold_pooled AS (
        SELECT h.*, least(h.cap_points, h.hold_points) AS from_points, least(h.cap_usd, h.hold_usd) AS from_usd,
          coalesce(pc.from_pool_points, 0) AS from_pool_points, coalesce(pc.from_pool_usd, 0) AS from_pool_usd,
          coalesce(pc.returned_points, 0) AS returned_points, coalesce(pc.returned_usd, 0) AS returned_usd,
          h.hold_points - coalesce(pc.returned_points, 0) + coalesce(pc.from_pool_points, 0) AS drop_points,
          h.hold_usd - coalesce(pc.returned_usd, 0) + coalesce(pc.from_pool_usd, 0) AS drop_usd
        FROM hold_old AS h LEFT JOIN pool_chain AS pc ON pc.ordinal = h.ordinal AND pc.step > 0
      ),
      hold_available AS (
        SELECT h.*,
          a.balance_points - coalesce(sum(h.cap_points) OVER w, 0) AS bal_points, a.balance_usd - coalesce(sum(h.cap_usd) OVER w, 0) AS bal_usd,
          a.held_points - coalesce(sum(h.drop_points) OVER w, 0) AS held_points_before, a.held_usd - coalesce(sum(h.drop_usd) OVER w, 0) AS held_usd_before,
          a.spent_points + coalesce(sum(h.cap_points) OVER w, 0) AS spent_points_before, a.spent_usd + coalesce(sum(h.cap_usd) OVER w, 0) AS spent_usd_before,
          a.entry_count AS entry_count0, a.version AS version0, a.updated_at AS updated_at0
        FROM hold_pooled AS h JOIN account_old AS a ON a.account_id = h.account_id
        WINDOW w AS (${before})
      ),
      hold_amounts AS (
        SELECT h.*, h.hold_points - h.from_points - h.returned_points AS rel_points, h.hold_usd - h.from_usd - h.returned_usd AS rel_usd,
          greatest(h.cap_points - h.from_points - h.from_pool_points - greatest(h.bal_points - h.held_points_before, 0), 0) AS short_points,
          greatest(h.cap_usd - h.from_usd - h.from_pool_usd - greatest(h.bal_usd - h.held_usd_before, 0), 0) AS short_usd
        FROM hold_available AS h
      ),
      hold_entries AS (
        SELECT h.*, (h.cap_points <> 0 OR h.cap_usd <> 0)::int AS n_capture, (h.rel_points <> 0 OR h.rel_usd <> 0)::int AS n_release,
          (h.short_points <> 0 OR h.short_usd <> 0)::int AS n_overdraft
        FROM hold_amounts AS h
      ),
      hold_chain AS (
        SELECT h.*, h.n_capture + h.n_release + h.n_overdraft AS n,
          h.entry_count0 + coalesce(sum(h.n_capture + h.n_release + h.n_overdraft) OVER w, 0) AS seq0,
          h.version0 + coalesce(sum(h.n_capture + h.n_release + h.n_overdraft) OVER w, 0) AS version_before,
          array_agg(h.apply_at) FILTER (WHERE h.n_capture + h.n_release + h.n_overdraft > 0) OVER w AS ats_before
        FROM hold_entries AS h
        WINDOW w AS (${before})
      ),
      entries_written AS (
        INSERT INTO ${E} (${entryColumns})
        SELECT s.account_id, s.seq0 + 1, 'capture', s.cap_points, s.cap_usd, s.from_points + s.from_pool_points, s.from_usd + s.from_pool_usd, 'generation', s.generation_id,
          s.bal_points - s.cap_points, s.bal_usd - s.cap_usd, s.held_points_before - s.from_points - s.from_pool_points, s.held_usd_before - s.from_usd - s.from_pool_usd, s.apply_at
        FROM hold_chain AS s WHERE s.n_capture = 1
        UNION ALL
        SELECT s.account_id, s.seq0 + s.n_capture + 1, 'release', s.rel_points, s.rel_usd, NULL, NULL, 'generation', s.generation_id, ${settledAfter('s')}
        FROM hold_chain AS s WHERE s.n_release = 1
        UNION ALL
        SELECT s.account_id, s.seq0 + s.n_capture + s.n_release + 1, 'overdraft', s.short_points, s.short_usd, NULL, NULL, 'generation', s.generation_id, ${settledAfter('s')}
        FROM hold_chain AS s WHERE s.n_overdraft = 1
        RETURNING *
      ),
      account_after AS (
        SELECT s.ordinal, s.n, x.* FROM hold_chain AS s CROSS JOIN LATERAL (${afterFigures('s')}) AS x
      ),
      account_written AS (
        UPDATE ${A} AS t SET balance_points = l.balance_points, balance_usd = l.balance_usd, held_points = l.held_points, held_usd = l.held_usd,
          spent_points = l.spent_points, spent_usd = l.spent_usd, entry_count = l.entry_count, version = l.version, updated_at = l.updated_at
        FROM (SELECT DISTINCT ON (f.account_id) f.* FROM account_after AS f ORDER BY f.account_id, f.ordinal DESC) AS l
        WHERE t.account_id = l.account_id AND t.account_id = ANY (ARRAY(SELECT account_id FROM account_old)) AND t.version <> l.version
        RETURNING t.account_id
      ),
      -- A hold whose account has no row (deleted by hand) is never settled as if nothing were owed:
      -- the statement fails, writing nothing (accountMissing, in account-sql.ts).
      holds_written AS (
        UPDATE ${H} AS t SET status = 'settled' FROM hold_old AS h
        WHERE t.generation_id = h.generation_id
          AND ${accountMissing('h', 'h.account_id = ANY (ARRAY(SELECT account_id FROM account_old))', tables.holdAccountMissing)}
        RETURNING t.generation_id
      ),
      budget_after AS (
        SELECT h.ordinal, b.parent_kind, b.parent_id, b.limit_points, b.limit_usd,
          b.held_points - sum(CASE WHEN b.limit_points IS NULL THEN 0 ELSE h.hold_points END) OVER w AS held_points,
          b.held_usd - sum(CASE WHEN b.limit_usd IS NULL THEN 0 ELSE h.hold_usd END) OVER w AS held_usd,
          b.spent_points + sum(CASE WHEN b.limit_points IS NULL THEN 0 ELSE h.cap_points END) OVER w AS spent_points,
          b.spent_usd + sum(CASE WHEN b.limit_usd IS NULL THEN 0 ELSE h.cap_usd END) OVER w AS spent_usd,
          b.reservation_account_id, b.reservation_status,
          coalesce(pool.free_points, b.free_points) AS free_points, coalesce(pool.free_usd, b.free_usd) AS free_usd
        FROM hold_old AS h
        JOIN budget_old AS b ON (b.parent_kind = 'cast' AND b.parent_id = h.budget_cast_id) OR (b.parent_kind = 'cook' AND b.parent_id = h.budget_cook_id)
        -- The reservation's free part after this call: its pool step at or before this call's ordinal.
        LEFT JOIN LATERAL (
          SELECT pc.free_points, pc.free_usd FROM pool_chain AS pc
          WHERE pc.parent_kind = b.parent_kind AND pc.parent_id = b.parent_id AND pc.ordinal <= h.ordinal
          ORDER BY pc.step DESC LIMIT 1
        ) AS pool ON true
        WINDOW w AS (PARTITION BY b.parent_kind, b.parent_id ORDER BY h.ordinal ROWS UNBOUNDED PRECEDING)
      ),
      budget_written AS (
        UPDATE ${B} AS t SET held_points = l.held_points, held_usd = l.held_usd, spent_points = l.spent_points, spent_usd = l.spent_usd,
          free_points = l.free_points, free_usd = l.free_usd
        FROM (SELECT DISTINCT ON (f.parent_kind, f.parent_id) f.* FROM budget_after AS f ORDER BY f.parent_kind, f.parent_id, f.ordinal DESC) AS l
        WHERE t.parent_kind = l.parent_kind AND t.parent_id = l.parent_id
        RETURNING t.parent_id
      ),
      hold_result AS MATERIALIZED (
        SELECT s.ordinal, json_build_object(
          'generation_id', s.generation_id, 'account_id', s.account_id, 'points', s.points::text, 'cost_usd', s.cost_usd::text,
          'budget_cast_id', s.budget_cast_id, 'budget_cook_id', s.budget_cook_id, 'drawn_from', s.drawn_from,
          'captured_points', s.cap_points::text, 'captured_usd', s.cap_usd::text,
          'account', (SELECT ${accountJson('f')} FROM account_after AS f WHERE f.ordinal = s.ordinal),
          'entries', coalesce((SELECT json_agg(${entryJson('e')} ORDER BY e.sequence) FROM entries_written AS e
            WHERE e.account_id = s.account_id AND e.generation_id = s.generation_id), '[]'::json),
          'budgets', coalesce((SELECT json_agg(${budgetJson('b')} ORDER BY b.parent_kind) FROM budget_after AS b WHERE b.ordinal = s.ordinal), '[]'::json)
        ) AS record
        FROM hold_chain AS s
      ),`;
}

/**
 * One result column of a record's value as a `json` object, for {@link jsonRecord}: read back by
 * the same `*FromRow` readers as a plain result row, so every value keeps the form it has there:
 * money and other `numeric`s, `bigint`s and times (epoch milliseconds) as text, never a JSON number
 * that `JSON.parse` would round; `integer`s and booleans as JSON numbers and booleans; `jsonb` as is.
 */
export function jsonField(source: string, column: Column): readonly [string, string] {
  const reference = `${source}.${column.name}`;
  if (column.type === 'timestamptz') return [column.name, `${epochMs(reference)}::text`];
  if (column.type === 'numeric' || column.type === 'bigint') return [column.name, `${reference}::text`];
  return [column.name, reference];
}

/** `json_build_object('key', value, ...)` (at most 50 pairs: PostgreSQL's limit of 100 arguments). */
export function jsonRecord(fields: readonly (readonly [string, string])[]): string {
  if (fields.length > 50) throw new Error(`[genledger] [postgres] a json record of ${fields.length} fields is over the 50 json_build_object takes`);
  return `json_build_object(${fields.map(([key, value]) => `'${key}', ${value}`).join(', ')})`;
}

/**
 * A call's {@link Settlement} from its row of `settle_generations`; `cooks`: each cook's fixed
 * columns (`kf`), by id, from whichever row of the batch carried them.
 */
export function settlementFromRow(row: Row, cooks: ReadonlyMap<unknown, Row>): AccountedSettlement {
  const record = (value: unknown): Row | null => (value === null || value === undefined ? null : (value as Row));
  const generation = record(row.g);
  if (generation === null) throw new Error(`[genledger] [postgres] a settlement returned no generation`);
  const cast = record(row.c);
  const cookRecord = (value: unknown): Row | null => {
    const changed = record(value);
    if (changed === null) return null;
    const fixed = cooks.get(changed.id);
    if (fixed === undefined) throw new Error(`[genledger] [postgres] a settlement returned cook "${String(changed.id)}" without its columns`);
    return { ...fixed, ...changed };
  };
  const cook = cookRecord(row.k1);
  const castPiece = cookRecord(row.k2);
  const hold = record(row.h);
  return {
    ...(hold === null ? {} : { hold: holdSettlementFromJson(hold) }),
    generation: writeResultFromRow(generation, generationFromRow),
    cast: cast === null ? null : writeResultFromRow(cast, castFromRow),
    cook: cook === null ? null : writeResultFromRow(cook, cookFromRow),
    castPiece: castPiece === null ? null : writeResultFromRow(castPiece, cookFromRow),
  };
}

/** A call's settlement, and the held parents (reservation still held) its own apply ended: their releases are to be read. */
export interface SettledCall {
  readonly settlement: AccountedSettlement;
  readonly endedHeld: readonly EndedParent[];
}

/** A parent a write ended, whose reservation was still held: its release is to be read back. */
export interface EndedParent {
  readonly kind: 'cast' | 'cook';
  readonly id: string;
}

/**
 * `[{ kind, id }]` when `write` moved its parent from an open status to a terminal one and the
 * statement said that parent's reservation was still held (`reserved`), else `[]`. The one test
 * every write that can end a parent uses (settle_generations here, the parents' writes in index.ts).
 */
export function endedHeldParent(
  kind: 'cast' | 'cook',
  write: { readonly changed: boolean; readonly previousStatus: string; readonly record: { readonly id: string; readonly status: string } } | null,
  reserved: unknown,
): EndedParent[] {
  if (write === null || !write.changed || reserved !== true) return [];
  const ended = !isTerminalParentStatus(write.previousStatus as CastStatus) && isTerminalParentStatus(write.record.status as CastStatus);
  return ended ? [{ kind, id: write.record.id }] : [];
}

/** The parents `settlement`'s own apply moved to a terminal status that held a reservation (`c_reserved`, `k1_reserved`, `k2_reserved`). */
function endedHeldOf(row: Row, settlement: AccountedSettlement): readonly EndedParent[] {
  return [
    ...endedHeldParent('cast', settlement.cast, row.c_reserved),
    ...endedHeldParent('cook', settlement.cook, row.k1_reserved),
    ...endedHeldParent('cook', settlement.castPiece, row.k2_reserved),
  ];
}

/**
 * The group-commit queue of `settleGeneration` (batch-queue.ts forms the batches): each call's
 * settlement, or `null` when its generation does not exist (no row for its ordinal).
 */
export function settleQueue(send: (calls: readonly Ordinal<SettleInput>[]) => Promise<readonly Row[]>, maxBatch: number = MAX_SETTLE_BATCH) {
  return new BatchQueue<SettleInput, SettledCall | null>({
    send,
    maxBatch,
    read(rows) {
      const byOrdinal = new Map<number, Row>();
      const cooks = new Map<unknown, Row>();
      for (const row of rows) {
        byOrdinal.set(Number(row.ordinal), row);
        const fixed = row.kf as Row | null | undefined;
        if (fixed !== null && fixed !== undefined) cooks.set(fixed.id, fixed);
      }
      return (ordinal) => {
        const row = byOrdinal.get(ordinal);
        if (row === undefined) return null;
        const settlement = settlementFromRow(row, cooks);
        return { settlement, endedHeld: endedHeldOf(row, settlement) };
      };
    },
  });
}
