/**
 * `adjustGeneration`: a re-price's correction of one finished generation and the difference its
 * cast and its cook receive, as ONE statement (the domain's `adjust`, in SQL).
 *
 * The gate is the generation's UPDATE: only a finished generation whose provenance still holds
 * `expected_adjustments` adjustments (the count the tracker read before computing the figures),
 * and only when a figure differs. A repeat or a racing re-price finds the count moved: the UPDATE
 * matches nothing, so the parents' UPDATEs (which read only the row it returned) change nothing,
 * and the statement returns the generation as stored. The differences are computed here from the
 * locked row (new - stored), so a parent receives exactly what the generation's figures moved by.
 *
 * The new provenance is built from the stored one: its first figures are kept (`original`, set
 * by the first adjustment) and the adjustment is appended; amounts are written with
 * `trim_scale(...)::text`, the canonical decimal the domain writes.
 *
 * Locks in data-flow order, as every other statement: the generation, then its cast (whose id
 * comes from the updated generation), then its cook (whose lock waits for the cast's UPDATE,
 * which it reads), so adjustments, settlements and creations cannot deadlock each other.
 */
import { defineStatement, sql, type Statement } from './client.js';
import { CAST_COLUMNS, columns, COOK_COLUMNS, GENERATION_COLUMNS, type Column } from './rows.js';
import { jsonField, jsonRecord } from './settle-generations.js';
import type { TableNames } from './statements.js';

/**
 * The provenance a correction writes, built from the stored row `old` (its first figures kept in
 * `original`, set by the first adjustment; the adjustment appended) and the correction's values
 * (`cost`, `points`, `basis`, `atIso`: parameters or input columns).
 */
function newProvenance(old: string, input: { readonly cost: string; readonly points: string; readonly basis: string; readonly atIso: string }): string {
  const { cost, points, basis, atIso } = input;
  const previous = `${old}.cost_provenance`;
  return sql`
      jsonb_build_object(
        'source', 'repriced',
        'usage', ${previous}->'usage',
        'basis', ${basis},
        'unpricedReason', NULL,
        -- (a JSON null is not SQL NULL: the first adjustment finds 'original' set to null)
        'original', CASE WHEN jsonb_typeof(${previous}->'original') = 'object' THEN ${previous}->'original' ELSE jsonb_build_object(
          'source', coalesce(${previous}->>'source', 'reported'),
          'costUsd', trim_scale(${old}.cost_usd)::text,
          'pointsSpent', ${old}.points_spent,
          'basis', ${previous}->'basis') END,
        'adjustments', coalesce(${previous}->'adjustments', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
          'reason', 'reprice',
          'fromVersionId', ${previous}->'basis'->'versionId',
          'toVersionId', ${basis}->'versionId',
          'previousCostUsd', trim_scale(${old}.cost_usd)::text,
          'costUsd', trim_scale(${cost})::text,
          'deltaUsd', trim_scale(${cost} - ${old}.cost_usd)::text,
          'previousPointsSpent', ${old}.points_spent,
          'pointsSpent', ${points},
          'deltaPoints', ${points} - ${old}.points_spent,
          'at', ${atIso})))`;
}

