/**
 * Writes out `statements.sql`: every statement the adapter sends, whole, as it sends it, for the
 * default schema and table prefix, each under a header naming its parameters (`$n`, name and type,
 * as the adapter binds them), its result and what it does and locks (as BullMQ's `.lua` commands
 * open). The text is built by the adapter's own builders (`buildStatements`,
 * `buildCreationStatements`, `buildChangeLogStatements`, the feed's and `migrate()`'s session
 * statements), so the file cannot say something else than what runs: `npm run sql:generate` writes
 * it, and test/postgres-sql-file.test.ts fails while the checked-in copy differs.
 *
 * Not shipped: read by `scripts/generate-sql.ts` and by that test only.
 */
import { buildChangeLogStatements, changeChannel, listenerStatements } from '../change-feed.js';
import type { Statement } from '../client.js';
import { buildCreationStatements } from '../creation-sql.js';
import { DEFAULT_POSTGRES_OPTIONS, postgresRepository } from '../index.js';
import { migrationSessionStatements } from '../migrate.js';
import { CAST_COLUMNS, COOK_COLUMNS, GENERATION_COLUMNS, type Column } from '../rows.js';
import { buildSettleGenerations } from '../settle-generations.js';
import { buildAdjustmentsStatement, buildAdjustmentStatement } from '../adjustment-sql.js';
import { buildAccountStatements } from '../account-sql.js';
import { buildPriceTableStatements } from '../price-tables-sql.js';
import { buildStatements, type GenerationListShape } from '../statements.js';

/** What a header says besides the parameters, which come from the statement itself. */
interface Header {
  readonly does: string;
  readonly locks: string;
  readonly result: string;
}

const GENERATION_ROW = 'the generation\'s columns (see "Record columns")';
const CAST_ROW = 'the cast\'s columns (see "Record columns")';
const COOK_ROW = 'the cook\'s columns (see "Record columns")';
const WRITE_RESULT = (row: string) =>
  `one row: changed boolean (this call wrote), previous_status text (the status before the call), then ${row} as the row now stands; no row: no such record`;
const INSERT_RESULT = (row: string) =>
  `one row: created boolean (false: the idempotency key was already taken, and this is the record holding it), then ${row}; no row: the key is held by a transaction this statement cannot see (read it with *_by_key)`;
const CAST_ENDING_RESULT =
  'at most one row: c_changed, c_previous_status, c_<the cast\'s columns>; k_present boolean (the cast is a cook piece and its end was applied), k_changed, k_previous_status, k_<the cook\'s columns> (null when not applied)';
const MAINTENANCE = (kind: 'cast' | 'cook', after: boolean) => ({
  does: `Maintenance (sweepStale/expire/reconcile): the ${kind}s to visit${after ? ', after after_id' : ''}, by id: running ones idle since idle_before with nothing in flight, cancelled ones with children still in flight (a cascade cut short), and those migration 0003 queued in reconcile_queue. Uses the partial index on watched.`,
  locks: 'nothing (a read)',
  result: `up to limit rows of ${kind === 'cast' ? CAST_ROW : COOK_ROW}, by id`,
});
const SUMMARY_RESULT =
  'one row: success, failed, cancelled_by_user, timeout, piece_success, piece_failed, piece_cancelled_by_user, piece_timeout bigint (counts of finished generations), points_spent, protocol_net_points numeric, cost_usd text (exact), last_finished_at bigint (epoch ms), unfinished, unfinished_pieces bigint, first_ids jsonb (the first max_embedded_ids ids by request time)';

