/**
 * `insertAttached` in SQL (`createAttached` in the domain): a new generation (or cast) stored and
 * attached to its cast and cook as ONE statement, or nothing at all. The child's insert is the gate
 * (its id is the primary key, its idempotency key unique): the parents' counts move only in the
 * statement that stored the child.
 *
 * ```sql
 * WITH key_holder AS (SELECT * FROM generations WHERE idempotency_key = $key),  -- the key first: a repeat
 *                                                                              -- gets its record whatever the parents say
 *      cast_old AS (SELECT * FROM casts WHERE id = $cast FOR UPDATE),          -- lock the cast first,
 *      cook_old AS (SELECT * FROM cooks WHERE id = <the cast's cook, or $cook> FOR UPDATE),  -- then its cook
 *      decision AS (SELECT <each parent's attach outcome, and the verdict: existing (the key is taken),
 *                          accepted, mismatch or a refusal>
 *                   FROM the locked rows),
 *      inserted AS (INSERT INTO generations SELECT <the record, links from the parents>
 *                   FROM decision WHERE verdict = 'accepted' ON CONFLICT (idempotency_key) DO NOTHING RETURNING *),
 *      cast_written AS (UPDATE casts <in_flight_count + 1, id list> WHERE <attached> AND EXISTS (SELECT FROM inserted) RETURNING *),
 *      cook_written AS (UPDATE cooks <counts + 1, id list> WHERE <attached> AND EXISTS (SELECT FROM inserted) RETURNING *)
 * SELECT <outcome>, <the record>, <each parent as it now stands>
 * ```
 *
 * Why this order, inside one snapshot: the parents are locked (`FOR UPDATE` reads their newest
 * committed version, and nobody can change them until this statement commits), so the decision
 * is made on what the attaches will update, and no later write can refuse after an earlier one
 * landed: a refusal writes nothing. The insert is the only step that can still meet a racer (a
 * same-key insert that committed after this statement's snapshot, or is in flight: ON CONFLICT
 * waits for it). The attaches run only if the insert stored the row, so a lost race leaves no
 * attachment behind either; the statement then says `conflict`, and the adapter reads the winner
 * by its key (invisible to this snapshot), as the plain insert does. An `id` already stored fails
 * the primary key, and the whole statement with it.
 *
 * Locks: cast, then cook, as `settleGeneration` takes them (generation, cast, cook); a new row is
 * locked by nobody else, so creations and settlements cannot deadlock each other.
 *
 * The attach expressions restate `attachToCast` / `attachToCook` over the locked rows; the
 * conformance suite checks them against the domain's `createAttached`.
 */
import { defineStatement, sql, type Parameter, type Statement } from './client.js';
import { CAST_COLUMNS, COOK_COLUMNS, GENERATION_COLUMNS, selectList, type Column } from './rows.js';
import { writtenElseOld } from './rollup-sql.js';

/**
 * `<parent>_written` (the parent's attach, only when the decision attached it and the insert
 * stored the child) and `<parent>_now` (the parent as it stands after the statement).
 */
function attachWrite(parent: 'cast' | 'cook', table: string, alias: string, assignments: string): string {
  return sql`
      ${parent}_written AS (
        UPDATE ${table} AS t SET ${assignments}
        FROM ${parent}_old AS ${alias}, decision AS d
        WHERE t.id = ${alias}.id AND d.${parent}_outcome = 'attached' AND EXISTS (SELECT 1 FROM inserted)
        RETURNING t.*
      ),
      ${parent}_now AS (
        ${writtenElseOld(`${parent}_written`, `${parent}_old`)}
      )`;
}

/** The attach of a step to the locked cast `co`: its outcome, and the SET list of the write. */
function castAttach(co: string, child: string, maxInFlight: string, maxEmbeddedIds: string, at: string) {
  return {
    outcome: `CASE WHEN ${co}.id IS NULL THEN NULL WHEN ${co}.status <> 'running' THEN 'closed'
      WHEN ${co}.in_flight_count >= ${maxInFlight} THEN 'full' ELSE 'attached' END`,
    assignments: sql`
      step_generation_ids = CASE WHEN jsonb_array_length(${co}.step_generation_ids) < ${maxEmbeddedIds}
        THEN ${co}.step_generation_ids || jsonb_build_array(${child}) ELSE ${co}.step_generation_ids END,
      in_flight_count = ${co}.in_flight_count + 1,
      version = ${co}.version + 1, updated_at = ${at}`,
  };
}

