/**
 * Applying the schema: the SQL files in `sql/migrations/`, each once, in name order, recorded in a
 * `<prefix>migrations` table. Explicit and re-runnable: nothing happens until `migrate()` is
 * called, a second call applies nothing, and two processes migrating at once take turns on an
 * advisory lock. Each run is one transaction, so a migration that fails leaves nothing behind.
 */
import { isPool, type PostgresPool, type PostgresPoolClient, type PostgresQueryable } from './client.js';
import { EMBEDDED_MIGRATIONS } from './sql/migrations.js';

/** One migration: its id (the file name without `.sql`) and its SQL, placeholders included. */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

/** What `migrate()` did. */
export interface MigrationReport {
  /** Migrations applied by this call, in order. */
  readonly applied: readonly string[];
  /** Migrations found already applied. */
  readonly alreadyApplied: readonly string[];
}

/** The migrations this version of genledger ships, in order. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = EMBEDDED_MIGRATIONS;

export interface SchemaNames {
  readonly schema: string;
  readonly tablePrefix: string;
}

/** The migration's SQL for a schema and prefix: what you would run by hand. */
export function renderMigration(migration: Migration, names: SchemaNames): string {
  return migration.sql.replaceAll('{{schema}}', quoteIdentifier(names.schema)).replaceAll('{{prefix}}', names.tablePrefix);
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * What `migrate()` sends around the migration files, in order (`$1` bound as the comments say):
 * BEGIN, the advisory lock (`genledger:<schema>.<prefix>`), the schema lookup (the schema's name),
 * CREATE SCHEMA when it is missing, the ledger, its ids; per file not yet applied: the file, then
 * its id recorded; COMMIT (ROLLBACK on failure).
 */
export function migrationStatements(names: SchemaNames) {
  const ledger = `${quoteIdentifier(names.schema)}.${names.tablePrefix}migrations`;
  return {
    begin: 'BEGIN',
    lock: 'SELECT pg_advisory_xact_lock(hashtext($1))',
    schemaExists: 'SELECT 1 FROM pg_namespace WHERE nspname = $1',
    createSchema: `CREATE SCHEMA ${quoteIdentifier(names.schema)}`,
    createLedger: `CREATE TABLE IF NOT EXISTS ${ledger} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    applied: `SELECT id FROM ${ledger}`,
    record: `INSERT INTO ${ledger} (id) VALUES ($1)`,
    commit: 'COMMIT',
    rollback: 'ROLLBACK',
  };
}

/** {@link migrationStatements} as `statements.sql` lists them, a migration file's place marked. */
export function migrationSessionStatements(names: SchemaNames): string[] {
  const sql = migrationStatements(names);
  return [sql.begin, sql.lock, sql.schemaExists, sql.createSchema, sql.createLedger, sql.applied, '-- (each migrations/NNNN_*.sql not yet applied)', sql.record, sql.commit, sql.rollback];
}

export async function runMigrations(pool: PostgresPool, names: SchemaNames, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<MigrationReport> {
  // A migration is several statements in one transaction: it needs one connection throughout.
  const checkedOut = isPool(pool) ? ((await pool.connect!()) as PostgresPoolClient) : null;
  const connection: PostgresQueryable = checkedOut ?? pool;
  const run = (text: string, values?: unknown[]) => connection.query(values === undefined ? { text } : { text, values });
  const sql = migrationStatements(names);
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  try {
    await run(sql.begin);
    await run(sql.lock, [`genledger:${names.schema}.${names.tablePrefix}`]);
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the schema exists, so a
    // role that may only use an existing schema would fail; look first.
    const schemaExists = await run(sql.schemaExists, [names.schema]);
    if (schemaExists.rows.length === 0) await run(sql.createSchema);
    await run(sql.createLedger);
    const done = new Set((await run(sql.applied)).rows.map((row) => String(row.id)));
    for (const migration of migrations) {
      if (done.has(migration.id)) {
        alreadyApplied.push(migration.id);
        continue;
      }
      await run(renderMigration(migration, names));
      await run(sql.record, [migration.id]);
      applied.push(migration.id);
    }
    await run(sql.commit);
    return { applied, alreadyApplied };
  } catch (error) {
    await run(sql.rollback).catch(() => undefined);
    throw error;
  } finally {
    checkedOut?.release();
  }
}