const HEADERS: Readonly<Record<string, Header>> = {
  generations_insert: {
    does: 'recordGeneration without parents: inserts the generation unless its idempotency key is taken (ON CONFLICT DO NOTHING on the unique key), then returns the stored record either way.',
    locks: 'the new row (and, on a key conflict, waits for the transaction inserting that key)',
    result: INSERT_RESULT(GENERATION_ROW),
  },
  generations_get: { does: 'Reads generations by id.', locks: 'nothing (a read)', result: `one row per id found: ${GENERATION_ROW}` },
  generations_by_key: {
    does: 'Reads the generation holding an idempotency key (after an insert that lost a race to a key it could not see).',
    locks: 'nothing (a read)',
    result: `at most one row: created boolean (always false), then ${GENERATION_ROW}`,
  },
  generations_list: {
    does: 'listGenerations: one page, keyset-paginated on (request_timestamp, id). One statement per combination of filters, so each is served by its own index.',
    locks: 'nothing (a read)',
    result: `up to limit rows of ${GENERATION_ROW}`,
  },
  generations_stale: {
    does: 'The sweeper: open (pending/processing) generations not written since updated_before, oldest write first.',
    locks: 'nothing (a read)',
    result: `up to limit rows of ${GENERATION_ROW}`,
  },
  generations_start: {
    does: 'startGeneration: pending -> processing, setting started_at. Gate: status = pending.',
    locks: 'the generation (FOR UPDATE)',
    result: WRITE_RESULT(GENERATION_ROW),
  },
  generations_progress: {
    does: 'recordGenerationProgress: forward only, while open; a pending generation becomes processing. Gate: open and progress >= the stored progress.',
    locks: 'the generation (FOR UPDATE)',
    result: WRITE_RESULT(GENERATION_ROW),
  },
  generations_delivery: {
    does: 'recordGenerationDelivery: records the delivery outcome of a finished generation whose delivery is pending. Gate: finished and delivery_status = pending.',
    locks: 'the generation (FOR UPDATE)',
    result: WRITE_RESULT(GENERATION_ROW),
  },
  casts_insert: {
    does: 'Inserts a cast without a cook, unless its idempotency key is taken.',
    locks: 'the new row',
    result: INSERT_RESULT(CAST_ROW),
  },
  casts_get: { does: 'Reads casts by id.', locks: 'nothing (a read)', result: `one row per id found: ${CAST_ROW}` },
  casts_by_key: { does: 'Reads the cast holding an idempotency key.', locks: 'nothing (a read)', result: `at most one row: created boolean (false), then ${CAST_ROW}` },
  casts_end: {
    does: 'transitionCast (endCast): finish, cancel, or expire (nothing in flight) a running cast, and, when it is a cook piece, apply its end to the cook (applyToCook) in the same statement. The cast\'s UPDATE is the gate: a repeat writes and applies nothing.',
    locks: 'the cast, then its cook (FOR UPDATE)',
    result: CAST_ENDING_RESULT,
  },
  casts_replace: {
    does: 'Reconcile\'s write: the recomputed aggregates, only at expected_version (a compare-and-set); removes the cast from reconcile_queue; if this ends a running cast that is a cook piece, applies the piece to the cook.',
    locks: 'the cast, then its cook (FOR UPDATE)',
    result: `${CAST_ENDING_RESULT}; no row: the version moved or the cast is gone`,
  },
  casts_maintenance: MAINTENANCE('cast', false),
  casts_maintenance_after: MAINTENANCE('cast', true),
  casts_summary: {
    does: 'Reconcile\'s read: sums the generations of a cast as stored.',
    locks: 'nothing (a read)',
    result: SUMMARY_RESULT,
  },
  casts_open_children: {
    does: 'The open (pending/processing) generations of a cast, oldest first, from the partial index of migration 0003.',
    locks: 'nothing (a read)',
    result: 'one row: generation_ids jsonb (at most limit ids), cast_ids jsonb (always [])',
  },
  cooks_insert: { does: 'Inserts a cook, unless its idempotency key is taken.', locks: 'the new row', result: INSERT_RESULT(COOK_ROW) },
  cooks_get: { does: 'Reads cooks by id.', locks: 'nothing (a read)', result: `one row per id found: ${COOK_ROW}` },
  cooks_by_key: { does: 'Reads the cook holding an idempotency key.', locks: 'nothing (a read)', result: `at most one row: created boolean (false), then ${COOK_ROW}` },
  cooks_transition: {
    does: 'transitionCook: finish/cancel from running or paused, pause from running, resume from paused, expire a running cook with nothing in flight. Gate: the transition is allowed from the stored status.',
    locks: 'the cook (FOR UPDATE)',
    result: WRITE_RESULT(COOK_ROW),
  },
  cooks_replace: {
    does: 'Reconcile\'s write: the recomputed aggregates, only at expected_version (a compare-and-set); removes the cook from reconcile_queue.',
    locks: 'the cook (FOR UPDATE)',
    result: `at most one row: changed boolean (true), previous_status text, then ${COOK_ROW}; no row: the version moved or the cook is gone`,
  },
  cooks_maintenance: MAINTENANCE('cook', false),
  cooks_maintenance_after: MAINTENANCE('cook', true),
  cooks_summary: {
    does: 'Reconcile\'s read: sums the generations of a cook (and those that are pieces) and its cast pieces, as stored.',
    locks: 'nothing (a read)',
    result: `${SUMMARY_RESULT}; then casts_completed, casts_failed, casts_cancelled bigint, casts_last_finished_at bigint (epoch ms), casts_unfinished bigint, casts_first_ids jsonb`,
  },
  cooks_open_children: {
    does: 'The open generations below a cook (pieces, and steps of its cast pieces) and its running cast pieces, oldest first, each from a partial index of migration 0003.',
    locks: 'nothing (a read)',
    result: 'one row: generation_ids jsonb, cast_ids jsonb (each at most limit ids)',
  },
  settle_generations: {
    does: 'settleGeneration, with group commit: a batch of calls (calls: a jsonb array of input rows, each with its ordinal) in one statement. Per generation the first call whose gate passes (finishGeneration; gate: pending/processing, and for the sweeper not written since only_if_updated_before) wins; then each winner applies to its cast (applyToCast) and to its cook (applyToCook: the generation, and, if that apply ended the cast and the cast is a piece of the same cook, the cast piece), in ordinal order, one stage per apply (the recursive cast_chain and cook_chain), and each parent is written once. Every apply reads only the rows the generations\' UPDATE returned, so a repeat applies nothing. A batch of one is a plain settleGeneration. Accounts (migration 0004): each winner\'s hold still held is settled (settleGenerationHold: capture what the generation records in the units the hold names, release the rest, an overdraft entry when the charge beyond the hold exceeds available), its entries appended, its account and its budgets written; several holds of one account in a batch in ordinal order (window sums over the account\'s holds), each account and budget written once.',
    locks: 'the generations, then their casts, then their cooks (FOR UPDATE, each table by id), the order every statement takes them; then the winners\' holds, their budgets, their accounts (FOR UPDATE, by key)',
    result: 'one row per call whose generation exists: ordinal integer, then four json columns, each a record as the other statements return it (timestamps and numbers as text) with changed and previous_status: g (the generation as the call finds it after its turn), c (the cast after its step, null when not applied), k1 (the cook after the generation\'s apply), k2 (after the cast piece\'s apply), k1 and k2 with only the cook\'s id and the columns an apply changes; null when absent or not applied; then kf json, the cook\'s other columns, in the row of its first call only; then h json, the hold this call settled (units, captured, the account after it, its entries, its budgets after it), null when none. What each call would have got from a statement of its own, the calls run one after another in ordinal order',
  },
  prices_latest: {
    does: 'prices.latest (refreshPrices, setPrices with store): the stored price table with the highest revision.',
    locks: 'nothing (a read)',
    result: 'at most one row: revision integer, price_table jsonb (dates as ISO text), saved_at bigint (epoch ms)',
  },
  prices_get: {
    does: 'prices.get: one stored price table revision, for history.',
    locks: 'nothing (a read)',
    result: 'at most one row: revision integer, price_table jsonb, saved_at bigint (epoch ms)',
  },
  prices_append: {
    does: 'prices.append (setPrices with store): a new revision, unless a row holds it already (ON CONFLICT on the primary key DO NOTHING): no row is ever updated, so every table that was in force stays.',
    locks: 'the new row (and, when a racing insert holds the same revision, waits for it)',
    result: 'one row (revision) when appended; no row when the revision existed and nothing was written',
  },
  adjust_generation: {
    does: 'adjustGeneration (adjust): a re-price\'s correction of one finished generation (its cost, points and provenance: the first figures kept in original, the adjustment appended), then the difference added to its cast and to its cook. Gate: finished, the provenance still holds expected_adjustments adjustments, and a figure differs; the parents\' UPDATEs read only the row the generation\'s UPDATE returned, so a repeat or a racing re-price changes nothing.',
    locks: 'the generation, then its cast, then its cook (FOR UPDATE), the order every statement takes them',
    result: 'one row of three json columns, each a record as the other statements return it with changed and previous_status: g (the generation, as written or as it stands), c (the cast, null when not changed), k (the cook, likewise)',
  },
  adjust_generations: {
    does: 'adjustGenerations (a re-price\'s page): up to 100 adjustGeneration calls (calls: a jsonb array of input rows, each with its ordinal) in one statement. Each call keeps adjust_generation\'s gate on its locked generation (finished, expected_adjustments adjustments, a figure differing); a generation appears at most once in a statement (the adapter starts the next one at a repeat). Each cast and cook receives the sum of its winners\' differences in one UPDATE (version moved by their number), and each call sees its parent as the locked row plus the differences up to its own ordinal.',
    locks: 'the generations, then their casts, then their cooks (FOR UPDATE, each table by id), the order every statement takes them',
    result: 'one row per call whose generation exists: ordinal integer, then g, c, k json as adjust_generation returns them. What each call would have got from adjust_generation, the calls run one after another in ordinal order',
  },
  insert_attached_generation: {
    does: 'recordGeneration with parents (insertAttached / createAttached): the generation stored and attached to its cast (attachToCast) and to the cast\'s cook or its own cook (attachToCook), or nothing at all. A taken key returns the stored record whatever the parents say; a closed or full parent refuses without writing; the insert is the gate of the attaches. Accounts (migration 0004; hold_points, hold_usd NULL: no hold): after the parents accept, the budgets of its cast and cook (holdInBudget) and then its account (coverageOf) may refuse it (over-budget, insufficient: nothing written); otherwise, if the insert stored it, its hold, the hold\'s ledger entry, the account (held + the hold) and the budgets are written by the same statement.',
    locks: 'the cast, then the cook, then their budgets, then the account (FOR UPDATE), then the new rows',
    result: 'one row: outcome text (created | existing | conflict | mismatch | refused-cast | refused-cook | over-budget | insufficient), r_<the generation\'s columns> (when created or existing), c_present boolean, c_outcome text (attached | closed | full), c_<the cast\'s columns>, k_present boolean, k_outcome text, k_target text (the cook asked for), k_<the cook\'s columns>, each as it stands after the statement; then a_found json, a_unit text (the account as found, the unit it cannot cover), b_refused json, b_unit text, b_held boolean (the refusing budget as found, its unit, whether the hold named it), a_now json, a_entry json, b_now json (the account, the hold\'s entry and the budgets as written), h_written bigint (holds written: 0 or 1)',
  },
  insert_generations: {
    does: 'recordGeneration with no parent, with group commit: the calls that queued while a creation statement was in flight (calls: a jsonb array of input rows, each with its ordinal; never one idempotency key or id twice) in one statement. A stored key returns its record (existing). Holds (holdAtCreation): per account, in ordinal order, one step per call from the locked row (the recursive hold_chain, coverageOf on the figures after the earlier accepted holds), so a refused hold (insufficient) changes nothing and a later smaller one may still be taken; each accepted call\'s generation, hold and ledger entry (the account\'s entry_count + its rank among the account\'s accepted holds) stored, each account written once (inserted when it had no row). A key or id stored by a racer fails the whole statement (no ON CONFLICT): the adapter sends its calls again one by one as insert_attached_generation.',
    locks: 'the accounts of the calls with a hold (FOR UPDATE, by id), then the new rows',
    result: 'one row per call: ordinal integer, then insert_attached_generation\'s columns for a generation with no parent (outcome created | existing | insufficient; c_present and k_present false; b_refused, b_unit, b_held null, b_now []): what each call would have got from insert_attached_generation, the calls run one after another in ordinal order',
  },
  insert_attached_cast: {
    does: 'A cast created as a piece of a cook (insertAttached / createAttached): stored and attached to the cook (attachToCook), or nothing at all; with a budget (budget_points, budget_usd not both NULL), its budget row stored with it.',
    locks: 'the cook (FOR UPDATE), then the new row',
    result: 'one row: outcome text (created | existing | conflict | refused-cook), r_<the cast\'s columns>, c_present boolean (false), k_present boolean, k_outcome text, k_target text, k_<the cook\'s columns>',
  },
  casts_insert_budget: {
    does: 'startCast({ budget }) without a cook: as casts_insert, and the budget row (limit budget_points, budget_usd; NULL: not limited) stored only if the cast was.',
    locks: 'the new rows (and, on a key conflict, waits for the transaction inserting that key)',
    result: INSERT_RESULT(CAST_ROW),
  },
  cooks_insert_budget: {
    does: 'startCook({ budget }): as cooks_insert, and the budget row (limit budget_points, budget_usd; NULL: not limited) stored only if the cook was.',
    locks: 'the new rows (and, on a key conflict, waits for the transaction inserting that key)',
    result: INSERT_RESULT(COOK_ROW),
  },
  casts_insert_hold: {
    does: 'startCast({ hold }) (parentHoldAtCreation): the key first (a repeat takes no hold and returns the key\'s cast); then the initiator account, locked, must cover the hold (hold_points, hold_usd; NULL: not held), else nothing is written (insufficient); then the cast (its insert is the gate), the account\'s held + the hold (the account inserted when it has no row), its hold entry (cause parent), and the budget row whose limit is the hold, carrying the reservation (the account, free = the hold, status held). The release is migration 0009\'s trigger, when the cast ends.',
    locks: 'the account (FOR UPDATE, only when the key is free), then the new rows (and, on a key conflict, waits for the transaction inserting that key)',
    result: 'one row: outcome text (created | existing | insufficient | conflict: the key is held by a transaction this statement cannot see, read it with casts_by_key), a_unit text, a_found json (the account as found), a_now, a_entry, b_now json (what the hold wrote), then the cast\'s columns (created or existing)',
  },
  cooks_insert_hold: {
    does: 'startCook({ hold }) (parentHoldAtCreation): the key first (a repeat takes no hold and returns the key\'s cook); then the initiator account, locked, must cover the hold (hold_points, hold_usd; NULL: not held), else nothing is written (insufficient); then the cook (its insert is the gate), the account\'s held + the hold (the account inserted when it has no row), its hold entry (cause parent), and the budget row whose limit is the hold, carrying the reservation (the account, free = the hold, status held). The release is migration 0009\'s trigger, when the cook ends.',
    locks: 'the account (FOR UPDATE, only when the key is free), then the new rows (and, on a key conflict, waits for the transaction inserting that key)',
    result: 'one row: outcome text (created | existing | insufficient | conflict: the key is held by a transaction this statement cannot see, read it with cooks_by_key), a_unit text, a_found json (the account as found), a_now, a_entry, b_now json (what the hold wrote), then the cook\'s columns (created or existing)',
  },
  accounts_move: {
    does: 'credit()/debit() (applyMovement): the key first (a repeat writes nothing and returns the key\'s entry); a debit available does not cover writes nothing; otherwise the entry (the account\'s next sequence; the insert is the gate, its key unique per account) and the account (inserted on its first movement). Two first writes of one new account: the second fails on a primary key and is sent again.',
    locks: 'the account (FOR UPDATE), then the new entry',
    result: 'one row: outcome text (applied | existing | insufficient | conflict: the key is held by a movement this statement cannot see, read it with accounts_entry_by_key), unit text (of a shortfall), account json (as it now stands, or as found), entry json',
  },
  accounts_entry_by_key: {
    does: 'Reads the movement entry holding an idempotency key of an account (after a move that lost a race to a key it could not see), with the account.',
    locks: 'nothing (a read)',
    result: 'at most one row: entry json, account json',
  },
  accounts_get: { does: 'getAccount: the account as stored.', locks: 'nothing (a read)', result: 'at most one row: account json' },
  accounts_entries: {
    does: 'listLedgerEntries: one page of an account\'s entries after after_sequence, by sequence (the primary key).',
    locks: 'nothing (a read)',
    result: 'up to limit rows: entry json',
  },
  accounts_entry_page: {
    does: 'reconcileAccount, first step: one page of the account\'s entries after after_sequence, by sequence, as plain columns (the account is read by accounts_get; reconcileFigures replays the pages). Never one value for the whole ledger.',
    locks: 'nothing (a read)',
    result: 'up to limit rows: the entry\'s columns, numbers as text, at as epoch milliseconds',
  },
  accounts_reconcile_write: {
    does: 'reconcileAccount, on drift: the rebuilt figures, only if the account is still at expected_version (otherwise nothing, and reconcile reads again).',
    locks: 'the account',
    result: 'one row (account_id) when written, none when the version moved',
  },
  budgets_get: { does: 'A parent\'s budget.', locks: 'nothing (a read)', result: 'at most one row: budget json' },
  budgets_released: {
    does: 'After a write that ended parents holding a reservation (its result said so): their releases, written by migration 0009\'s trigger at the end of that write, to report in process. Per parent (parent_kinds[i], parent_ids[i]) released with something free: the budget, its release entry (by release_sequence) and the account as after it (the row when nothing was written since, else rebuilt from the entry and the later entries).',
    locks: 'nothing (a read)',
    result: 'one row per release: budget json, entry json, account json',
  },
  changes_prune_boundary: {
    does: 'pruneChanges, first step: the cutoff (server time minus retention_ms) and the lowest transaction with a change newer than it.',
    locks: 'nothing (a read)',
    result: 'one row: cutoff_ms text (epoch ms), boundary text (an xid8, or null)',
  },
  changes_prune_batch: {
    does: 'pruneChanges, repeated until a batch comes back short: deletes up to batch log rows below the boundary and older than the cutoff, and raises changes_horizon.pruned_through to the highest transaction deleted, in one statement.',
    locks: 'the log rows deleted (FOR UPDATE SKIP LOCKED: two pruners do not wait on each other), the horizon row',
    result: 'one row: deleted integer',
  },
};

