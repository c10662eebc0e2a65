/**
 * The port itself: every write does exactly what its domain reducer does (checked by running the
 * reducer on the record read just before the write), creations are idempotent by key, reads and
 * pages are ordered as documented, and money survives the store exactly.
 */
import { describe, expect, it } from 'vitest';
import { newCast, newCook, newGeneration } from '../../src/domain/builders.js';
import { finishGeneration, recordGenerationDelivery, recordGenerationProgress, startGeneration } from '../../src/domain/generation-reducer.js';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { applyToCast, attachToCast, detachFromCast, transitionCast } from '../../src/domain/rollup/cast-reducer.js';
import { applyToCook, attachToCook, detachFromCook, transitionCook } from '../../src/domain/rollup/cook-reducer.js';
import type { ChildAttachment, ParentCaps } from '../../src/domain/rollup/contribution.js';
import type { AttachResult } from '../../src/domain/rollup/write-result.js';
import { GenledgerError } from '../../src/errors.js';
import type { AttachedInsertion, LedgerRepository, NewAttachedChild } from '../../src/port.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';
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
        await repository.generations.finish(missing, { status: 'success', pointsSpent: 1, protocolNetPoints: 0, costUsd: '1', responseTimestamp: T0, at: T0 }),
      ).toBeNull();
      expect(await repository.generations.recordDelivery(missing, { outcome: 'sent', error: null, at: T0 })).toBeNull();
      const attachment = { childId: missing, kind: 'generation' as const, piece: false, at: T0, caps: CAPS };
      expect(await repository.casts.attach(missing, attachment)).toBeNull();
      expect(await repository.cooks.attach(missing, attachment)).toBeNull();
      expect(await repository.casts.transition(missing, 'finish', T0)).toBeNull();
      expect(await repository.cooks.detach(missing, missing, T0)).toBeNull();
      expect(await repository.generations.get([missing])).toEqual([]);
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
        ['finish too early for the sweeper guard', (record) => finishGeneration(record, stale(at(0))), () => repository.generations.finish(generation.id, stale(at(0)))],
        ['delivery before the end', (record) => recordGenerationDelivery(record, { outcome: 'sent', error: null, at: at(4) }), () => repository.generations.recordDelivery(generation.id, { outcome: 'sent', error: null, at: at(4) })],
        ['finish', (record) => finishGeneration(record, done), () => repository.generations.finish(generation.id, done)],
        ['finish again', (record) => finishGeneration(record, { ...done, status: 'failed' }), () => repository.generations.finish(generation.id, { ...done, status: 'failed' })],
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

    it('cast writes do exactly what the cast reducer does, caps included', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const cast = newCast({ spellId: 'spell-1', initiatorAccountId: 'account-port', totalSteps: 2 }, ids('cast'), T0, null);
      await repository.casts.insert(cast);
      const [a, b, c, d] = [ids('generation'), ids('generation'), ids('generation'), ids('generation')];
      let current: Cast = cast;
      const attachment = (childId: string, seconds: number) => ({ childId, kind: 'generation' as const, piece: false, at: at(seconds), caps: CAPS });
      const contribution = (childId: string, status: 'success' | 'failed', costUsd: string) => ({
        kind: 'generation' as const, childId, status, pointsSpent: 7, protocolNetPoints: -2, costUsd, finishedAt: at(20), piece: false,
      });
      for (const [label, step] of [
        ['attach a', async () => expectAttach(repository.casts.attach(cast.id, attachment(a, 1)), attachToCast(current, attachment(a, 1)))],
        ['attach a again', async () => expectAttach(repository.casts.attach(cast.id, attachment(a, 2)), attachToCast(current, attachment(a, 2)))],
        ['attach b', async () => expectAttach(repository.casts.attach(cast.id, attachment(b, 3)), attachToCast(current, attachment(b, 3)))],
        ['attach c (beyond the id cap)', async () => expectAttach(repository.casts.attach(cast.id, attachment(c, 4)), attachToCast(current, attachment(c, 4)))],
        ['attach d (beyond the in-flight cap)', async () => expectAttach(repository.casts.attach(cast.id, attachment(d, 5)), attachToCast(current, attachment(d, 5)))],
        ['detach c', async () => expectWrite(repository.casts.detach(cast.id, c, at(6)), detachFromCast(current, c, at(6)))],
        ['detach c again', async () => expectWrite(repository.casts.detach(cast.id, c, at(7)), detachFromCast(current, c, at(7)))],
        ['apply a', async () => expectWrite(repository.casts.apply(cast.id, contribution(a, 'success', '0.1'), at(8)), applyToCast(current, contribution(a, 'success', '0.1'), at(8)))],
        ['apply a again', async () => expectWrite(repository.casts.apply(cast.id, contribution(a, 'success', '0.1'), at(9)), applyToCast(current, contribution(a, 'success', '0.1'), at(9)))],
        ['apply b: the cast completes', async () => expectWrite(repository.casts.apply(cast.id, contribution(b, 'success', '0.2'), at(10)), applyToCast(current, contribution(b, 'success', '0.2'), at(10)))],
        ['attach to a completed cast', async () => expectAttach(repository.casts.attach(cast.id, attachment(d, 11)), attachToCast(current, attachment(d, 11)))],
        ['cancel a completed cast', async () => expectWrite(repository.casts.transition(cast.id, 'cancel', at(12)), transitionCast(current, 'cancel', at(12)))],
      ] as const) {
        current = await step().catch((error: unknown) => {
          throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
      expect(current.status).toBe('completed');
      expect(current.costUsd).toBe('0.3');
      expect(current.pointsSpent).toBe(14);
      expect(current.protocolNetPoints).toBe(-4);
      expect(current.stepGenerationIds).toEqual([a, b]);
      expect(await repository.casts.get([cast.id])).toEqual([current]);
    });

    it('cook writes do exactly what the cook reducer does, pieces and cast steps alike', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const cook = newCook({ collectionId: 'collection-1', initiatorAccountId: 'account-port', targetSupply: 2 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const [piece, castPiece, step] = [ids('generation'), ids('cast'), ids('generation')];
      let current: Cook = cook;
      const attach = (childId: string, kind: 'generation' | 'cast', isPiece: boolean, seconds: number) => ({ childId, kind, piece: isPiece, at: at(seconds), caps: CAPS });
      const generationContribution = (childId: string, isPiece: boolean, costUsd: string) => ({
        kind: 'generation' as const, childId, status: 'success' as const, pointsSpent: 5, protocolNetPoints: 1, costUsd, finishedAt: at(30), piece: isPiece,
      });
      const castContribution = { kind: 'cast' as const, childId: castPiece, status: 'completed' as const, finishedAt: at(31) };
      const steps = [
        () => expectAttach(repository.cooks.attach(cook.id, attach(piece, 'generation', true, 1)), attachToCook(current, attach(piece, 'generation', true, 1))),
        () => expectAttach(repository.cooks.attach(cook.id, attach(castPiece, 'cast', true, 2)), attachToCook(current, attach(castPiece, 'cast', true, 2))),
        () => expectAttach(repository.cooks.attach(cook.id, attach(step, 'generation', false, 3)), attachToCook(current, attach(step, 'generation', false, 3))),
        () => expectWrite(repository.cooks.transition(cook.id, 'pause', at(4)), transitionCook(current, 'pause', at(4))),
        () => expectAttach(repository.cooks.attach(cook.id, attach(ids('generation'), 'generation', true, 5)), attachToCook(current, attach('unused', 'generation', true, 5))),
        () => expectWrite(repository.cooks.apply(cook.id, generationContribution(step, false, '0.25'), at(6)), applyToCook(current, generationContribution(step, false, '0.25'), at(6))),
        () => expectWrite(repository.cooks.apply(cook.id, generationContribution(step, false, '0.25'), at(7)), applyToCook(current, generationContribution(step, false, '0.25'), at(7))),
        () => expectWrite(repository.cooks.transition(cook.id, 'resume', at(8)), transitionCook(current, 'resume', at(8))),
        () => expectWrite(repository.cooks.apply(cook.id, generationContribution(piece, true, '0.5'), at(9)), applyToCook(current, generationContribution(piece, true, '0.5'), at(9))),
        () => expectWrite(repository.cooks.apply(cook.id, castContribution, at(10)), applyToCook(current, castContribution, at(10))),
        () => expectWrite(repository.cooks.apply(cook.id, castContribution, at(11)), applyToCook(current, castContribution, at(11))),
        () => expectWrite(repository.cooks.detach(cook.id, piece, at(12)), detachFromCook(current, piece, at(12))),
        () => expectWrite(repository.cooks.transition(cook.id, 'finish', at(13)), transitionCook(current, 'finish', at(13))),
      ];
      for (const [index, step_] of steps.entries()) {
        current = await step_().catch((error: unknown) => {
          throw new Error(`step ${index}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
      expect(current).toMatchObject({ status: 'completed', generatedCount: 2, inFlightCount: 0, costUsd: '0.75', pointsSpent: 10 });
      expect(current.completedAt).toEqual(at(31));
      expect(await repository.cooks.get([cook.id])).toEqual([current]);
    });

    it('insertAttached() (when offered) leaves exactly what the attaches and the insert would, and writes nothing when it refuses', async (context) => {
      const repository = await fresh(target);
      const insertAttached = repository.insertAttached;
      if (!insertAttached) return context.skip();
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

      /** What the tracker's sequence computes with the reducers, from the parents as stored now. */
      async function bySequence(child: NewAttachedChild): Promise<{ result: AttachedInsertion<Generation> | AttachedInsertion<Cast>; writes: (Cast | Cook)[] }> {
        const attachment = (piece: boolean): ChildAttachment => ({ childId: child.record.id, kind: child.kind, piece, at: child.at, caps: child.caps });
        const refused = (parent: 'cast' | 'cook', parentId: string, attach: AttachResult<Cast> | AttachResult<Cook> | null) => ({ result: { outcome: 'refused' as const, parent, parentId, attach }, writes: [] });
        const ok = (outcome: string) => outcome === 'attached' || outcome === 'already-attached';
        let cast: Cast | null = null;
        let castAttach: AttachResult<Cast> | null = null;
        if (child.kind === 'generation' && child.castId !== null) {
          cast = (await inspect.cast(child.castId)) ?? null;
          if (cast === null) return refused('cast', child.castId, null);
          if (child.cookId !== null && cast.cookId !== child.cookId) return { result: { outcome: 'mismatch', cast }, writes: [] };
          castAttach = attachToCast(cast, attachment(false));
          if (!ok(castAttach.outcome)) return refused('cast', cast.id, castAttach);
        }
        const cookId = cast !== null ? cast.cookId : child.cookId;
        let cookAttach: AttachResult<Cook> | null = null;
        if (cookId !== null) {
          const cook_ = await inspect.cook(cookId);
          if (cook_ === null) return refused('cook', cookId, null);
          cookAttach = attachToCook(cook_, attachment(child.kind === 'cast' || cast === null));
          if (!ok(cookAttach.outcome)) return refused('cook', cookId, cookAttach);
        }
        const record =
          child.kind === 'generation'
            ? { ...child.record, castId: cast?.id ?? null, spellId: cast?.spellId ?? null, cookId: cookAttach?.record.id ?? cast?.cookId ?? null, collectionId: cookAttach?.record.collectionId ?? cast?.collectionId ?? null }
            : { ...child.record, cookId: cookAttach!.record.id, collectionId: cookAttach!.record.collectionId };
        const writes = [castAttach, cookAttach].filter((write) => write?.outcome === 'attached').map((write) => write!.record);
        return { result: { outcome: 'created', record, cast: castAttach?.record ?? null, cook: cookAttach?.record ?? null } as AttachedInsertion<Generation>, writes };
      }

      /** `existing`: the record that holds the child's key (checked first: whatever the parents would say, it is the answer, and nothing is written). */
      async function expectLikeSequence(label: string, child: NewAttachedChild, existing?: Generation | Cast): Promise<AttachedInsertion<Generation> | AttachedInsertion<Cast>> {
        const parents = [lone.id, ...(child.kind === 'generation' && child.castId ? [child.castId] : [])];
        const before = { casts: await Promise.all(parents.map((id) => inspect.cast(id))), cooks: await Promise.all([cook.id, otherCook.id].map((id) => inspect.cook(id))), count: await inspect.count() };
        const sequence = await bySequence(child);
        const expected = existing ? { result: { outcome: 'existing', record: existing }, writes: [] } : sequence;
        const actual = await insertAttached!(child);
        expect(actual, label).toEqual(expected.result);
        if (actual.outcome === 'created') {
          expect(await inspect[child.kind](child.record.id), `${label}: the stored child`).toEqual(actual.record);
          for (const write of expected.writes) expect(await inspect['openSteps' in write ? 'cast' : 'cook'](write.id), `${label}: ${write.id}`).toEqual(write);
        } else {
          // Nothing written: every parent and every count as before.
          expect(await Promise.all(parents.map((id) => inspect.cast(id))), `${label}: casts untouched`).toEqual(before.casts);
          expect(await Promise.all([cook.id, otherCook.id].map((id) => inspect.cook(id))), `${label}: cooks untouched`).toEqual(before.cooks);
          expect(await inspect.count(), `${label}: nothing stored`).toEqual(before.count);
        }
        return actual;
      }

      const piece = castRecord(ids('cast'), 'cast-key');
      const created = await expectLikeSequence('a cast piece', { kind: 'cast', record: piece, cookId: cook.id, at: at(1), caps });
      expect(created).toMatchObject({ outcome: 'created', record: { cookId: cook.id, collectionId: 'collection-ia' }, cast: null, cook: { inFlightCount: 1, castIds: [piece.id] } });
      const stepId = ids('generation');
      const step = await expectLikeSequence('a step of the cast piece (attached to its cook, not as a piece)', { kind: 'generation', record: generation(stepId, 'step-key'), castId: piece.id, cookId: null, at: at(2), caps });
      expect(step).toMatchObject({ outcome: 'created', record: { castId: piece.id, cookId: cook.id, spellId: 'spell-piece', collectionId: 'collection-ia' } });
      await expectLikeSequence('a step naming its cast and its cook (beyond the embedded-id cap)', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: cook.id, at: at(3), caps });
      await expectLikeSequence('a third step: the cast is full', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: null, at: at(4), caps });
      await expectLikeSequence('a step of a lone cast', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: null, at: at(5), caps });
      await expectLikeSequence('a generation piece', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: cook.id, at: at(6), caps });
      await expectLikeSequence('a generation piece: the cook is full', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: cook.id, at: at(7), caps });
      await expectLikeSequence('a generation piece of the other cook', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: otherCook.id, at: at(8), caps });
      await expectLikeSequence('a cast of another cook', { kind: 'generation', record: generation(ids('generation')), castId: piece.id, cookId: otherCook.id, at: at(9), caps });
      await expectLikeSequence('a lone cast named with a cook', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: cook.id, at: at(10), caps });
      await expectLikeSequence('a missing cast', { kind: 'generation', record: generation(ids('generation')), castId: ids('cast'), cookId: null, at: at(11), caps });
      await expectLikeSequence('a missing cook', { kind: 'generation', record: generation(ids('generation')), castId: null, cookId: ids('cook'), at: at(12), caps });
      await expectLikeSequence('a cast piece of a missing cook', { kind: 'cast', record: castRecord(ids('cast')), cookId: ids('cook'), at: at(13), caps });
      const first = await inspect.generation(stepId);
      const firstCast = await inspect.cast(piece.id);
      await expectLikeSequence('a repeated key: the first record, nothing attached', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: lone.id, cookId: null, at: at(14), caps }, first!);
      await expectLikeSequence('a repeated cast key under another cook', { kind: 'cast', record: castRecord(ids('cast'), 'cast-key'), cookId: otherCook.id, at: at(15), caps }, firstCast!);
      await repository.cooks.transition(otherCook.id, 'pause', at(16));
      await expectLikeSequence('a cast piece of a paused cook', { kind: 'cast', record: castRecord(ids('cast')), cookId: otherCook.id, at: at(17), caps });
      await expectLikeSequence('a repeated key wins over a refusal (the key is checked first)', { kind: 'cast', record: castRecord(ids('cast'), 'cast-key'), cookId: otherCook.id, at: at(18), caps }, firstCast!);
      await repository.casts.transition(lone.id, 'finish', at(19));
      await expectLikeSequence('a step of a completed cast', { kind: 'generation', record: generation(ids('generation')), castId: lone.id, cookId: null, at: at(20), caps });
      await expectLikeSequence('a repeated step key under a completed cast: the first record', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: lone.id, cookId: null, at: at(20), caps }, first!);
      await expectLikeSequence('a repeated key under a missing cook: the first record', { kind: 'generation', record: generation(ids('generation'), 'step-key'), castId: null, cookId: ids('cook'), at: at(20), caps }, first!);
      // An id already stored: a ConflictError, and nothing written.
      await repository.cooks.transition(otherCook.id, 'resume', at(21));
      const counted = await inspect.count();
      const cookBefore = await inspect.cook(otherCook.id);
      const error = await insertAttached({ kind: 'generation', record: generation(stepId), castId: null, cookId: otherCook.id, at: at(22), caps }).catch((caught: unknown) => caught);
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
        expect(await repository.casts.transition(cast.id, transition, at(5)), `cast ${transition}`).toEqual(transitionCast(cast, transition, at(5)));
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

    it('replaceAggregates() writes only when the version is unchanged', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const cook = newCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 3 }, ids('cook'), T0);
      await repository.cooks.insert(cook);
      const recomputed: Cook = { ...cook, generatedCount: 2, costUsd: '1.5', outcomes: { ...cook.outcomes, success: 2 } };
      expect(await repository.cooks.replaceAggregates(cook.id, cook.version + 1, recomputed, at(1))).toBeNull();
      const replaced = await repository.cooks.replaceAggregates(cook.id, cook.version, recomputed, at(1));
      expect(replaced).toEqual({ ...recomputed, version: cook.version + 1, updatedAt: at(1) });
      expect(await repository.cooks.get([cook.id])).toEqual([replaced]);
    });

    it('findForMaintenance() returns parents with open entries and idle running ones, paged by id', async () => {
      const repository = await fresh(target);
      const ids = idsFor(target);
      const idle = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      const busy = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), at(100), null);
      const recent = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), at(100), null);
      const done = newCast({ spellId: 's', initiatorAccountId: 'a' }, ids('cast'), T0, null);
      for (const cast of [idle, busy, recent, done]) await repository.casts.insert(cast);
      await repository.casts.attach(busy.id, { childId: ids('generation'), kind: 'generation', piece: false, at: at(100), caps: CAPS });
      await repository.casts.transition(done.id, 'finish', at(1));
      const found = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 10 });
      expect(found.map((cast) => cast.id).sort()).toEqual([idle.id, busy.id].sort());
      const first = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 1 });
      const second = await repository.casts.findForMaintenance({ idleBefore: at(50), limit: 1, afterId: first[0]!.id });
      expect([...first, ...second].map((cast) => cast.id).sort()).toEqual([idle.id, busy.id].sort());
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

async function expectAttach<T>(actual: Promise<{ outcome: string; record: T } | null>, expected: { outcome: string; record: T }): Promise<T> {
  const result = await actual;
  expect(result?.outcome).toBe(expected.outcome);
  if (expected.outcome === 'attached') expect(result?.record).toEqual(expected.record);
  return expected.outcome === 'attached' ? expected.record : (result!.record as T);
}
