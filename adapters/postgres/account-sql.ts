/**
 * Accounts in SQL (migration 0004): the statements of `repository.accounts` (`move`, `get`,
 * `listEntries`, `reconcile`, `getBudget`), and the JSON shapes in which every account statement,
 * the creation statement (a hold) and `settle_generations` (its capture and release) return an
 * account, its entries and budgets. What each statement writes is what the domain decides
 * (src/domain/accounts: `applyMovement`, `holdAtCreation`, `settleGenerationHold`,
 * `reconcileFigures`); test/adapters/postgres-accounts.test.ts checks the figures against it.
 *
 * Locks: a movement locks its account row only (`FOR UPDATE`), so movements, holds and
 * settlements of one account run one after another while those of other accounts do not wait. An
 * account nobody moved yet has no row: the first write inserts it. Two first writes racing on one
 * new account both find no row; the second one's insert fails on the primary key (of the account
 * or of its entry number 1), the whole statement with it, and the adapter sends it again (see
 * {@link isAccountRace}): it then finds and locks the row.
 */
import type { Account, Budget, LedgerEntry, Units } from 'genledger';
import { formatUsdUnits, parseSignedUsdUnits, type HoldDecision, type HoldSettlement, type LimitedInsertion } from 'genledger/adapter';
import { defineStatement, sql, type Statement } from './client.js';
import { epochMs, type Row } from './rows.js';

/** The account tables' qualified names. */
export interface AccountTableNames {
  readonly accounts: string;
  readonly accountEntries: string;
  readonly holds: string;
  readonly budgets: string;
}

// ---------------------------------------------------------------------------------------------
// JSON shapes: every number as text (bigint and numeric exactly), times as epoch milliseconds.

/** An `accounts` row `a` (or any relation with its columns) as a json object. */
export function accountJson(a: string): string {
  return `json_build_object('account_id', ${a}.account_id, 'balance_points', ${a}.balance_points::text, 'balance_usd', ${a}.balance_usd::text,
    'held_points', ${a}.held_points::text, 'held_usd', ${a}.held_usd::text, 'spent_points', ${a}.spent_points::text, 'spent_usd', ${a}.spent_usd::text,
    'entry_count', ${a}.entry_count::text, 'version', ${a}.version::text, 'updated_at', ${epochMs(`${a}.updated_at`)}::text)`;
}

/** An `account_entries` row `e` as a json object. */
export function entryJson(e: string): string {
  return `json_build_object('account_id', ${e}.account_id, 'sequence', ${e}.sequence::text, 'kind', ${e}.kind,
    'amount_points', ${e}.amount_points::text, 'amount_usd', ${e}.amount_usd::text,
    'from_hold_points', ${e}.from_hold_points::text, 'from_hold_usd', ${e}.from_hold_usd::text,
    'cause_kind', ${e}.cause_kind, 'reason', ${e}.reason, 'idempotency_key', ${e}.idempotency_key, 'generation_id', ${e}.generation_id,
    'parent_kind', ${e}.parent_kind, 'parent_id', ${e}.parent_id,
    'balance_after_points', ${e}.balance_after_points::text, 'balance_after_usd', ${e}.balance_after_usd::text,
    'held_after_points', ${e}.held_after_points::text, 'held_after_usd', ${e}.held_after_usd::text, 'at', ${epochMs(`${e}.at`)}::text)`;
}

/** An `account_entries` row `e` as plain columns, named and spelled as {@link entryJson}'s keys (read by {@link entryFromJson}). */
export function entryColumns(e: string): string {
  return `${e}.account_id, ${e}.sequence::text AS sequence, ${e}.kind, ${e}.amount_points::text AS amount_points, ${e}.amount_usd::text AS amount_usd,
    ${e}.from_hold_points::text AS from_hold_points, ${e}.from_hold_usd::text AS from_hold_usd,
    ${e}.cause_kind, ${e}.reason, ${e}.idempotency_key, ${e}.generation_id, ${e}.parent_kind, ${e}.parent_id,
    ${e}.balance_after_points::text AS balance_after_points, ${e}.balance_after_usd::text AS balance_after_usd,
    ${e}.held_after_points::text AS held_after_points, ${e}.held_after_usd::text AS held_after_usd, ${epochMs(`${e}.at`)}::text AS at`;
}

