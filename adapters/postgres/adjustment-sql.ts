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
import { CAST_COLUMNS, COOK_COLUMNS, GENERATION_COLUMNS } from './rows.js';
import { jsonField, jsonRecord } from './settle-generations.js';
import type { TableNames } from './statements.js';

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
    const previous = `old.cost_provenance`;
    const provenance = sql`
      jsonb_build_object(
        'source', 'repriced',
        'usage', ${previous}->'usage',
        'basis', ${basis},
        'unpricedReason', NULL,
        -- (a JSON null is not SQL NULL: the first adjustment finds 'original' set to null)
        'original', CASE WHEN jsonb_typeof(${previous}->'original') = 'object' THEN ${previous}->'original' ELSE jsonb_build_object(
          'source', coalesce(${previous}->>'source', 'reported'),
          'costUsd', trim_scale(old.cost_usd)::text,
          'pointsSpent', old.points_spent,
          'basis', ${previous}->'basis') END,
        'adjustments', coalesce(${previous}->'adjustments', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
          'reason', 'reprice',
          'fromVersionId', ${previous}->'basis'->'versionId',
          'toVersionId', ${basis}->'versionId',
          'previousCostUsd', trim_scale(old.cost_usd)::text,
          'costUsd', trim_scale(${cost})::text,
          'deltaUsd', trim_scale(${cost} - old.cost_usd)::text,
          'previousPointsSpent', old.points_spent,
          'pointsSpent', ${points},
          'deltaPoints', ${points} - old.points_spent,
          'at', ${param('at_iso', 'text')})))`;
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
