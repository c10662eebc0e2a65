/**
 * The domain reducers, in SQL. Each function here returns a fragment that computes, from the row
 * as it stands (locked by the statement that embeds it), what the reducer of the same name
 * computes: `applyToCast`, `applyToCook`, `finishGeneration`. The statements embed them:
 * `settle_generations` (settle-generations.ts: a batch of generations' terminal transitions and
 * their applies), the cast's ending (`casts_end`, `casts_replace` in statements.ts: a cast piece's
 * apply to its cook), so every path shares one definition of each write.
 *
 * The reducers are ungated: the gate that makes an apply happen once is the CHILD's transition
 * (`UPDATE generations ... WHERE status IN ('pending', 'processing') RETURNING`, or a cast's
 * `running -> terminal` UPDATE), in the same statement, and a stage reads only what that UPDATE
 * returned. A repeated call finds the child's gate closed, so its contribution relation is empty
 * and every stage passes its row through unchanged.
 *
 * A stage is a SELECT over the previous state `p` and a contribution `c` (LEFT JOINed, so a row
 * the contribution does not concern passes through unchanged) that yields `applies` and the new
 * value of every column the write may change, under the column's own name. Because its output has
 * the shape of its input, stages chain: `settle_generations` applies each generation of a batch to
 * its cook and then, when it ended its cast, the cast piece, one stage after another in a recursive
 * CTE feeding one UPDATE per cook.
 */
import { sql, type Parameter } from './client.js';
import { CAST_APPLY_COLUMNS, COOK_APPLY_COLUMNS } from './rows.js';

/** `elapsedMs(from, to)`: whole milliseconds, never negative. Exact: `extract(epoch ...)` is numeric. */
export function elapsedMs(from: string, to: string): string {
  return `greatest(0, round((extract(epoch FROM ${to}) - extract(epoch FROM ${from})) * 1000))::bigint`;
}

/**
 * Columns of a contribution relation, as the stages read them: `kind` ('generation' | 'cast'),
 * `child_id`, `status`, `points_spent`, `protocol_net_points`, `cost_usd`, `finished_at`, `piece`
 * (a generation that is itself a cook piece; NULL for a cast), and the link the stage joins on.
 */

/**
 * How a stage is embedded. `carry`: more output columns, after the stage's own (`c.step`, ...), so
 * a recursive chain of stages (see settle-generations.ts) can number its steps. `appliedOnly`: only
 * rows the contribution concerns, which is what ends such a chain.
 */
export interface StageShape {
  readonly carry?: string | undefined;
  readonly appliedOnly?: boolean | undefined;
}

function shaped(stage: string, { carry, appliedOnly }: StageShape): { carry: string; where: string } {
  return { carry: carry === undefined ? '' : `, ${carry}`, where: appliedOnly ? `${stage}.applies` : '' };
}

/**
 * `applyToCast`: a finished step's figures land, and it leaves the steps in flight. Money always
 * lands; the status moves only while the cast runs (`castStatusAfterStep`), and
 * `completedAt`/`durationMs` are set when this write ends it (`ends`, which the settlement reads
 * to apply the cast piece to its cook).
 */