export function buildAdjustmentStatement(tables: Pick<TableNames, 'generations' | 'casts' | 'cooks'>): Statement {
  const G = tables.generations;
  const C = tables.casts;
  const K = tables.cooks;
  return defineStatement('adjust_generation', (param) => {
    const cost = param('cost_usd', 'numeric');
    const points = param('points_spent', 'bigint');
    const basis = param('basis', 'jsonb');
    const at = param('at', 'timestamptz');
    // A parent's share: the generation's difference (gen_written's row, none when its gate
    // closed), added to the parent row `locked` holds. The same for the cast and the cook.
    const addDifference = (table: string, locked: string) => sql`
      UPDATE ${table} AS t SET
        cost_usd = t.cost_usd + w.delta_usd,
        points_spent = t.points_spent + w.delta_points,
        version = t.version + 1,
        updated_at = ${at}
      FROM gen_written AS w, ${locked} AS o
      WHERE t.id = o.id
      RETURNING t.*`;
    const provenance = newProvenance('old', { cost, points, basis, atIso: param('at_iso', 'text') });
    return sql`
      WITH gen_old AS (SELECT * FROM ${G} WHERE id = ${param('id', 'text')} FOR UPDATE),
      gen_written AS (
        UPDATE ${G} AS t SET
          cost_usd = ${cost},
          points_spent = ${points},
          cost_provenance = ${provenance},
          version = old.version + 1,
          updated_at = ${at}
        FROM gen_old AS old
        WHERE t.id = old.id
          AND old.status NOT IN ('pending', 'processing')
          AND coalesce(jsonb_array_length(old.cost_provenance->'adjustments'), 0) = ${param('expected_adjustments', 'integer')}
          AND (old.cost_usd <> ${cost} OR old.points_spent <> ${points})
        RETURNING t.*, ${cost} - old.cost_usd AS delta_usd, ${points} - old.points_spent AS delta_points
      ),
      cast_old AS (SELECT * FROM ${C} WHERE id = (SELECT cast_id FROM gen_written) FOR UPDATE),
      cast_written AS (
        ${addDifference(C, 'cast_old')}
      ),
      -- Reading cast_written makes the cast's UPDATE, and its lock, come before the cook's lock.
      cook_old AS (
        SELECT * FROM ${K}
        WHERE id = (SELECT cook_id FROM gen_written) AND (SELECT count(*) FROM cast_written) >= 0
        FOR UPDATE
      ),
      cook_written AS (
        ${addDifference(K, 'cook_old')}
      )
      SELECT
        CASE WHEN gw.id IS NOT NULL
          THEN ${jsonRecord([['changed', 'true'], ['previous_status', 'go.status'], ...GENERATION_COLUMNS.map((column) => jsonField('gw', column))])}
          ELSE ${jsonRecord([['changed', 'false'], ['previous_status', 'go.status'], ...GENERATION_COLUMNS.map((column) => jsonField('go', column))])}
        END AS g,
        CASE WHEN cw.id IS NOT NULL THEN ${jsonRecord([['changed', 'true'], ['previous_status', 'co.status'], ...CAST_COLUMNS.map((column) => jsonField('cw', column))])} END AS c,
        CASE WHEN kw.id IS NOT NULL THEN ${jsonRecord([['changed', 'true'], ['previous_status', 'ko.status'], ...COOK_COLUMNS.map((column) => jsonField('kw', column))])} END AS k
      FROM gen_old AS go
      LEFT JOIN gen_written AS gw ON true
      LEFT JOIN cast_old AS co ON true
      LEFT JOIN cast_written AS cw ON true
      LEFT JOIN cook_old AS ko ON true
      LEFT JOIN cook_written AS kw ON true`;
  });
}

/** The most corrections one `adjust_generations` statement carries. */
export const MAX_ADJUST_BATCH = 100;

/** One correction's input row of `adjust_generations` (`jsonb_to_recordset` reads it with these types). */
export const ADJUST_INPUT_COLUMNS: readonly Column[] = columns({
  ordinal: 'integer',
  id: 'text',
  cost_usd: 'numeric',
  points_spent: 'bigint',
  basis: 'jsonb',
  expected_adjustments: 'integer',
  at: 'timestamptz',
  at_iso: 'text',
});

/**
 * `adjust_generations`: several `adjustGeneration` calls (a re-price's page) as ONE statement, with
 * what each would have returned had they run one after another in ordinal order. Parameter:
 * `calls`, a jsonb array of input rows ({@link ADJUST_INPUT_COLUMNS}). Result: one row per call
 * whose generation exists (`ordinal`, then `g`, `c`, `k` as `adjust_generation` returns them).
 *
 * - Each call keeps its own gate, on its generation's locked row as `adjust_generation` checks
 *   it: finished, `expected_adjustments` adjustments, a figure differing (`winner`: the calls whose
 *   gate passes). A generation appears at most once in a statement: the adapter starts the next
 *   statement at a repeat, which must see the first's write.
 * - A parent receives the sum of its winners' differences in one UPDATE; each call's view of it
 *   is the locked row plus the differences of its parent's winners up to its own ordinal, with
 *   `version` moved by their number and `updated_at` its own `at`: what the calls one after
 *   another would have left after it (an adjustment changes nothing else on a parent).
 * - Locks, as every statement: the generations, then their casts, then their cooks, each table
 *   by id (FOR UPDATE), so batches and other statements cannot deadlock each other.
 */
