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
 * locked by nobody else, so creations and settlements cannot deadlock each other. (A batch,
 * insert_generations, locks the account before its keys: with the same key sent to both at once
 * they can deadlock; see docs/postgres.md, "Contention, lock order and deadlocks".)
 *
 * The attach expressions restate `attachToCast` / `attachToCook` over the locked rows; the
 * conformance suite checks them against the domain's `createAttached`.
 */
import { accountJson, accountOrEmpty, budgetJson, entryJson, type AccountTableNames } from './account-sql.js';
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
function insertAttachedStatement(label: string, kind: 'generation' | 'cast', tables: CreationTables): Statement {
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
    const accounts = kind === 'generation' ? holdParts(tables, param, at) : null;
    const budgetOfCast =
      kind === 'cast'
        ? sql`
      budget AS (
        INSERT INTO ${tables.budgets} (parent_kind, parent_id, limit_points, limit_usd)
        SELECT 'cast', i.id, ${param('budget_points', 'bigint')}, ${param('budget_usd', 'numeric')} FROM inserted AS i
        WHERE ${param('budget_points', 'bigint')} IS NOT NULL OR ${param('budget_usd', 'numeric')} IS NOT NULL
      ),`
        : '';
    const finalVerdict =
      accounts === null
        ? `CASE WHEN EXISTS (SELECT 1 FROM key_holder) THEN 'existing' ELSE v.parents_verdict END`
        : `CASE WHEN EXISTS (SELECT 1 FROM key_holder) THEN 'existing' WHEN v.parents_verdict <> 'accepted' THEN v.parents_verdict ${accounts.verdict} ELSE 'accepted' END`;
    return sql`
      WITH ${castPart}
      cook_old AS (SELECT * FROM ${K} WHERE id = ${cookLockedBy} FOR UPDATE),
      key_holder AS (SELECT * FROM ${table} WHERE idempotency_key = ${param('idempotency_key', 'text')}),
      ${accounts === null ? '' : accounts.reads}
      decision AS (
        SELECT x.*, ${finalVerdict} AS verdict
        FROM ${parents}
        CROSS JOIN LATERAL (
          SELECT ${cast === null ? 'NULL::text' : cast.outcome} AS cast_outcome, ${cook.outcome} AS cook_outcome, ${targetCook} AS target_cook
        ) AS x
        CROSS JOIN LATERAL (SELECT ${verdict} AS parents_verdict) AS v
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
      ${accounts === null ? budgetOfCast : accounts.writes}
      child AS (
        SELECT true AS created, i.* FROM inserted AS i
        UNION ALL
        SELECT false AS created, e.* FROM key_holder AS e, decision AS d WHERE d.verdict = 'existing'
      )
      SELECT
        CASE WHEN d.verdict NOT IN ('accepted', 'existing') THEN d.verdict WHEN r.id IS NULL THEN 'conflict' WHEN r.created THEN 'created' ELSE 'existing' END AS outcome,
        ${selectList('r', columns, 'r_')},
        ${cast === null ? 'false AS c_present' : `cn.id IS NOT NULL AS c_present, d.cast_outcome AS c_outcome, ${selectList('cn', CAST_COLUMNS, 'c_')}`},
        kn.id IS NOT NULL AS k_present, d.cook_outcome AS k_outcome, d.target_cook AS k_target, ${selectList('kn', COOK_COLUMNS, 'k_')}${accounts === null ? '' : `,
        ${accounts.results}`}
      FROM decision AS d
      LEFT JOIN child AS r ON true
      ${cast === null ? '' : 'LEFT JOIN cast_now AS cn ON true'}
      LEFT JOIN cook_now AS kn ON true`;
  });
}

