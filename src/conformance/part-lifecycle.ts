/**
 * A generation's life through the tracker: the status machine (every transition, table-driven),
 * derived figures set once, delivery kept apart from status, and progress that only moves forward.
 */
import { describe, expect, it } from 'vitest';
import { GENERATION_STATUSES, TERMINAL_GENERATION_STATUSES, type GenerationStatus } from '../domain/status.js';
import { IllegalTransitionError } from '../errors.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

/** Puts a new generation into `status` through the public API. */
async function generationIn(harness: Harness, status: GenerationStatus) {
  const generation = await harness.tracker.recordGeneration(generationInput());
  if (status === 'pending') return generation;
  if (status === 'processing') return harness.tracker.startGeneration(generation.id);
  return harness.tracker.completeGeneration(generation.id, { status });
}

type Action = 'start' | (typeof TERMINAL_GENERATION_STATUSES)[number];
const ACTIONS: readonly Action[] = ['start', ...TERMINAL_GENERATION_STATUSES];

/** What the status machine says each action does from each status: the new status, `same` (a harmless repeat or a stale report), or `illegal`. */
function expectedOutcome(from: GenerationStatus, action: Action): GenerationStatus | 'same' | 'illegal' {
  const terminal = (TERMINAL_GENERATION_STATUSES as readonly string[]).includes(from);
  if (action === 'start') return from === 'pending' ? 'processing' : 'same';
  if (!terminal) return action;
  return from === action ? 'same' : 'illegal';
}

