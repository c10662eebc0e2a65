/**
 * Writes `migrations.ts`, the migration files embedded as strings:
 * `npx tsx adapters/postgres/sql/embed-migrations.ts`. The PostgreSQL test fails while the two differ.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { embeddedMigrationsSource, readMigrationFiles } from './migration-files.js';

const target = fileURLToPath(new URL('./migrations.ts', import.meta.url));
const files = readMigrationFiles();
writeFileSync(target, embeddedMigrationsSource(files));
console.log(`embedded ${files.length} migration(s) into ${target}`);