/**
 * A generation's hold (`holdAtCreation`), as parts of its creation statement. Parameters:
 * `hold_points`, `hold_usd` (NULL: the unit is not held; both NULL: no hold).
 *
 * - reads: the budgets of the cast and the cook the generation joins (`budget_old`, locked after
 *   the parents), each one's refusal (`holdInBudget`: a unit it limits that the hold does not
 *   name, or spent + held + the hold past the limit, points first), then, with a hold, the
 *   account as the statement's snapshot shows it (`account_seen`, not locked) and its shortfall
 *   (`coverageOf`).
 * - the draw (parent holds, migration 0009): the first budget (cast, then cook) whose reservation
 *   is held on this generation's account (`draw`); the hold's units inside the parent's are taken
 *   from its free part, and only those beyond them (`account_hold`) from the account, so the
 *   account reads and writes below use `account_hold`'s units, and a hold wholly inside writes no
 *   account and no entry.
 * - verdict: after the parents accept, the first refusing budget (cast, then cook) makes it
 *   'over-budget', else a shortfall 'insufficient'; either writes nothing (the insert reads the
 *   verdict).
 * - writes, only if the generation was inserted: the account LAST (its row lock is what 64 holds
 *   on one account wait for, so it is held from the account's write to the commit only): held +
 *   the hold, under a WHERE that PostgreSQL checks again on the newest version of the row once it
 *   is locked, so the hold never takes more than is available (an account with no row is
 *   inserted); the hold's ledger entry (the account's next sequence, the figures the write
 *   returned); the hold; the budgets (held + the hold in the units each limits). When the
 *   account's write finds the amount taken meanwhile (the snapshot was older than a concurrent
 *   hold or debit), `a_raced` calls `hold_raced()`, which raises GL001: the statement rolls back
 *   whole and the adapter sends it again, with a new snapshot.
 * - results: `a_raced` (null), `a_found`, `a_unit` (the account as found, the unit it cannot
 *   cover), `b_refused`, `b_unit`, `b_held` (the refusing budget as found, its unit, whether the
 *   hold named it), `a_now`, `a_entry`, `b_now` (what the hold wrote).
 */
