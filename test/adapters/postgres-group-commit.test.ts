/**
 * Group commit of `settleGeneration` on PostgreSQL (adapters/postgres/settle-generations.ts): calls
 * that queue while a settle statement is in flight go out together as one `settle_generations`
 * statement, and each caller gets exactly what a statement of its own would have returned, the
 * calls run one after another in queue order. The oracle is the domain's `settle`, applied call by
 * call over the records as stored just before the burst.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PostgresRepository } from '../../adapters/postgres/index.js';
import type { GenerationOutcome } from '../../src/domain/generation-reducer.js';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { settle } from '../../src/domain/rollup/settlement.js';
import { GenledgerError } from '../../src/errors.js';
import type { Settlement } from '../../src/port.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';
import { usePostgresRepository } from '../support/postgres-repository.js';

const db = usePostgresRepository({ name: 'group_commit', tablePrefix: 'gc_' });
/** Sizes of the `settle_generations` statements sent, in order. */
const { batches } = db;
let repository: PostgresRepository;
let tracker: Tracker;

beforeAll(() => {
  repository = db.repository;
  tracker = createTracker({ repository });
});

const account = 'account-gc';
const later = (seconds: number) => new Date(Date.now() + 60_000 + seconds * 1000);

function outcome(status: GenerationOutcome['status'], seconds: number, costUsd: string, pointsSpent: number, extra: Partial<GenerationOutcome> = {}): GenerationOutcome {
  return { status, pointsSpent, protocolNetPoints: -1, costUsd, responseTimestamp: later(seconds), at: later(seconds), ...extra };
}

interface Call {
  readonly id: string;
  readonly outcome: GenerationOutcome;
}

/** The stored generations, casts and cooks these calls touch, as a sequential run would see them. */
async function storedState(ids: readonly string[]) {
  const generations = new Map<string, Generation>((await repository.generations.get(ids)).map((record) => [record.id, record]));
  const castIds = [...new Set([...generations.values()].flatMap((record) => (record.castId === null ? [] : [record.castId])))];
  const cookIds = [...new Set([...generations.values()].flatMap((record) => (record.cookId === null ? [] : [record.cookId])))];
  const casts = new Map<string, Cast>((await repository.casts.get(castIds)).map((record) => [record.id, record]));
  const cooks = new Map<string, Cook>((await repository.cooks.get(cookIds)).map((record) => [record.id, record]));
  return { generations, casts, cooks };
}

/** The domain's `settle`, call after call in order, skipping the calls in `failing`: what unbatched statements return. */
async function expectedSequentially(calls: readonly Call[], failing: ReadonlySet<number> = new Set()) {
  const state = await storedState(calls.map((call) => call.id));
  const results = calls.map((call, index): Settlement | null | 'failed' => {
    if (failing.has(index)) return 'failed';
    const generation = state.generations.get(call.id);
    if (generation === undefined) return null;
    const cast = generation.castId === null ? null : state.casts.get(generation.castId)!;
    const cook = generation.cookId === null ? null : state.cooks.get(generation.cookId)!;
    const result = settle(generation, cast, cook, call.outcome, call.outcome.at);
    state.generations.set(generation.id, result.generation.record);
    if (cast !== null && result.cast !== null) state.casts.set(cast.id, result.cast.record);
    const cookAfter = (result.castPiece ?? result.cook)?.record;
    if (cookAfter !== undefined) state.cooks.set(cookAfter.id, cookAfter);
    return result;
  });
  return { results, state };
}

/** Every call fired at once (none awaited before the next): the first goes alone, the rest queue behind it. */
function fireAll(calls: readonly Call[]) {
  batches.length = 0;
  return Promise.allSettled(calls.map((call) => repository.settleGeneration(call.id, call.outcome, call.outcome.at)));
}

async function expectStored(state: Awaited<ReturnType<typeof storedState>>) {
  const stored = await storedState([...state.generations.keys()]);
  expect(stored.generations).toEqual(state.generations);
  expect(stored.casts).toEqual(state.casts);
  expect(stored.cooks).toEqual(state.cooks);
}

const piece = (cookId: string) => tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', cookId, status: 'processing' });