/** A `budgets` row `b` as a json object (its reservation's columns NULL for a plain budget). */
export function budgetJson(b: string): string {
  return `json_build_object('parent_kind', ${b}.parent_kind, 'parent_id', ${b}.parent_id, 'limit_points', ${b}.limit_points::text, 'limit_usd', ${b}.limit_usd::text,
    'held_points', ${b}.held_points::text, 'held_usd', ${b}.held_usd::text, 'spent_points', ${b}.spent_points::text, 'spent_usd', ${b}.spent_usd::text,
    'reservation_account_id', ${b}.reservation_account_id, 'free_points', ${b}.free_points::text, 'free_usd', ${b}.free_usd::text,
    'reservation_status', ${b}.reservation_status)`;
}

/**
 * A signed `numeric` as text, in the canonical spelling (`"-0.5"`, `"12"`, `"0"`): read and
 * written by the kit's exact money functions, the one parser of dollar amounts.
 */
function signedUsd(text: string): string {
  return formatUsdUnits(parseSignedUsdUnits(text));
}

function points(value: unknown): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed))
    throw new Error(`[genledger] [postgres] an account figure of ${String(value)} points is not a safe integer`);
  return parsed;
}

const amount = (row: Row, prefix: string) => ({
  points: points(row[`${prefix}_points`]),
  costUsd: signedUsd(String(row[`${prefix}_usd`])),
});

export function accountFromJson(row: Row): Account {
  const balance = amount(row, 'balance');
  const held = amount(row, 'held');
  return {
    accountId: String(row.account_id),
    balance,
    held,
    available: { points: balance.points - held.points, costUsd: formatUsdUnits(parseSignedUsdUnits(balance.costUsd) - parseSignedUsdUnits(held.costUsd)) },
    spent: amount(row, 'spent'),
    entryCount: points(row.entry_count),
    version: points(row.version),
    updatedAt: row.updated_at === null || row.updated_at === undefined ? null : new Date(Number(row.updated_at)),
  };
}

export function entryFromJson(row: Row): LedgerEntry {
  const kind = String(row.kind) as LedgerEntry['kind'];
  return {
    accountId: String(row.account_id),
    sequence: points(row.sequence),
    kind,
    amount: amount(row, 'amount'),
    fromHold: kind === 'capture' ? amount(row, 'from_hold') : null,
    cause: causeFromRow(row),
    balanceAfter: amount(row, 'balance_after'),
    heldAfter: amount(row, 'held_after'),
    at: new Date(Number(row.at)),
  };
}

function causeFromRow(row: Row): LedgerEntry['cause'] {
  switch (row.cause_kind) {
    case 'movement':
      return { kind: 'movement', reason: String(row.reason), idempotencyKey: String(row.idempotency_key) };
    case 'generation':
      return { kind: 'generation', generationId: String(row.generation_id) };
    case 'parent':
      return { kind: 'parent', parentKind: row.parent_kind as 'cast' | 'cook', parentId: String(row.parent_id) };
    default:
      throw new Error(`[genledger] [postgres] a ledger entry has the unknown cause ${String(row.cause_kind)}`);
  }
}

export function budgetFromJson(row: Row): Budget {
  return {
    parentKind: row.parent_kind as Budget['parentKind'],
    parentId: String(row.parent_id),
    limit: {
      ...(row.limit_points === null ? {} : { points: points(row.limit_points) }),
      ...(row.limit_usd === null ? {} : { costUsd: signedUsd(String(row.limit_usd)) }),
    },
    held: amount(row, 'held'),
    spent: amount(row, 'spent'),
    ...(row.reservation_status === null || row.reservation_status === undefined
      ? {}
      : {
          reservation: {
            accountId: String(row.reservation_account_id),
            free: amount(row, 'free'),
            status: row.reservation_status as 'held' | 'released',
          },
        }),
  };
}

