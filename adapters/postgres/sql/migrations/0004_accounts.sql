-- genledger PostgreSQL schema, migration 0004: accounts, their ledger, holds and budgets.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. Re-runnable (IF NOT EXISTS); migrate() runs
-- it in one transaction. Independent of 0005 (pricing).
--
-- What the domain decides (src/domain/accounts) is stored here, one row per thing:
-- - `accounts`: one row per account id, its figures in points (bigint) and exact dollars (numeric,
--   signed: a balance goes below zero only through a recorded overdraft). No global counter: each
--   account is its own row, so holds on one account never wait for another's.
-- - `account_entries`: the append-only ledger, numbered 1, 2, 3, ... per account (`sequence`, the
--   account's `entry_count` after the entry). A credit or debit carries its idempotency key,
--   unique per account; a hold, capture, release or overdraft names its generation.
-- - `holds`: one row per generation that took a hold, the units it named (NULL: not named) and
--   the budgets (its cast's, its cook's) that counted it; `held` until its settlement.
-- - `budgets`: one row per cast or cook created with a budget: the limit (NULL in a unit it does
--   not limit) and what its children hold and spent.
-- Every write to them is part of the statement that makes the generation's or the account's own
-- write (creation, settlement, credit/debit), so they move together or not at all.

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}accounts (
  account_id     text COLLATE "C" NOT NULL,
  balance_points bigint NOT NULL DEFAULT 0,
  balance_usd    numeric NOT NULL DEFAULT 0,
  held_points    bigint NOT NULL DEFAULT 0,
  held_usd       numeric NOT NULL DEFAULT 0,
  spent_points   bigint NOT NULL DEFAULT 0,
  spent_usd      numeric NOT NULL DEFAULT 0,
  entry_count    bigint NOT NULL DEFAULT 0,
  version        bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz,
  CONSTRAINT {{prefix}}accounts_pkey PRIMARY KEY (account_id)
) WITH (fillfactor = 70);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}account_entries (
  account_id           text COLLATE "C" NOT NULL,
  sequence             bigint NOT NULL,
  kind                 text NOT NULL,
  amount_points        bigint NOT NULL,
  amount_usd           numeric NOT NULL,
  -- Captures only: the part of the amount that came out of the hold.
  from_hold_points     bigint,
  from_hold_usd        numeric,
  -- 'movement' (reason, idempotency_key) or 'generation' (generation_id).
  cause_kind           text NOT NULL,
  reason               text,
  idempotency_key      text COLLATE "C",
  generation_id        text COLLATE "C",
  balance_after_points bigint NOT NULL,
  balance_after_usd    numeric NOT NULL,
  held_after_points    bigint NOT NULL,
  held_after_usd       numeric NOT NULL,
  at                   timestamptz NOT NULL,
  CONSTRAINT {{prefix}}account_entries_pkey PRIMARY KEY (account_id, sequence),
  -- NULL keys (generation entries) are distinct: only movements are keyed.
  CONSTRAINT {{prefix}}account_entries_key UNIQUE (account_id, idempotency_key),
  CONSTRAINT {{prefix}}account_entries_kind_check CHECK (kind IN ('credit', 'debit', 'hold', 'capture', 'release', 'overdraft')),
  CONSTRAINT {{prefix}}account_entries_amount_check CHECK (amount_points >= 0 AND amount_usd >= 0),
  CONSTRAINT {{prefix}}account_entries_cause_check CHECK (
    (cause_kind = 'movement' AND reason IS NOT NULL AND idempotency_key IS NOT NULL AND generation_id IS NULL)
    OR (cause_kind = 'generation' AND generation_id IS NOT NULL AND idempotency_key IS NULL))
);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}holds (
  generation_id  text COLLATE "C" NOT NULL,
  account_id     text COLLATE "C" NOT NULL,
  points         bigint,
  cost_usd       numeric,
  budget_cast_id text COLLATE "C",
  budget_cook_id text COLLATE "C",
  status         text NOT NULL,
  CONSTRAINT {{prefix}}holds_pkey PRIMARY KEY (generation_id),
  CONSTRAINT {{prefix}}holds_status_check CHECK (status IN ('held', 'settled')),
  CONSTRAINT {{prefix}}holds_units_check CHECK ((points IS NOT NULL OR cost_usd IS NOT NULL) AND coalesce(points, 0) >= 0 AND coalesce(cost_usd, 0) >= 0)
);

CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}budgets (
  parent_kind  text NOT NULL,
  parent_id    text COLLATE "C" NOT NULL,
  limit_points bigint,
  limit_usd    numeric,
  held_points  bigint NOT NULL DEFAULT 0,
  held_usd     numeric NOT NULL DEFAULT 0,
  spent_points bigint NOT NULL DEFAULT 0,
  spent_usd    numeric NOT NULL DEFAULT 0,
  CONSTRAINT {{prefix}}budgets_pkey PRIMARY KEY (parent_kind, parent_id),
  CONSTRAINT {{prefix}}budgets_kind_check CHECK (parent_kind IN ('cast', 'cook')),
  CONSTRAINT {{prefix}}budgets_limit_check CHECK ((limit_points IS NOT NULL OR limit_usd IS NOT NULL) AND coalesce(limit_points, 0) >= 0 AND coalesce(limit_usd, 0) >= 0)
) WITH (fillfactor = 70);

-- Raised by the creation statement when a hold it decided on the account as its snapshot showed it
-- finds, once it locks the account (last, after the generation's insert), that the amount is no
-- longer available: the whole statement rolls back, writing nothing, and the adapter sends it
-- again (with a new snapshot, it then takes the hold or refuses it).
CREATE OR REPLACE FUNCTION {{schema}}.{{prefix}}hold_raced(account text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'genledger: the hold on account % met a concurrent change to its available amount; send the statement again', account
    USING ERRCODE = 'GL001';
END
$$;
