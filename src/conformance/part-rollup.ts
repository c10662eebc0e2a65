/**
 * Roll-up rules of DESIGN.md, table-driven: how casts and cooks move with their children, how
 * money reaches every ancestor once, and the production failures that must never come back.
 */
import { describe, expect, it } from 'vitest';
import { sequentialIds } from '../testing/sequential-ids.js';
import type { TerminalGenerationStatus } from '../domain/status.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

interface CastCase {
  readonly title: string;
  readonly totalSteps: number | null;
  readonly steps: readonly TerminalGenerationStatus[];
  readonly host?: 'finishCast' | 'cancelCast';
  readonly status: string;
  readonly outcomes: Partial<Record<TerminalGenerationStatus, number>>;
}

const CAST_CASES: readonly CastCase[] = [
  { title: 'completes when all totalSteps steps succeeded', totalSteps: 3, steps: ['success', 'success', 'success'], status: 'completed', outcomes: { success: 3 } },
  { title: 'keeps running while steps remain', totalSteps: 3, steps: ['success', 'success'], status: 'running', outcomes: { success: 2 } },
  { title: 'fails on the first failed step, and later steps still count', totalSteps: 3, steps: ['success', 'failed', 'success'], status: 'failed', outcomes: { success: 2, failed: 1 } },
  { title: 'fails on a timed-out step', totalSteps: 2, steps: ['timeout'], status: 'failed', outcomes: { timeout: 1 } },
  { title: 'is cancelled when a step is cancelled by the user', totalSteps: 2, steps: ['cancelled_by_user'], status: 'cancelled', outcomes: { cancelled_by_user: 1 } },
  { title: 'without totalSteps runs until the host finishes it', totalSteps: null, steps: ['success', 'success'], status: 'running', outcomes: { success: 2 } },
  { title: 'without totalSteps completes on finishCast()', totalSteps: null, steps: ['success'], host: 'finishCast', status: 'completed', outcomes: { success: 1 } },
  { title: 'is cancelled by cancelCast()', totalSteps: 4, steps: ['success'], host: 'cancelCast', status: 'cancelled', outcomes: { success: 1 } },
];

async function runCast(harness: Harness, totalSteps: number | null, steps: readonly TerminalGenerationStatus[], cookId?: string) {
  const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', totalSteps, cookId });
  // Every step is recorded before any finishes, as a spell that runs its steps in parallel does.
  const recorded = [];
  for (let index = 0; index < steps.length; index += 1) recorded.push(await harness.tracker.recordGeneration(generationInput({ castId: cast.id })));
  for (const [index, status] of steps.entries()) {
    await harness.tracker.startGeneration(recorded[index]!.id);
    await harness.tracker.completeGeneration(recorded[index]!.id, { status, pointsSpent: 10 + index, costUsd: '0.1' });
  }
  return cast;
}