/**
 * A statement lost a race on an account and wrote nothing; send it again: it failed on the primary
 * key of `accounts` or `account_entries` (another first write of the same new account, see the
 * module comment), or it is a hold that found its amount taken once it locked the account (GL001).
 */
export function isAccountRace(error: unknown, tablePrefix: string): boolean {
  const failure = error as { code?: unknown; constraint?: unknown } | null;
  // GL001: raised by hold_raced() (migration 0004; see creation-sql.ts).
  if (failure?.code === 'GL001') return true;
  return (
    failure?.code === '23505' &&
    (failure.constraint === `${tablePrefix}accounts_pkey` || failure.constraint === `${tablePrefix}account_entries_pkey`)
  );
}

/**
 * A condition that fails its statement when it reaches a hold `h` (`generation_id`, `account_id`)
 * whose account has no row, deleted by hand while the hold was open: settling it would mark it
 * settled and capture nothing, so the money held would be lost silently. `present` is the SQL
 * condition that the account's row was found; when it is false, `raise` (the function
 * `hold_account_missing()` of migration 0008) raises SQLSTATE GL002: the statement writes nothing,
 * and the adapter reports it ({@link missingAccountOf}).
 */
export function accountMissing(h: string, present: string, raise: string): string {
  return `CASE WHEN ${present} THEN true ELSE ${raise}(${h}.account_id, ${h}.generation_id) END`;
}

