/**
 * The migration files as written: `migrations/NNNN_name.sql`, in name order. Read by the script
 * that embeds them into `migrations.ts` (so the published package needs no file access and
 * survives bundling) and by the test that checks the embedded copy matches them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface MigrationFile {
  /** The file name without `.sql`, e.g. `0001_initial`: the id recorded once it is applied. */
  readonly id: string;
  readonly sql: string;
}

export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL('./migrations/', import.meta.url));

export function readMigrationFiles(directory = MIGRATIONS_DIRECTORY): MigrationFile[] {
  return readdirSync(directory)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({ id: name.slice(0, -'.sql'.length), sql: readFileSync(`${directory}/${name}`, 'utf8') }));
}

/** The source of `migrations.ts` for these files. */
export function embeddedMigrationsSource(files: readonly MigrationFile[]): string {
  const entries = files.map((file) => `  {\n    id: ${JSON.stringify(file.id)},\n    sql: ${JSON.stringify(file.sql)},\n  },`).join('\n');
  return (
    `// Generated from ./migrations/*.sql by embed-migrations.ts. Do not edit: change or add a .sql file,\n` +
    `// then run \`npx tsx adapters/postgres/sql/embed-migrations.ts\`.\n` +
    `export const EMBEDDED_MIGRATIONS: readonly { readonly id: string; readonly sql: string }[] = [\n${entries}\n];\n`
  );
}
