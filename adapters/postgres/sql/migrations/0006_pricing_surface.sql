-- genledger PostgreSQL schema, migration 0006: what re-pricing and the CLI read.
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
