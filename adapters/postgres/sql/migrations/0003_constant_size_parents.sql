-- genledger PostgreSQL schema, migration 0003: parents of constant size.
--
-- Placeholders as in 0001: {{schema}} and {{prefix}}. migrate() runs it in one transaction, once;
-- unlike 0001 and 0002 it cannot be run twice by hand (it reads the columns it drops).
--
-- PRECONDITION: stop every genledger 0.1.0 writer first. Their statements read and write the
-- open-entry columns this migration drops (they fail afterwards), and a 0.1.0 write landing after
-- the queue below is filled would not be repaired.
--
-- Until 0.1.0 a cast or cook carried its open children in its row (`open_steps`, `open_pieces`,
-- `open_generations`, jsonb arrays), and those entries were the gate that applied a finished
-- child once. From 0.2.0 the gate is the child's own transition (the generation's
-- `pending/processing -> terminal` UPDATE, a cast's `running -> terminal` UPDATE), made in the
-- same statement as the parent's update, so a parent row holds aggregates only and keeps one size
-- however many children it has in flight.
--
-- An entry for a stored child that is still open says nothing the counts do not (in_flight_count
-- counts it): it is dropped. An entry that names work left undone is not repaired here (that
-- would restate reconcile's rules in SQL); its parent is queued in `reconcile_queue`, and the
-- next `tracker.sweepStale()` reconciles it from its children and removes it from the queue:
-- - an entry whose child does not exist (a creation that died between attach and insert);
-- - an entry whose generation has finished (an apply lost between two 0.1.0 calls);
-- - a piece entry whose cast is no longer running (0.1.0's two-call cast transition).

-- 1. The repair queue. `findForMaintenance` returns the parents it holds; a parent's
--    `replaceAggregates` (reconcile) deletes its row in the same statement.
CREATE TABLE IF NOT EXISTS {{schema}}.{{prefix}}reconcile_queue (
  kind      text NOT NULL,
  id        text COLLATE "C" NOT NULL,
  reason    text NOT NULL,
  queued_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT {{prefix}}reconcile_queue_pkey PRIMARY KEY (kind, id),
  CONSTRAINT {{prefix}}reconcile_queue_kind_check CHECK (kind IN ('cast', 'cook'))
);

INSERT INTO {{schema}}.{{prefix}}reconcile_queue (kind, id, reason)
SELECT DISTINCT ON (c.id) 'cast', c.id, CASE WHEN g.id IS NULL THEN 'open step with no generation' ELSE 'finished step never applied' END
FROM {{schema}}.{{prefix}}casts AS c
CROSS JOIN LATERAL jsonb_array_elements(c.open_steps) AS e(entry)
LEFT JOIN {{schema}}.{{prefix}}generations AS g ON g.id = e.entry->>'id'
WHERE c.open_steps <> '[]'::jsonb AND (g.id IS NULL OR g.status NOT IN ('pending', 'processing'))
ORDER BY c.id, g.id NULLS FIRST
ON CONFLICT (kind, id) DO NOTHING;

INSERT INTO {{schema}}.{{prefix}}reconcile_queue (kind, id, reason)
SELECT DISTINCT ON (k.id) 'cook', k.id, p.reason
FROM {{schema}}.{{prefix}}cooks AS k
CROSS JOIN LATERAL (
  SELECT e.entry->>'id' AS child_id, coalesce(e.entry->>'kind', 'generation') AS kind
  FROM jsonb_array_elements(k.open_pieces || k.open_generations) AS e(entry)
) AS entry
LEFT JOIN {{schema}}.{{prefix}}generations AS g ON entry.kind = 'generation' AND g.id = entry.child_id
LEFT JOIN {{schema}}.{{prefix}}casts AS c ON entry.kind = 'cast' AND c.id = entry.child_id
CROSS JOIN LATERAL (
  SELECT CASE
    WHEN entry.kind = 'generation' AND g.id IS NULL THEN 'open generation with no record'
    WHEN entry.kind = 'generation' AND g.status NOT IN ('pending', 'processing') THEN 'finished generation never applied'
    WHEN entry.kind = 'cast' AND c.id IS NULL THEN 'open cast piece with no record'
    WHEN entry.kind = 'cast' AND c.status <> 'running' THEN 'ended cast piece never applied'
  END AS reason
) AS p
WHERE (k.open_pieces <> '[]'::jsonb OR k.open_generations <> '[]'::jsonb) AND p.reason IS NOT NULL
ORDER BY k.id
ON CONFLICT (kind, id) DO NOTHING;

-- 2. A cook's count of generations below it still in flight (pieces, and steps of its cast
--    pieces): what `open_generations` held, as a number. Queued cooks are corrected by reconcile.
--    (The change-feed trigger of 0002 fires on a version change only; this leaves versions alone.)
ALTER TABLE {{schema}}.{{prefix}}cooks ADD COLUMN IF NOT EXISTS open_generation_count integer NOT NULL DEFAULT 0
  CONSTRAINT {{prefix}}cooks_open_generation_count_check CHECK (open_generation_count >= 0);
UPDATE {{schema}}.{{prefix}}cooks SET open_generation_count = jsonb_array_length(open_generations)
WHERE open_generations <> '[]'::jsonb;

-- 3. The entry arrays go, and with them the `watched` flag that read them (and its index). The
--    flag comes back over counts and status only: maintenance visits running parents (idle ones
--    are expired) and cancelled ones whose cancellation cascade a crash cut short (children still
--    in flight). It changes only when the status does or when a cancelled parent's last child
--    ends, so a roll-up write touches no indexed column and stays a HOT update. (Adding a stored
--    generated column rewrites the table under an exclusive lock.)
ALTER TABLE {{schema}}.{{prefix}}casts DROP COLUMN IF EXISTS watched;
ALTER TABLE {{schema}}.{{prefix}}cooks DROP COLUMN IF EXISTS watched;
ALTER TABLE {{schema}}.{{prefix}}casts DROP COLUMN IF EXISTS open_steps;
ALTER TABLE {{schema}}.{{prefix}}cooks DROP COLUMN IF EXISTS open_pieces;
ALTER TABLE {{schema}}.{{prefix}}cooks DROP COLUMN IF EXISTS open_generations;
ALTER TABLE {{schema}}.{{prefix}}casts ADD COLUMN watched boolean GENERATED ALWAYS AS
  (status = 'running' OR (status = 'cancelled' AND in_flight_count > 0)) STORED;
ALTER TABLE {{schema}}.{{prefix}}cooks ADD COLUMN watched boolean GENERATED ALWAYS AS
  (status = 'running' OR (status = 'cancelled' AND (in_flight_count > 0 OR open_generation_count > 0))) STORED;
CREATE INDEX IF NOT EXISTS {{prefix}}casts_maintenance_idx
  ON {{schema}}.{{prefix}}casts (id) WHERE watched;
CREATE INDEX IF NOT EXISTS {{prefix}}cooks_maintenance_idx
  ON {{schema}}.{{prefix}}cooks (id) WHERE watched;

-- 4. Open children by parent, oldest first: cancellation cascades and `openChildren` read them.
--    Small: a finished generation, or a cast no longer running, leaves them. (On a big table,
--    build these beforehand with CREATE INDEX CONCURRENTLY and the same definitions; see
--    docs/postgres.md, "Migration 0003".)
CREATE INDEX IF NOT EXISTS {{prefix}}generations_open_cast_idx
  ON {{schema}}.{{prefix}}generations (cast_id, request_timestamp, id)
  WHERE status IN ('pending', 'processing') AND cast_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}generations_open_cook_idx
  ON {{schema}}.{{prefix}}generations (cook_id, request_timestamp, id)
  WHERE status IN ('pending', 'processing') AND cook_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}casts_running_cook_idx
  ON {{schema}}.{{prefix}}casts (cook_id, started_at, id)
  WHERE status = 'running' AND cook_id IS NOT NULL;
