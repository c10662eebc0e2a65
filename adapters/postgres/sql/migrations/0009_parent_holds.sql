-- genledger PostgreSQL schema, migration 0009: parent holds (`startCast/startCook({ hold })`).
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF NOT EXISTS, IF EXISTS, OR
-- REPLACE); migrate() runs it in one transaction. Needs 0004 (accounts) and 0007 (the account
-- change trigger, which logs the account writes made here like any other).
--
-- The rules are the domain's (src/domain/accounts/parent-hold.ts, docs/concepts.md "Parent holds"):
-- - `budgets`: a parent created with a hold has a budget whose limit is the hold, and beside it the
--   reservation: the account it is on, its `free` part (what no open child drew and no capture
--   took) and its status, 'held' until the parent ends, then 'released' (and `release_sequence`,
--   its release entry's number). NULL status: a plain budget, no reservation.
-- - `holds.drawn_from`: 'cast' or 'cook' when the hold drew on that parent's reservation (the
--   parent is the hold's budget_cast_id or budget_cook_id); NULL for any other hold.
-- - `account_entries`: a third cause, 'parent' (parent_kind, parent_id): the parent's hold taken
--   at its creation, and the one release of what its reservation had left free when it ended.
-- - The release: a row trigger on casts and cooks, fired when an UPDATE moves a parent from an
--   open status to a terminal one (completed, failed, cancelled), whichever statement made it:
--   casts_end, cooks_transition, casts_replace, cooks_replace (reconcile), settle_generations (a
--   step failing its cast, a piece completing its cook), the cast piece's apply to its cook. So
--   every way a parent ends releases its reservation, in the statement that ended it, and the
--   release is written in one place. The budget row's status is the gate: a released
--   reservation is never released again.

ALTER TABLE {{schema}}.{{prefix}}budgets ADD COLUMN IF NOT EXISTS reservation_account_id text COLLATE "C";
ALTER TABLE {{schema}}.{{prefix}}budgets ADD COLUMN IF NOT EXISTS free_points bigint;
ALTER TABLE {{schema}}.{{prefix}}budgets ADD COLUMN IF NOT EXISTS free_usd numeric;
ALTER TABLE {{schema}}.{{prefix}}budgets ADD COLUMN IF NOT EXISTS reservation_status text;
-- The sequence of the reservation's `release` entry on its account, once released (NULL: not
-- released, or nothing was free): how the adapter finds the release to report it in process.
ALTER TABLE {{schema}}.{{prefix}}budgets ADD COLUMN IF NOT EXISTS release_sequence bigint;
ALTER TABLE {{schema}}.{{prefix}}budgets DROP CONSTRAINT IF EXISTS {{prefix}}budgets_reservation_check;
ALTER TABLE {{schema}}.{{prefix}}budgets ADD CONSTRAINT {{prefix}}budgets_reservation_check CHECK (
  reservation_status IS NULL
  OR (reservation_status IN ('held', 'released') AND reservation_account_id IS NOT NULL
      AND free_points IS NOT NULL AND free_usd IS NOT NULL AND free_points >= 0 AND free_usd >= 0));

ALTER TABLE {{schema}}.{{prefix}}holds ADD COLUMN IF NOT EXISTS drawn_from text;
ALTER TABLE {{schema}}.{{prefix}}holds DROP CONSTRAINT IF EXISTS {{prefix}}holds_drawn_from_check;
ALTER TABLE {{schema}}.{{prefix}}holds ADD CONSTRAINT {{prefix}}holds_drawn_from_check CHECK (
  drawn_from IS NULL
  OR (drawn_from = 'cast' AND budget_cast_id IS NOT NULL)
  OR (drawn_from = 'cook' AND budget_cook_id IS NOT NULL));

ALTER TABLE {{schema}}.{{prefix}}account_entries ADD COLUMN IF NOT EXISTS parent_kind text;
ALTER TABLE {{schema}}.{{prefix}}account_entries ADD COLUMN IF NOT EXISTS parent_id text COLLATE "C";
-- The wider check. NOT VALID: the rows already there passed the narrower one (and have no parent
-- columns), so there is nothing to scan; new rows are checked.
ALTER TABLE {{schema}}.{{prefix}}account_entries DROP CONSTRAINT IF EXISTS {{prefix}}account_entries_cause_check;
ALTER TABLE {{schema}}.{{prefix}}account_entries ADD CONSTRAINT {{prefix}}account_entries_cause_check CHECK (
  (cause_kind = 'movement' AND reason IS NOT NULL AND idempotency_key IS NOT NULL AND generation_id IS NULL AND parent_id IS NULL)
  OR (cause_kind = 'generation' AND generation_id IS NOT NULL AND idempotency_key IS NULL AND parent_id IS NULL)
  OR (cause_kind = 'parent' AND parent_kind IN ('cast', 'cook') AND parent_id IS NOT NULL AND generation_id IS NULL AND idempotency_key IS NULL)
) NOT VALID;

