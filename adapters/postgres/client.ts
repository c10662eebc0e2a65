/**
 * The driver boundary: what the adapter needs from a `pg` pool, how a statement is named and
 * bound, and the one place where a statement is sent (and, on a deadlock or a serialization
 * failure, sent again).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'genledger/adapter';
import { EXACT_TYPES, type Row, type SqlType, type SqlValue } from './rows.js';

/** One query as `pg` takes it (`pool.query(config)`). */
export interface PostgresQueryConfig {
  readonly text: string;
  readonly values?: unknown[];
  /** Prepared-statement name: `pg` parses the text once per connection and reuses the plan. */
  readonly name?: string;
  readonly types?: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
}

/** The part of a `pg` result the adapter reads. */
export interface PostgresQueryResult {
  readonly rows: Row[];
}

/** Anything with `pg`'s `query(config)`: a `Pool`, a `Client`, a `PoolClient`. */
export interface PostgresQueryable {
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
}

/** A checked-out connection (`pool.connect()`), returned with `release()`. */
export interface PostgresPoolClient extends PostgresQueryable {
  release(error?: Error | boolean): void;
}

/**
 * What `postgresRepository` takes: a `pg.Pool` (recommended: concurrent calls then use several
 * connections), or a connected `pg.Client` or `PoolClient`. A pool's `connect` is used only by
 * `migrate()`, to run a migration in one transaction on one connection.
 */
export interface PostgresPool extends PostgresQueryable {
  connect?(): Promise<unknown>;
}

/** A notification as `pg` hands it to a `notification` listener. */
export interface PostgresNotification {
  readonly channel: string;
  readonly payload?: string | undefined;
}

/**
 * The change feed's dedicated connection: a connected `pg.Client`, or a `PoolClient` checked out
 * of a pool. It must be a direct session on the server (LISTEN does not survive a pooler in
 * transaction mode). The feed owns it once handed over: it ends it (`release(true)` for a
 * `PoolClient`, `end()` otherwise) when the subscription closes or the connection fails.
 */
