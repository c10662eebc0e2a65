-- genledger PostgreSQL schema, migration 0005: where each cost comes from.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF NOT EXISTS); migrate() runs
-- it in one transaction. (0004 is taken by accounts; the two are independent of each other.)
--
-- One jsonb column holds a finished generation's cost provenance: the usage it metered, the price
-- version and lines its cost was computed from, its first figures and every re-price adjustment
-- since (see docs/pricing.md). NULL on open generations and on costs a host reported without usage.
-- One column, so the settlement and the adjustment each write it with one assignment. Amounts in
-- it are decimal strings, read back exactly; nothing sums them (the roll-ups use cost_usd).
-- Adding a nullable column with no default rewrites nothing and takes its lock only briefly.
ALTER TABLE {{schema}}.{{prefix}}generations ADD COLUMN IF NOT EXISTS cost_provenance jsonb;

-- Re-pricing pages through finished generations by (request_timestamp, id): the index of 0001
-- (generations_request_idx) serves it; nothing new is needed.