-- `releaseReservation`: the parent (TG_ARGV[0] its kind, NEW its row) has just ended. Its budget
-- row is locked (after the parent, as every statement locks parents, then budgets, then
-- accounts); a reservation still held is marked released with nothing free, and what it had free
-- (when not zero) leaves the account's held by one `release` entry naming the parent, written at
-- the parent's own `updated_at` (the time of the write that ended it). An AFTER trigger runs at
-- the end of its statement, so it reads the budget as that statement left it: a settlement that
-- ends its parent has already given back the unspent part of its hold.
CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}release_parent_hold() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  reservation record;
  account record;
BEGIN
  SELECT b.reservation_account_id, b.free_points, b.free_usd INTO reservation
  FROM {{schema}}.{{prefix}}budgets AS b
  WHERE b.parent_kind = TG_ARGV[0] AND b.parent_id = NEW.id AND b.reservation_status = 'held'
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF reservation.free_points = 0 AND reservation.free_usd = 0 THEN
    UPDATE {{schema}}.{{prefix}}budgets SET reservation_status = 'released'
    WHERE parent_kind = TG_ARGV[0] AND parent_id = NEW.id;
    RETURN NULL;
  END IF;
  UPDATE {{schema}}.{{prefix}}accounts AS t
  SET held_points = t.held_points - reservation.free_points, held_usd = t.held_usd - reservation.free_usd,
    entry_count = t.entry_count + 1, version = t.version + 1, updated_at = NEW.updated_at
  WHERE t.account_id = reservation.reservation_account_id
  RETURNING t.account_id, t.entry_count, t.balance_points, t.balance_usd, t.held_points, t.held_usd INTO account;
  IF NOT FOUND THEN
    -- The account's row was deleted by hand while the parent held money on it: refuse to end the
    -- parent (the whole statement rolls back, writing nothing) rather than lose what was held
    -- silently; it can end once the row is back (its figures rebuilt from its entries). GL003,
    -- not 0008's GL002, whose DETAIL names a generation.
    RAISE EXCEPTION 'genledger: the hold of % % is on account %, whose row is gone: nothing was written; put the account''s row back, then end the % again', TG_ARGV[0], NEW.id, reservation.reservation_account_id, TG_ARGV[0]
      USING ERRCODE = 'GL003', DETAIL = json_build_array(reservation.reservation_account_id, TG_ARGV[0], NEW.id)::text;
  END IF;
  INSERT INTO {{schema}}.{{prefix}}account_entries (account_id, sequence, kind, amount_points, amount_usd, cause_kind, parent_kind, parent_id,
    balance_after_points, balance_after_usd, held_after_points, held_after_usd, at)
  VALUES (account.account_id, account.entry_count, 'release', reservation.free_points, reservation.free_usd, 'parent', TG_ARGV[0], NEW.id,
    account.balance_points, account.balance_usd, account.held_points, account.held_usd, NEW.updated_at);
  UPDATE {{schema}}.{{prefix}}budgets SET free_points = 0, free_usd = 0, reservation_status = 'released', release_sequence = account.entry_count
  WHERE parent_kind = TG_ARGV[0] AND parent_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER {{prefix}}casts_parent_hold_released AFTER UPDATE ON {{schema}}.{{prefix}}casts
  FOR EACH ROW WHEN (OLD.status NOT IN ('completed', 'failed', 'cancelled') AND NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION {{schema}}.{{prefix}}release_parent_hold('cast');
CREATE OR REPLACE TRIGGER {{prefix}}cooks_parent_hold_released AFTER UPDATE ON {{schema}}.{{prefix}}cooks
  FOR EACH ROW WHEN (OLD.status NOT IN ('completed', 'failed', 'cancelled') AND NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION {{schema}}.{{prefix}}release_parent_hold('cook');