function holdParts(tables: CreationTables, param: Parameter, at: string) {
  const { accounts: A, accountEntries: E, holds: H, budgets: B } = tables;
  const hp = param('hold_points', 'bigint');
  const hu = param('hold_usd', 'numeric');
  const hasHold = `(${hp} IS NOT NULL OR ${hu} IS NOT NULL)`;
  const account = param('master_account_id', 'text');
  // The units the account itself holds: all of the hold's, or, when it draws on a parent's
  // reservation, only those beyond the parent's units (NULL: not held from the account).
  const ahp = `(SELECT points FROM account_hold)`;
  const ahu = `(SELECT usd FROM account_hold)`;
  const holdsOnAccount = `(${ahp} IS NOT NULL OR ${ahu} IS NOT NULL)`;
  const reads = sql`
      budget_old AS (
        SELECT b.* FROM ${B} AS b
        WHERE (b.parent_kind = 'cast' AND b.parent_id = (SELECT id FROM cast_old))
          OR (b.parent_kind = 'cook' AND b.parent_id = (SELECT id FROM cook_old))
        ORDER BY b.parent_kind, b.parent_id
        FOR UPDATE
      ),
      budget_refusal AS (
        SELECT b.*, r.unit, r.held FROM budget_old AS b
        CROSS JOIN LATERAL (
          SELECT CASE
              WHEN b.limit_points IS NOT NULL AND ${hp} IS NULL THEN 'points'
              WHEN b.limit_usd IS NOT NULL AND ${hu} IS NULL THEN 'costUsd'
              WHEN b.limit_points IS NOT NULL AND b.spent_points + b.held_points + coalesce(${hp}, 0) > b.limit_points THEN 'points'
              WHEN b.limit_usd IS NOT NULL AND b.spent_usd + b.held_usd + coalesce(${hu}, 0) > b.limit_usd THEN 'costUsd'
            END AS unit,
            NOT ((b.limit_points IS NOT NULL AND ${hp} IS NULL) OR (b.limit_usd IS NOT NULL AND ${hu} IS NULL)) AS held
        ) AS r
        WHERE r.unit IS NOT NULL
        ORDER BY b.parent_kind
        LIMIT 1
      ),
      -- drawingBudget + drawFromReservation: the first budget (cast, then cook) whose open
      -- reservation is on this account; the part of the hold inside its units (taken from its
      -- free part), the units beyond them, and (a guard: the budget's check implies it) the unit
      -- its free part does not cover.
      draw AS (
        SELECT b.parent_kind, b.parent_id,
          CASE WHEN b.limit_points IS NULL THEN 0 ELSE coalesce(${hp}, 0) END AS inside_points,
          CASE WHEN b.limit_usd IS NULL THEN 0 ELSE coalesce(${hu}, 0) END AS inside_usd,
          CASE WHEN b.limit_points IS NULL THEN ${hp} END AS beyond_points,
          CASE WHEN b.limit_usd IS NULL THEN ${hu} END AS beyond_usd,
          CASE WHEN b.limit_points IS NOT NULL AND coalesce(${hp}, 0) > b.free_points THEN 'points'
               WHEN b.limit_usd IS NOT NULL AND coalesce(${hu}, 0) > b.free_usd THEN 'costUsd' END AS short_unit
        FROM budget_old AS b
        WHERE b.reservation_status = 'held' AND b.reservation_account_id = ${account} AND ${hasHold}
        ORDER BY b.parent_kind
        LIMIT 1
      ),
      draw_refusal AS (
        SELECT b.*, d.short_unit AS unit, true AS held FROM draw AS d JOIN budget_old AS b USING (parent_kind, parent_id) WHERE d.short_unit IS NOT NULL
      ),
      account_hold AS (
        SELECT CASE WHEN d.parent_kind IS NULL THEN ${hp} ELSE d.beyond_points END AS points,
          CASE WHEN d.parent_kind IS NULL THEN ${hu} ELSE d.beyond_usd END AS usd
        FROM (SELECT 1) AS one LEFT JOIN draw AS d ON true
      ),
      -- The account as this statement's snapshot shows it (no lock: it is locked last, by its write).
      account_seen AS (SELECT a.* FROM ${A} AS a WHERE a.account_id = ${account} AND ${holdsOnAccount}),
      account_check AS (
        SELECT f.*, ${holdShortfall(ahp, ahu, 'f')} AS short_unit
        FROM (${accountOrEmpty(account, 'a')} FROM (SELECT 1) AS one LEFT JOIN account_seen AS a ON true) AS f
      ),`;
  const verdict = `WHEN EXISTS (SELECT 1 FROM budget_refusal) OR EXISTS (SELECT 1 FROM draw_refusal) THEN 'over-budget'
          WHEN ${holdsOnAccount} AND (SELECT short_unit FROM account_check) IS NOT NULL THEN 'insufficient'`;
  const writes = sql`
      hold_written AS (
        INSERT INTO ${H} (generation_id, account_id, points, cost_usd, budget_cast_id, budget_cook_id, drawn_from, status)
        SELECT i.id, i.master_account_id, ${hp}, ${hu},
          (SELECT parent_id FROM budget_old WHERE parent_kind = 'cast'), (SELECT parent_id FROM budget_old WHERE parent_kind = 'cook'),
          (SELECT parent_kind FROM draw), 'held'
        FROM inserted AS i WHERE ${hasHold}
        RETURNING *
      ),
      -- The account's write, last: its WHERE is checked again on the newest version once the row is
      -- locked (READ COMMITTED), so a hold never takes more than is available; when a concurrent
      -- write took it meanwhile, the result's hold_raced() rolls the statement back (see 0004).
      account_written AS (
        UPDATE ${A} AS t SET held_points = t.held_points + coalesce(${ahp}, 0), held_usd = t.held_usd + coalesce(${ahu}, 0),
          entry_count = t.entry_count + 1, version = t.version + 1, updated_at = ${at}
        WHERE t.account_id = ${account} AND ${holdsOnAccount} AND EXISTS (SELECT 1 FROM inserted) AND EXISTS (SELECT 1 FROM account_seen)
          AND (${ahp} IS NULL OR ${ahp} <= t.balance_points - t.held_points) AND (${ahu} IS NULL OR ${ahu} <= t.balance_usd - t.held_usd)
        RETURNING t.*
      ),
      account_created AS (
        INSERT INTO ${A} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
        SELECT ac.account_id, 0, 0, coalesce(${ahp}, 0), coalesce(${ahu}, 0), 0, 0, 1, 1, ${at}
        FROM account_check AS ac WHERE ${holdsOnAccount} AND EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM account_seen)
        RETURNING *
      ),
      account_now AS (SELECT * FROM account_written UNION ALL SELECT * FROM account_created),
      entry_written AS (
        INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id,
          balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
        SELECT a.account_id, a.entry_count, 'hold', coalesce(${ahp}, 0), coalesce(${ahu}, 0), 'generation', i.id,
          a.balance_points, a.balance_usd, a.held_points, a.held_usd, ${at}
        FROM inserted AS i CROSS JOIN account_now AS a
        RETURNING *
      ),
      budget_written AS (
        UPDATE ${B} AS t SET held_points = t.held_points + CASE WHEN t.limit_points IS NULL THEN 0 ELSE coalesce(${hp}, 0) END,
          held_usd = t.held_usd + CASE WHEN t.limit_usd IS NULL THEN 0 ELSE coalesce(${hu}, 0) END,
          free_points = CASE WHEN d.parent_kind IS NULL THEN t.free_points ELSE t.free_points - d.inside_points END,
          free_usd = CASE WHEN d.parent_kind IS NULL THEN t.free_usd ELSE t.free_usd - d.inside_usd END
        FROM budget_old AS b LEFT JOIN draw AS d ON d.parent_kind = b.parent_kind
        WHERE t.parent_kind = b.parent_kind AND t.parent_id = b.parent_id AND ${hasHold} AND EXISTS (SELECT 1 FROM inserted)
        RETURNING t.*
      ),`;
  const results = sql`
        CASE WHEN ${holdsOnAccount} AND EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM account_now) THEN ${tables.holdRaced}(${account}) END AS a_raced,
        (SELECT ${accountJson('f')} FROM account_check AS f) AS a_found, (SELECT short_unit FROM account_check) AS a_unit,
        coalesce((SELECT ${budgetJson('b')} FROM budget_refusal AS b), (SELECT ${budgetJson('b')} FROM draw_refusal AS b)) AS b_refused,
        coalesce((SELECT unit FROM budget_refusal), (SELECT unit FROM draw_refusal)) AS b_unit,
        coalesce((SELECT held FROM budget_refusal), (SELECT held FROM draw_refusal)) AS b_held,
        (SELECT ${accountJson('n')} FROM account_now AS n) AS a_now,
        (SELECT ${entryJson('e')} FROM entry_written AS e) AS a_entry,
        coalesce((SELECT json_agg(${budgetJson('b')} ORDER BY b.parent_kind) FROM budget_written AS b), '[]'::json) AS b_now,
        (SELECT count(*) FROM hold_written) AS h_written, (SELECT drawn_from FROM hold_written) AS h_drawn_from`;
  return { reads, verdict, writes, results };
}