export function applyToCastStage(previous: string, contribution: string, joinOn: string, at: string, shape: StageShape = {}): string {
  const { carry, where } = shaped('f', shape);
  return sql`
    SELECT p.id, p.cook_id, p.started_at, p.total_steps, p.status AS previous_status, f.applies, e.ends,
      n.status,
      p.outcome_success + (f.applies AND c.status = 'success')::int AS outcome_success,
      p.outcome_failed + (f.applies AND c.status = 'failed')::int AS outcome_failed,
      p.outcome_cancelled_by_user + (f.applies AND c.status = 'cancelled_by_user')::int AS outcome_cancelled_by_user,
      p.outcome_timeout + (f.applies AND c.status = 'timeout')::int AS outcome_timeout,
      p.in_flight_count - f.applies::int AS in_flight_count,
      p.points_spent + CASE WHEN f.applies THEN c.points_spent ELSE 0 END AS points_spent,
      p.protocol_net_points + CASE WHEN f.applies THEN c.protocol_net_points ELSE 0 END AS protocol_net_points,
      CASE WHEN f.applies THEN p.cost_usd + c.cost_usd ELSE p.cost_usd END AS cost_usd,
      CASE WHEN e.ends THEN c.finished_at ELSE p.completed_at END AS completed_at,
      CASE WHEN e.ends THEN ${elapsedMs('p.started_at', 'c.finished_at')} ELSE p.duration_ms END AS duration_ms,
      p.version + f.applies::int AS version,
      CASE WHEN f.applies THEN ${at} ELSE p.updated_at END AS updated_at${carry}
    FROM ${previous} AS p
    LEFT JOIN ${contribution} AS c ON ${joinOn}
    CROSS JOIN LATERAL (SELECT c.child_id IS NOT NULL AS applies) AS f
    CROSS JOIN LATERAL (
      SELECT CASE
        WHEN NOT f.applies OR p.status <> 'running' THEN p.status
        WHEN c.status IN ('failed', 'timeout') THEN 'failed'
        WHEN c.status = 'cancelled_by_user' THEN 'cancelled'
        WHEN p.total_steps IS NOT NULL AND p.outcome_success + (c.status = 'success')::int >= p.total_steps THEN 'completed'
        ELSE 'running'
      END AS status
    ) AS n
    CROSS JOIN LATERAL (SELECT f.applies AND p.status = 'running' AND n.status <> 'running' AS ends) AS e
    ${where && `WHERE ${where}`}`;
}

/** The columns {@link applyToCastStage} computes, for `UPDATE ... SET column = stage.column`. */
export const CAST_APPLY_STAGE_COLUMNS: readonly string[] = CAST_APPLY_COLUMNS.map((column) => column.name);

/**
 * `applyToCook`: a finished generation adds its money and outcome and leaves the open generations
 * (`open_generation_count`); if it is a piece, it also closes the piece. A finished cast piece
 * moves only the piece counts. The cook completes in the same write once it has its supply and
 * nothing is in flight (`cookReachedSupply`), from `running` or `paused`.
 *
 * Passes `id`, `target_supply` and `started_at` through, so a stage can feed the next.
 */
export function applyToCookStage(previous: string, contribution: string, joinOn: string, at: string, shape: StageShape = {}): string {
  const { carry, where } = shaped('f', shape);
  return sql`
    SELECT p.id, p.target_supply, p.started_at, p.status AS previous_status, f.applies,
      CASE WHEN d.completes THEN 'completed' ELSE p.status END AS status,
      p.outcome_success + (f.adds_money AND c.status = 'success')::int AS outcome_success,
      p.outcome_failed + (f.adds_money AND c.status = 'failed')::int AS outcome_failed,
      p.outcome_cancelled_by_user + (f.adds_money AND c.status = 'cancelled_by_user')::int AS outcome_cancelled_by_user,
      p.outcome_timeout + (f.adds_money AND c.status = 'timeout')::int AS outcome_timeout,
      p.points_spent + CASE WHEN f.adds_money THEN c.points_spent ELSE 0 END AS points_spent,
      p.protocol_net_points + CASE WHEN f.adds_money THEN c.protocol_net_points ELSE 0 END AS protocol_net_points,
      CASE WHEN f.adds_money THEN p.cost_usd + c.cost_usd ELSE p.cost_usd END AS cost_usd,
      p.open_generation_count - f.adds_money::int AS open_generation_count,
      n.in_flight_count, n.generated_count, n.failed_count, n.cancelled_count,
      CASE WHEN d.completes THEN c.finished_at ELSE p.completed_at END AS completed_at,
      CASE WHEN d.completes THEN ${elapsedMs('p.started_at', 'c.finished_at')} ELSE p.duration_ms END AS duration_ms,
      p.version + f.applies::int AS version,
      CASE WHEN f.applies THEN ${at} ELSE p.updated_at END AS updated_at${carry}
    FROM ${previous} AS p
    LEFT JOIN ${contribution} AS c ON ${joinOn}
    CROSS JOIN LATERAL (
      SELECT c.child_id IS NOT NULL AS applies,
        coalesce(c.kind = 'generation', false) AS adds_money,
        coalesce(c.kind = 'cast' OR c.piece, false) AS closes_piece
    ) AS f
    CROSS JOIN LATERAL (
      SELECT p.in_flight_count - f.closes_piece::int AS in_flight_count,
        p.generated_count + (f.closes_piece AND c.status IN ('success', 'completed'))::int AS generated_count,
        p.failed_count + (f.closes_piece AND c.status IN ('failed', 'timeout'))::int AS failed_count,
        p.cancelled_count + (f.closes_piece AND c.status IN ('cancelled_by_user', 'cancelled'))::int AS cancelled_count
    ) AS n
    CROSS JOIN LATERAL (
      SELECT f.applies AND p.status IN ('running', 'paused') AND n.generated_count >= p.target_supply AND n.in_flight_count = 0 AS completes
    ) AS d
    ${where && `WHERE ${where}`}`;
}

