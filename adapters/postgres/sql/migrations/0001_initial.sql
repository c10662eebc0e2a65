-- genledger PostgreSQL schema, migration 0001: generations, casts and cooks.
--
-- Plain SQL with two placeholders, replaced by migrate() (or by you, to apply it by hand):
--   {{schema}}  the schema that holds the tables (default: public)
--   {{prefix}}  the table-name prefix (default: genledger_)
-- Every statement is re-runnable (IF NOT EXISTS), and migrate() runs the file in one transaction.
--
-- Conventions:
-- - Ids are text with the "C" collation: byte order, so paging by id agrees with JavaScript's
--   string order for the ids genledger makes, and no locale changes an index's order.
-- - Money is numeric (exact, unconstrained scale; genledger writes at most 18 fraction digits).
--   Points are bigint. Times are timestamptz, written and read with millisecond precision.
--   Progress (a JavaScript number from 0 to 1) is numeric too, holding the number's shortest
--   decimal spelling, so it reads back bit for bit whatever the session's extra_float_digits.
-- - Metadata and payloads are jsonb. A parent's open children and its embedded id lists are jsonb
--   arrays in the parent's row, so every roll-up write is one conditional UPDATE of one row.
-- - No foreign keys: children are attached to a parent before they are stored, and a parent's
--   aggregates are derived data that reconcile rebuilds from the children.
-- - A roll-up write rewrites its parent's row many times a second. No index of casts or cooks
--   covers a column such a write changes (maintenance uses the generated `watched` flag, not the
--   open-entry arrays), and the tables leave room in each page (fillfactor 70), so those writes
--   are HOT updates: no index is touched, and the page prunes its own dead versions.

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}generations (
  id                       text COLLATE "C" NOT NULL,
  master_account_id        text COLLATE "C" NOT NULL,
  tool_id                  text NOT NULL,
  tool_display_name        text NOT NULL,
  service_name             text NOT NULL,
  session_id               text,
  initiating_event_id      text,
  platform_specific_run_id text,
  status                   text NOT NULL,
  request_timestamp        timestamptz NOT NULL,
  started_at               timestamptz,
  response_timestamp       timestamptz,
  duration_ms              bigint,
  progress                 numeric NOT NULL DEFAULT 0,
  points_spent             bigint NOT NULL DEFAULT 0,
  protocol_net_points      bigint NOT NULL DEFAULT 0,
  cost_usd                 numeric NOT NULL DEFAULT 0,
  notification_platform    text NOT NULL,
  delivery_status          text NOT NULL,
  delivery_attempts        integer NOT NULL DEFAULT 0,
  delivery_timestamp       timestamptz,
  delivery_error           text,
  delivery_strategy        text,
  cast_id                  text COLLATE "C",
  cook_id                  text COLLATE "C",
  spell_id                 text,
  collection_id            text,
  request_payload          jsonb,
  response_payload         jsonb,
  artifact_urls            jsonb NOT NULL DEFAULT '[]',
  error_details            jsonb,
  metadata                 jsonb NOT NULL DEFAULT '{}',
  idempotency_key          text COLLATE "C",
  version                  integer NOT NULL DEFAULT 1,
  updated_at               timestamptz NOT NULL,
  CONSTRAINT {{prefix}}generations_pkey PRIMARY KEY (id),
  CONSTRAINT {{prefix}}generations_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT {{prefix}}generations_status_check
    CHECK (status IN ('pending', 'processing', 'success', 'failed', 'cancelled_by_user', 'timeout')),
  CONSTRAINT {{prefix}}generations_delivery_status_check
    CHECK (delivery_status IN ('skipped', 'pending', 'sent', 'dropped')),
  CONSTRAINT {{prefix}}generations_money_check
    CHECK (cost_usd >= 0 AND points_spent >= 0 AND progress >= 0 AND progress <= 1),
  CONSTRAINT {{prefix}}generations_duration_check CHECK (duration_ms IS NULL OR duration_ms >= 0)
);

-- Children of a cast or a cook, in request order: listGenerations({ castId | cookId }) and reconcile.
CREATE INDEX IF NOT EXISTS {{prefix}}generations_cast_idx
  ON {{schema}}.{{prefix}}generations (cast_id, request_timestamp, id) WHERE cast_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}generations_cook_idx
  ON {{schema}}.{{prefix}}generations (cook_id, request_timestamp, id) WHERE cook_id IS NOT NULL;
-- An account's generations, newest first (the production index {masterAccountId: 1, requestTimestamp: -1}).
CREATE INDEX IF NOT EXISTS {{prefix}}generations_account_idx
  ON {{schema}}.{{prefix}}generations (master_account_id, request_timestamp DESC, id DESC);
-- Unfiltered listing and paging by (request_timestamp, id).
CREATE INDEX IF NOT EXISTS {{prefix}}generations_request_idx
  ON {{schema}}.{{prefix}}generations (request_timestamp, id);