export function lifecycleTests(target: ConformanceTarget): void {
  describe(`${target.name}: generation lifecycle`, () => {
    for (const from of GENERATION_STATUSES) {
      for (const action of ACTIONS) {
        const outcome = expectedOutcome(from, action);
        it(`${action === 'start' ? 'startGeneration()' : `completeGeneration(${action})`} on a ${from} generation: ${outcome}`, async () => {
          const harness = await createHarness(target);
          const generation = await generationIn(harness, from);
          const call = () =>
            action === 'start' ? harness.tracker.startGeneration(generation.id) : harness.tracker.completeGeneration(generation.id, { status: action });
          if (outcome === 'illegal') {
            const error = await call().catch((caught: unknown) => caught);
            expect(error).toBeInstanceOf(IllegalTransitionError);
            expect(error).toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'input.status', from, to: action });
            expect(await harness.tracker.getGeneration(generation.id)).toEqual(generation);
            return;
          }
          const after = await call();
          expect(after.status).toBe(outcome === 'same' ? from : outcome);
          if (outcome === 'same') expect(after).toEqual(generation);
        });
      }
    }

    it('recordGeneration() sets every default and derivation', async () => {
      const harness = await createHarness(target);
      const now = harness.clock.now();
      const generation = await harness.tracker.recordGeneration(generationInput({ requestTimestamp: now }));
      expect(generation).toMatchObject({
        status: 'pending',
        requestTimestamp: now,
        startedAt: null,
        responseTimestamp: null,
        durationMs: null,
        progress: 0,
        pointsSpent: 0,
        protocolNetPoints: 0,
        costUsd: '0',
        notificationPlatform: 'none',
        deliveryStatus: 'skipped',
        deliveryAttempts: 0,
        castId: null,
        cookId: null,
        artifactUrls: [],
        metadata: {},
        version: 1,
      });
      const notified = await harness.tracker.recordGeneration(generationInput({ notificationPlatform: 'telegram' }));
      expect(notified.deliveryStatus).toBe('pending');
      const started = await harness.tracker.recordGeneration(generationInput({ status: 'processing' }));
      expect(started.startedAt).toEqual(started.requestTimestamp);
    });

    it('completeGeneration() sets durationMs, points and exact cost once, never negative', async () => {
      const harness = await createHarness(target);
      const generation = await harness.tracker.recordGeneration(generationInput());
      harness.clock.advance(1500);
      const done = await harness.tracker.completeGeneration(generation.id, {
        status: 'success',
        pointsSpent: 12,
        protocolNetPoints: -4,
        costUsd: '0.0042',
        responsePayload: { images: ['a.png'] },
        artifactUrls: ['https://cdn.example/a.png'],
      });
      expect(done.durationMs).toBe(done.responseTimestamp!.getTime() - generation.requestTimestamp.getTime());
      expect(done.durationMs).toBeGreaterThanOrEqual(1500);
      expect(done).toMatchObject({ pointsSpent: 12, protocolNetPoints: -4, costUsd: '0.0042', progress: 1 });
      const skewed = await harness.tracker.recordGeneration(generationInput());
      const early = await harness.tracker.completeGeneration(skewed.id, { status: 'failed', responseTimestamp: new Date(skewed.requestTimestamp.getTime() - 5000) });
      expect(early.durationMs).toBe(0);
      expect(early.pointsSpent).toBe(0);
      expect(early.costUsd).toBe('0');
    });

    it('a points rate derives points from cost, rounded up exactly', async () => {
      const harness = await createHarness(target);
      const { createTracker } = await import('../tracker/create-tracker.js');
      const tracker = createTracker({ repository: harness.repository, clock: harness.clock, pointsPerUsd: '1000' });
      const generation = await tracker.recordGeneration(generationInput());
      expect((await tracker.completeGeneration(generation.id, { status: 'success', costUsd: '0.0123' })).pointsSpent).toBe(13);
      const exact = await tracker.recordGeneration(generationInput());
      expect((await tracker.completeGeneration(exact.id, { status: 'success', costUsd: '0.012' })).pointsSpent).toBe(12);
      const given = await tracker.recordGeneration(generationInput());
      expect((await tracker.completeGeneration(given.id, { status: 'success', costUsd: '0.5', pointsSpent: 3 })).pointsSpent).toBe(3);
    });

    it('reportProgress() only moves forward and stops at the end', async () => {
      const harness = await createHarness(target);
      const generation = await harness.tracker.recordGeneration(generationInput());
      const half = await harness.tracker.reportProgress(generation.id, { progress: 0.5, liveStatus: 'sampling 10/20' });
      expect(half).toMatchObject({ status: 'processing', progress: 0.5 });
      expect(half.startedAt).not.toBeNull();
      const stale = await harness.tracker.reportProgress(generation.id, { progress: 0.2 });
      expect(stale).toEqual(half);
      await harness.tracker.completeGeneration(generation.id, { status: 'failed' });
      const late = await harness.tracker.reportProgress(generation.id, { progress: 0.9 });
      expect(late.status).toBe('failed');
      expect(late.progress).toBe(0.5);
      const progressEvents = harness.eventsNamed('generationProgress');
      expect(progressEvents).toHaveLength(1);
      expect(progressEvents[0]).toMatchObject({ progress: 0.5, liveStatus: 'sampling 10/20' });
    });

    it('recordDelivery() keeps "nobody to notify" apart from "notifying failed" and never touches status', async () => {
      const harness = await createHarness(target);
      const silent = await harness.tracker.recordGeneration(generationInput());
      await harness.tracker.completeGeneration(silent.id, { status: 'success' });
      await expect(harness.tracker.recordDelivery(silent.id, { status: 'sent' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });

      const notified = await harness.tracker.recordGeneration(generationInput({ notificationPlatform: 'discord' }));
      await expect(harness.tracker.recordDelivery(notified.id, { status: 'sent' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      await harness.tracker.completeGeneration(notified.id, { status: 'success', costUsd: '0.01' });
      const dropped = await harness.tracker.recordDelivery(notified.id, { status: 'dropped', attempts: 3, error: 'chat not found' });
      expect(dropped).toMatchObject({ status: 'success', deliveryStatus: 'dropped', deliveryAttempts: 3, deliveryError: 'chat not found', costUsd: '0.01' });
      expect(await harness.tracker.recordDelivery(notified.id, { status: 'dropped' })).toEqual(dropped);
      await expect(harness.tracker.recordDelivery(notified.id, { status: 'sent' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });

      const sent = await harness.tracker.recordGeneration(generationInput({ notificationPlatform: 'web' }));
      await harness.tracker.completeGeneration(sent.id, { status: 'failed' });
      expect(await harness.tracker.recordDelivery(sent.id, { status: 'sent' })).toMatchObject({ deliveryStatus: 'sent', deliveryAttempts: 1, status: 'failed' });
    });

    it('getGeneration()/getCast()/getCook() return null for unknown ids; writes throw NotFoundError', async () => {
      const harness = await createHarness(target);
      expect(await harness.tracker.getGeneration('unknown-id')).toBeNull();
      expect(await harness.tracker.getCast('unknown-id')).toBeNull();
      expect(await harness.tracker.getCook('unknown-id')).toBeNull();
      await expect(harness.tracker.completeGeneration('unknown-id', { status: 'success' })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'generationId' });
      await expect(harness.tracker.finishCast('unknown-id')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'castId' });
      await expect(harness.tracker.recordGeneration(generationInput({ castId: 'unknown-id' }))).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'input.castId' });
      expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
    });

    it('listGenerations() pages with an opaque cursor', async () => {
      const harness = await createHarness(target);
      const recorded = [];
      for (let index = 0; index < 5; index += 1) recorded.push(await harness.tracker.recordGeneration(generationInput({ masterAccountId: 'lister' })));
      const first = await harness.tracker.listGenerations({ masterAccountId: 'lister', limit: 2, order: 'asc' });
      // nextCursor is passed back as it is (string | null), as the docs say, with no `!` or `?? undefined`.
      const second = await harness.tracker.listGenerations({ masterAccountId: 'lister', limit: 2, order: 'asc', cursor: first.nextCursor });
      const third = await harness.tracker.listGenerations({ masterAccountId: 'lister', limit: 2, order: 'asc', cursor: second.nextCursor });
      expect([...first.items, ...second.items, ...third.items].map((generation) => generation.id)).toEqual(recorded.map((generation) => generation.id));
      expect(third.nextCursor).toBeNull();
      // A null cursor (the last page's nextCursor) starts from the beginning, as no cursor does.
      expect((await harness.tracker.listGenerations({ masterAccountId: 'lister', limit: 2, order: 'asc', cursor: third.nextCursor })).items).toEqual(first.items);
      await expect(harness.tracker.listGenerations({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.cursor' });
    });
  });
}