/**
 * The attach of a child (`kind` a SQL text literal, `piece` a SQL boolean) to the locked cook `ko`:
 * a piece needs a running cook and room under the cap on pieces in flight; a step of a cast piece
 * needs an open (running or paused) cook and room under the cap on open generations below it.
 */
function cookAttach(ko: string, child: string, kind: string, piece: string, maxInFlight: string, maxEmbeddedIds: string, at: string) {
  const accepts = `CASE WHEN ${piece} THEN ${ko}.status = 'running' ELSE ${ko}.status IN ('running', 'paused') END`;
  const inFlight = `CASE WHEN ${piece} THEN ${ko}.in_flight_count ELSE ${ko}.open_generation_count END`;
  return {
    outcome: `CASE WHEN ${ko}.id IS NULL THEN NULL WHEN NOT (${accepts}) THEN 'closed'
      WHEN ${inFlight} >= ${maxInFlight} THEN 'full' ELSE 'attached' END`,
    assignments: sql`
      open_generation_count = ${ko}.open_generation_count + (${kind} = 'generation')::int,
      generation_ids = CASE WHEN ${kind} = 'generation' AND jsonb_array_length(${ko}.generation_ids) < ${maxEmbeddedIds}
        THEN ${ko}.generation_ids || jsonb_build_array(${child}) ELSE ${ko}.generation_ids END,
      cast_ids = CASE WHEN ${kind} <> 'generation' AND jsonb_array_length(${ko}.cast_ids) < ${maxEmbeddedIds}
        THEN ${ko}.cast_ids || jsonb_build_array(${child}) ELSE ${ko}.cast_ids END,
      in_flight_count = ${ko}.in_flight_count + (${piece})::int,
      version = ${ko}.version + 1, updated_at = ${at}`,
  };
}

const ACCEPTED = `('attached')`;

/** The child's values for `INSERT ... SELECT`: parameters, except the links the parents give. */
function childValues(columns: readonly Column[], param: Parameter, links: Readonly<Record<string, string>>): string {
  return columns.map((column) => links[column.name] ?? param(column.name, column.type)).join(', ');
}

/**
 * The statement for one kind of child. Parameters: the child's columns (as `generationToRow` /
 * `castToRow` name them), `parent_cast_id` (generations), `parent_cook_id`, `at`, `max_in_flight`,
 * `max_embedded_ids`.
 *
 * One row, always: `outcome` ('created' | 'existing' | 'conflict' | 'mismatch' | 'refused-cast'
 * | 'refused-cook'), the record (`r_`, when created or existing), the cast (`c_`, with
 * `c_present` and its attach's `c_outcome`) and the cook (`k_`, likewise, and `k_target` the
 * cook asked for), each as it stands after the statement.
 */
