-- genledger PostgreSQL schema, migration 0008: the refusal to settle a hold whose account is gone.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (OR REPLACE); migrate() runs it
-- in one transaction. Needs 0004 (accounts) applied; independent of the others.
--
-- Raised by settle_generations for a hold still held whose account has no row (deleted by hand
-- while the hold was open): settling it would mark it settled and capture nothing, so the money
-- held would be lost silently. The whole statement rolls back, writing nothing, and the adapter
-- turns SQLSTATE GL002 into a ConflictError naming the account and the generation (read from the
-- error's DETAIL, a JSON array [account, generation]). The hold stays held until the row is put
-- back. Returns boolean only so the statement can call it inside a condition; it never returns.
CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}hold_account_missing(account text, generation text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'genledger: the hold of generation % is on account %, whose row is gone; nothing was settled', generation, account
    USING ERRCODE = 'GL002', DETAIL = json_build_array(account, generation)::text;
END
$$;
