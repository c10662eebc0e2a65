-- genledger PostgreSQL schema, migration 0010: inserts logged once per statement, not per row.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (OR REPLACE, IF EXISTS), and
-- migrate() runs it in one transaction. Needs 0002 (the change log) and 0007 (its bigint version).
--
-- Why: a batch of creations (insert_generations, 64 calls in one statement) fired 0002's row
-- trigger 64 times, each call a PL/pgSQL entry, one INSERT into the log and one NOTIFY: 1.2-2 ms
-- of a 7-9 ms statement (EXPLAIN ANALYZE). A statement-level trigger over the statement's new
-- rows (REFERENCING NEW TABLE) writes the same log rows with ONE INSERT ... SELECT.
--
-- The feed is the same, row for row: every inserted generation, cast or cook leaves one log row
-- (tx = the transaction, kind, id, version, seq drawn from the same identity in the order the rows
-- were inserted) and sends one NOTIFY with the same payload as 0002/0007's (k, i, v, s, t, x;
-- without i when the payload would pass 7900 bytes), in seq order, from the very statement that
-- inserted them: committed or rolled back with it. `x` is the xmin of a snapshot of this
-- transaction capped by its own id, as before (any snapshot taken inside the transaction gives a
-- valid watermark: every transaction below its xmin had ended before this one commits). A
-- statement that inserts no row fires the trigger with an empty table: nothing is logged or sent.
--
-- Updates keep 0002's row triggers: their WHEN (OLD.version IS DISTINCT FROM NEW.version) filter
-- is per row. Accounts keep 0007's row triggers: a statement writes an account row once.

CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}record_inserts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  own xid8 := pg_current_xact_id();
  channel text := TG_TABLE_SCHEMA || '.{{prefix}}changes';
  watermark text := least(pg_snapshot_xmin(pg_current_snapshot()), own)::text;
  logged record;
  payload text;
BEGIN
  IF octet_length(channel) > 63 THEN
    channel := 'genledger_' || md5(channel);
  END IF;
  -- One INSERT for the statement's log rows, in the order the rows were inserted (the transition
  -- table's order: seq is drawn in it); RETURNING gives them back in that order, and each is
  -- notified in turn, as the row trigger did.
  FOR logged IN
    INSERT INTO {{schema}}.{{prefix}}changes (tx, kind, id, version)
    SELECT own, TG_ARGV[0], n.id, n.version FROM inserted_rows AS n
    RETURNING id, version, seq
  LOOP
    payload := json_build_object(
      'k', TG_ARGV[0], 'i', logged.id, 'v', logged.version, 's', logged.seq, 't', own::text, 'x', watermark)::text;
    -- NOTIFY payloads stop at 8000 bytes; an id that long (never one genledger makes) is left out,
    -- and the listener reads it from the log row.
    IF octet_length(payload) > 7900 THEN
      payload := json_build_object('k', TG_ARGV[0], 'v', logged.version, 's', logged.seq, 't', own::text, 'x', watermark)::text;
    END IF;
    PERFORM pg_notify(channel, payload);
  END LOOP;
  RETURN NULL;
END
$$;

-- 0002's row triggers on inserts, replaced by statement triggers of the same names.
DROP TRIGGER IF EXISTS {{prefix}}generations_inserted ON {{schema}}.{{prefix}}generations;
CREATE TRIGGER {{prefix}}generations_inserted AFTER INSERT ON {{schema}}.{{prefix}}generations
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.{{prefix}}record_inserts('generation');
DROP TRIGGER IF EXISTS {{prefix}}casts_inserted ON {{schema}}.{{prefix}}casts;
CREATE TRIGGER {{prefix}}casts_inserted AFTER INSERT ON {{schema}}.{{prefix}}casts
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.{{prefix}}record_inserts('cast');
DROP TRIGGER IF EXISTS {{prefix}}cooks_inserted ON {{schema}}.{{prefix}}cooks;
CREATE TRIGGER {{prefix}}cooks_inserted AFTER INSERT ON {{schema}}.{{prefix}}cooks
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.{{prefix}}record_inserts('cook');
