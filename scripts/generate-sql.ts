/**
 * Writes adapters/postgres/sql/statements.sql, every statement the PostgreSQL adapter sends, from
 * the adapter's own builders: `npm run sql:generate`. test/postgres-sql-file.test.ts fails while
 * the checked-in file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderStatementsFile } from '../adapters/postgres/sql/statements-file.js';

const target = fileURLToPath(new URL('../adapters/postgres/sql/statements.sql', import.meta.url));
const text = renderStatementsFile();
writeFileSync(target, text);
console.log(`wrote ${target} (${text.split('\n').length} lines)`);