function insertAttachedStatement(
  label: string,
  kind: 'generation' | 'cast',
  tables: { readonly generations: string; readonly casts: string; readonly cooks: string },
): Statement {
  const { generations: G, casts: C, cooks: K } = tables;
  return defineStatement(label, (param) => {
    const child = param('id', 'text');
    const at = param('at', 'timestamptz');
    const maxInFlight = param('max_in_flight', 'integer');
    const maxEmbeddedIds = param('max_embedded_ids', 'integer');
    const cookParam = param('parent_cook_id', 'text');
    const castParam = kind === 'generation' ? param('parent_cast_id', 'text') : null;
    const table = kind === 'generation' ? G : C;
    const columns = kind === 'generation' ? GENERATION_COLUMNS : CAST_COLUMNS;

    // Generations: a step is attached to its cast and then (not as a piece) to the cast's cook;
    // without a cast, to the cook as a piece. Casts: to the cook as a piece.
    const cast = castParam === null ? null : castAttach('co', child, maxInFlight, maxEmbeddedIds, at);
    const piece = castParam === null ? 'true' : `(${castParam} IS NULL)`;
    const cook = cookAttach('ko', child, `'${kind}'`, piece, maxInFlight, maxEmbeddedIds, at);
    const targetCook = castParam === null ? cookParam : `CASE WHEN ${castParam} IS NULL THEN ${cookParam} ELSE co.cook_id END`;
    const links: Record<string, string> =
      kind === 'generation'
        ? { cast_id: 'co.id', spell_id: 'co.spell_id', cook_id: 'coalesce(ko.id, co.cook_id)', collection_id: 'coalesce(ko.collection_id, co.collection_id)' }
        : { cook_id: 'ko.id', collection_id: 'ko.collection_id' };
    const verdict =
      castParam === null
        ? `CASE WHEN ko.id IS NULL OR x.cook_outcome NOT IN ${ACCEPTED} THEN 'refused-cook' ELSE 'accepted' END`
        : `CASE
            WHEN ${castParam} IS NOT NULL AND co.id IS NULL THEN 'refused-cast'
            WHEN ${castParam} IS NOT NULL AND ${cookParam} IS NOT NULL AND co.cook_id IS DISTINCT FROM ${cookParam} THEN 'mismatch'
            WHEN co.id IS NOT NULL AND x.cast_outcome NOT IN ${ACCEPTED} THEN 'refused-cast'
            WHEN x.target_cook IS NOT NULL AND (ko.id IS NULL OR x.cook_outcome NOT IN ${ACCEPTED}) THEN 'refused-cook'
            ELSE 'accepted'
          END`;
    const castPart = castParam === null ? '' : `cast_old AS (SELECT * FROM ${C} WHERE id = ${castParam} FOR UPDATE),`;
    const cookLockedBy = castParam === null ? cookParam : `CASE WHEN ${castParam} IS NULL THEN ${cookParam} ELSE (SELECT cook_id FROM cast_old) END`;
    const parents = `(SELECT 1) AS one${castParam === null ? '' : ' LEFT JOIN cast_old AS co ON true'} LEFT JOIN cook_old AS ko ON true`;
    const castWrites = cast === null ? '' : `${attachWrite('cast', C, 'co', cast.assignments)},`;
    return sql`
      WITH ${castPart}
      cook_old AS (SELECT * FROM ${K} WHERE id = ${cookLockedBy} FOR UPDATE),
      key_holder AS (SELECT * FROM ${table} WHERE idempotency_key = ${param('idempotency_key', 'text')}),
      decision AS (
        SELECT x.*, CASE WHEN EXISTS (SELECT 1 FROM key_holder) THEN 'existing' ELSE ${verdict} END AS verdict
        FROM ${parents}
        CROSS JOIN LATERAL (
          SELECT ${cast === null ? 'NULL::text' : cast.outcome} AS cast_outcome, ${cook.outcome} AS cook_outcome, ${targetCook} AS target_cook
        ) AS x
      ),
      inserted AS (
        INSERT INTO ${table} (${columns.map((column) => column.name).join(', ')})
        SELECT ${childValues(columns, param, links)}
        FROM decision AS d ${castParam === null ? '' : 'LEFT JOIN cast_old AS co ON true'} LEFT JOIN cook_old AS ko ON true
        WHERE d.verdict = 'accepted'
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING *
      ),
      ${castWrites}
      ${attachWrite('cook', K, 'ko', cook.assignments)},
      child AS (
        SELECT true AS created, i.* FROM inserted AS i
        UNION ALL
        SELECT false AS created, e.* FROM key_holder AS e, decision AS d WHERE d.verdict = 'existing'
      )
      SELECT
        CASE WHEN d.verdict NOT IN ('accepted', 'existing') THEN d.verdict WHEN r.id IS NULL THEN 'conflict' WHEN r.created THEN 'created' ELSE 'existing' END AS outcome,
        ${selectList('r', columns, 'r_')},
        ${cast === null ? 'false AS c_present' : `cn.id IS NOT NULL AS c_present, d.cast_outcome AS c_outcome, ${selectList('cn', CAST_COLUMNS, 'c_')}`},
        kn.id IS NOT NULL AS k_present, d.cook_outcome AS k_outcome, d.target_cook AS k_target, ${selectList('kn', COOK_COLUMNS, 'k_')}
      FROM decision AS d
      LEFT JOIN child AS r ON true
      ${cast === null ? '' : 'LEFT JOIN cast_now AS cn ON true'}
      LEFT JOIN cook_now AS kn ON true`;
  });
}

/** The two creation statements: a generation under a cast and/or a cook, a cast under a cook. */
export function buildCreationStatements(tables: { readonly generations: string; readonly casts: string; readonly cooks: string }) {
  return {
    generation: insertAttachedStatement('insert_attached_generation', 'generation', tables),
    cast: insertAttachedStatement('insert_attached_cast', 'cast', tables),
  };
}
