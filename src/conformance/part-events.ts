/**
 * Events: emitted after the write they describe has landed, once per change, with parent links;
 * a throwing listener never breaks the tracker or the other listeners.
 */
import { describe, expect, it } from 'vitest';
import { createTracker } from '../tracker/create-tracker.js';
import { createHarness, generationInput } from './harness.js';
import type { ConformanceTarget } from './types.js';

export function eventTests(target: ConformanceTarget): void {
  describe(`${target.name}: events`, () => {
    it('a cast step in a cook emits each documented event once, in order, with parent links', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 1 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, totalSteps: 1 });
      harness.events.length = 0;
      const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      await harness.tracker.startGeneration(step.id);
      await harness.tracker.reportProgress(step.id, { progress: 0.4 });
      await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.02' });
      await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.02' });
      expect(harness.events.map((event) => event.name)).toEqual([
        'generationUpdate', 'castUpdate', 'cookUpdate',
        'generationUpdate',
        'generationProgress',
        'generationUpdate', 'generationFinished', 'castUpdate', 'castFinished', 'cookUpdate', 'cookUpdate', 'cookFinished',
      ]);
      for (const event of harness.eventsNamed('generationUpdate')) expect(event).toMatchObject({ castId: cast.id, cookId: cook.id });
      expect(harness.eventsNamed('generationProgress')[0]).toMatchObject({ castId: cast.id, cookId: cook.id, progress: 0.4 });
      expect(harness.eventsNamed('cookFinished')[0]!.progress).toMatchObject({ done: 1, target: 1, inFlight: 0, costUsd: '0.02' });
    });

    it('every event is emitted after its write has landed', async () => {
      const harness = await createHarness(target);
      const mismatches: string[] = [];
      const checks: Promise<void>[] = [];
      const tracker = harness.newTracker();
      tracker.on('generationUpdate', ({ generation }) => {
        checks.push(harness.inspect.generation(generation.id).then((stored) => {
          // At least this version: a later write may land before this read, never an earlier state.
          if ((stored?.version ?? 0) < generation.version) mismatches.push(`generation ${generation.id} v${generation.version} stored v${stored?.version}`);
        }));
      });
      tracker.on('castUpdate', ({ cast }) => {
        checks.push(harness.inspect.cast(cast.id).then((stored) => {
          if ((stored?.version ?? 0) < cast.version) mismatches.push(`cast ${cast.id} v${cast.version} stored v${stored?.version}`);
        }));
      });
      const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', totalSteps: 2 });
      for (let index = 0; index < 2; index += 1) {
        const step = await tracker.recordGeneration(generationInput({ castId: cast.id }));
        await tracker.completeGeneration(step.id, { status: 'success' });
      }
      await Promise.all(checks);
      expect(checks.length).toBeGreaterThan(4);
      expect(mismatches).toEqual([]);
    });

    it('a listener that throws or rejects is reported and breaks nothing', async () => {
      const harness = await createHarness(target);
      const reported: string[] = [];
      const tracker = createTracker({
        repository: harness.repository,
        clock: harness.clock,
        onListenerError: (error, event) => reported.push(`${event}: ${(error as Error).message}`),
      });
      const seen: string[] = [];
      tracker.on('generationUpdate', () => {
        throw new Error('boom');
      });
      tracker.on('generationUpdate', async () => {
        throw new Error('async boom');
      });
      tracker.on('generationUpdate', ({ change }) => void seen.push(change));
      const generation = await tracker.recordGeneration(generationInput());
      const done = await tracker.completeGeneration(generation.id, { status: 'success' });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(done.status).toBe('success');
      expect(seen).toEqual(['recorded', 'finished']);
      expect(reported.sort()).toEqual(['generationUpdate: async boom', 'generationUpdate: async boom', 'generationUpdate: boom', 'generationUpdate: boom']);
    });

    it('once() fires once and off() unsubscribes', async () => {
      const harness = await createHarness(target);
      const tracker = harness.newTracker();
      const once: string[] = [];
      const always: string[] = [];
      const listener = ({ change }: { change: string }) => void always.push(change);
      tracker.once('generationUpdate', ({ change }) => void once.push(change));
      const unsubscribe = tracker.on('generationUpdate', listener);
      const generation = await tracker.recordGeneration(generationInput());
      await tracker.startGeneration(generation.id);
      unsubscribe();
      await tracker.completeGeneration(generation.id, { status: 'success' });
      expect(once).toEqual(['recorded']);
      expect(always).toEqual(['recorded', 'started']);
    });
  });
}