/** The label a statement was defined with: its prepared name without `genledger_` and the digest. */
export function statementLabel(statement: Statement): string {
  return statement.name.replace(/^genledger_/, '').replace(/_[0-9a-f]{12}$/, '');
}

/** Every combination of `listGenerations` filters, in a fixed order. */
function listShapes(): GenerationListShape[] {
  const shapes: GenerationListShape[] = [];
  for (let bits = 0; bits < 64; bits += 1) {
    for (const order of ['asc', 'desc'] as const) {
      shapes.push({
        castId: (bits & 1) !== 0,
        cookId: (bits & 2) !== 0,
        masterAccountId: (bits & 4) !== 0,
        statuses: (bits & 8) !== 0,
        after: (bits & 16) !== 0,
        toolId: (bits & 32) !== 0,
        order,
      });
    }
  }
  return shapes;
}

function shapeName(shape: GenerationListShape): string {
  const filters = (['castId', 'cookId', 'masterAccountId', 'toolId', 'statuses', 'after'] as const).filter((key) => shape[key]);
  return `filters: ${filters.length > 0 ? filters.join(', ') : 'none'}; order ${shape.order}`;
}

/** Every pooled statement of a repository with the default names, in the order the file shows them. */
function defaultTables() {
  // Construction sends nothing: this only names the tables as the adapter does.
  return postgresRepository({ query: () => Promise.reject(new Error('not connected')) }).tables;
}

