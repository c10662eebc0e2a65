/**
 * The port itself: every operation does exactly what its domain reducer or composite does
 * (`createAttached`, `settle`, `endCast`, `replace*Aggregates`; checked by running it on the
 * records read just before the operation), creations are idempotent by key, reads and pages are
 * ordered as documented, and money survives the store exactly.
 */
import { describe, expect, it } from 'vitest';
import { newCast, newCook, newGeneration } from '../domain/builders.js';
import { finishGeneration, recordGenerationDelivery, recordGenerationProgress, startGeneration } from '../domain/generation-reducer.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import { endCast, replaceCastAggregates, replaceCookAggregates } from '../domain/rollup/cast-ending.js';
import { transitionCook } from '../domain/rollup/cook-reducer.js';
import type { ParentCaps } from '../domain/rollup/contribution.js';
import { createAttached, creationCookId } from '../domain/rollup/creation.js';
import { settle } from '../domain/rollup/settlement.js';
import { GenledgerError } from '../errors.js';
import type { AttachedInsertion, GenerationOutcome, LedgerRepository, NewAttachedChild } from '../port.js';
import type { StoreInspector } from './types.js';
import { sequentialIds } from '../testing/sequential-ids.js';
import type { ConformanceTarget } from './types.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const CAPS: ParentCaps = { maxInFlight: 3, maxEmbeddedIds: 2 };

function idsFor(target: ConformanceTarget) {
  return sequentialIds({ format: target.idFormat ?? 'readable', prefix: 'p-' });
}

function sampleGeneration(id: string, overrides: Partial<Generation> = {}): Generation {
  const base = newGeneration(
    {
      masterAccountId: 'account-port',
      toolId: 'tool-1',
      toolDisplayName: 'Tool One ✓',
      serviceName: 'svc',
      notificationPlatform: 'telegram',
      requestPayload: { prompt: 'a cat', seed: 12345678901, nested: { list: [1, 'two', null, true] } },
      metadata: { source: 'port-test', 'kebab-key': 'ok' },
    },
    id,
    T0,
    { castId: null, cookId: null, spellId: null, collectionId: null },
  );
  return { ...base, ...overrides };
}

async function fresh(target: ConformanceTarget): Promise<LedgerRepository> {
  await target.reset?.();
  return target.create();
}

