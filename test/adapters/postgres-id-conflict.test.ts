/**
 * The id-conflict handler of the PostgreSQL adapter (`conflictOnId` in adapters/postgres/index.ts)
 * under a table prefix whose names collide with the account tables' constraints: with the prefix
 * `budgets_`, the generation table's primary key is `budgets_generations_pkey`, which reads like a
 * constraint of the budget table. A record id taken twice must still be a ConflictError on `id`,
 * whatever the prefix; it came out as the raw unique violation (a RepositoryError through the
 * tracker) while the handler matched constraint names by pattern.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PostgresRepository } from '../../adapters/postgres/index.js';
import { ConflictError } from '../../src/errors.js';
import type { EntityKind } from '../../src/domain/records.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { usePostgresRepository } from '../support/postgres-repository.js';

const db = usePostgresRepository({ name: 'id_conflict', tablePrefix: 'budgets_', poolSize: 4 });
const { schema } = db;
let pool: pg.Pool;
let repository: PostgresRepository;

beforeAll(() => {
  ({ pool, repository } = db);
});

/** Ids that repeat: the first id of each kind comes back every time. */
function repeatingIds() {
  const counter = { value: 0 };
  const first = new Map<EntityKind, string>();
  return (kind: EntityKind) => {
    if (!first.has(kind)) first.set(kind, `${kind}-${(counter.value += 1)}`);
    return first.get(kind)!;
  };
}

const silent = { warn: () => undefined, error: () => undefined };
const generation = (extra: Record<string, unknown> = {}) => ({
  masterAccountId: 'account-ic',
  toolId: 'tool',
  toolDisplayName: 'Tool',
  serviceName: 'service',
  status: 'processing' as const,
  ...extra,
});

async function failure(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => new Error('the call succeeded'),
    (error: unknown) => error,
  );
}

describe('postgres: a record id taken twice under the table prefix "budgets_"', () => {
  it('is a ConflictError on id for a generation, a cast, a cook and an attached step, and stores nothing', async () => {
    const tracker = createTracker({ repository, ids: repeatingIds(), logger: silent });
    const cook = await tracker.startCook({ collectionId: 'collection-ic', initiatorAccountId: 'account-ic', targetSupply: 3 });
    const cast = await tracker.startCast({ spellId: 'spell-ic', initiatorAccountId: 'account-ic' });
    const lone = await tracker.recordGeneration(generation());
    const attempts = {
      cook: () => tracker.startCook({ collectionId: 'collection-ic-2', initiatorAccountId: 'account-ic', targetSupply: 1 }),
      cast: () => tracker.startCast({ spellId: 'spell-ic-2', initiatorAccountId: 'account-ic' }),
      castInCook: () => tracker.startCast({ spellId: 'spell-ic-3', initiatorAccountId: 'account-ic', cookId: cook.id }),
      generation: () => tracker.recordGeneration(generation()),
      step: () => tracker.recordGeneration(generation({ castId: cast.id })),
      piece: () => tracker.recordGeneration(generation({ cookId: cook.id })),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      const error = await failure(attempt);
      expect(error, name).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).field, name).toBe('id');
    }
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM "${schema}".budgets_generations)::int AS generations, (SELECT count(*) FROM "${schema}".budgets_casts)::int AS casts,
        (SELECT count(*) FROM "${schema}".budgets_cooks)::int AS cooks`,
    );
    expect(rows[0]).toEqual({ generations: 1, casts: 1, cooks: 1 });
    expect(await tracker.getCook(cook.id)).toMatchObject({ inFlightCount: 0, openGenerationCount: 0 });
    expect(await tracker.getCast(cast.id)).toMatchObject({ inFlightCount: 0 });
    expect((await tracker.getGeneration(lone.id))?.castId ?? null).toBeNull();
  });

  it('a repeat with the same idempotency key is still the first record, not a conflict', async () => {
    const tracker = createTracker({ repository, logger: silent });
    const first = await tracker.recordGeneration(generation({ idempotencyKey: 'key-ic' }));
    const again = await tracker.recordGeneration(generation({ idempotencyKey: 'key-ic' }));
    expect(again.id).toBe(first.id);
  });
});