describe('postgres: settleGeneration group commit', () => {
  it('a batch returns to each call exactly what it would have got alone, in queue order: duplicates, a closed cut-off, a missing id, casts ending inside the batch, a cook completing inside it', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-gc', initiatorAccountId: account, targetSupply: 3 });
    const otherCook = await tracker.startCook({ collectionId: 'collection-gc-2', initiatorAccountId: account, targetSupply: 5 });
    const p1 = await piece(cook.id);
    const p2 = await piece(cook.id);
    const completing = await tracker.startCast({ spellId: 'spell', initiatorAccountId: account, cookId: cook.id, totalSteps: 2 });
    const s1 = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', castId: completing.id, status: 'processing' });
    const s2 = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', castId: completing.id, status: 'processing' });
    const failing = await tracker.startCast({ spellId: 'spell', initiatorAccountId: account, cookId: cook.id, totalSteps: 1 });
    const s3 = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', castId: failing.id, status: 'processing' });
    const standalone = await tracker.recordGeneration({ masterAccountId: account, toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'service', status: 'processing' });
    const q1 = await piece(otherCook.id);

    const calls: Call[] = [
      { id: standalone.id, outcome: outcome('success', 1, '0.1', 1) },
      { id: p1.id, outcome: outcome('success', 2, '0.0000000000000001', 2) },
      { id: s1.id, outcome: outcome('success', 3, '1.25', 3) },
      { id: p1.id, outcome: outcome('failed', 4, '7', 4) },
      { id: q1.id, outcome: outcome('success', 5, '9', 5, { onlyIfUpdatedBefore: new Date(0) }) },
      { id: s2.id, outcome: outcome('success', 6, '0.75', 6) },
      { id: q1.id, outcome: outcome('timeout', 7, '0.5', 7) },
      { id: 'generation-that-does-not-exist', outcome: outcome('success', 8, '1', 8) },
      { id: s3.id, outcome: outcome('failed', 9, '0.01', 9) },
      { id: p2.id, outcome: outcome('success', 10, '0.2', 10) },
      { id: s1.id, outcome: outcome('success', 11, '100', 11) },
    ];
    const expected = await expectedSequentially(calls);
    const settled = await fireAll(calls);

    expect(batches).toEqual([1, calls.length - 1]);
    settled.forEach((result, index) => {
      expect(result.status, `call ${index}`).toBe('fulfilled');
      expect((result as PromiseFulfilledResult<Settlement | null>).value, `call ${index}`).toEqual(expected.results[index]);
    });
    await expectStored(expected.state);
    // What the sequence means, spelled out: the completing cast ended once and its piece counted once,
    // the cook completed inside the batch, at the call that closed its last piece.
    const finalCook = expected.state.cooks.get(cook.id)!;
    expect(finalCook).toMatchObject({ status: 'completed', generatedCount: 3, failedCount: 1, inFlightCount: 0, costUsd: '2.2100000000000001' });
    expect(expected.state.casts.get(completing.id)).toMatchObject({ status: 'completed', costUsd: '2' });
    const completions = expected.results.filter((result) => result !== null && result !== 'failed' && (result.cook?.record.status === 'completed' && result.cook.previousStatus !== 'completed'));
    expect(completions).toHaveLength(1);
    expect(expected.state.cooks.get(otherCook.id)).toMatchObject({ outcomes: { timeout: 1 }, costUsd: '0.5' });
  });

  it('a call the server refuses fails alone: the batch is sent again call by call, in order, and the others settle as they would have', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-gc-fail', initiatorAccountId: account, targetSupply: 4 });
    const pieces = [await piece(cook.id), await piece(cook.id), await piece(cook.id), await piece(cook.id)];
    const calls: Call[] = [
      { id: pieces[0]!.id, outcome: outcome('success', 1, '1', 1) },
      { id: pieces[1]!.id, outcome: outcome('success', 2, '2', 2) },
      // A negative cost breaks the table's CHECK: the server refuses the statement that carries it.
      { id: pieces[2]!.id, outcome: outcome('success', 3, '-3', 3) },
      { id: pieces[3]!.id, outcome: outcome('success', 4, '4', 4) },
      { id: pieces[1]!.id, outcome: outcome('failed', 5, '5', 5) },
    ];
    const expected = await expectedSequentially(calls, new Set([2]));
    const settled = await fireAll(calls);

    expect(batches).toEqual([1, 4, 1, 1, 1, 1]);
    expect(settled[2]!.status).toBe('rejected');
    expect(((settled[2] as PromiseRejectedResult).reason as { code?: string }).code).toBe('23514');
    settled.forEach((result, index) => {
      if (index === 2) return;
      expect((result as PromiseFulfilledResult<Settlement | null>).value, `call ${index}`).toEqual(expected.results[index]);
    });
    await expectStored(expected.state);
    expect(expected.state.cooks.get(cook.id)).toMatchObject({ status: 'running', generatedCount: 3, inFlightCount: 1, costUsd: '7' });
  });

  it('an input the adapter cannot store is refused at its call, before it joins a batch; the others are not touched', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-gc-invalid', initiatorAccountId: account, targetSupply: 3 });
    const pieces = [await piece(cook.id), await piece(cook.id), await piece(cook.id)];
    const calls: Call[] = [
      { id: pieces[0]!.id, outcome: outcome('success', 1, '1', 1) },
      { id: pieces[1]!.id, outcome: outcome('success', 2, '1', 1, { platformSpecificRunId: 'run\u0000id' }) },
      { id: pieces[2]!.id, outcome: outcome('success', 3, '1', 1) },
    ];
    const expected = await expectedSequentially(calls, new Set([1]));
    const settled = await fireAll(calls);
    expect(batches).toEqual([1, 1]);
    expect(settled[1]!.status).toBe('rejected');
    expect(((settled[1] as PromiseRejectedResult).reason as GenledgerError).code).toBe('VALIDATION_FAILED');
    expect((settled[0] as PromiseFulfilledResult<Settlement | null>).value).toEqual(expected.results[0]);
    expect((settled[2] as PromiseFulfilledResult<Settlement | null>).value).toEqual(expected.results[2]);
    await expectStored(expected.state);
  });

  it('64 concurrent completions into one cook, with duplicates, through the tracker: few statements, totals exact', async () => {
    const cook = await tracker.startCook({ collectionId: 'collection-gc-hot', initiatorAccountId: account, targetSupply: 64 });
    const ids: string[] = [];
    for (let index = 0; index < 64; index += 1) ids.push((await piece(cook.id)).id);
    // Every eighth completion twice, and the burst in a scrambled order.
    const burst = [...ids, ...ids.filter((_id, index) => index % 8 === 0)].sort((a, b) => (a.split('').reverse().join('') < b.split('').reverse().join('') ? -1 : 1));
    batches.length = 0;
    const finished = await Promise.all(burst.map((id) => tracker.completeGeneration(id, { status: 'success', costUsd: '0.0185', pointsSpent: 19 })));
    expect(finished.every((generation) => generation.status === 'success')).toBe(true);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(burst.length);
    expect(batches.length).toBeLessThan(burst.length / 4);
    const stored = (await tracker.getCook(cook.id))!;
    expect(stored).toMatchObject({ status: 'completed', generatedCount: 64, inFlightCount: 0, costUsd: '1.184', pointsSpent: 64 * 19, outcomes: { success: 64 } });
  });
});