export interface PostgresListenerClient extends PostgresQueryable {
  on(event: 'notification', listener: (message: PostgresNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  release?(destroy?: Error | boolean): void;
  end?(): Promise<void>;
}

/** A pool hands out connections; a client (plain or checked out) is one already. */
export function isPool(pool: PostgresPool): boolean {
  return typeof pool.connect === 'function' && !('release' in pool) && 'totalCount' in pool;
}

/** A SQL statement with named parameters bound to `$1..$n` in {@link Statement.parameters} order. */
export interface Statement {
  /** Prepared-statement name, unique per text. */
  readonly name: string;
  readonly text: string;
  readonly parameters: readonly string[];
  /** The SQL type each parameter is cast to (`$n::type`), in {@link Statement.parameters} order. */
  readonly types: readonly SqlType[];
}

/** Returns the `$n::type` placeholder for a named parameter (the same `$n` every time it is named). */
export type Parameter = (name: string, type: SqlType) => string;

/**
 * Builds a statement from a template that names its parameters, so the SQL reads `${param('at',
 * 'timestamptz')}` rather than `$7`. The text is fixed per repository, so `pg` prepares it once per
 * connection.
 */
export function defineStatement(label: string, build: (param: Parameter) => string): Statement {
  const parameters: string[] = [];
  const types = new Map<string, SqlType>();
  const param: Parameter = (name, type) => {
    const known = types.get(name);
    if (known !== undefined && known !== type) throw new Error(`[genledger] [postgres] parameter ${name} used as ${known} and ${type}`);
    if (known === undefined) {
      types.set(name, type);
      parameters.push(name);
    }
    return `$${parameters.indexOf(name) + 1}::${type}`;
  };
  const text = tidy(build(param));
  const digest = createHash('sha1').update(text).digest('hex').slice(0, 12);
  return { name: `genledger_${label}_${digest}`, text, parameters, types: parameters.map((name) => types.get(name)!) };
}

/**
 * The text as sent and as `sql/statements.sql` shows it: no blank lines or trailing spaces, and the
 * template's indentation taken off (whitespace only: the SQL is the same).
 */
function tidy(text: string): string {
  const lines = text.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
  const indents = lines.slice(1).map((line) => line.length - line.trimStart().length);
  const common = Math.min(...indents, lines[0]!.length - lines[0]!.trimStart().length);
  return lines.map((line) => line.slice(Math.min(common, line.length - line.trimStart().length))).join('\n');
}

/**
 * A template tag for statement text: takes off the template's own indentation, and indents each
 * multi-line fragment spliced into it to where it lands (a fragment that starts on a new line and
 * is spliced mid-line, after `(` or `SET`, goes on its own lines two spaces deeper than that line), so a statement assembled from
 * fragments reads as if written whole. Whitespace only: the SQL is the same.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  let text = strings[0]!;
  values.forEach((value, index) => {
    text += splice(text, String(value)) + strings[index + 1]!;
  });
  return block(text).join('\n');
}

/** The lines of a fragment, without blank lines and its common indentation (the first line's own, if it starts inline, not counted). */
function block(text: string): string[] {
  const startsInline = !/^[ \t]*\n/.test(text);
  const lines = text.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const measured = startsInline ? lines.slice(1) : lines;
  const common = measured.length === 0 ? 0 : Math.min(...measured.map(indentOf));
  // A fragment that starts inline keeps its first line as written (` CROSS JOIN ...` needs its space).
  return lines.map((line, index) => (startsInline && index === 0 ? line : line.slice(Math.min(common, indentOf(line)))));
}

function splice(before: string, value: string): string {
  if (!value.includes('\n')) return value;
  const line = before.slice(before.lastIndexOf('\n') + 1);
  const base = line.slice(0, line.length - line.trimStart().length);
  const midLine = line.trim() !== '';
  const lines = block(value);
  // What ends the fragment (a line break, a space) still separates it from what follows.
  const end = /\n[ \t]*$/.test(value) ? `\n${base}` : /[ \t]$/.test(value) ? ' ' : '';
  // A block opened by `(` or `SET`, or one written to start on a line of its own, starts on its own line.
  const opens = /(\(|\bSET)\s*$/.test(line) || /^[ \t]*\n/.test(value);
  if (midLine && opens) return '\n' + lines.map((text) => `${base}  ${text}`).join('\n') + end;
  const rest = midLine ? `${base}  ` : base;
  return lines.map((text, index) => (index === 0 ? text : `${rest}${text}`)).join('\n') + end;
}

/** SQLSTATEs after which the same statement may simply be sent again: nothing of it was applied. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure (a host running REPEATABLE READ or SERIALIZABLE by default)
  '40P01', // deadlock_detected
]);

export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

/**
 * Whether the server ran the statement and refused it (an error it sent, with its SQLSTATE `code`:
 * five digits or capitals), so that what the statement carried may be the cause; not when it never
 * ran it: no connection (the pool's wait timed out, the connection was refused or lost: no
 * SQLSTATE, or a Node system error's code, which comes with its `syscall`), connection exceptions
 * (class 08), too few resources (class 53: too many connections, out of memory, disk full), or the
 * server shutting down (57P01..57P03).
 */
export function isStatementRefusal(error: unknown): boolean {
  const failure = error as { code?: unknown; syscall?: unknown } | null;
  const code = failure?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || failure?.syscall !== undefined) return false;
  return !(code.startsWith('08') || code.startsWith('53') || code === '57P01' || code === '57P02' || code === '57P03');
}

export interface ExecutorOptions {
  readonly preparedStatements: boolean;
  readonly maxAttempts: number;
  readonly logger: Logger | undefined;
  /** Added to the server's "relation ... does not exist": what to do about missing tables. */
  readonly missingTablesHint?: string | undefined;
  /** Other failures after which the statement wrote nothing and is sent again (a new account's first writes racing). */
  readonly alsoRetry?: ((error: unknown) => boolean) | undefined;
}

/** `42P01`, undefined_table. */
function isUndefinedTable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '42P01';
}

/** Sends statements: bound by name, read with exact types, retried when the server says so. */
export class Executor {
  constructor(
    private readonly pool: PostgresQueryable,
    private readonly options: ExecutorOptions,
  ) {}

  async rows(statement: Statement, values: Readonly<Record<string, SqlValue | undefined>>): Promise<Row[]> {
    const bound = statement.parameters.map((name) => {
      if (!(name in values)) throw new Error(`[genledger] [postgres] statement ${statement.name} needs parameter ${name}`);
      return values[name] ?? null;
    });
    const config: PostgresQueryConfig = {
      text: statement.text,
      values: bound,
      types: EXACT_TYPES,
      ...(this.options.preparedStatements ? { name: statement.name } : {}),
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await this.pool.query(config)).rows;
      } catch (error) {
        // Every statement is one atomic, conditional write (or a read) in its own implicit
        // transaction, so one the server aborted left nothing behind and is safe to send again.
        if (isUndefinedTable(error) && this.options.missingTablesHint) {
          // Most often: the repository is used before `migrate()` ran. Say so, keeping the server's error.
          throw new Error(`${(error as Error).message}: ${this.options.missingTablesHint}`, { cause: error });
        }
        // A lost race on an account (`alsoRetry`) means another write to that account committed:
        // each resend is progress for the account, and the statement ends once it is decided
        // (taken or refused), so it is resent past `maxAttempts`, quietly (it is the expected
        // traffic of a busy account, not a fault), up to RACE_ATTEMPTS.
        const raced = this.options.alsoRetry?.(error) === true;
        if (!(isRetryable(error) || raced) || attempt >= (raced ? Math.max(RACE_ATTEMPTS, this.options.maxAttempts) : this.options.maxAttempts)) throw error;
        if (!raced) {
          this.options.logger?.warn(`[genledger] [postgres] ${statement.name} was aborted by the server (${String((error as { code: string }).code)}); retrying`, {
            attempt,
            statement: statement.name,
          });
        }
        await sleep(Math.random() * 5 * 2 ** Math.min(attempt, 6));
      }
    }
  }
}

/** How many times a statement that lost a race on an account (`alsoRetry`) is sent at most. */
const RACE_ATTEMPTS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
