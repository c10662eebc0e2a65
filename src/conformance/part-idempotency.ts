/**
 * Idempotent creation and repeated calls: a retry after a lost reply, a duplicate job or a race
 * returns what the first call made and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, IdempotencyConflictError } from '../errors.js';
import type { EntityKind } from '../domain/records.js';
import { sequentialIds } from '../testing/sequential-ids.js';
import { createTracker } from '../tracker/create-tracker.js';
import { createHarness, generationInput } from './harness.js';
import type { ConformanceTarget } from './types.js';

export function idempotencyTests(target: ConformanceTarget): void {
  describe(`${target.name}: idempotency`, () => {
    it('recordGeneration() twice with one idempotencyKey returns the first generation and writes nothing', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3 });
      const first = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id, idempotencyKey: 'job-42' }));
      const cookAfterFirst = (await harness.tracker.getCook(cook.id))!;
      const second = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id, idempotencyKey: 'job-42' }));
      expect(second).toEqual(first);
      const cookAfterSecond = (await harness.tracker.getCook(cook.id))!;
      expect(cookAfterSecond).toEqual(cookAfterFirst);
      expect(cookAfterSecond).toMatchObject({ inFlightCount: 1, openGenerationCount: 1 });
      expect(cookAfterSecond.generationIds).toEqual([first.id]);
      expect(await harness.inspect.count()).toEqual({ generations: 1, casts: 0, cooks: 1 });
      expect(harness.eventsNamed('generationUpdate').filter((event) => event.change === 'recorded')).toHaveLength(1);
    });

    it('startCast() and startCook() are idempotent by key', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3, idempotencyKey: 'cook-key' });
      expect(
        await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3, idempotencyKey: 'cook-key', metadata: { retry: 1 } }),
      ).toEqual(cook);
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, idempotencyKey: 'cast-key' });
      const again = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, idempotencyKey: 'cast-key' });
      expect(again).toEqual(cast);
      const stored = (await harness.tracker.getCook(cook.id))!;
      expect(stored).toMatchObject({ inFlightCount: 1, openGenerationCount: 0 });
      expect(stored.castIds).toEqual([cast.id]);
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 1, cooks: 1 });
    });

    it('racing recordGeneration() calls with one key make one generation', async () => {
      const harness = await createHarness(target);
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1' });
      const results = await Promise.all(
        Array.from({ length: 8 }, () => harness.tracker.recordGeneration(generationInput({ castId: cast.id, idempotencyKey: 'race' }))),
      );
      expect(new Set(results.map((generation) => generation.id)).size).toBe(1);
      const stored = (await harness.tracker.getCast(cast.id))!;
      expect(stored.stepGenerationIds).toEqual([results[0]!.id]);
      expect(stored.inFlightCount).toBe(1);
      expect(await harness.inspect.count()).toEqual({ generations: 1, casts: 1, cooks: 0 });
    });

    it('racing creations with one key under a cook (cast pieces, generation pieces, steps of a cast piece) make one record and count it once in each parent', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 10 });
      const casts = await Promise.all(
        Array.from({ length: 8 }, () => tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, idempotencyKey: 'race-cast' })),
      );
      expect(new Set(casts.map((cast) => cast.id)).size).toBe(1);
      const cast = casts[0]!;
      const pieces = await Promise.all(
        Array.from({ length: 8 }, () => tracker.recordGeneration(generationInput({ cookId: cook.id, idempotencyKey: 'race-piece' }))),
      );
      expect(new Set(pieces.map((piece) => piece.id)).size).toBe(1);
      const steps = await Promise.all(
        Array.from({ length: 8 }, (_unused, index) =>
          tracker.recordGeneration(generationInput({ castId: cast.id, cookId: index % 2 === 0 ? cook.id : undefined, idempotencyKey: 'race-step' })),
        ),
      );
      expect(new Set(steps.map((step) => step.id)).size).toBe(1);
      const storedCook = (await harness.inspect.cook(cook.id))!;
      expect(storedCook.inFlightCount).toBe(2);
      expect(storedCook.openGenerationCount).toBe(2);
      expect(storedCook.generationIds.slice().sort()).toEqual([pieces[0]!.id, steps[0]!.id].sort());
      expect(storedCook.castIds).toEqual([cast.id]);
      const storedCast = (await harness.inspect.cast(cast.id))!;
      expect(storedCast.stepGenerationIds).toEqual([steps[0]!.id]);
      expect(storedCast.inFlightCount).toBe(1);
      expect(await harness.inspect.count()).toEqual({ generations: 2, casts: 1, cooks: 1 });
      expect(harness.eventsNamed('castUpdate').filter((event) => event.change === 'started')).toHaveLength(1);
      expect(harness.eventsNamed('generationUpdate').filter((event) => event.change === 'recorded')).toHaveLength(2);
      expect(harness.eventsNamed('cookUpdate').filter((event) => event.change === 'childRecorded')).toHaveLength(3);
    });

    it('an id already taken (an id generator that repeats) is a ConflictError, stores nothing and leaves the parents exact', async () => {
      const harness = await createHarness(target);
      // Fresh ids for cooks; the first cast id and the first generation id come back every time.
      const fresh = sequentialIds({ format: target.idFormat ?? 'readable' });
      const repeated = new Map<EntityKind, string>();
      const ids = (kind: EntityKind) => {
        if (kind === 'cook') return fresh(kind);
        if (!repeated.has(kind)) repeated.set(kind, fresh(kind));
        return repeated.get(kind)!;
      };
      const silent = { warn: () => undefined, error: () => undefined };
      const tracker = createTracker({ repository: harness.repository, clock: harness.clock, ids, logger: silent });
      const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3 });
      const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      const step = await tracker.recordGeneration(generationInput({ castId: cast.id }));
      const attempts = [
        () => tracker.startCast({ spellId: 'spell-2', initiatorAccountId: 'account-1', cookId: cook.id }),
        () => tracker.recordGeneration(generationInput({ castId: cast.id })),
        () => tracker.recordGeneration(generationInput({ cookId: cook.id })),
      ];
      for (const attempt of attempts) {
        const error = await attempt().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).field).toBe('id');
      }
      const open = async () => {
        const [storedCook, storedCast] = [(await tracker.getCook(cook.id))!, (await tracker.getCast(cast.id))!];
        return {
          pieces: storedCook.inFlightCount,
          generations: storedCook.openGenerationCount,
          steps: storedCast.inFlightCount,
          ids: { cook: storedCook.generationIds, castPieces: storedCook.castIds, cast: storedCast.stepGenerationIds },
        };
      };
      const ids_ = { cook: [step.id], castPieces: [cast.id], cast: [step.id] };
      expect(await open()).toEqual({ pieces: 1, generations: 1, steps: 1, ids: ids_ });
      expect((await tracker.listGenerations({ cookId: cook.id })).items.map((generation) => generation.id)).toEqual([step.id]);
      // The one real step finishes, counted once, and its cast closes its piece in the cook.
      await tracker.completeGeneration(step.id, { status: 'success', pointsSpent: 5, costUsd: '0.5' });
      await tracker.finishCast(cast.id);
      expect(await open()).toEqual({ pieces: 0, generations: 0, steps: 0, ids: ids_ });
      expect(await tracker.getCook(cook.id)).toMatchObject({ pointsSpent: 5, costUsd: '0.5', generatedCount: 1 });
    });

    it('a creation retried with its key after its parent was paused, finished or cancelled returns the first record and writes nothing', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      // Each first call landed, but its reply was lost; then the parent moved on; then the host retries.
      const scenarios: { name: string; moveOn: (cookId: string, castId: string) => Promise<unknown> }[] = [
        { name: 'paused', moveOn: (cookId) => tracker.pauseCook(cookId) },
        { name: 'finished', moveOn: async (cookId, castId) => (await tracker.finishCast(castId), tracker.finishCook(cookId)) },
        { name: 'cancelled', moveOn: (cookId) => tracker.cancelCook(cookId) },
      ];
      for (const { name, moveOn } of scenarios) {
        const cook = await tracker.startCook({ collectionId: `collection-${name}`, initiatorAccountId: 'account-1', targetSupply: 5 });
        const castRequest = { spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, idempotencyKey: `${name}-cast` };
        const cast = await tracker.startCast(castRequest);
        const pieceRequest = generationInput({ cookId: cook.id, idempotencyKey: `${name}-piece` });
        const piece = await tracker.recordGeneration(pieceRequest);
        const stepRequest = generationInput({ castId: cast.id, idempotencyKey: `${name}-step` });
        const step = await tracker.recordGeneration(stepRequest);
        await moveOn(cook.id, cast.id);
        const before = { count: await harness.inspect.count(), cook: await harness.inspect.cook(cook.id), cast: await harness.inspect.cast(cast.id) };
        const eventsBefore = harness.events.length;

        expect((await tracker.startCast(castRequest)).id, `cast, cook ${name}`).toBe(cast.id);
        expect((await tracker.recordGeneration(pieceRequest)).id, `piece, cook ${name}`).toBe(piece.id);
        expect((await tracker.recordGeneration(stepRequest)).id, `step, cook ${name}`).toBe(step.id);
        expect((await tracker.recordGeneration({ ...stepRequest, cookId: cook.id })).id, `step named with its cook, cook ${name}`).toBe(step.id);

        expect({ count: await harness.inspect.count(), cook: await harness.inspect.cook(cook.id), cast: await harness.inspect.cast(cast.id) }).toEqual(before);
        expect(harness.events.length, 'a repeat emits nothing').toBe(eventsBefore);
        // A new key under the moved-on parent is still refused: only the repeat is answered.
        await expect(tracker.recordGeneration(generationInput({ cookId: cook.id, idempotencyKey: `${name}-new` }))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      }
      // The retried ids can be completed, so their money reaches the books.
      const cook = (await harness.inspect.cook((await tracker.listGenerations({})).items.find((g) => g.idempotencyKey === 'paused-piece')!.cookId!))!;
      const retried = await tracker.recordGeneration(generationInput({ cookId: cook.id, idempotencyKey: 'paused-piece' }));
      await tracker.completeGeneration(retried.id, { status: 'success', pointsSpent: 7, costUsd: '0.07' });
      expect(await harness.inspect.cook(cook.id)).toMatchObject({ pointsSpent: 7, costUsd: '0.07', generatedCount: 1, status: 'paused' });
    });

    it('one idempotencyKey with a different request is an IdempotencyConflictError naming the record, never the other request\'s record', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      const cook1 = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 64 });
      const cook2 = await tracker.startCook({ collectionId: 'collection-2', initiatorAccountId: 'account-1', targetSupply: 64 });
      // 32 callers ask for cook 1 and 32 for cook 2, with one key: one request wins, the others get its record or a conflict.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 64 }, (_unused, index) =>
          tracker.recordGeneration(generationInput({ cookId: index % 2 === 0 ? cook1.id : cook2.id, idempotencyKey: 'shared-key' })),
        ),
      );
      const created = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      expect(new Set(created.map((generation) => generation.id)).size).toBe(1);
      const winner = created[0]!;
      outcomes.forEach((outcome, index) => {
        const asked = index % 2 === 0 ? cook1.id : cook2.id;
        if (outcome.status === 'fulfilled') expect(outcome.value.cookId, 'no caller gets another cook\'s record').toBe(asked);
        else {
          expect(asked).not.toBe(winner.cookId);
          expect(outcome.reason).toBeInstanceOf(IdempotencyConflictError);
          expect(outcome.reason).toMatchObject({ code: 'CONFLICT', field: 'input.idempotencyKey', recordId: winner.id, entity: 'generation' });
        }
      });
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(32);
      expect(await harness.inspect.count()).toEqual({ generations: 1, casts: 0, cooks: 2 });
      const loser = winner.cookId === cook1.id ? cook2.id : cook1.id;
      expect(await harness.inspect.cook(loser)).toMatchObject({ inFlightCount: 0, generationIds: [] });
      expect(await harness.inspect.cook(winner.cookId!)).toMatchObject({ inFlightCount: 1, generationIds: [winner.id] });

      // Another account, another tool, no parent, for every kind of creation.
      const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook1.id, idempotencyKey: 'cast-key' });
      const differing: [string, () => Promise<unknown>][] = [
        ['masterAccountId', () => tracker.recordGeneration(generationInput({ cookId: winner.cookId, idempotencyKey: 'shared-key', masterAccountId: 'account-2' }))],
        ['toolId', () => tracker.recordGeneration(generationInput({ cookId: winner.cookId, idempotencyKey: 'shared-key', toolId: 'tool-other' }))],
        ['cookId', () => tracker.recordGeneration(generationInput({ idempotencyKey: 'shared-key' }))],
        ['castId', () => tracker.recordGeneration(generationInput({ castId: cast.id, idempotencyKey: 'shared-key' }))],
        ['cookId', () => tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook2.id, idempotencyKey: 'cast-key' })],
        ['cookId', () => tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', idempotencyKey: 'cast-key' })],
        ['spellId', () => tracker.startCast({ spellId: 'spell-2', initiatorAccountId: 'account-1', cookId: cook1.id, idempotencyKey: 'cast-key' })],
        ['initiatorAccountId', () => tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-2', cookId: cook1.id, idempotencyKey: 'cast-key' })],
      ];
      const cookByKey = await tracker.startCook({ collectionId: 'collection-3', initiatorAccountId: 'account-1', targetSupply: 2, idempotencyKey: 'cook-key' });
      differing.push(
        ['collectionId', () => tracker.startCook({ collectionId: 'collection-4', initiatorAccountId: 'account-1', targetSupply: 2, idempotencyKey: 'cook-key' })],
        ['targetSupply', () => tracker.startCook({ collectionId: 'collection-3', initiatorAccountId: 'account-1', targetSupply: 3, idempotencyKey: 'cook-key' })],
      );
      const count = await harness.inspect.count();
      for (const [field, call] of differing) {
        const error = await call().catch((caught: unknown) => caught);
        expect(error, field).toBeInstanceOf(IdempotencyConflictError);
        expect((error as IdempotencyConflictError).difference.field).toBe(field);
        expect([winner.id, cast.id, cookByKey.id]).toContain((error as IdempotencyConflictError).recordId);
      }
      expect(await harness.inspect.count()).toEqual(count);
      // No refused cast attached to cook 2 (its one piece in flight, if any, is the generation that won the race).
      expect(await harness.inspect.cook(cook2.id)).toMatchObject({ inFlightCount: winner.cookId === cook2.id ? 1 : 0, castIds: [] });
    });

    it('racing completeGeneration() calls count the cost once', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 1 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, totalSteps: 1 });
      const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () => harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.125', pointsSpent: 5 })),
      );
      expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      expect(await harness.inspect.cast(cast.id)).toMatchObject({ status: 'completed', costUsd: '0.125', pointsSpent: 5, outcomes: { success: 1 } });
      expect(await harness.inspect.cook(cook.id)).toMatchObject({ status: 'completed', costUsd: '0.125', pointsSpent: 5, generatedCount: 1 });
      expect(harness.eventsNamed('generationFinished')).toHaveLength(1);
      expect(harness.eventsNamed('castFinished')).toHaveLength(1);
      expect(harness.eventsNamed('cookFinished')).toHaveLength(1);
    });
  });
}