/** The columns {@link applyToCookStage} computes. */
export const COOK_APPLY_STAGE_COLUMNS: readonly string[] = COOK_APPLY_COLUMNS.map((column) => column.name);

/**
 * A CTE body: the row `written` returned, or, when that write matched nothing, the row as `old`
 * locked it. Later stages of a statement read the newest version either way.
 */
export function writtenElseOld(written: string, old: string): string {
  return `SELECT w.* FROM ${written} AS w
        UNION ALL
        SELECT o.* FROM ${old} AS o WHERE NOT EXISTS (SELECT 1 FROM ${written})`;
}

/** `SET a = source.a, b = source.b, ...` */
export function assignFrom(source: string, columnNames: readonly string[]): string {
  return columnNames.map((name) => `${name} = ${source}.${name}`).join(',\n      ');
}

/**
 * `finishGeneration`: the terminal transition, only from `pending`/`processing` (and, for the
 * sweeper, only if nothing was written since its cut-off). Sets the status and every derived figure
 * once: `durationMs` from the stored `requestTimestamp`, progress 1 on success, payloads and urls
 * only when given. `old` is the locked row; `param(name, type)` is where the outcome's value of
 * that name comes from: in `settle_generations`, a column of the batch's input row.
 */
export function finishGeneration(old: string, param: Parameter): { readonly gate: string; readonly assignments: string } {
  const status = param('status', 'text');
  const responseTimestamp = param('response_timestamp', 'timestamptz');
  const cutoff = param('only_if_updated_before', 'timestamptz');
  return {
    gate: `${old}.status IN ('pending', 'processing') AND (${cutoff} IS NULL OR ${old}.updated_at < ${cutoff})`,
    assignments: sql`
      status = ${status},
      points_spent = ${param('points_spent', 'bigint')},
      protocol_net_points = ${param('protocol_net_points', 'bigint')},
      cost_usd = ${param('cost_usd', 'numeric')},
      cost_provenance = coalesce(${param('cost_provenance', 'jsonb')}, ${old}.cost_provenance),
      response_timestamp = ${responseTimestamp},
      duration_ms = ${elapsedMs(`${old}.request_timestamp`, responseTimestamp)},
      progress = CASE WHEN ${status} = 'success' THEN 1 ELSE ${old}.progress END,
      response_payload = CASE WHEN ${param('set_response_payload', 'boolean')} THEN ${param('response_payload', 'jsonb')} ELSE ${old}.response_payload END,
      artifact_urls = coalesce(${param('artifact_urls', 'jsonb')}, ${old}.artifact_urls),
      error_details = CASE WHEN ${param('set_error_details', 'boolean')} THEN ${param('error_details', 'jsonb')} ELSE ${old}.error_details END,
      platform_specific_run_id = coalesce(${param('platform_specific_run_id', 'text')}, ${old}.platform_specific_run_id),
      version = ${old}.version + 1,
      updated_at = ${param('at', 'timestamptz')}`,
  };
}
