-- genledger PostgreSQL schema, migration 0006: what re-pricing reads, and stored price tables.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF NOT EXISTS); migrate() runs
-- it in one transaction. (0004 is taken by accounts; the three are independent of each other.)

-- One tool's generations in request order: listGenerations({ toolId }) and reprice({ toolId, from,
-- to }), which pages by (request_timestamp, id) from `from`. Without it a re-price of one tool read
-- every tool's generations in the range and dropped the others.
-- CREATE INDEX takes a lock that blocks writes to generations while it builds. On a large table,
-- build it first without blocking, under the same name, and this statement then does nothing:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS <prefix>generations_tool_idx
--     ON <schema>.<prefix>generations (tool_id, request_timestamp, id);
CREATE INDEX IF NOT EXISTS {{prefix}}generations_tool_idx
  ON {{schema}}.{{prefix}}generations (tool_id, request_timestamp, id);

-- Price tables stored through the repository (tracker.setPrices(table, { store: true })), one row
-- per revision: appended, never updated, so every table that was in force stays readable. The
-- primary key refuses a second row for a revision: two processes saving at once leave one, and
-- the other is told. price_table is the table as JSON (decimal strings, ISO dates).
CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}price_tables (
  revision     integer NOT NULL,
  price_table  jsonb NOT NULL,
  saved_at     timestamptz NOT NULL,
  CONSTRAINT {{prefix}}price_tables_pkey PRIMARY KEY (revision),
  CONSTRAINT {{prefix}}price_tables_revision_check CHECK (revision >= 1)
);
