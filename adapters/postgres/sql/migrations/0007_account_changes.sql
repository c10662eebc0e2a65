-- genledger PostgreSQL schema, migration 0007: account changes on the change feed.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF EXISTS, OR REPLACE), and
-- migrate() runs it in one transaction. Needs 0002 (the change log) and 0004 (accounts).
--
-- Every write that moves an account's version (a credit or debit, a hold taken by a creation, a
-- settlement's capture, release or overdraft, reconcile's rewrite) leaves one row in `changes`
-- and sends one NOTIFY, from a row trigger on `accounts`, exactly as 0002 does for generations,
-- casts and cooks: part of the statement that made the write, committed or rolled back with it,
-- so no statement changes and the watermark positions of 0002 cover accounts unchanged. The log
-- row's kind is 'account' and its id the account id; tracker.watch() reads the account and its
-- new ledger entries and emits `accountUpdate`. An account row is written by one statement at a
-- time (its row lock), so its versions are logged and notified in order, like a record's.

-- An account's version is a bigint (a busy account may write more than 2^31 times), a record's an
-- integer: the log's column takes either. This rewrites the log once, holding its lock meanwhile
-- (every write's trigger waits): on a large log, prune it first (repository.pruneChanges()).
ALTER TABLE {{schema}}.{{prefix}}changes ALTER COLUMN version TYPE bigint;

-- The log takes the new kind. NOT VALID: the rows already there passed the narrower check, so
-- there is nothing to scan; new rows are checked.
ALTER TABLE {{schema}}.{{prefix}}changes DROP CONSTRAINT IF EXISTS {{prefix}}changes_kind_check;
ALTER TABLE {{schema}}.{{prefix}}changes ADD CONSTRAINT {{prefix}}changes_kind_check
  CHECK (kind IN ('generation', 'cast', 'cook', 'account')) NOT VALID;

-- 0002's trigger function, now also for accounts, whose key column is `account_id` (a record's is
-- `id`). The two reads of NEW stay in separate branches: PL/pgSQL resolves a field only when the
-- statement naming it runs, so the records' tables never meet `account_id` nor accounts `id`.
CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  own xid8 := pg_current_xact_id();
  channel text := TG_TABLE_SCHEMA || '.{{prefix}}changes';
  changed_id text;
  drawn bigint;
  payload text;
BEGIN
  IF TG_ARGV[0] = 'account' THEN
    changed_id := NEW.account_id;
  ELSE
    changed_id := NEW.id;
  END IF;
  INSERT INTO {{schema}}.{{prefix}}changes (tx, kind, id, version)
  VALUES (own, TG_ARGV[0], changed_id, NEW.version)
  RETURNING seq INTO drawn;
  IF octet_length(channel) > 63 THEN
    channel := 'genledger_' || md5(channel);
  END IF;
  payload := json_build_object(
    'k', TG_ARGV[0], 'i', changed_id, 'v', NEW.version, 's', drawn,
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

-- As for records: an insert is a change; an update is one when it moves the version (every
-- account write of genledger's does).
CREATE OR REPLACE TRIGGER {{prefix}}accounts_inserted AFTER INSERT ON {{schema}}.{{prefix}}accounts
  FOR EACH ROW EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('account');
CREATE OR REPLACE TRIGGER {{prefix}}accounts_updated AFTER UPDATE ON {{schema}}.{{prefix}}accounts
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION {{schema}}.{{prefix}}record_change('account');