/**
 * `holdAtCreation`'s coverage check: the unit (points first) of the hold (`hp`, `hu`; NULL: not
 * named) that the account `a`'s available amount (balance - held) does not cover, else NULL.
 */
function holdShortfall(hp: string, hu: string, a: string): string {
  return `CASE WHEN ${hp} IS NOT NULL AND ${hp} > ${a}.balance_points - ${a}.held_points THEN 'points'
          WHEN ${hu} IS NOT NULL AND ${hu} > ${a}.balance_usd - ${a}.held_usd THEN 'costUsd' END`;
}

/** The tables a creation statement reads and writes. */
export type CreationTables = { readonly generations: string; readonly casts: string; readonly cooks: string; readonly holdRaced: string } & AccountTableNames;

/** The most calls one `insert_generations` statement carries. */
export const MAX_CREATION_BATCH = 100;

/**
 * One call's input row of `insert_generations` (read back by `jsonb_to_recordset` with these
 * types): its place in the batch, the generation's columns as `insert_attached_generation` takes
 * them, the hold (`hold_points`, `hold_usd`, NULL when not named) and `at`.
 */
export const GENERATION_BATCH_INPUT_COLUMNS: readonly Column[] = [
  { name: 'ordinal', type: 'integer' },
  ...GENERATION_COLUMNS,
  { name: 'hold_points', type: 'bigint' },
  { name: 'hold_usd', type: 'numeric' },
  { name: 'at', type: 'timestamptz' },
];

/**
 * `insert_generations`: a batch of `insertAttached` calls of generations with no parent (no cast,
 * no cook: so no budget either), each with or without a hold, as ONE statement. Parameter: `calls`,
 * a jsonb array of input rows ({@link GENERATION_BATCH_INPUT_COLUMNS}). Result: one row per call,
 * `ordinal` then the columns of `insert_attached_generation`'s row, holding what that statement
 * would have returned to the call had the batch's calls run one after another in ordinal order:
 *
 * - the idempotency key first: a call whose key is stored gets its record (`existing`) and
 *   nothing else is looked at. The queue never puts one key (or one id) twice in a batch: the
 *   second starts the next batch, and finds the first's record as a repeat does.
 * - the holds: the accounts are locked (`FOR UPDATE`, by id, the order every statement that locks
 *   several takes them in); per account, `hold_chain` decides its calls' holds in ordinal order,
 *   one step per call from the locked row (step 0; zeros when it has no row), with the single
 *   statement's check (`holdShortfall`): a covered hold adds to held and takes the account's next
 *   entry number, a refused one (`insufficient`, with the account as its step found it) changes
 *   nothing, so a later smaller hold may still be covered.
 * - the writes: every accepted call's generation (its links NULL, as the single statement gives a
 *   generation with no parent), hold and entry; each account once, from its last step (inserted
 *   when it had no row). No ON CONFLICT: a key or id a racer stored meanwhile fails the statement,
 *   which then wrote nothing, and the queue sends the calls again one by one through
 *   `insert_attached_generation`, which says `conflict` (or the id's ConflictError) for that call.
 *   A new account's row inserted by a racer fails it on the account's primary key: sent again.
 */
