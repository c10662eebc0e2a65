-- genledger PostgreSQL schema, migration 0002: the change feed behind tracker.watch().
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF NOT EXISTS, OR REPLACE),
-- and migrate() runs it in one transaction.
--
-- Every write to a generation, cast or cook leaves one row in `changes` and sends one NOTIFY,
-- both from a row trigger, so they are part of the very statement that made the write: committed
-- with it, rolled back with it, and no port write needs a second statement. The NOTIFY payload is
-- small (kind, id, version, and the transaction's place in the feed); the listener reads the
-- record itself.
--
-- Positions. A sequence number cannot be a resume point: transaction A may draw seq 10, B seq 11,
-- and B commit first; a reader that saw 11 and resumes "after 11" never sees 10. So the log row
-- carries its transaction id (`tx`, an xid8) and a position is a transaction-id watermark W:
-- "every committed change of a transaction with id below W has been delivered". A reader catches
-- up by reading every row with tx >= W in one snapshot S, and may then move W to S's xmin (every
-- transaction below it had ended when S was taken, so S saw all of their changes). Each NOTIFY
-- carries, as `x`, the xmin of its own statement's snapshot (capped by its own id): every
-- transaction below it had ended before this one, so, PostgreSQL delivering notifications in
-- commit order, a listener has received all of their notifications by the time it gets this one.
-- Changes at or above a watermark may be delivered again; tracker.watch() drops versions it has
-- seen. See docs/postgres.md, "The change feed".

-- The change log (the outbox). `seq` orders the rows of one record as their versions go: a write
-- waits for the previous write of the same row to commit before its trigger draws the next value
-- (the sequence has no per-session cache, so values are drawn in one global order).
CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}changes (
  tx          xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq         bigint GENERATED ALWAYS AS IDENTITY (CACHE 1),
  kind        text NOT NULL,
  id          text COLLATE "C" NOT NULL,
  version     integer NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The one index: catching up reads tx >= W; pruning walks from the lowest tx.
  CONSTRAINT {{prefix}}changes_pkey PRIMARY KEY (tx, seq),
  CONSTRAINT {{prefix}}changes_kind_check CHECK (kind IN ('generation', 'cast', 'cook'))
);

-- How far pruning has gone: every change of a transaction with id <= pruned_through may be gone.
-- A reader resuming from a watermark at or below it may have missed changes and is told so.
CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}changes_horizon (
  singleton      boolean NOT NULL DEFAULT true,
  pruned_through xid8 NOT NULL DEFAULT '0',
  pruned_at      timestamptz,
  CONSTRAINT {{prefix}}changes_horizon_pkey PRIMARY KEY (singleton),
  CONSTRAINT {{prefix}}changes_horizon_singleton CHECK (singleton)
);
INSERT INTO {{schema}}.{{prefix}}changes_horizon (singleton) VALUES (true) ON CONFLICT DO NOTHING;

-- The trigger function: TG_ARGV[0] is the kind. The channel is "<schema>.<prefix>changes", or,
-- when that is longer than an identifier may be, "genledger_" and its md5.
CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  own xid8 := pg_current_xact_id();
  channel text := TG_TABLE_SCHEMA || '.{{prefix}}changes';
  drawn bigint;
  payload text;
BEGIN
  INSERT INTO {{schema}}.{{prefix}}changes (tx, kind, id, version)
  VALUES (own, TG_ARGV[0], NEW.id, NEW.version)
  RETURNING seq INTO drawn;
  IF octet_length(channel) > 63 THEN
    channel := 'genledger_' || md5(channel);
  END IF;
  payload := json_build_object(
    'k', TG_ARGV[0], 'i', NEW.id, 'v', NEW.version, 's', drawn,
    't', own::text, 'x', least(pg_snapshot_xmin(pg_current_snapshot()), own)::text)::text;
  -- NOTIFY payloads stop at 8000 bytes; an id that long (never one genledger makes) is left out,
  -- and the listener reads it from the log row.
  IF octet_length(payload) > 7900 THEN
    payload := json_build_object(
      'k', TG_ARGV[0], 'v', NEW.version, 's', drawn,
      't', own::text, 'x', least(pg_snapshot_xmin(pg_current_snapshot()), own)::text)::text;
  END IF;
  PERFORM pg_notify(channel, payload);
  RETURN NULL;
END
$$;

-- An insert is a change; an update is one when it moves the version (every genledger write does).
CREATE OR REPLACE TRIGGER {{prefix}}generations_inserted AFTER INSERT ON {{schema}}.{{prefix}}generations
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('generation');
CREATE OR REPLACE TRIGGER {{prefix}}generations_updated AFTER UPDATE ON {{schema}}.{{prefix}}generations
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('generation');
CREATE OR REPLACE TRIGGER {{prefix}}casts_inserted AFTER INSERT ON {{schema}}.{{prefix}}casts
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('cast');
CREATE OR REPLACE TRIGGER {{prefix}}casts_updated AFTER UPDATE ON {{schema}}.{{prefix}}casts
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('cast');
CREATE OR REPLACE TRIGGER {{prefix}}cooks_inserted AFTER INSERT ON {{schema}}.{{prefix}}cooks
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('cook');
CREATE OR REPLACE TRIGGER {{prefix}}cooks_updated AFTER UPDATE ON {{schema}}.{{prefix}}cooks
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('cook');