export function buildAdjustmentsStatement(tables: Pick<TableNames, 'generations' | 'casts' | 'cooks'>): Statement {
  const { generations: G, casts: C, cooks: K } = tables;
  return defineStatement('adjust_generations', (param) => {
    const inputTypes = ADJUST_INPUT_COLUMNS.map((column) => `${column.name} ${column.type}`).join(', ');
    const provenance = newProvenance('old', { cost: 'x.cost_usd', points: 'x.points_spent', basis: 'x.basis', atIso: 'x.at_iso' });
    // A parent's running sums over its winners, in ordinal order (`link`: cast_id or cook_id).
    const steps = (link: string) => sql`
      SELECT w.${link} AS id, w.ordinal, w.apply_at,
        sum(w.delta_usd) OVER running AS usd,
        sum(w.delta_points) OVER running AS points,
        row_number() OVER running AS step,
        count(*) OVER (PARTITION BY w.${link}) AS steps
      FROM gen_written AS w
      WHERE w.${link} IS NOT NULL
      WINDOW running AS (PARTITION BY w.${link} ORDER BY w.ordinal ROWS UNBOUNDED PRECEDING)`;
    // Each parent written once, from its last step.
    const writeLast = (table: string, stepsOf: string, locked: string) => sql`
      UPDATE ${table} AS t SET
        cost_usd = t.cost_usd + s.usd,
        points_spent = t.points_spent + s.points,
        version = t.version + s.step,
        updated_at = s.apply_at
      FROM ${stepsOf} AS s
      WHERE t.id = s.id AND s.step = s.steps AND t.id = ANY (ARRAY(SELECT id FROM ${locked}))
      RETURNING t.id`;
    // A call's view of its parent: the locked row with its step's sums.
    const parentView = (all: readonly Column[], stepsOf: string, locked: string) => {
      const changed: Record<string, string> = {
        cost_usd: 'o.cost_usd + s.usd',
        points_spent: 'o.points_spent + s.points',
        version: 'o.version + s.step',
        updated_at: 's.apply_at',
      };
      const list = all.map((column) => `${changed[column.name] ?? `o.${column.name}`} AS ${column.name}`).join(', ');
      return sql`
        SELECT s.ordinal, ${jsonRecord([['changed', 'true'], ['previous_status', 'v.status'], ...all.map((column) => jsonField('v', column))])} AS record
        FROM ${stepsOf} AS s
        JOIN ${locked} AS o ON o.id = s.id
        CROSS JOIN LATERAL (SELECT ${list}) AS v`;
    };
    return sql`
      WITH input AS (
        SELECT * FROM jsonb_to_recordset(${param('calls', 'jsonb')}) AS x(${inputTypes})
      ),
      gen_old AS (SELECT * FROM ${G} WHERE id = ANY (ARRAY(SELECT id FROM input)) ORDER BY id FOR UPDATE),
      winner AS (
        SELECT x.*
        FROM input AS x JOIN gen_old AS old ON old.id = x.id
        WHERE old.status NOT IN ('pending', 'processing')
          AND coalesce(jsonb_array_length(old.cost_provenance->'adjustments'), 0) = x.expected_adjustments
          AND (old.cost_usd <> x.cost_usd OR old.points_spent <> x.points_spent)
      ),
      gen_written AS (
        UPDATE ${G} AS t SET
          cost_usd = x.cost_usd,
          points_spent = x.points_spent,
          cost_provenance = ${provenance},
          version = old.version + 1,
          updated_at = x.at
        FROM winner AS x JOIN gen_old AS old ON old.id = x.id
        WHERE t.id = x.id AND t.id = ANY (ARRAY(SELECT id FROM winner))
        RETURNING t.*, x.ordinal, x.at AS apply_at, x.cost_usd - old.cost_usd AS delta_usd, x.points_spent - old.points_spent AS delta_points
      ),
      cast_old AS (SELECT * FROM ${C} WHERE id = ANY (ARRAY(SELECT cast_id FROM gen_written)) ORDER BY id FOR UPDATE),
      cast_steps AS (
        ${steps('cast_id')}
      ),
      cast_written AS (
        ${writeLast(C, 'cast_steps', 'cast_old')}
      ),
      -- Reading cast_written makes the casts' UPDATE, and their locks, come before the cooks' lock.
      cook_old AS (
        SELECT * FROM ${K}
        WHERE id = ANY (ARRAY(SELECT cook_id FROM gen_written)) AND (SELECT count(*) FROM cast_written) >= 0
        ORDER BY id FOR UPDATE
      ),
      cook_steps AS (
        ${steps('cook_id')}
      ),
      cook_written AS (
        ${writeLast(K, 'cook_steps', 'cook_old')}
      ),
      gen_result AS MATERIALIZED (
        SELECT x.ordinal,
          CASE
            WHEN gw.id IS NOT NULL THEN ${jsonRecord([['changed', 'true'], ['previous_status', 'go.status'], ...GENERATION_COLUMNS.map((column) => jsonField('gw', column))])}
            ELSE ${jsonRecord([['changed', 'false'], ['previous_status', 'go.status'], ...GENERATION_COLUMNS.map((column) => jsonField('go', column))])}
          END AS record
        FROM input AS x
        JOIN gen_old AS go ON go.id = x.id
        LEFT JOIN gen_written AS gw ON gw.id = x.id
      ),
      cast_result AS MATERIALIZED (
        ${parentView(CAST_COLUMNS, 'cast_steps', 'cast_old')}
      ),
      cook_result AS MATERIALIZED (
        ${parentView(COOK_COLUMNS, 'cook_steps', 'cook_old')}
      )
      SELECT r.ordinal, r.record AS g, c.record AS c, k.record AS k
      FROM gen_result AS r
      LEFT JOIN cast_result AS c ON c.ordinal = r.ordinal
      LEFT JOIN cook_result AS k ON k.ordinal = r.ordinal`;
  });
}