function insertGenerationsStatement(tables: CreationTables): Statement {
  const { generations: G, accounts: A, accountEntries: E, holds: H } = tables;
  return defineStatement('insert_generations', (param) => {
    const inputTypes = GENERATION_BATCH_INPUT_COLUMNS.map((column) => `${column.name} ${column.type}`).join(', ');
    // A generation with no parent: what the single statement's links give it.
    const links: Readonly<Record<string, string>> = { cast_id: 'NULL', spell_id: 'NULL', cook_id: 'NULL', collection_id: 'NULL' };
    // A call's accepted hold: a step past the locked row (step 0), covered.
    const accepted = `coalesce(h.step, 0) > 0 AND h.short_unit IS NULL`;
    return sql`
      WITH RECURSIVE input AS (
        SELECT * FROM jsonb_to_recordset(${param('calls', 'jsonb')}) AS x(${inputTypes})
      ),
      key_holder AS (SELECT g.* FROM ${G} AS g WHERE g.idempotency_key = ANY (ARRAY(SELECT idempotency_key FROM input))),
      hold_step AS (
        SELECT x.ordinal, x.id AS generation_id, x.master_account_id AS account_id, x.hold_points, x.hold_usd, x.at,
          row_number() OVER (PARTITION BY x.master_account_id ORDER BY x.ordinal)::integer AS step
        FROM input AS x
        WHERE (x.hold_points IS NOT NULL OR x.hold_usd IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM key_holder AS k WHERE k.idempotency_key = x.idempotency_key)
      ),
      account_old AS (
        SELECT a.* FROM ${A} AS a WHERE a.account_id = ANY (ARRAY(SELECT account_id FROM hold_step)) ORDER BY a.account_id FOR UPDATE
      ),
      hold_chain AS (
        SELECT f.*, f.stored AS stored_before, 0 AS step, NULL::integer AS ordinal, NULL::text AS generation_id,
          NULL::bigint AS hold_points, NULL::numeric AS hold_usd, NULL::text AS short_unit
        FROM (SELECT DISTINCT account_id FROM hold_step) AS s
        CROSS JOIN LATERAL (${accountOrEmpty('s.account_id', 'a')} FROM (SELECT 1) AS one LEFT JOIN account_old AS a ON a.account_id = s.account_id) AS f
        UNION ALL
        SELECT p.account_id, p.balance_points, p.balance_usd,
          p.held_points + CASE WHEN d.unit IS NULL THEN coalesce(c.hold_points, 0) ELSE 0 END,
          p.held_usd + CASE WHEN d.unit IS NULL THEN coalesce(c.hold_usd, 0) ELSE 0 END,
          p.spent_points, p.spent_usd, p.entry_count + (d.unit IS NULL)::int, p.version + (d.unit IS NULL)::int,
          CASE WHEN d.unit IS NULL THEN c.at ELSE p.updated_at END, p.stored OR d.unit IS NULL, p.stored_before,
          c.step, c.ordinal, c.generation_id, c.hold_points, c.hold_usd, d.unit
        FROM hold_chain AS p
        JOIN hold_step AS c ON c.account_id = p.account_id AND c.step = p.step + 1
        CROSS JOIN LATERAL (SELECT ${holdShortfall('c.hold_points', 'c.hold_usd', 'p')} AS unit) AS d
      ),
      decision AS (
        SELECT x.ordinal,
          CASE WHEN k.id IS NOT NULL THEN 'existing' WHEN h.short_unit IS NOT NULL THEN 'insufficient' ELSE 'accepted' END AS verdict
        FROM input AS x
        LEFT JOIN key_holder AS k ON k.idempotency_key = x.idempotency_key
        LEFT JOIN hold_chain AS h ON h.ordinal = x.ordinal
      ),
      inserted AS (
        INSERT INTO ${G} (${GENERATION_COLUMNS.map((column) => column.name).join(', ')})
        SELECT ${GENERATION_COLUMNS.map((column) => links[column.name] ?? `x.${column.name}`).join(', ')}
        FROM input AS x JOIN decision AS d ON d.ordinal = x.ordinal
        WHERE d.verdict = 'accepted'
        ORDER BY x.ordinal
        RETURNING *
      ),
      holds_written AS (
        INSERT INTO ${H} (generation_id, account_id, points, cost_usd, budget_cast_id, budget_cook_id, status)
        SELECT h.generation_id, h.account_id, h.hold_points, h.hold_usd, NULL, NULL, 'held' FROM hold_chain AS h WHERE ${accepted}
      ),
      entries_written AS (
        INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, generation_id,
          balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
        SELECT h.account_id, h.entry_count, 'hold', coalesce(h.hold_points, 0), coalesce(h.hold_usd, 0), 'generation', h.generation_id,
          h.balance_points, h.balance_usd, h.held_points, h.held_usd, h.updated_at
        FROM hold_chain AS h WHERE ${accepted}
        RETURNING *
      ),
      account_last AS (
        SELECT DISTINCT ON (h.account_id) h.* FROM hold_chain AS h WHERE ${accepted} ORDER BY h.account_id, h.step DESC
      ),
      account_written AS (
        UPDATE ${A} AS t SET held_points = l.held_points, held_usd = l.held_usd, entry_count = l.entry_count, version = l.version, updated_at = l.updated_at
        FROM account_last AS l
        WHERE t.account_id = l.account_id AND l.stored_before AND t.account_id = ANY (ARRAY(SELECT account_id FROM account_old))
      ),
      account_created AS (
        INSERT INTO ${A} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
        SELECT l.account_id, 0, 0, l.held_points, l.held_usd, 0, 0, l.entry_count, l.version, l.updated_at
        FROM account_last AS l WHERE NOT l.stored_before
      ),
      -- Each call's record: the row it inserted (only accepted calls insert, and no id is twice in
      -- a batch), or the one holding its key. Joined by hash on the batch's rows, not looked up
      -- per call (a lateral scan of the batch for each call).
      returned AS (
        SELECT x.ordinal, i.* FROM input AS x JOIN inserted AS i ON i.id = x.id
        UNION ALL
        SELECT x.ordinal, k.* FROM input AS x JOIN decision AS d ON d.ordinal = x.ordinal AND d.verdict = 'existing' JOIN key_holder AS k ON k.idempotency_key = x.idempotency_key
      )
      SELECT x.ordinal,
        CASE WHEN d.verdict = 'accepted' THEN 'created' ELSE d.verdict END AS outcome,
        ${selectList('r', GENERATION_COLUMNS, 'r_')},
        false AS c_present, false AS k_present,
        CASE WHEN d.verdict = 'insufficient' THEN ${accountJson('h')} END AS a_found, h.short_unit AS a_unit,
        NULL::json AS b_refused, NULL::text AS b_unit, NULL::boolean AS b_held,
        CASE WHEN ${accepted} THEN ${accountJson('h')} END AS a_now,
        CASE WHEN e.account_id IS NOT NULL THEN ${entryJson('e')} END AS a_entry,
        '[]'::json AS b_now,
        (${accepted})::int::bigint AS h_written
      FROM input AS x
      JOIN decision AS d ON d.ordinal = x.ordinal
      LEFT JOIN hold_chain AS h ON h.ordinal = x.ordinal
      LEFT JOIN entries_written AS e ON e.account_id = h.account_id AND e.sequence = h.entry_count AND ${accepted}
      LEFT JOIN returned AS r ON r.ordinal = x.ordinal
      ORDER BY x.ordinal`;
  });
}

/**
 * The creation statements: a generation under a cast and/or a cook (and its hold), a batch of
 * generations with no parent (and their holds), a cast under a cook (and its budget).
 */
export function buildCreationStatements(tables: CreationTables) {
  return {
    generation: insertAttachedStatement('insert_attached_generation', 'generation', tables),
    generations: insertGenerationsStatement(tables),
    cast: insertAttachedStatement('insert_attached_cast', 'cast', tables),
  };
}
