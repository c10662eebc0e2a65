/**
 * adapters/postgres/sql/statements.sql is what the adapter sends: regenerated from the adapter's
 * own statement builders here (no server needed), it must equal the checked-in file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sql } from '../adapters/postgres/client.js';
import { allStatements, renderStatementsFile, statementLabel } from '../adapters/postgres/sql/statements-file.js';

const FILE = new URL('../adapters/postgres/sql/statements.sql', import.meta.url);

describe('postgres: sql/statements.sql', () => {
  it('is exactly what the adapter sends (run `npm run sql:generate` after changing a statement)', () => {
    const checkedIn = readFileSync(FILE, 'utf8');
    const generated = renderStatementsFile();
    if (checkedIn !== generated) {
      expect.fail('adapters/postgres/sql/statements.sql differs from the statements the adapter builds: run `npm run sql:generate` and commit the file');
    }
  });

  it('shows every pooled statement whole, under a header that names each parameter in bind order', () => {
    const text = readFileSync(FILE, 'utf8');
    for (const { statement } of allStatements()) {
      expect(text, statementLabel(statement)).toContain(`-- prepared as ${statement.name}\n`);
      expect(text, statementLabel(statement)).toContain(`\n${statement.text};\n`);
      statement.parameters.forEach((name, index) => expect(statement.text, name).toContain(`$${index + 1}::${statement.types[index]}`));
    }
  });

  it('the sql tag changes only whitespace: a spliced fragment keeps what separates it from its neighbours', () => {
    const from = ` CROSS JOIN LATERAL (
          SELECT 1 AS one
        ) AS next`;
    const stage = `
      SELECT p.id
      FROM p
    `;
    const text = sql`
      WITH written AS (
        UPDATE t SET a = 1
        FROM old${from}
        WHERE true
      ),
      next AS (${stage}),
      last AS (SELECT ${stage}FROM q)
      SELECT 1`;
    expect(text.replace(/\s+/g, ' ')).toBe(
      'WITH written AS ( UPDATE t SET a = 1 FROM old CROSS JOIN LATERAL ( SELECT 1 AS one ) AS next WHERE true ), next AS ( SELECT p.id FROM p ), last AS (SELECT SELECT p.id FROM p FROM q) SELECT 1',
    );
    expect(text.split('\n')[0]).toBe('WITH written AS (');
  });
});