export function allStatements(): { statement: Statement; variant?: string }[] {
  const tables = defaultTables();
  const statements = buildStatements(tables);
  const creations = buildCreationStatements(tables);
  const changeLog = buildChangeLogStatements(tables);
  const { generations, casts, cooks } = statements;
  return [
    { statement: generations.insert },
    { statement: creations.generation },
    { statement: creations.generations },
    { statement: generations.byIds },
    { statement: generations.byIdempotencyKey },
    { statement: generations.start },
    { statement: generations.recordProgress },
    { statement: buildSettleGenerations(tables) },
    { statement: buildAdjustmentStatement(tables) },
    { statement: buildAdjustmentsStatement(tables) },
    { statement: generations.recordDelivery },
    { statement: generations.findStale },
    { statement: casts.insert },
    { statement: creations.cast },
    { statement: casts.byIds },
    { statement: casts.byIdempotencyKey },
    { statement: casts.transition },
    { statement: casts.replaceAggregates },
    { statement: casts.maintenance.first },
    { statement: casts.maintenance.after },
    { statement: casts.summarize },
    { statement: casts.openChildren },
    { statement: cooks.insert },
    { statement: cooks.byIds },
    { statement: cooks.byIdempotencyKey },
    { statement: cooks.transition },
    { statement: cooks.replaceAggregates },
    { statement: cooks.maintenance.first },
    { statement: cooks.maintenance.after },
    { statement: cooks.summarize },
    { statement: cooks.openChildren },
    { statement: casts.insertWithBudget },
    { statement: cooks.insertWithBudget },
    { statement: casts.insertWithHold },
    { statement: cooks.insertWithHold },
    ...Object.values(buildAccountStatements(tables)).map((statement) => ({ statement })),
    ...Object.values(buildPriceTableStatements(tables)).map((statement) => ({ statement })),
    { statement: changeLog.pruneBoundary },
    { statement: changeLog.pruneBatch },
    ...listShapes().map((shape) => ({ statement: generations.list(shape), variant: shapeName(shape) })),
  ];
}