export function rollupTests(target: ConformanceTarget): void {
  describe(`${target.name}: cast roll-up`, () => {
    for (const example of CAST_CASES) {
      it(`a cast ${example.title}`, async () => {
        const harness = await createHarness(target);
        const cast = await runCast(harness, example.totalSteps, example.steps);
        if (example.host) await harness.tracker[example.host](cast.id);
        const stored = (await harness.tracker.getCast(cast.id))!;
        expect(stored.status).toBe(example.status);
        expect(stored.outcomes).toEqual({ success: 0, failed: 0, cancelled_by_user: 0, timeout: 0, ...example.outcomes });
        expect(stored.pointsSpent).toBe(example.steps.reduce((sum, _status, index) => sum + 10 + index, 0));
        expect(stored.costUsd).toBe(example.steps.length === 0 ? '0' : String(Number((example.steps.length * 0.1).toFixed(1))));
        expect(stored.stepGenerationIds).toHaveLength(example.steps.length);
        expect(stored.inFlightCount).toBe(0);
        if (example.status === 'running') {
          expect(stored.completedAt).toBeNull();
        } else {
          expect(stored.durationMs).toBe(stored.completedAt!.getTime() - stored.startedAt.getTime());
          expect(harness.eventsNamed('castFinished')).toHaveLength(1);
        }
      });
    }

    it('cancelCast() cancels open steps, and steps that end later do not reopen it', async () => {
      const harness = await createHarness(target);
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', totalSteps: 3 });
      const running = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      await harness.tracker.startGeneration(running.id);
      const waiting = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      const cancelled = await harness.tracker.cancelCast(cast.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', inFlightCount: 0, outcomes: { cancelled_by_user: 2 } });
      for (const id of [running.id, waiting.id]) expect((await harness.tracker.getGeneration(id))!.status).toBe('cancelled_by_user');
      await expect(harness.tracker.completeGeneration(running.id, { status: 'success', costUsd: '1' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      await expect(harness.tracker.recordGeneration(generationInput({ castId: cast.id }))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'input.castId' });
      expect(await harness.tracker.getCast(cast.id)).toEqual(cancelled);
      expect(await harness.tracker.cancelCast(cast.id)).toEqual(cancelled);
      await expect(harness.tracker.finishCast(cast.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    });

    it('a step that finishes after its cast failed still adds its money', async () => {
      const harness = await createHarness(target);
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', totalSteps: 3 });
      const slow = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      const failing = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      await harness.tracker.completeGeneration(failing.id, { status: 'failed', costUsd: '0.05', pointsSpent: 1 });
      await harness.tracker.completeGeneration(slow.id, { status: 'success', costUsd: '0.25', pointsSpent: 4 });
      expect(await harness.tracker.getCast(cast.id)).toMatchObject({ status: 'failed', costUsd: '0.3', pointsSpent: 5, outcomes: { success: 1, failed: 1 } });
    });
  });

  describe(`${target.name}: cook roll-up`, () => {
    it('a cook completes once generatedCount reaches targetSupply and nothing is in flight', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 });
      const pieces = [];
      for (let index = 0; index < 3; index += 1) pieces.push(await harness.tracker.recordGeneration(generationInput({ cookId: cook.id })));
      await harness.tracker.completeGeneration(pieces[0]!.id, { status: 'success', costUsd: '0.1' });
      await harness.tracker.completeGeneration(pieces[1]!.id, { status: 'success', costUsd: '0.1' });
      expect(await harness.tracker.getCook(cook.id)).toMatchObject({ status: 'running', generatedCount: 2, inFlightCount: 1 });
      await harness.tracker.completeGeneration(pieces[2]!.id, { status: 'failed', costUsd: '0.1' });
      const done = (await harness.tracker.getCook(cook.id))!;
      expect(done).toMatchObject({ status: 'completed', generatedCount: 2, failedCount: 1, inFlightCount: 0, costUsd: '0.3' });
      expect(done.generationIds).toEqual(pieces.map((piece) => piece.id));
      expect(harness.eventsNamed('cookFinished')).toHaveLength(1);
    });

    it('a cast piece counts toward generatedCount when the cast completes, and its steps pay into both parents once', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 });
      const good = await runCast(harness, 2, ['success', 'success'], cook.id);
      expect(await harness.tracker.getCook(cook.id)).toMatchObject({ generatedCount: 1, inFlightCount: 0, status: 'running' });
      const bad = await runCast(harness, 2, ['success', 'failed'], cook.id);
      const afterBad = (await harness.tracker.getCook(cook.id))!;
      expect(afterBad).toMatchObject({ generatedCount: 1, failedCount: 1, status: 'running', pointsSpent: 42, costUsd: '0.4' });
      expect(afterBad.castIds).toEqual([good.id, bad.id]);
      await runCast(harness, 1, ['success'], cook.id);
      const done = (await harness.tracker.getCook(cook.id))!;
      expect(done).toMatchObject({ status: 'completed', generatedCount: 2, failedCount: 1, pointsSpent: 52, costUsd: '0.5', outcomes: { success: 4, failed: 1 } });
      const casts = await Promise.all([good.id, bad.id].map((id) => harness.tracker.getCast(id)));
      expect(casts.map((cast) => cast!.costUsd)).toEqual(['0.2', '0.2']);
      const steps = await harness.tracker.listGenerations({ cookId: cook.id, limit: 100 });
      expect(steps.items).toHaveLength(5);
      for (const step of steps.items) expect(step).toMatchObject({ cookId: cook.id, collectionId: 'collection-1', spellId: 'spell-1' });
    });

    for (const [title, successes, expected] of [
      ['finishCook() early with a success completes it', 1, 'completed'],
      ['finishCook() early with no success fails it', 0, 'failed'],
    ] as const) {
      it(title, async () => {
        const harness = await createHarness(target);
        const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
        for (let index = 0; index < 2; index += 1) {
          const piece = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id }));
          await harness.tracker.completeGeneration(piece.id, { status: index < successes ? 'success' : 'failed' });
        }
        const finished = await harness.tracker.finishCook(cook.id);
        expect(finished.status).toBe(expected);
        expect(finished.durationMs).toBe(finished.completedAt!.getTime() - finished.startedAt.getTime());
        expect(await harness.tracker.finishCook(cook.id)).toEqual(finished);
        await expect(harness.tracker.cancelCook(cook.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      });
    }

    it('cancelCook() cancels open pieces, the steps of cast pieces, and stays cancelled', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 10 });
      const piece = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id }));
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      const finishedCast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      const lateStep = await harness.tracker.recordGeneration(generationInput({ castId: finishedCast.id }));
      await harness.tracker.finishCast(finishedCast.id);
      const cancelled = await harness.tracker.cancelCook(cook.id);
      expect(cancelled).toMatchObject({ status: 'cancelled', inFlightCount: 0, generatedCount: 1, cancelledCount: 2, openGenerationCount: 0 });
      for (const id of [piece.id, step.id, lateStep.id]) expect((await harness.tracker.getGeneration(id))!.status).toBe('cancelled_by_user');
      expect((await harness.tracker.getCast(cast.id))!.status).toBe('cancelled');
      await expect(harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      await expect(harness.tracker.resumeCook(cook.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    });

    it('a paused cook takes no new pieces, lets cast pieces in flight go on, and completes when done', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 1 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, totalSteps: 2 });
      expect((await harness.tracker.pauseCook(cook.id)).status).toBe('paused');
      expect((await harness.tracker.pauseCook(cook.id)).status).toBe('paused');
      await expect(harness.tracker.recordGeneration(generationInput({ cookId: cook.id }))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'input.cookId' });
      await expect(harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      expect((await harness.tracker.resumeCook(cook.id)).status).toBe('running');
      await harness.tracker.pauseCook(cook.id);
      for (let index = 0; index < 2; index += 1) {
        const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
        await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.5' });
      }
      expect(await harness.tracker.getCook(cook.id)).toMatchObject({ status: 'completed', generatedCount: 1, costUsd: '1' });
    });

    it('recording a generation with a cast of another cook is refused and writes nothing', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 1 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1' });
      const before = await harness.inspect.count();
      await expect(harness.tracker.recordGeneration(generationInput({ castId: cast.id, cookId: cook.id }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.cookId' });
      expect(await harness.inspect.count()).toEqual(before);
      expect(await harness.tracker.getCast(cast.id)).toEqual(cast);
    });

    it('a step its cast accepts and its cook refuses (full) is refused and changes no count anywhere', async () => {
      const harness = await createHarness(target);
      const { createTracker } = await import('../tracker/create-tracker.js');
      const tracker = createTracker({ repository: harness.repository, clock: harness.clock, ids: sequentialIds({ format: target.idFormat ?? 'readable', prefix: 'full-' }), limits: { maxInFlightChildren: 2 } });
      const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
      const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      await tracker.recordGeneration(generationInput({ cookId: cook.id }));
      await tracker.recordGeneration(generationInput({ castId: cast.id }));
      const before = { count: await harness.inspect.count(), cast: (await harness.inspect.cast(cast.id))!, cook: (await harness.inspect.cook(cook.id))! };
      expect(before.cook.openGenerationCount).toBe(2);
      // The cast has room (1 of 2 in flight); the cook holds 2 generations in flight.
      await expect(tracker.recordGeneration(generationInput({ castId: cast.id }))).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.castId' });
      await expect(tracker.recordGeneration(generationInput({ castId: cast.id, cookId: cook.id }))).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.castId' });
      expect(await harness.inspect.count()).toEqual(before.count);
      const { version: _castVersion, updatedAt: _castUpdated, ...castAfter } = (await harness.inspect.cast(cast.id))!;
      const { version: _v, updatedAt: _u, ...castBefore } = before.cast;
      // (A store without multi-record atomicity may attach to the cast and release it again: the versions may differ, the content may not.)
      expect(castAfter).toEqual(castBefore);
      const { version: _cookVersion, updatedAt: _cookUpdated, ...cookAfter } = (await harness.inspect.cook(cook.id))!;
      const { version: _cv, updatedAt: _cu, ...cookBefore } = before.cook;
      expect(cookAfter).toEqual(cookBefore);
    });

    it('a parent takes at most maxInFlightChildren children in flight', async () => {
      const harness = await createHarness(target);
      const { createTracker } = await import('../tracker/create-tracker.js');
      const tracker = createTracker({ repository: harness.repository, clock: harness.clock, limits: { maxInFlightChildren: 2, maxEmbeddedChildIds: 1 } });
      const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
      const first = await tracker.recordGeneration(generationInput({ cookId: cook.id }));
      await tracker.recordGeneration(generationInput({ cookId: cook.id }));
      await expect(tracker.recordGeneration(generationInput({ cookId: cook.id }))).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.cookId' });
      await tracker.completeGeneration(first.id, { status: 'success' });
      await tracker.recordGeneration(generationInput({ cookId: cook.id }));
      const stored = (await tracker.getCook(cook.id))!;
      expect(stored.inFlightCount).toBe(2);
      expect(stored.generationIds).toEqual([first.id]);
      expect((await tracker.listGenerations({ cookId: cook.id })).items).toHaveLength(3);
    });
  });

  describe(`${target.name}: what went wrong in production`, () => {
    it('3. a cast starts at costUsd "0" (never null) and accumulates exactly: 0.1 + 0.2 = 0.3', async () => {
      const harness = await createHarness(target);
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1' });
      expect(cast.costUsd).toBe('0');
      for (const cost of ['0.1', 0.2]) {
        const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
        await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: cost });
      }
      expect((await harness.tracker.getCast(cast.id))!.costUsd).toBe('0.3');
      expect((await harness.inspect.cast(cast.id))!.costUsd).toBe('0.3');
    });

    it('4. a retried completion counts the cost, the count and the id once', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3 });
      const piece = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id }));
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await harness.tracker.completeGeneration(piece.id, { status: 'success', costUsd: '0.07', pointsSpent: 7 });
      }
      const stored = (await harness.inspect.cook(cook.id))!;
      expect(stored).toMatchObject({ generatedCount: 1, costUsd: '0.07', pointsSpent: 7, generationIds: [piece.id] });
      await expect(harness.tracker.completeGeneration(piece.id, { status: 'success', costUsd: '0.08', pointsSpent: 7 })).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.costUsd' });
      expect((await harness.inspect.cook(cook.id))!.costUsd).toBe('0.07');
    });

    it('5. a cook survives a restart: a new tracker on the same store finishes it', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 });
      const pieces = [
        await harness.tracker.recordGeneration(generationInput({ cookId: cook.id })),
        await harness.tracker.recordGeneration(generationInput({ cookId: cook.id })),
      ];
      const restarted = harness.newTracker();
      expect((await restarted.getCook(cook.id))!).toMatchObject({ inFlightCount: 2, openGenerationCount: 2, generationIds: pieces.map((piece) => piece.id) });
      expect((await restarted.listGenerations({ cookId: cook.id, status: ['pending', 'processing'], order: 'asc' })).items.map((piece) => piece.id)).toEqual(pieces.map((piece) => piece.id));
      for (const piece of pieces) await restarted.completeGeneration(piece.id, { status: 'success' });
      expect((await restarted.getCook(cook.id))!.status).toBe('completed');
    });

    it('2. every finished generation has durationMs, responseTimestamp and points', async () => {
      const harness = await createHarness(target);
      for (const status of ['success', 'failed', 'cancelled_by_user', 'timeout'] as const) {
        const generation = await harness.tracker.recordGeneration(generationInput());
        const done = await harness.tracker.completeGeneration(generation.id, { status });
        expect(done.durationMs).toEqual(expect.any(Number));
        expect(done.responseTimestamp).toBeInstanceOf(Date);
        expect(done.pointsSpent).toBe(0);
        expect((await harness.inspect.generation(generation.id))!.durationMs).toBe(done.durationMs);
      }
    });

    it('exact money: 10,000 costs of 0.0001 sum to exactly 1 in the cast and the cook', async () => {
      const harness = await createHarness(target);
      const scale = target.scale ?? 1;
      const count = Math.max(100, Math.round(10_000 * scale));
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 1 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      for (let index = 0; index < count; index += 1) {
        const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
        await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.0001' });
      }
      const expected = count === 10_000 ? '1' : String(count / 10_000);
      expect((await harness.inspect.cast(cast.id))!.costUsd).toBe(expected);
      expect((await harness.inspect.cook(cook.id))!.costUsd).toBe(expected);
    }, target.timeoutMs ?? 60_000);
  });
}
