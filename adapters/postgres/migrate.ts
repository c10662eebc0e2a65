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

export async function runMigrations(pool: PostgresPool, names: SchemaNames, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<MigrationReport> {
  // A migration is several statements in one transaction: it needs one connection throughout.
  const checkedOut = isPool(pool) ? ((await pool.connect!()) as PostgresPoolClient) : null;
  const connection: PostgresQueryable = checkedOut ?? pool;
  const run = (text: string, values?: unknown[]) => connection.query(values === undefined ? { text } : { text, values });
  const ledger = `${quoteIdentifier(names.schema)}.${names.tablePrefix}migrations`;
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  try {
    await run('BEGIN');
    await run('SELECT pg_advisory_xact_lock(hashtext($1))', [`genledger:${names.schema}.${names.tablePrefix}`]);
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the schema exists, so a
    // role that may only use an existing schema would fail; look first.
    const schemaExists = await run('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
    if (schemaExists.rows.length === 0) await run(`CREATE SCHEMA ${quoteIdentifier(names.schema)}`);
    await run(`CREATE TABLE IF NOT EXISTS ${ledger} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await run(`SELECT id FROM ${ledger}`)).rows.map((row) => String(row.id)));
    for (const migration of migrations) {
      if (done.has(migration.id)) {
        alreadyApplied.push(migration.id);
        continue;
      }
      await run(renderMigration(migration, names));
      await run(`INSERT INTO ${ledger} (id) VALUES ($1)`, [migration.id]);
      applied.push(migration.id);
    }
    await run('COMMIT');
    return { applied, alreadyApplied };
  } catch (error) {
    await run('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    checkedOut?.release();
  }
}