const RULE = `-- ${'='.repeat(97)}`;

function comment(text: string, indent = '--   '): string[] {
  // Wrapped at 100 columns, on spaces.
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > 100) {
      lines.push(`${indent}${line}`);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(`${indent}${line}`);
  return lines;
}

function renderStatement({ statement, variant }: { statement: Statement; variant?: string }): string {
  const label = statementLabel(statement);
  const header = HEADERS[label];
  if (!header) throw new Error(`[genledger] [postgres] statement ${label} has no header in adapters/postgres/sql/statements-file.ts: describe it there`);
  const width = Math.max(...statement.parameters.map((name) => name.length), 0);
  const parameters =
    statement.parameters.length === 0
      ? ['--     (none)']
      : statement.parameters.map((name, index) => `--     $${index + 1}`.padEnd(11) + `${name.padEnd(width)}  ${statement.types[index]}`);
  return [
    RULE,
    `-- ${label}${variant ? ` (${variant})` : ''}`,
    `-- prepared as ${statement.name}`,
    '--',
    ...comment(header.does),
    '--',
    '--   Locks:',
    ...comment(header.locks, '--     '),
    '--   Parameters:',
    ...parameters,
    '--   Result:',
    ...comment(header.result, '--     '),
    RULE,
    `${statement.text};`,
    '',
  ].join('\n');
}

