/**
 * The store-call pattern of the production system genledger replaces (../shared/DESIGN.md), run
 * for real against the same stores, so its calls can be counted and timed beside genledger's:
 *
 * - every update of a record reads it first, then writes it (`findOne` then `updateOne`; in SQL a
 *   `SELECT` then an `UPDATE`): "read then write per child update";
 * - a finished child is added to each parent by a separate call per parent, each again a read
 *   then a write (`$inc` of the cost and points, `$push` of the id);
 * - a cast's completion and a cook's piece count are further separate parent calls, and a cook's
 *   in-flight pieces lived in an in-process `Map`, so starting a piece wrote nothing to the cook;
 * - creating a record is one insert.
 *
 * It keeps none of genledger's guarantees (a retry counts twice, as it did in production); it is
 * here only for its calls. On MongoDB it writes the production documents (`generationOutputs`,
 * `casts`, `cooks`); on PostgreSQL, tables of the same shape in a schema of its own.
 */
import { ObjectId, type Db } from 'mongodb';
import type pg from 'pg';

export interface LegacyStore {
  insertCook(targetSupply: number): Promise<string>;
  insertCast(cookId: string | null, totalSteps: number): Promise<string>;
  insertGeneration(castId: string | null, cookId: string | null): Promise<string>;
  startGeneration(id: string): Promise<void>;
  reportProgress(id: string, progress: number): Promise<void>;
  completeGeneration(id: string, costUsd: string, points: number): Promise<void>;
  getCook(id: string): Promise<unknown>;
}

/** The production pattern on MongoDB (here, any `Db`: the mingo-backed fake in this benchmark). */
export function legacyMongo(db: Db): LegacyStore {
  const generations = db.collection('generationOutputs');
  const casts = db.collection('casts');
  const cooks = db.collection('cooks');
  const now = () => new Date();
  return {
    async insertCook(targetSupply) {
      const _id = new ObjectId();
      await cooks.insertOne({
        _id,
        collectionId: 'collection-bench',
        status: 'running',
        targetSupply,
        generatedCount: 0,
        generationIds: [],
        costUsd: 0,
        pointsSpent: 0,
        startedAt: now(),
        updatedAt: now(),
      });
      return _id.toHexString();
    },
    async insertCast(cookId, totalSteps) {
      const _id = new ObjectId();
      await casts.insertOne({
        _id,
        spellId: new ObjectId(),
        status: 'running',
        totalSteps,
        stepGenerationIds: [],
        costUsd: 0,
        pointsSpent: 0,
        completedSteps: 0,
        metadata: { cookId },
        startedAt: now(),
        updatedAt: now(),
      });
      return _id.toHexString();
    },
    async insertGeneration(castId, cookId) {
      const _id = new ObjectId();
      await generations.insertOne({
        _id,
        toolId: 'sdxl',
        status: 'pending',
        costUsd: null,
        pointsSpent: 0,
        requestTimestamp: now(),
        metadata: { castId, cookId },
      });
      return _id.toHexString();
    },
    async startGeneration(id) {
      const _id = new ObjectId(id);
      const found = await generations.findOne({ _id });
      if (found) await generations.updateOne({ _id }, { $set: { status: 'processing', updatedAt: now() } });
    },
    async reportProgress(id, progress) {
      const _id = new ObjectId(id);
      const found = await generations.findOne({ _id });
      if (found) await generations.updateOne({ _id }, { $set: { progress, updatedAt: now() } });
    },
    async completeGeneration(id, costUsd, points) {
      const _id = new ObjectId(id);
      const found = await generations.findOne({ _id });
      if (!found) return;
      await generations.updateOne(
        { _id },
        { $set: { status: 'success', costUsd: Number(costUsd), pointsSpent: points, responseTimestamp: now() } },
      );
      const { castId, cookId } = found.metadata as { castId: string | null; cookId: string | null };
      if (castId) {
        // "Add this generation to its cast": read, then $inc and $push.
        const castKey = new ObjectId(castId);
        const cast = await casts.findOne({ _id: castKey });
        if (cast) {
          await casts.updateOne({ _id: castKey }, {
            $inc: { costUsd: Number(costUsd), pointsSpent: points, completedSteps: 1 },
            $push: { stepGenerationIds: _id },
          } as never);
          if ((cast.completedSteps ?? 0) + 1 >= cast.totalSteps) {
            // The cast's completion, a separate call, and its piece counted into the cook.
            const again = await casts.findOne({ _id: castKey });
            if (again) await casts.updateOne({ _id: castKey }, { $set: { status: 'completed', completedAt: now() } });
            const pieceCook = (cast.metadata as { cookId: string | null }).cookId;
            if (pieceCook) await countPiece(pieceCook);
          }
        }
      }
      if (cookId) {
        // "Add this generation to its cook": read, then $inc and $push.
        const cookKey = new ObjectId(cookId);
        const cook = await cooks.findOne({ _id: cookKey });
        if (cook)
          await cooks.updateOne({ _id: cookKey }, {
            $inc: { costUsd: Number(costUsd), pointsSpent: points },
            $push: { generationIds: _id },
          } as never);
        if (!castId) await countPiece(cookId);
      }
    },
    async getCook(id) {
      return cooks.findOne({ _id: new ObjectId(id) });
    },
  };

  async function countPiece(cookId: string): Promise<void> {
    const cookKey = new ObjectId(cookId);
    const cook = await cooks.findOne({ _id: cookKey });
    if (!cook) return;
    const done = (cook.generatedCount as number) + 1 >= (cook.targetSupply as number);
    await cooks.updateOne({ _id: cookKey }, { $inc: { generatedCount: 1 }, ...(done ? { $set: { status: 'completed' } } : {}) });
  }
}