export function portTests(target: ConformanceTarget): void {
  describe(`${target.name}: the repository port`, () => {
    it('generations.insert() then get() returns every field as given', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const generation = sampleGeneration(ids('generation'), { sessionId: 'session-1', deliveryStrategy: 'spell_step' });
      const inserted = await repository.generations.insert(generation);
      expect(inserted.created).toBe(true);
      expect(inserted.record).toEqual(generation);
      expect(await repository.generations.get([generation.id])).toEqual([generation]);
      expect(await target.inspect().generation(generation.id)).toEqual(generation);
    });

    it('insert() with a used idempotencyKey returns the first record and writes nothing', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const first = sampleGeneration(ids('generation'), { idempotencyKey: 'key-1' });
      const second = sampleGeneration(ids('generation'), { idempotencyKey: 'key-1', toolId: 'other' });
      await repository.generations.insert(first);
      const repeat = await repository.generations.insert(second);
      expect(repeat).toEqual({ created: false, record: first });
      expect(await repository.generations.get([second.id])).toEqual([]);
      const castA = newCast({ spellId: 's', initiatorAccountId: 'a', idempotencyKey: 'cast-key' }, ids('cast'), T0, null);
      const castB = newCast({ spellId: 's', initiatorAccountId: 'a', idempotencyKey: 'cast-key' }, ids('cast'), T0, null);
      await repository.casts.insert(castA);
      expect(await repository.casts.insert(castB)).toEqual({ created: false, record: castA });
      const cookA = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 2, idempotencyKey: 'cook-key' }, ids('cook'), T0);
      const cookB = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 2, idempotencyKey: 'cook-key' }, ids('cook'), T0);
      await repository.cooks.insert(cookA);
      expect(await repository.cooks.insert(cookB)).toEqual({ created: false, record: cookA });
      expect(await target.inspect().count()).toEqual({ generations: 1, casts: 1, cooks: 1 });
    });

    it('insert() of an id that already exists throws a ConflictError', async () => {
      const repository = await fresh(target);
      const generation = sampleGeneration(idsFor(target)('generation'));
      await repository.generations.insert(generation);
      const error = await repository.generations.insert({ ...generation, toolId: 'other' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).code).toBe('CONFLICT');
    });

    it('writes on a missing record resolve to null', async () => {
      const repository = await fresh(target);
      const missing = idsFor(target)('generation');
      expect(await repository.generations.start(missing, T0)).toBeNull();
      expect(await repository.generations.recordProgress(missing, { progress: 0.5, at: T0 })).toBeNull();
      expect(
        await repository.settleGeneration(missing, { status: 'success', pointsSpent: 1, protocolNetPoints: 0, costUsd: '1', responseTimestamp: T0, at: T0 }, T0),
      ).toBeNull();
      expect(await repository.generations.recordDelivery(missing, { outcome: 'sent', error: null, at: T0 })).toBeNull();
      expect(await repository.casts.transition(missing, 'finish', T0)).toBeNull();
      expect(await repository.cooks.transition(missing, 'finish', T0)).toBeNull();
      const recomputed = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1 }, missing, T0);
      expect(await repository.cooks.replaceAggregates(missing, 1, recomputed, T0)).toBeNull();
      expect(await repository.generations.get([missing])).toEqual([]);
      expect(await repository.openChildren({ kind: 'cook', id: missing }, 10)).toEqual({ generationIds: [], castIds: [] });
    });

    it('generation writes do exactly what the generation reducer does', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const generation = sampleGeneration(ids('generation'));
      await repository.generations.insert(generation);
      let current = generation;
      const steps: [string, (record: Generation) => ReturnType<typeof startGeneration>, () => Promise<unknown>][] = [
        ['progress on pending', (record) => recordGenerationProgress(record, { progress: 0.25, at: at(1) }), () => repository.generations.recordProgress(generation.id, { progress: 0.25, at: at(1) })],
        ['older progress', (record) => recordGenerationProgress(record, { progress: 0.1, at: at(2) }), () => repository.generations.recordProgress(generation.id, { progress: 0.1, at: at(2) })],
        ['start after progress', (record) => startGeneration(record, at(3)), () => repository.generations.start(generation.id, at(3))],
        ['finish too early for the sweeper guard', (record) => finishGeneration(record, stale(at(0))), () => settled(repository, generation.id, stale(at(0)))],
        ['delivery before the end', (record) => recordGenerationDelivery(record, { outcome: 'sent', error: null, at: at(4) }), () => repository.generations.recordDelivery(generation.id, { outcome: 'sent', error: null, at: at(4) })],
        ['finish', (record) => finishGeneration(record, done), () => settled(repository, generation.id, done)],
        ['finish again', (record) => finishGeneration(record, { ...done, status: 'failed' }), () => settled(repository, generation.id, { ...done, status: 'failed' })],
        ['progress after the end', (record) => recordGenerationProgress(record, { progress: 0.9, at: at(9) }), () => repository.generations.recordProgress(generation.id, { progress: 0.9, at: at(9) })],
        ['delivery dropped', (record) => recordGenerationDelivery(record, { outcome: 'dropped', attempts: 3, error: 'bot blocked', at: at(10) }), () => repository.generations.recordDelivery(generation.id, { outcome: 'dropped', attempts: 3, error: 'bot blocked', at: at(10) })],
        ['delivery sent after dropped', (record) => recordGenerationDelivery(record, { outcome: 'sent', error: null, at: at(11) }), () => repository.generations.recordDelivery(generation.id, { outcome: 'sent', error: null, at: at(11) })],
      ];
      for (const [label, reduce, write] of steps) {
        const expected = reduce(current);
        expect(await write(), label).toEqual(expected);
        expect(await repository.generations.get([generation.id]), label).toEqual([expected.record]);
        current = expected.record;
      }
      expect(current.durationMs).toBe(8000);
      expect(current.costUsd).toBe('0.000000000000000001');
    });

    /** Runs `settleGeneration` and checks it against `settle` over the records as stored just before. */
    async function expectSettlement(repository: LedgerRepository, inspect: StoreInspector, label: string, id: string, outcome: GenerationOutcome) {
      const generation = (await inspect.generation(id))!;
      const cast = generation.castId === null ? null : await inspect.cast(generation.castId);
      const cook = generation.cookId === null ? null : await inspect.cook(generation.cookId);
      const expected = settle(generation, cast, cook, outcome, outcome.at);
      const actual = await repository.settleGeneration(id, outcome, outcome.at);
      expect(actual, label).toEqual(expected);
      expect(await inspect.generation(id), `${label}: the stored generation`).toEqual(expected.generation.record);
      if (cast !== null) expect(await inspect.cast(cast.id), `${label}: the stored cast`).toEqual(expected.cast?.record ?? cast);
      if (cook !== null) expect(await inspect.cook(cook.id), `${label}: the stored cook`).toEqual((expected.castPiece ?? expected.cook)?.record ?? cook);
      return expected;
    }

    /** Runs `casts.transition` and checks it against `endCast` over the records as stored just before. */
    async function expectCastEnding(repository: LedgerRepository, inspect: StoreInspector, label: string, castId: string, transition: Parameters<typeof endCast>[2], when: Date) {
      const cast = (await inspect.cast(castId))!;
      const cook = cast.cookId === null ? null : await inspect.cook(cast.cookId);
      const expected = endCast(cast, cook, transition, when);
      expect(await repository.casts.transition(castId, transition, when), label).toEqual(expected);
      expect(await inspect.cast(castId), `${label}: the stored cast`).toEqual(expected.cast.record);
      if (cook !== null) expect(await inspect.cook(cook.id), `${label}: the stored cook`).toEqual(expected.castPiece?.record ?? cook);
      return expected;
    }

    const outcome = (status: GenerationOutcome['status'], seconds: number, costUsd = '0', pointsSpent = 0): GenerationOutcome => ({
      status,
      pointsSpent,
      protocolNetPoints: -1,
      costUsd,
      responseTimestamp: at(seconds),
      at: at(seconds),
    });

    async function created<T extends Generation | Cast>(promise: Promise<AttachedInsertion<T>>): Promise<T> {
      const result = await promise;
      if (result.outcome !== 'created') throw new Error(`expected a creation, got ${result.outcome}`);
      return result.record;
    }

    it('settleGeneration() does exactly what settle() does: steps, pieces, a cast piece that ends, and repeats that apply nothing', async () => {
      const repository = await fresh(target);
      const inspect = target.inspect();
      const ids = idsFor(target);
      const caps: ParentCaps = { maxInFlight: 10, maxEmbeddedIds: 2 };
      const cook = newCook({ collectionId: 'collection-s', initiatorAccountId: 'account-port', targetSupply: 2 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const lone = newCast({ spellId: 'spell-lone', initiatorAccountId: 'account-port', totalSteps: 3 }, ids('cast'), T0, null);
      await repository.casts.insert(lone);
      const piece = await created(
        repository.insertAttached({ kind: 'cast', record: newCast({ spellId: 'spell-p', initiatorAccountId: 'account-port', totalSteps: 2 }, ids('cast'), T0, null), cookId: cook.id, at: at(1), caps }),
      );
      const generation = (castId: string | null, cookId: string | null, seconds: number) =>
        created(repository.insertAttached({ kind: 'generation', record: sampleGeneration(ids('generation')), castId, cookId, at: at(seconds), caps }));
      const [a, b, genPiece, c, d] = [
        await generation(piece.id, null, 2),
        await generation(piece.id, cook.id, 3),
        await generation(null, cook.id, 4),
        await generation(lone.id, null, 5),
        await generation(lone.id, null, 6),
      ];
      expect(await inspect.cook(cook.id)).toMatchObject({ inFlightCount: 2, openGenerationCount: 3 });
      await expectSettlement(repository, inspect, 'step a succeeds', a.id, outcome('success', 10, '0.1', 3));
      const repeat = await expectSettlement(repository, inspect, 'step a again: nothing applied', a.id, outcome('success', 11, '0.1', 3));
      expect(repeat).toMatchObject({ generation: { changed: false }, cast: null, cook: null, castPiece: null });
      const ended = await expectSettlement(repository, inspect, 'step b succeeds: the cast piece completes and counts for its cook', b.id, outcome('success', 12, '0.2', 4));
      expect(ended.castPiece?.record).toMatchObject({ generatedCount: 1, inFlightCount: 1, openGenerationCount: 1 });
      await expectSettlement(repository, inspect, 'a stale-guarded timeout of a fresh generation: nothing', genPiece.id, { ...outcome('timeout', 13), onlyIfUpdatedBefore: at(0) });
      const last = await expectSettlement(repository, inspect, 'the generation piece fails: the cook completes? no, one success of two', genPiece.id, outcome('failed', 14, '0.000000000000000001', 1));
      expect(last.cook?.record).toMatchObject({ status: 'running', generatedCount: 1, failedCount: 1, inFlightCount: 0, openGenerationCount: 0, costUsd: '0.300000000000000001', pointsSpent: 8 });
      await expectSettlement(repository, inspect, 'a step of a lone cast cancelled by its user cancels the cast', c.id, outcome('cancelled_by_user', 15));
      await expectSettlement(repository, inspect, 'a step that ends after its cast: money lands, the status stays', d.id, outcome('success', 16, '2.5', 9));
      expect(await inspect.cast(lone.id)).toMatchObject({ status: 'cancelled', inFlightCount: 0, costUsd: '2.5', pointsSpent: 9 });
    });

    it('casts.transition() does exactly what endCast() does: a piece is applied to its cook once, by the write that ends it', async () => {
      const repository = await fresh(target);
      const inspect = target.inspect();
      const ids = idsFor(target);
      const caps: ParentCaps = { maxInFlight: 10, maxEmbeddedIds: 2 };
      const cook = newCook({ collectionId: 'collection-e', initiatorAccountId: 'account-port', targetSupply: 1 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const castPiece = (seconds: number) =>
        created(repository.insertAttached({ kind: 'cast', record: newCast({ spellId: 'spell-e', initiatorAccountId: 'account-port' }, ids('cast'), T0, null), cookId: cook.id, at: at(seconds), caps }));
      const [first, second, third] = [await castPiece(1), await castPiece(2), await castPiece(3)];
      const step = await created(repository.insertAttached({ kind: 'generation', record: sampleGeneration(ids('generation')), castId: second.id, cookId: null, at: at(4), caps }));
      await expectCastEnding(repository, inspect, 'cancel the first piece', first.id, 'cancel', at(5));
      await expectCastEnding(repository, inspect, 'cancel it again: nothing applied', first.id, 'cancel', at(6));
      await expectCastEnding(repository, inspect, 'finish it: nothing (terminal)', first.id, 'finish', at(7));
      await expectCastEnding(repository, inspect, 'expire the second with a step in flight: nothing', second.id, 'expire', at(8));
      await expectCastEnding(repository, inspect, 'finish the second with a step in flight', second.id, 'finish', at(9));
      await expectSettlement(repository, inspect, 'its step ends after it: money to cast and cook, no second piece', step.id, outcome('success', 10, '0.5', 2));
      await expectCastEnding(repository, inspect, 'expire the idle third: completed (no totalSteps), the cook completes', third.id, 'expire', at(11));
      expect(await inspect.cook(cook.id)).toMatchObject({ status: 'completed', generatedCount: 2, cancelledCount: 1, inFlightCount: 0, openGenerationCount: 0, costUsd: '0.5' });
    });

    it('insertAttached() does exactly what createAttached() does, and writes nothing when it refuses', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const inspect = target.inspect();
      const caps: ParentCaps = { maxInFlight: 2, maxEmbeddedIds: 1 };
      const cook = newCook({ collectionId: 'collection-ia', initiatorAccountId: 'account-port', targetSupply: 5 }, ids('cook'), T0);
      const otherCook = newCook({ collectionId: 'collection-other', initiatorAccountId: 'account-port', targetSupply: 5 }, ids('cook'), T0);
      const lone = newCast({ spellId: 'spell-lone', initiatorAccountId: 'account-port' }, ids('cast'), T0, null);
      for (const record of [cook, otherCook]) await repository.cooks.insert(record);
      await repository.casts.insert(lone);
      const generation = (id: string, key: string | null = null) =>
        ({ ...sampleGeneration(id), idempotencyKey: key, castId: null, cookId: null, spellId: null, collectionId: null }) as Generation;
      const castRecord = (id: string, key: string | null = null) => newCast({ spellId: 'spell-piece', initiatorAccountId: 'account-port', totalSteps: 2, idempotencyKey: key ?? undefined }, id, T0, null);

      /** `existing`: the record that holds the child's key (checked first: whatever the parents would say, it is the answer, and nothing is written). */
      async function expectLikeDomain(label: string, child: NewAttachedChild, existing?: Generation | Cast): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>> {
        const parents = [lone.id, ...(child.kind === 'generation' && child.castId ? [child.castId] : [])];
        const before = { casts: await Promise.all(parents.map((id) => inspect.cast(id))), cooks: await Promise.all([cook.id, otherCook.id].map((id) => inspect.cook(id))), count: await inspect.count() };
        const cast = child.kind === 'generation' && child.castId !== null ? await inspect.cast(child.castId) : null;
        const cookId = creationCookId(child, cast);
        const expected = existing ? { outcome: 'existing', record: existing } : createAttached(child, { cast, cook: cookId === null ? null : await inspect.cook(cookId) });
        const actual = await repository.insertAttached(child);
        expect(actual, label).toEqual(expected);
        if (actual.outcome === 'created') {
          expect(await inspect[child.kind](child.record.id), `${label}: the stored child`).toEqual(actual.record);
          if (actual.cast !== null) expect(await inspect.cast(actual.cast.id), `${label}: the stored cast`).toEqual(actual.cast);
          if (actual.cook !== null) expect(await inspect.cook(actual.cook.id), `${label}: the stored cook`).toEqual(actual.cook);
        } else {
          // Nothing written: every parent and every count as before.
          expect(await Promise.all(parents.map((id) => inspect.cast(id))), `${label}: casts untouched`).toEqual(before.casts);
          expect(await Promise.all([cook.id, otherCook.id].map((id) => inspect.cook(id))), `${label}: cooks untouched`).toEqual(before.cooks);
          expect(await inspect.count(), `${label}: nothing stored`).toEqual(before.count);
        }
        return actual;
      }

      const piece = castRecord(ids('cast'), 'cast-key');
      const createdPiece = await expectLikeDomain('a cast piece', { kind: 'cast', record: piece, cookId: cook.id, at: at(1), caps });
      expect(createdPiece).toMatchObject({ outcome: 'created', record: { cookId: cook.id, collectionId: 'collection-ia' }, cast: null, cook: { inFlightCount: 1, openGenerationCount: 0, castIds: [piece.id] } });
      const stepId = ids('generation');
      const step = await expectLikeDomain('a step of the cast piece (attached to its cook, not as a piece)', { kind: 'generation', record: generation(stepId, 'step-key'), castId: piece.id, cookId: null, at: at(2), caps });
      expect(step).toMatchObject({ outcome: 'created', record: { castId: piece.id, cookId: cook.id, spellId: 'spell-piece', collectionId: 'collection-ia' }, cook: { inFlightCount: 1, openGenerationCount: 1 } });
      await expectLikeDomain('a step naming its cast and its cook (beyond the embedded-id cap)', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: cook.id, at: at(3), caps });
      await expectLikeDomain('a third step: the cast is full', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: null, at: at(4), caps });
      await expectLikeDomain('a step of a lone cast', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: null, at: at(5), caps });
      await expectLikeDomain('a generation piece', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: cook.id, at: at(6), caps });
      await expectLikeDomain('a generation piece: the cook is full', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: cook.id, at: at(7), caps });
      await expectLikeDomain('a generation piece of the other cook', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: otherCook.id, at: at(8), caps });
      await expectLikeDomain('a cast of another cook', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: otherCook.id, at: at(9), caps });
      await expectLikeDomain('a lone cast named with a cook', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: cook.id, at: at(10), caps });
      await expectLikeDomain('a missing cast', { kind: 'generation', record: generation(ids('generation')), castId: ids('cast'), cookId: null, at: at(11), caps });
      await expectLikeDomain('a missing cook', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: ids('cook'), at: at(12), caps });
      await expectLikeDomain('a cast piece of a missing cook', { kind: 'cast', record: castRecord(ids('cast')), cookId: ids('cook'), at: at(13), caps });
      const first = await inspect.generation(stepId);
      const firstCast = await inspect.cast(piece.id);
      await expectLikeDomain('a repeated key: the first record, nothing attached', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: lone.id, cookId: null, at: at(14), caps }, first!);
      await expectLikeDomain('a repeated cast key under another cook', { kind: 'cast', record: castRecord(ids('cast'), 'cast-key'), cookId: otherCook.id, at: at(15), caps }, firstCast!);
      await repository.cooks.transition(otherCook.id, 'pause', at(16));
      await expectLikeDomain('a cast piece of a paused cook', { kind: 'cast', record: castRecord(ids('cast')), cookId: otherCook.id, at: at(17), caps });
      await expectLikeDomain('a repeated key wins over a refusal (the key is checked first)', { kind: 'cast', record: castRecord(ids('cast'), 'cast-key'), cookId: otherCook.id, at: at(18), caps }, firstCast!);
      await repository.casts.transition(lone.id, 'finish', at(19));
      await expectLikeDomain('a step of a completed cast', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: null, at: at(20), caps });
      await expectLikeDomain('a repeated step key under a completed cast: the first record', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: lone.id, cookId: null, at: at(20), caps }, first!);
      await expectLikeDomain('a repeated key under a missing cook: the first record', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: null, cookId: ids('cook'), at: at(20), caps }, first!);
      // An id already stored: a ConflictError, and nothing written.
      await repository.cooks.transition(otherCook.id, 'resume', at(21));
      const counted = await inspect.count();
      const cookBefore = await inspect.cook(otherCook.id);
      const error = await repository.insertAttached({ kind: 'generation', record: generation(stepId), castId: null, cookId: otherCook.id, at: at(22), caps }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GenledgerError);
      expect((error as GenledgerError).code).toBe('CONFLICT');
      expect(await inspect.count()).toEqual(counted);
      expect(await inspect.cook(otherCook.id)).toEqual(cookBefore);
    });

    it('transition() moves parents only from the statuses the reducers allow', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      for (const transition of ['finish', 'cancel', 'pause', 'resume', 'expire'] as const) {
        const cast = newCast({ spellId: 's', initiatorAccountId: 'a', totalSteps: 3 }, ids('cast'), T0, null);
        await repository.casts.insert(cast);
        expect(await repository.casts.transition(cast.id, transition, at(5)), `cast ${transition}`).toEqual(endCast(cast, null, transition, at(5)));
        const cook = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1 }, ids('cook'), T0);
        await repository.cooks.insert(cook);
        const expected = transitionCook(cook, transition, at(5));
        expect(await repository.cooks.transition(cook.id, transition, at(5)), `cook ${transition}`).toEqual(expected);
        for (const next of ['finish', 'cancel', 'pause', 'resume', 'expire'] as const) {
          expect(await repository.cooks.transition(cook.id, next, at(6)), `cook ${transition} then ${next}`).toEqual(transitionCook(expected.record, next, at(6)));
          const [stored] = await repository.cooks.get([cook.id]);
          expect(stored).toEqual(transitionCook(expected.record, next, at(6)).record);
          if (transitionCook(expected.record, next, at(6)).changed) break;
        }
      }
    });

    it('openChildren() lists open generations and running cast pieces, at most `limit` of each, and a child leaves the list when it ends', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const caps: ParentCaps = { maxInFlight: 100, maxEmbeddedIds: 2 };
      const cook = newCook({ collectionId: 'collection-o', initiatorAccountId: 'account-port', targetSupply: 9 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const piece = await created(repository.insertAttached({ kind: 'cast', record: newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null), cookId: cook.id, at: at(1), caps }));
      const generations: Generation[] = [];
      for (let index = 0; index < 5; index += 1) {
        const castId = index < 2 ? piece.id : null;
        generations.push(await created(repository.insertAttached({ kind: 'generation', record: sampleGeneration(ids('generation'), { requestTimestamp: at(2 + index) }), castId, cookId: castId === null ? cook.id : null, at: at(2 + index), caps })));
      }
      const sorted = (list: readonly string[]) => [...list].sort();
      const all = await repository.openChildren({ kind: 'cook', id: cook.id }, 10);
      expect(sorted(all.generationIds)).toEqual(sorted(generations.map((generation) => generation.id)));
      expect(all.castIds).toEqual([piece.id]);
      expect((await repository.openChildren({ kind: 'cook', id: cook.id }, 2)).generationIds).toHaveLength(2);
      expect(sorted((await repository.openChildren({ kind: 'cast', id: piece.id }, 10)).generationIds)).toEqual(sorted([generations[0]!.id, generations[1]!.id]));
      expect((await repository.openChildren({ kind: 'cast', id: piece.id }, 10)).castIds).toEqual([]);
      await repository.settleGeneration(generations[0]!.id, outcome('success', 20), at(20));
      await repository.settleGeneration(generations[4]!.id, outcome('failed', 21), at(21));
      await repository.casts.transition(piece.id, 'cancel', at(22));
      const after = await repository.openChildren({ kind: 'cook', id: cook.id }, 10);
      expect(sorted(after.generationIds)).toEqual(sorted([generations[1]!.id, generations[2]!.id, generations[3]!.id]));
      expect(after.castIds).toEqual([]);
      expect((await repository.openChildren({ kind: 'cast', id: piece.id }, 10)).generationIds).toEqual([generations[1]!.id]);
    });
    it('list() pages by (requestTimestamp, id) in both orders, with every filter', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const cast = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      await repository.casts.insert(cast);
      const records: Generation[] = [];
      for (let index = 0; index < 9; index += 1) {
        const generation = sampleGeneration(ids('generation'), {
          requestTimestamp: at(Math.floor(index / 3)),
          masterAccountId: index % 2 === 0 ? 'account-even' : 'account-odd',
          castId: index < 6 ? cast.id : null,
          status: index % 3 === 0 ? 'success' : 'pending',
          toolId: index % 4 === 1 ? 'tool-other' : 'tool-1',
        });
        records.push(generation);
        await repository.generations.insert(generation);
      }
      const key = (generation: Generation) => [generation.requestTimestamp.getTime(), generation.id] as const;
      const ascending = [...records].sort((left, right) => key(left)[0] - key(right)[0] || (key(left)[1] < key(right)[1] ? -1 : 1));
      const pageThrough = async (order: 'asc' | 'desc', filter: Partial<Parameters<LedgerRepository['generations']['list']>[0]>) => {
        const seen: string[] = [];
        let after: { requestTimestamp: Date; id: string } | undefined;
        for (;;) {
          const page = await repository.generations.list({ order, limit: 2, after, ...filter });
          seen.push(...page.map((generation) => generation.id));
          if (page.length < 2) return seen;
          const last = page[page.length - 1]!;
          after = { requestTimestamp: last.requestTimestamp, id: last.id };
        }
      };
      const only = (predicate: (generation: Generation) => boolean) => ascending.filter(predicate).map((generation) => generation.id);
      expect(await pageThrough('asc', {})).toEqual(only(() => true));
      expect(await pageThrough('desc', {})).toEqual(only(() => true).reverse());
      expect(await pageThrough('asc', { castId: cast.id })).toEqual(only((generation) => generation.castId === cast.id));
      expect(await pageThrough('desc', { masterAccountId: 'account-odd' })).toEqual(only((generation) => generation.masterAccountId === 'account-odd').reverse());
      expect(await pageThrough('asc', { statuses: ['success'], castId: cast.id })).toEqual(only((generation) => generation.status === 'success' && generation.castId === cast.id));
      expect(await pageThrough('asc', { cookId: 'no-such-cook' })).toEqual([]);
      // The tool filter (what reprice() lists by): only that tool's generations, alone and beside
      // the other filters, in both orders.
      expect(await pageThrough('asc', { toolId: 'tool-other' })).toEqual(only((generation) => generation.toolId === 'tool-other'));
      expect(await pageThrough('desc', { toolId: 'tool-1' })).toEqual(only((generation) => generation.toolId === 'tool-1').reverse());
      expect(await pageThrough('asc', { toolId: 'tool-1', statuses: ['success'], castId: cast.id, masterAccountId: 'account-even' })).toEqual(
        only((generation) => generation.toolId === 'tool-1' && generation.status === 'success' && generation.castId === cast.id && generation.masterAccountId === 'account-even'),
      );
      expect(await pageThrough('asc', { toolId: 'no-such-tool' })).toEqual([]);
    });

    it('findStale() returns open generations with no write since the cut-off, oldest first', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const old = sampleGeneration(ids('generation'), { updatedAt: at(1) });
      const older = sampleGeneration(ids('generation'), { updatedAt: at(0), status: 'processing', startedAt: at(0) });
      const fresh_ = sampleGeneration(ids('generation'), { updatedAt: at(100) });
      const finished = sampleGeneration(ids('generation'), { updatedAt: at(0), status: 'success', responseTimestamp: at(0), durationMs: 0 });
      for (const generation of [old, older, fresh_, finished]) await repository.generations.insert(generation);
      expect((await repository.generations.findStale({ updatedBefore: at(50), limit: 10 })).map((generation) => generation.id)).toEqual([older.id, old.id]);
      expect((await repository.generations.findStale({ updatedBefore: at(50), limit: 1 })).map((generation) => generation.id)).toEqual([older.id]);
    });

    it('replaceAggregates() writes only when the version is unchanged (cooks: as replaceCookAggregates())', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const cook = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 3 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const recomputed: Cook = { ...cook, generatedCount: 2, costUsd: '1.5', outcomes: { ...cook.outcomes, success: 2 } };
      expect(await repository.cooks.replaceAggregates(cook.id, cook.version + 1, recomputed, at(1))).toBeNull();
      const replaced = await repository.cooks.replaceAggregates(cook.id, cook.version, recomputed, at(1));
      expect(replaced).toEqual(replaceCookAggregates(cook, cook.version, recomputed, at(1)));
      expect(replaced?.record).toEqual({ ...recomputed, version: cook.version + 1, updatedAt: at(1) });
      expect(await repository.cooks.get([cook.id])).toEqual([replaced!.record]);
    });

    it('casts.replaceAggregates() that ends a cast piece applies the piece to its cook in the same operation (as replaceCastAggregates())', async () => {
      const repository = await fresh(target);
      const inspect = target.inspect();
      const ids = idsFor(target);
      const caps: ParentCaps = { maxInFlight: 10, maxEmbeddedIds: 2 };
      const cook = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const piece = await created(repository.insertAttached({ kind: 'cast', record: newCast({ spellId: 's', initiatorAccountId: 'a', totalSteps: 1 }, ids('cast'), T0, null), cookId: cook.id, at: at(1), caps }));
      const stored = (await inspect.cast(piece.id))!;
      const recomputed: Cast = { ...stored, status: 'completed', completedAt: at(5), durationMs: 5000, outcomes: { ...stored.outcomes, success: 1 } };
      const expected = replaceCastAggregates(stored, stored.version, recomputed, await inspect.cook(cook.id), at(6));
      expect(await repository.casts.replaceAggregates(piece.id, stored.version + 1, recomputed, at(6))).toBeNull();
      expect(await repository.casts.replaceAggregates(piece.id, stored.version, recomputed, at(6))).toEqual(expected);
      expect(expected?.castPiece?.record).toMatchObject({ status: 'completed', generatedCount: 1, inFlightCount: 0 });
      expect(await inspect.cast(piece.id)).toEqual(expected!.cast.record);
      expect(await inspect.cook(cook.id)).toEqual(expected!.castPiece!.record);
      // Replacing a cast that has already ended applies nothing more.
      const again = (await inspect.cast(piece.id))!;
      const second = await repository.casts.replaceAggregates(piece.id, again.version, { ...again, costUsd: '0.1' }, at(7));
      expect(second?.castPiece ?? null).toBeNull();
      expect(await inspect.cook(cook.id)).toEqual(expected!.castPiece!.record);
    });

    it('findForMaintenance() returns idle running parents and cancelled ones with children still open, paged by id', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const idle = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      const busy = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      const cancelled = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      const recent = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), at(100), null);
      const done = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      for (const cast of [idle, busy, cancelled, recent, done]) await repository.casts.insert(cast);
      for (const castId of [busy.id, cancelled.id]) {
        await repository.insertAttached({ kind: 'generation', record: sampleGeneration(ids('generation')), castId, cookId: null, at: at(1), caps: CAPS });
      }
      await repository.casts.transition(cancelled.id, 'cancel', at(2));
      await repository.casts.transition(done.id, 'finish', at(1));
      const found = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 10 });
      expect(found.map((cast) => cast.id).sort()).toEqual([idle.id, cancelled.id].sort());
      const first = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 1 });
      const second = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 1, afterId: first[0]!.id });
      expect([...first, ...second].map((cast) => cast.id).sort()).toEqual([idle.id, cancelled.id].sort());
    });
  });
}

function stale(cutoff: Date) {
  return { status: 'timeout' as const, pointsSpent: 0, protocolNetPoints: 0, costUsd: '0', responseTimestamp: at(5), at: at(5), onlyIfUpdatedBefore: cutoff };
}

const done = {
  status: 'success' as const,
  pointsSpent: 42,
  protocolNetPoints: -3,
  costUsd: '0.000000000000000001',
  responseTimestamp: at(8),
  responsePayload: { images: [{ url: 'https://cdn.example/a.png', width: 1024 }] },
  artifactUrls: ['https://cdn.example/a.png'],
  errorDetails: null,
  platformSpecificRunId: 'run-77',
  at: at(8),
};

async function expectWrite<T extends { status: string }>(
  actual: Promise<{ changed: boolean; record: T; previousStatus: string } | null>,
  expected: { changed: boolean; record: T; previousStatus: string },
): Promise<T> {
  expect(await actual).toEqual(expected);
  return expected.record;
}

/** The generation's write of a settlement (a generation with no parents: the rest is null). */
async function settled(repository: LedgerRepository, id: string, outcome: GenerationOutcome) {
  return (await repository.settleGeneration(id, outcome, outcome.at))?.generation ?? null;
}