function renderColumns(title: string, columns: readonly Column[]): string[] {
  const width = Math.max(...columns.map((column) => column.name.length));
  return [
    `--   ${title}:`,
    ...columns.map((column) => `--     ${column.name.padEnd(width)}  ${column.type === 'timestamptz' ? 'bigint (epoch milliseconds of a timestamptz)' : column.type}`),
  ];
}

function renderSessionStatement(name: string, texts: string | readonly string[], note: string): string {
  const body = (typeof texts === 'string' ? [texts] : texts).map((text) => (text.startsWith('--') ? text : `${text};`));
  return [RULE, `-- ${name}`, '--', ...comment(note), RULE, ...body, ''].join('\n');
}

/** The whole of `statements.sql`. */
export function renderStatementsFile(): string {
  const { schema, tablePrefix } = DEFAULT_POSTGRES_OPTIONS;
  const entries = allStatements();
  const tables = defaultTables();
  const listener = listenerStatements({ channel: changeChannel(schema, tablePrefix), changes: tables.changes, changesHorizon: tables.changesHorizon });
  const migration = migrationSessionStatements({ schema, tablePrefix });
  const intro = [
    '-- GENERATED by `npm run sql:generate` (scripts/generate-sql.ts, adapters/postgres/sql/statements-file.ts)',
    '-- from the adapter\'s own statement builders. Do not edit: change the builders, then regenerate;',
    '-- test/postgres-sql-file.test.ts fails while this file differs from what the adapter sends.',
    '--',
    `-- Every statement genledger's PostgreSQL adapter runs, whole, for schema "${schema}" and table prefix`,
    `-- "${tablePrefix}" (another schema or prefix changes only the table names). ${entries.length} pooled statements, then the`,
    '-- change feed\'s and migrate()\'s session statements. The schema itself is in migrations/*.sql.',
    '--',
    '-- Each pooled statement is one implicit transaction, prepared once per connection under the name',
    '-- given (options.preparedStatements), with its parameters bound in the order listed ($n::type in',
    '-- the text). Writes lock in the order the data flows (generation, then cast, then cook); the one',
    '-- pair that can deadlock is in docs/postgres.md; one the server aborts (40001, 40P01) is sent again.',
    '--',
    '-- Record columns, as every statement returns a record (timestamps as epoch milliseconds):',
    ...renderColumns('generation', GENERATION_COLUMNS),
    ...renderColumns('cast', CAST_COLUMNS),
    ...renderColumns('cook', COOK_COLUMNS),
    '',
  ].join('\n');
  return [
    intro,
    ...entries.map(renderStatement),
    renderSessionStatement('change feed: session set-up', listener.setApplicationName, 'On each subscription\'s own connection, first: names it ($1 \'application_name\', $2 the feed\'s applicationName option).'),
    renderSessionStatement('change feed: listen', listener.listen, 'Then LISTEN on the channel the change-log trigger of migration 0002 notifies (a longer schema.prefix is hashed).'),
    renderSessionStatement('change feed: first position', listener.firstSnapshot, 'A new watch with no saved position: its watermark is this snapshot\'s xmin. Result: snapshot text.'),
    renderSessionStatement('change feed: catch up, begin', listener.beginCatchUp, 'A watch resuming (or reconnecting): everything logged at or above its watermark is read in one snapshot.'),
    renderSessionStatement('change feed: catch up, horizon', listener.catchUpHead, 'Result: snapshot text, pruned_through text (how far pruneChanges went: an older position is reported to onError).'),
    renderSessionStatement('change feed: catch up, cursor', listener.declareCatchUp(0n), 'The watermark (a transaction id the feed computed, never outside text) is written into the text as a literal; 0 shown here. Reads the log rows: kind, id, version text, tx text, in log order.'),
    renderSessionStatement('change feed: catch up, fetch', listener.fetchCatchUp(1000), 'Repeated until a batch comes back short; the batch is the catchUpBatch option (default 1000 shown).'),
    renderSessionStatement('change feed: catch up, end', [listener.commit, listener.rollback], 'COMMIT after the last batch; ROLLBACK when catching up failed.'),
    renderSessionStatement('change feed: heartbeat', listener.heartbeat, 'Every heartbeatMs on the idle connection: no answer by the next beat counts as a lost connection.'),
    renderSessionStatement(
      'migrate()',
      migration,
      'migrate(), on one connection in one transaction: waits for any other migrate() of the same schema and prefix ($1 \'genledger:<schema>.<prefix>\'), creates the schema if missing (looked up first, $1 the schema name), the migrations ledger, then, for each file of migrations/ not yet recorded, runs it and records it ($1 its id). ROLLBACK on any failure.',
    ),
  ].join('\n');
}