-- The sweeper: open generations by last write. Small: finished generations are not in it.
CREATE INDEX IF NOT EXISTS {{prefix}}generations_open_idx
  ON {{schema}}.{{prefix}}generations (updated_at, id) WHERE status IN ('pending', 'processing');

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}casts (
  id                        text COLLATE "C" NOT NULL,
  spell_id                  text NOT NULL,
  initiator_account_id      text COLLATE "C" NOT NULL,
  total_steps               integer,
  cook_id                   text COLLATE "C",
  collection_id             text,
  status                    text NOT NULL,
  -- Step ids in the order recorded, up to the tracker's embed cap (a jsonb array of strings).
  step_generation_ids       jsonb NOT NULL DEFAULT '[]',
  -- Steps recorded and not finished: [{"id", "kind", "since"}], in the order attached.
  open_steps                jsonb NOT NULL DEFAULT '[]',
  in_flight_count           integer NOT NULL DEFAULT 0,
  outcome_success           integer NOT NULL DEFAULT 0,
  outcome_failed            integer NOT NULL DEFAULT 0,
  outcome_cancelled_by_user integer NOT NULL DEFAULT 0,
  outcome_timeout           integer NOT NULL DEFAULT 0,
  points_spent              bigint NOT NULL DEFAULT 0,
  protocol_net_points       bigint NOT NULL DEFAULT 0,
  cost_usd                  numeric NOT NULL DEFAULT 0,
  started_at                timestamptz NOT NULL,
  completed_at              timestamptz,
  duration_ms               bigint,
  updated_at                timestamptz NOT NULL,
  version                   integer NOT NULL DEFAULT 1,
  metadata                  jsonb NOT NULL DEFAULT '{}',
  idempotency_key           text COLLATE "C",
  -- Maintenance visits it: still running, or waiting for a child. Changes only when the status
  -- does or the open steps become empty or non-empty.
  watched                   boolean GENERATED ALWAYS AS (status = 'running' OR open_steps <> '[]'::jsonb) STORED,
  CONSTRAINT {{prefix}}casts_pkey PRIMARY KEY (id),
  CONSTRAINT {{prefix}}casts_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT {{prefix}}casts_status_check CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  CONSTRAINT {{prefix}}casts_money_check CHECK (cost_usd >= 0 AND in_flight_count >= 0)
) WITH (fillfactor = 70);

-- Cast pieces of a cook, in start order (reconcile of the cook).
CREATE INDEX IF NOT EXISTS {{prefix}}casts_cook_idx
  ON {{schema}}.{{prefix}}casts (cook_id, started_at, id) WHERE cook_id IS NOT NULL;
-- Casts maintenance must visit, paged by id.
CREATE INDEX IF NOT EXISTS {{prefix}}casts_maintenance_idx
  ON {{schema}}.{{prefix}}casts (id) WHERE watched;

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}cooks (
  id                        text COLLATE "C" NOT NULL,
  collection_id             text NOT NULL,
  initiator_account_id      text COLLATE "C" NOT NULL,
  target_supply             integer NOT NULL,
  status                    text NOT NULL,
  generated_count           integer NOT NULL DEFAULT 0,
  failed_count              integer NOT NULL DEFAULT 0,
  cancelled_count           integer NOT NULL DEFAULT 0,
  in_flight_count           integer NOT NULL DEFAULT 0,
  -- Pieces in flight (generations and casts): [{"id", "kind", "since"}], in the order attached.
  open_pieces               jsonb NOT NULL DEFAULT '[]',
  -- Every generation in flight below the cook (pieces and steps of cast pieces); gates its money.
  open_generations          jsonb NOT NULL DEFAULT '[]',
  generation_ids            jsonb NOT NULL DEFAULT '[]',
  cast_ids                  jsonb NOT NULL DEFAULT '[]',
  outcome_success           integer NOT NULL DEFAULT 0,
  outcome_failed            integer NOT NULL DEFAULT 0,
  outcome_cancelled_by_user integer NOT NULL DEFAULT 0,
  outcome_timeout           integer NOT NULL DEFAULT 0,
  points_spent              bigint NOT NULL DEFAULT 0,
  protocol_net_points       bigint NOT NULL DEFAULT 0,
  cost_usd                  numeric NOT NULL DEFAULT 0,
  started_at                timestamptz NOT NULL,
  completed_at              timestamptz,
  duration_ms               bigint,
  updated_at                timestamptz NOT NULL,
  version                   integer NOT NULL DEFAULT 1,
  metadata                  jsonb NOT NULL DEFAULT '{}',
  idempotency_key           text COLLATE "C",
  -- Maintenance visits it: still running, or waiting for a child.
  watched                   boolean GENERATED ALWAYS AS
    (status = 'running' OR open_pieces <> '[]'::jsonb OR open_generations <> '[]'::jsonb) STORED,
  CONSTRAINT {{prefix}}cooks_pkey PRIMARY KEY (id),
  CONSTRAINT {{prefix}}cooks_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT {{prefix}}cooks_status_check CHECK (status IN ('running', 'paused', 'completed', 'failed', 'cancelled')),
  CONSTRAINT {{prefix}}cooks_money_check CHECK (cost_usd >= 0 AND in_flight_count >= 0 AND target_supply >= 1)
) WITH (fillfactor = 70);

-- Cooks maintenance must visit, paged by id.
CREATE INDEX IF NOT EXISTS {{prefix}}cooks_maintenance_idx
  ON {{schema}}.{{prefix}}cooks (id) WHERE watched;
