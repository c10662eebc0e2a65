/**
 * Stored price tables (migration 0006): one row per revision, appended and never updated. The
 * primary key on `revision` is what refuses a second revision `n` (ON CONFLICT DO NOTHING), so two
 * processes saving at once leave one row and the other learns it wrote nothing.
 */
import type { StoredPriceTable } from 'genledger/adapter';
import { reviveStoredPriceTable } from 'genledger/adapter';
import type { PriceTableInput } from 'genledger';
import { defineStatement, sql, type Statement } from './client.js';
import { epochMs, jsonParam, timestampParam, type Row, type SqlValue } from './rows.js';
import type { TableNames } from './statements.js';

export interface PriceTableStatements {
  readonly latest: Statement;
  readonly get: Statement;
  readonly append: Statement;
}

export function buildPriceTableStatements(tables: TableNames): PriceTableStatements {
  const P = tables.priceTables;
  const columns = `t.revision, t.price_table, ${epochMs('t.saved_at')} AS saved_at`;
  return {
    latest: defineStatement('prices_latest', () => sql`
      SELECT ${columns} FROM ${P} AS t
      ORDER BY t.revision DESC
      LIMIT 1`),
    get: defineStatement('prices_get', (param) => sql`
      SELECT ${columns} FROM ${P} AS t
      WHERE t.revision = ${param('revision', 'integer')}`),
    append: defineStatement('prices_append', (param) => sql`
      INSERT INTO ${P} (revision, price_table, saved_at)
      VALUES (${param('revision', 'integer')}, ${param('price_table', 'jsonb')}, ${param('saved_at', 'timestamptz')})
      ON CONFLICT (revision) DO NOTHING
      RETURNING revision`),
  };
}

/** The append's parameters; the table as JSON (dates as ISO text, revived when read). */
export function priceTableParams(record: StoredPriceTable): Record<string, SqlValue> {
  return { revision: record.revision, price_table: jsonParam(record.table, 'table'), saved_at: timestampParam(record.savedAt, 'savedAt') };
}

export function priceTableFromRow(row: Row): StoredPriceTable {
  return {
    revision: Number(row.revision),
    table: reviveStoredPriceTable(row.price_table) as PriceTableInput,
    savedAt: new Date(Number(row.saved_at)),
  };
}