/** The production pattern on PostgreSQL: the same calls as SQL statements, on tables of its own. */
export async function legacyPostgres(pool: pg.Pool, schema: string): Promise<LegacyStore> {
  const q = (name: string) => `"${schema}".${name}`;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${q('generations')} (id text PRIMARY KEY, status text NOT NULL, cost_usd numeric, points_spent bigint NOT NULL DEFAULT 0, progress numeric NOT NULL DEFAULT 0, cast_id text, cook_id text, request_timestamp timestamptz NOT NULL, response_timestamp timestamptz, updated_at timestamptz NOT NULL)`,
  );
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${q('casts')} (id text PRIMARY KEY, status text NOT NULL, total_steps int NOT NULL, completed_steps int NOT NULL DEFAULT 0, cook_id text, cost_usd numeric NOT NULL DEFAULT 0, points_spent bigint NOT NULL DEFAULT 0, step_generation_ids jsonb NOT NULL DEFAULT '[]', completed_at timestamptz)`,
  );
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${q('cooks')} (id text PRIMARY KEY, status text NOT NULL, target_supply int NOT NULL, generated_count int NOT NULL DEFAULT 0, cost_usd numeric, points_spent bigint NOT NULL DEFAULT 0, generation_ids jsonb NOT NULL DEFAULT '[]')`,
  );
  const id = () => new ObjectId().toHexString();

  async function countPiece(cookId: string): Promise<void> {
    const { rows } = await pool.query(`SELECT generated_count, target_supply FROM ${q('cooks')} WHERE id = $1`, [cookId]);
    const cook = rows[0] as { generated_count: number; target_supply: number } | undefined;
    if (!cook) return;
    const done = cook.generated_count + 1 >= cook.target_supply;
    await pool.query(
      `UPDATE ${q('cooks')} SET generated_count = generated_count + 1, status = CASE WHEN $2 THEN 'completed' ELSE status END WHERE id = $1`,
      [cookId, done],
    );
  }

  return {
    async insertCook(targetSupply) {
      const key = id();
      await pool.query(`INSERT INTO ${q('cooks')} (id, status, target_supply) VALUES ($1, 'running', $2)`, [key, targetSupply]);
      return key;
    },
    async insertCast(cookId, totalSteps) {
      const key = id();
      await pool.query(`INSERT INTO ${q('casts')} (id, status, total_steps, cook_id) VALUES ($1, 'running', $2, $3)`, [
        key,
        totalSteps,
        cookId,
      ]);
      return key;
    },
    async insertGeneration(castId, cookId) {
      const key = id();
      await pool.query(
        `INSERT INTO ${q('generations')} (id, status, cast_id, cook_id, request_timestamp, updated_at) VALUES ($1, 'pending', $2, $3, now(), now())`,
        [key, castId, cookId],
      );
      return key;
    },
    async startGeneration(key) {
      const { rows } = await pool.query(`SELECT id, status FROM ${q('generations')} WHERE id = $1`, [key]);
      if (rows[0]) await pool.query(`UPDATE ${q('generations')} SET status = 'processing', updated_at = now() WHERE id = $1`, [key]);
    },
    async reportProgress(key, progress) {
      const { rows } = await pool.query(`SELECT id, status FROM ${q('generations')} WHERE id = $1`, [key]);
      if (rows[0]) await pool.query(`UPDATE ${q('generations')} SET progress = $2, updated_at = now() WHERE id = $1`, [key, progress]);
    },
    async completeGeneration(key, costUsd, points) {
      const { rows } = await pool.query(`SELECT id, cast_id, cook_id FROM ${q('generations')} WHERE id = $1`, [key]);
      const found = rows[0] as { cast_id: string | null; cook_id: string | null } | undefined;
      if (!found) return;
      await pool.query(
        `UPDATE ${q('generations')} SET status = 'success', cost_usd = $2, points_spent = $3, response_timestamp = now(), updated_at = now() WHERE id = $1`,
        [key, costUsd, points],
      );
      if (found.cast_id) {
        const castRows = await pool.query(`SELECT completed_steps, total_steps, cook_id FROM ${q('casts')} WHERE id = $1`, [found.cast_id]);
        const cast = castRows.rows[0] as { completed_steps: number; total_steps: number; cook_id: string | null } | undefined;
        if (cast) {
          await pool.query(
            `UPDATE ${q('casts')} SET cost_usd = cost_usd + $2, points_spent = points_spent + $3, completed_steps = completed_steps + 1, step_generation_ids = step_generation_ids || to_jsonb($4::text) WHERE id = $1`,
            [found.cast_id, costUsd, points, key],
          );
          if (cast.completed_steps + 1 >= cast.total_steps) {
            const again = await pool.query(`SELECT id FROM ${q('casts')} WHERE id = $1`, [found.cast_id]);
            if (again.rows[0])
              await pool.query(`UPDATE ${q('casts')} SET status = 'completed', completed_at = now() WHERE id = $1`, [found.cast_id]);
            if (cast.cook_id) await countPiece(cast.cook_id);
          }
        }
      }
      if (found.cook_id) {
        const cookRows = await pool.query(`SELECT id FROM ${q('cooks')} WHERE id = $1`, [found.cook_id]);
        if (cookRows.rows[0]) {
          await pool.query(
            `UPDATE ${q('cooks')} SET cost_usd = coalesce(cost_usd, 0) + $2, points_spent = points_spent + $3, generation_ids = generation_ids || to_jsonb($4::text) WHERE id = $1`,
            [found.cook_id, costUsd, points, key],
          );
        }
        if (!found.cast_id) await countPiece(found.cook_id);
      }
    },
    async getCook(key) {
      return (await pool.query(`SELECT * FROM ${q('cooks')} WHERE id = $1`, [key])).rows[0];
    },
  };
}
