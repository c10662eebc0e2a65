/**
 * Out of order: reports that arrive late, early or for nothing are each handled as documented in
 * docs/concepts.md, and none of them moves money.
 */
import { describe, expect, it } from 'vitest';
import type { Cast, Cook } from '../domain/records.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

async function moneyOf(harness: Harness, cast: Cast, cook: Cook) {
  const [storedCast, storedCook] = [await harness.inspect.cast(cast.id), await harness.inspect.cook(cook.id)];
  return {
    cast: { costUsd: storedCast!.costUsd, pointsSpent: storedCast!.pointsSpent, outcomes: storedCast!.outcomes },
    cook: { costUsd: storedCook!.costUsd, pointsSpent: storedCook!.pointsSpent, outcomes: storedCook!.outcomes, generatedCount: storedCook!.generatedCount },
  };
}

export function outOfOrderTests(target: ConformanceTarget): void {
  describe(`${target.name}: out of order`, () => {
    it('progress after completion, completion before start, unknown ids and early delivery: each as documented, money untouched', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      const cook = await tracker.startCook({ collectionId: 'collection-o', initiatorAccountId: 'account-o', targetSupply: 5 });
      const cast = await tracker.startCast({ spellId: 'spell-o', initiatorAccountId: 'account-o', cookId: cook.id, totalSteps: 3 });
      const step = await tracker.recordGeneration(generationInput({ castId: cast.id, notificationPlatform: 'telegram' }));
      const figures: string[] = [];
      let tally = 0;

      // Delivery before completion: refused, nothing written.
      await expect(tracker.recordDelivery(step.id, { status: 'sent' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'input.status' });
      expect(await harness.inspect.generation(step.id)).toEqual(step);
      figures.push('early delivery refused');
      tally += 1;

      // Completion before start: allowed (pending may end directly).
      const done = await tracker.completeGeneration(step.id, { status: 'success', costUsd: '0.42', pointsSpent: 42 });
      expect(done).toMatchObject({ status: 'success', startedAt: null, costUsd: '0.42' });
      const afterCompletion = await moneyOf(harness, cast, cook);
      expect(afterCompletion.cast).toMatchObject({ costUsd: '0.42', pointsSpent: 42 });
      expect(afterCompletion.cook).toMatchObject({ costUsd: '0.42', pointsSpent: 42 });
      figures.push('completion before start accepted');
      tally += 1;

      // The start and progress reports arrive after the end: stale, ignored, no event.
      const eventsBefore = harness.events.length;
      expect(await tracker.startGeneration(step.id)).toEqual(done);
      expect(await tracker.reportProgress(step.id, { progress: 0.5 })).toEqual(done);
      expect(await tracker.reportProgress(step.id, { progress: 1 })).toEqual(done);
      expect(harness.events.length).toBe(eventsBefore);
      figures.push('late start and 2 late progress reports ignored');
      tally += 3;

      // Progress reordered: the older report loses.
      const other = await tracker.recordGeneration(generationInput({ castId: cast.id }));
      await tracker.reportProgress(other.id, { progress: 0.8 });
      expect((await tracker.reportProgress(other.id, { progress: 0.3 })).progress).toBe(0.8);
      figures.push('reordered progress kept at 0.8');
      tally += 1;

      // Completion of an unknown id: NotFoundError, nothing written.
      const counts = await harness.inspect.count();
      await expect(tracker.completeGeneration('no-such-generation', { status: 'success', costUsd: '9' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(tracker.reportProgress('no-such-generation', { progress: 0.5 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(tracker.recordDelivery('no-such-generation', { status: 'sent' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await harness.inspect.count()).toEqual(counts);
      figures.push('3 calls on an unknown id refused');
      tally += 3;

      // A second, contradicting completion: refused; the first stands.
      await expect(tracker.completeGeneration(step.id, { status: 'failed', costUsd: '0.42', pointsSpent: 42 })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      await expect(tracker.completeGeneration(step.id, { status: 'success', costUsd: '4.2', pointsSpent: 42 })).rejects.toMatchObject({ code: 'CONFLICT' });
      figures.push('2 contradicting completions refused');
      tally += 2;

      // Delivery after completion, then repeated: once.
      await tracker.recordDelivery(step.id, { status: 'sent' });
      expect(await tracker.recordDelivery(step.id, { status: 'sent' })).toMatchObject({ deliveryStatus: 'sent', deliveryAttempts: 1, status: 'success' });
      figures.push('delivery recorded once');
      tally += 2;

      expect(await moneyOf(harness, cast, cook)).toEqual(afterCompletion);
      console.log(`[genledger conformance] ${target.name} out of order: ${tally} out-of-order calls (${figures.join('; ')}); money unchanged at $0.42 and 42 points`);
    });
  });
}