/** The account and generation of an {@link accountMissing} failure (GL002, its DETAIL `[account, generation]`), or `null` for any other error. */
export function missingAccountOf(error: unknown): { accountId: string; generationId: string } | null {
  const failure = error as { code?: unknown; detail?: unknown } | null;
  if (failure?.code !== 'GL002' || typeof failure.detail !== 'string') return null;
  try {
    const [accountId, generationId] = JSON.parse(failure.detail) as [unknown, unknown];
    return typeof accountId === 'string' && typeof generationId === 'string' ? { accountId, generationId } : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The statements of `repository.accounts`.

/**
 * The account as stored, or all zeros (`stored` false) when it has none: `a` the locked
 * `account_old`. Columns as `accounts`'s, plus `stored`.
 */
export function accountOrEmpty(accountId: string, a: string): string {
  return `SELECT ${accountId} AS account_id, coalesce(${a}.balance_points, 0) AS balance_points, coalesce(${a}.balance_usd, 0) AS balance_usd,
      coalesce(${a}.held_points, 0) AS held_points, coalesce(${a}.held_usd, 0) AS held_usd,
      coalesce(${a}.spent_points, 0) AS spent_points, coalesce(${a}.spent_usd, 0) AS spent_usd,
      coalesce(${a}.entry_count, 0) AS entry_count, coalesce(${a}.version, 0) AS version, ${a}.updated_at, ${a}.account_id IS NOT NULL AS stored`;
}

export function buildAccountStatements(tables: AccountTableNames) {
  const { accounts: A, accountEntries: E, budgets: B } = tables;

  /**
   * `accounts.move` (`applyMovement`): a credit, or a debit `available` covers, and its entry.
   * The key first (a repeat writes nothing and returns the key's entry); then the account locked;
   * the entry's insert is the gate (its key unique per account), the account's write reads what
   * it returned. Result: one row: outcome ('applied' | 'existing' | 'insufficient' | 'conflict':
   * the key was taken by a movement this statement's snapshot cannot see), unit (of a shortfall),
   * account (as it now stands, or as found when nothing was written), entry.
   */
  const move = defineStatement('accounts_move', (param) => {
    const accountId = param('account_id', 'text');
    const kind = param('kind', 'text');
    const p = param('points', 'bigint');
    const u = param('cost_usd', 'numeric');
    const at = param('at', 'timestamptz');
    const sign = `CASE WHEN ${kind} = 'credit' THEN 1 ELSE -1 END`;
    return sql`
      WITH key_holder AS (
        SELECT e.* FROM ${E} AS e WHERE e.account_id = ${accountId} AND e.idempotency_key = ${param('idempotency_key', 'text')}
      ),
      account_old AS (SELECT a.* FROM ${A} AS a WHERE a.account_id = ${accountId} FOR UPDATE),
      base AS (${accountOrEmpty(accountId, 'a')} FROM (SELECT 1) AS one LEFT JOIN account_old AS a ON true),
      decision AS (
        SELECT b.*,
          CASE WHEN ${kind} = 'debit' AND ${p} IS NOT NULL AND ${p} > b.balance_points - b.held_points THEN 'points'
               WHEN ${kind} = 'debit' AND ${u} IS NOT NULL AND ${u} > b.balance_usd - b.held_usd THEN 'costUsd' END AS unit
        FROM base AS b
      ),
      entry AS (
        INSERT INTO ${E} (account_id, sequence, kind, amount_points, amount_usd, cause_kind, reason, idempotency_key,
          balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
        SELECT d.account_id, d.entry_count + 1, ${kind}, coalesce(${p}, 0), coalesce(${u}, 0), 'movement', ${param('reason', 'text')}, ${param('idempotency_key', 'text')},
          d.balance_points + ${sign} * coalesce(${p}, 0), d.balance_usd + ${sign} * coalesce(${u}, 0), d.held_points, d.held_usd, ${at}
        FROM decision AS d
        WHERE d.unit IS NULL AND NOT EXISTS (SELECT 1 FROM key_holder)
        ON CONFLICT (account_id, idempotency_key) DO NOTHING
        RETURNING *
      ),
      account_written AS (
        UPDATE ${A} AS t SET balance_points = e.balance_after_points, balance_usd = e.balance_after_usd,
          entry_count = e.sequence, version = t.version + 1, updated_at = e.at
        FROM entry AS e WHERE t.account_id = e.account_id
        RETURNING t.*
      ),
      account_created AS (
        INSERT INTO ${A} (account_id, balance_points, balance_usd, held_points, held_usd, spent_points, spent_usd, entry_count, version, updated_at)
        SELECT e.account_id, e.balance_after_points, e.balance_after_usd, 0, 0, 0, 0, e.sequence, 1, e.at
        FROM entry AS e WHERE NOT EXISTS (SELECT 1 FROM account_old)
        RETURNING *
      ),
      account_now AS (
        SELECT * FROM account_written UNION ALL SELECT * FROM account_created
      )
      SELECT
        CASE WHEN EXISTS (SELECT 1 FROM key_holder) THEN 'existing' WHEN d.unit IS NOT NULL THEN 'insufficient'
             WHEN EXISTS (SELECT 1 FROM entry) THEN 'applied' ELSE 'conflict' END AS outcome,
        d.unit,
        coalesce((SELECT ${accountJson('n')} FROM account_now AS n), ${accountJson('d')}) AS account,
        coalesce((SELECT ${entryJson('e')} FROM entry AS e), (SELECT ${entryJson('k')} FROM key_holder AS k)) AS entry
      FROM decision AS d`;
  });

  const get = defineStatement(
    'accounts_get',
    (param) => `SELECT ${accountJson('a')} AS account FROM ${A} AS a WHERE a.account_id = ${param('account_id', 'text')}`,
  );

  const entries = defineStatement(
    'accounts_entries',
    (param) => sql`
      SELECT ${entryJson('e')} AS entry FROM ${E} AS e
      WHERE e.account_id = ${param('account_id', 'text')} AND e.sequence > ${param('after_sequence', 'bigint')}
      ORDER BY e.sequence LIMIT ${param('limit', 'integer')}`,
  );

  /**
   * Reconcile's read of the entries, a page at a time (keyset on `sequence`): plain columns, each
   * named and spelled as in {@link entryJson}, so an account's ledger is never one value (a
   * `json_agg` of ~1.3M entries passed PostgreSQL's 1 GB limit for a value).
   */
  const entryPage = defineStatement(
    'accounts_entry_page',
    (param) => sql`
      SELECT ${entryColumns('e')} FROM ${E} AS e
      WHERE e.account_id = ${param('account_id', 'text')} AND e.sequence > ${param('after_sequence', 'bigint')}
      ORDER BY e.sequence LIMIT ${param('limit', 'integer')}`,
  );

  /** Reconcile's write: the rebuilt figures, only if the account is still at the version read. */
  const reconcileWrite = defineStatement(
    'accounts_reconcile_write',
    (param) => sql`
      UPDATE ${A} SET balance_points = ${param('balance_points', 'bigint')}, balance_usd = ${param('balance_usd', 'numeric')},
        held_points = ${param('held_points', 'bigint')}, held_usd = ${param('held_usd', 'numeric')},
        spent_points = ${param('spent_points', 'bigint')}, spent_usd = ${param('spent_usd', 'numeric')},
        entry_count = ${param('entry_count', 'bigint')}, version = ${param('version', 'bigint')}, updated_at = ${param('updated_at', 'timestamptz')}
      WHERE account_id = ${param('account_id', 'text')} AND version = ${param('expected_version', 'bigint')}
      RETURNING account_id`,
  );

  const getBudget = defineStatement(
    'budgets_get',
    (param) =>
      `SELECT ${budgetJson('b')} AS budget FROM ${B} AS b WHERE b.parent_kind = ${param('parent_kind', 'text')} AND b.parent_id = ${param('parent_id', 'text')}`,
  );

  /** The movement entry holding an idempotency key (after a move that lost a race to a key it could not see). */
  const entryByKey = defineStatement(
    'accounts_entry_by_key',
    (param) => sql`
      SELECT ${entryJson('e')} AS entry, (SELECT ${accountJson('a')} FROM ${A} AS a WHERE a.account_id = e.account_id) AS account
      FROM ${E} AS e WHERE e.account_id = ${param('account_id', 'text')} AND e.idempotency_key = ${param('idempotency_key', 'text')}`,
  );

  /**
   * The releases of parents a write just ended (their reservations released by migration 0009's
   * trigger, at the end of that write's statement), to report them in process: each budget, its
   * `release` entry (by `release_sequence`), and the account as after that entry: the account row
   * when nothing was written to it since; otherwise rebuilt from the entry (balance, held) and the
   * row less what came after (spent less the later captures, version less one per later entry).
   * Parents released with nothing free have no entry and no row here.
   */
  const released = defineStatement(
    'budgets_released',
    (param) => sql`
      SELECT ${budgetJson('b')} AS budget, ${entryJson('e')} AS entry,
        CASE WHEN a.entry_count = e.sequence THEN ${accountJson('a')} ELSE ${accountJson('r')} END AS account
      FROM ${B} AS b
      JOIN ${E} AS e ON e.account_id = b.reservation_account_id AND e.sequence = b.release_sequence
      JOIN ${A} AS a ON a.account_id = b.reservation_account_id
      CROSS JOIN LATERAL (
        SELECT a.account_id, e.balance_after_points AS balance_points, e.balance_after_usd AS balance_usd,
          e.held_after_points AS held_points, e.held_after_usd AS held_usd,
          a.spent_points - coalesce(sum(later.amount_points) FILTER (WHERE later.kind = 'capture'), 0) AS spent_points,
          a.spent_usd - coalesce(sum(later.amount_usd) FILTER (WHERE later.kind = 'capture'), 0) AS spent_usd,
          e.sequence AS entry_count, a.version - (a.entry_count - e.sequence) AS version, e.at AS updated_at
        FROM ${E} AS later WHERE later.account_id = a.account_id AND later.sequence > e.sequence AND a.entry_count <> e.sequence
      ) AS r
      WHERE b.reservation_status = 'released'
        AND (b.parent_kind, b.parent_id) IN (SELECT x.kind, x.id FROM unnest(${param('parent_kinds', 'text[]')}, ${param('parent_ids', 'text[]')}) AS x(kind, id))
      ORDER BY e.account_id, e.sequence`,
  );

  return { move, entryByKey, get, entries, entryPage, reconcileWrite, getBudget, released } satisfies Record<string, Statement>;
}

/**
 * A creation's hold (`holdAtCreation`'s `held`), from the creation statement's `a_now`, `a_entry`,
 * `b_now` and `h_drawn_from`. A hold that drew on its parent's reservation wrote no account entry
 * unless it named units beyond the parent's.
 */
export function heldFromRow(row: Row, generationId: string, accountId: string, units: Units): Extract<HoldDecision, { outcome: 'held' }> {
  const budgets = (row.b_now as Row[]).map(budgetFromJson);
  const entry = row.a_entry as Row | null;
  const account = row.a_now as Row | null;
  const drawsOn = drawnOn(row.h_drawn_from, budgets.map((budget) => ({ kind: budget.parentKind, id: budget.parentId })));
  if ((entry === null || account === null) && (drawsOn === null || entry !== account))
    throw new Error(`[genledger] [postgres] the hold of generation "${generationId}" returned no account entry`);
  return {
    outcome: 'held',
    hold: {
      generationId,
      accountId,
      units,
      budgets: budgets.map((budget) => ({ kind: budget.parentKind, id: budget.parentId })),
      ...(drawsOn === null ? {} : { drawsOn }),
      status: 'held',
    },
    account: account === null ? null : accountFromJson(account),
    entry: entry === null ? null : entryFromJson(entry),
    budgets,
  };
}

/** A hold's `drawsOn` from its `drawn_from` column ('cast' | 'cook': which of its budgets; NULL: none). */
function drawnOn(drawnFrom: unknown, budgets: readonly { kind: 'cast' | 'cook'; id: string }[]): { kind: 'cast' | 'cook'; id: string } | null {
  if (drawnFrom === null || drawnFrom === undefined) return null;
  const parent = budgets.find((budget) => budget.kind === drawnFrom);
  if (parent === undefined) throw new Error(`[genledger] [postgres] a hold drew on its ${String(drawnFrom)}, which is not among its budgets`);
  return parent;
}

/** A creation the hold or a budget refused (`limited`), from the creation statement's row. */
export function limitedFromRow(row: Row, units: Units | null): LimitedInsertion {
  const requested = { points: units?.points ?? 0, costUsd: units?.costUsd ?? '0' };
  if (row.outcome === 'over-budget') {
    return {
      outcome: 'limited',
      limit: {
        outcome: 'overBudget',
        budget: budgetFromJson(row.b_refused as Row),
        unit: row.b_unit as 'points' | 'costUsd',
        requested,
        held: row.b_held === true,
      },
    };
  }
  const account = accountFromJson(row.a_found as Row);
  return {
    outcome: 'limited',
    limit: { outcome: 'insufficient', account, unit: row.a_unit as 'points' | 'costUsd', requested, available: account.available },
  };
}

/** A settlement's hold (`settleGenerationHold`), from `settle_generations`'s `h` (see `holdSettlement` there). */
export function holdSettlementFromJson(row: Row): HoldSettlement {
  const units: Units = {
    ...(row.points === null ? {} : { points: points(row.points) }),
    ...(row.cost_usd === null ? {} : { costUsd: signedUsd(String(row.cost_usd)) }),
  };
  const budgets: { kind: 'cast' | 'cook'; id: string }[] = [];
  if (row.budget_cast_id !== null) budgets.push({ kind: 'cast', id: String(row.budget_cast_id) });
  if (row.budget_cook_id !== null) budgets.push({ kind: 'cook', id: String(row.budget_cook_id) });
  return {
    hold: {
      generationId: String(row.generation_id),
      accountId: String(row.account_id),
      units,
      budgets,
      ...(row.drawn_from === null || row.drawn_from === undefined ? {} : { drawsOn: drawnOn(row.drawn_from, budgets)! }),
      status: 'settled',
    },
    account: accountFromJson(row.account as Row),
    entries: (row.entries as Row[]).map(entryFromJson),
    captured: amount(row, 'captured'),
    budgets: (row.budgets as Row[]).map(budgetFromJson),
  };
}
