/**
 * Maintenance: the sweeper times out stuck work and repairs parents a crash left behind;
 * reconcile rebuilds a parent's aggregates from its children.
 */
import { describe, expect, it } from 'vitest';
import { auditLedger } from './ledger-audit.js';
import { createHarness, generationInput } from './harness.js';
import type { ConformanceTarget } from './types.js';

const MINUTE = 60_000;

export function maintenanceTests(target: ConformanceTarget): void {
  describe(`${target.name}: sweeper and reconcile`, () => {
    it('1. sweepStale() times out generations stuck in pending or processing, and their parents finish', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 });
      const done = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id }));
      await harness.tracker.completeGeneration(done.id, { status: 'success', costUsd: '0.5' });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, totalSteps: 2 });
      const stuckStep = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
      await harness.tracker.startGeneration(stuckStep.id);
      const stuckPiece = await harness.tracker.recordGeneration(generationInput({ cookId: cook.id }));
      harness.clock.advance(30 * MINUTE);
      const alive = await harness.tracker.recordGeneration(generationInput());
      expect([...(await harness.tracker.sweepStale({ olderThanMs: 10 * MINUTE })).timedOut].sort()).toEqual([stuckStep.id, stuckPiece.id].sort());
      for (const id of [stuckStep.id, stuckPiece.id]) {
        const swept = (await harness.tracker.getGeneration(id))!;
        expect(swept).toMatchObject({ status: 'timeout', costUsd: '0' });
        expect(swept.durationMs).toBeGreaterThanOrEqual(30 * MINUTE);
      }
      expect((await harness.tracker.getGeneration(alive.id))!.status).toBe('pending');
      expect(await harness.tracker.getCast(cast.id)).toMatchObject({ status: 'failed', inFlightCount: 0 });
      harness.clock.advance(30 * MINUTE);
      const second = await harness.tracker.sweepStale({ olderThanMs: 10 * MINUTE });
      expect(second.expired).toEqual([{ kind: 'cook', id: cook.id }]);
      expect(second.timedOut).toEqual([alive.id]);
      expect(await harness.tracker.getCook(cook.id)).toMatchObject({ status: 'completed', generatedCount: 1, failedCount: 2, inFlightCount: 0, costUsd: '0.5' });
      expect(await auditLedger(harness.tracker, [cook.id], [cast.id])).toEqual([]);
      const third = await harness.tracker.sweepStale({ olderThanMs: 10 * MINUTE });
      expect(third).toEqual({ timedOut: [], recovered: 0, reconciled: [], settled: [], abandoned: [], cancelled: [], expired: [] });
    });

    it('stuck work: every generation abandoned in pending or processing is swept to timeout, and every parent finishes', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      const cooks: string[] = [];
      const casts: string[] = [];
      let abandoned = 0;
      for (let cookIndex = 0; cookIndex < 3; cookIndex += 1) {
        const cook = await tracker.startCook({ collectionId: `collection-${cookIndex}`, initiatorAccountId: 'account-s', targetSupply: 4 });
        cooks.push(cook.id);
        for (let piece = 0; piece < 4; piece += 1) {
          if (piece % 2 === 0) {
            // A generation piece: half done, half left in pending or processing by a dead worker.
            const generation = await tracker.recordGeneration(generationInput({ cookId: cook.id }));
            if (piece === 0) await tracker.completeGeneration(generation.id, { status: 'success', costUsd: '0.01' });
            else {
              await tracker.startGeneration(generation.id);
              abandoned += 1;
            }
          } else {
            // A cast piece of 3 steps: the first done, the second stuck in processing, the third pending.
            const cast = await tracker.startCast({ spellId: 'spell-s', initiatorAccountId: 'account-s', cookId: cook.id, totalSteps: 3 });
            casts.push(cast.id);
            const steps = [];
            for (let step = 0; step < 3; step += 1) steps.push(await tracker.recordGeneration(generationInput({ castId: cast.id })));
            await tracker.completeGeneration(steps[0]!.id, { status: 'success', costUsd: '0.02', pointsSpent: 2 });
            await tracker.startGeneration(steps[1]!.id);
            abandoned += 2;
          }
        }
      }
      const loneCast = await tracker.startCast({ spellId: 'spell-s', initiatorAccountId: 'account-s' });
      casts.push(loneCast.id);
      await tracker.recordGeneration(generationInput({ castId: loneCast.id }));
      abandoned += 1;

      harness.clock.advance(2 * 60 * MINUTE);
      const first = await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      harness.clock.advance(2 * 60 * MINUTE);
      const second = await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect(first.timedOut).toHaveLength(abandoned);
      const open = await tracker.listGenerations({ masterAccountId: 'account-1', status: ['pending', 'processing'], limit: 1000 });
      expect(open.items).toEqual([]);
      const parents = [...(await Promise.all(casts.map((id) => tracker.getCast(id)))), ...(await Promise.all(cooks.map((id) => tracker.getCook(id))))];
      const unfinished = parents.filter((parent) => parent!.status === 'running' || parent!.status === 'paused');
      expect(unfinished).toEqual([]);
      expect(await auditLedger(tracker, cooks, casts)).toEqual([]);
      const statuses = parents.map((parent) => parent!.status);
      console.log(
        `[genledger conformance] ${target.name} stuck work: ${abandoned} abandoned generations swept to timeout, ` +
          `${parents.length} parents all finished (${['completed', 'failed', 'cancelled'].map((status) => `${statuses.filter((s) => s === status).length} ${status}`).join(', ')}; ` +
          `${second.expired.length} idle parents finished by the second sweep), audit clean`,
      );
    });

    it('sweepStale() spares a generation that reported progress within the threshold', async () => {
      const harness = await createHarness(target);
      const generation = await harness.tracker.recordGeneration(generationInput());
      harness.clock.advance(30 * MINUTE);
      await harness.tracker.reportProgress(generation.id, { progress: 0.3 });
      harness.clock.advance(5 * MINUTE);
      expect((await harness.tracker.sweepStale({ olderThanMs: 10 * MINUTE })).timedOut).toEqual([]);
      expect((await harness.tracker.getGeneration(generation.id))!.status).toBe('processing');
    });

    it('sweepStale() resumes the cancellation of a cancelled cook a crash cut short, with every count exact', async () => {
      const harness = await createHarness(target);
      const { tracker } = harness;
      const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
      const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id, totalSteps: 3 });
      const step = await tracker.recordGeneration(generationInput({ castId: cast.id }));
      const done = await tracker.recordGeneration(generationInput({ castId: cast.id }));
      await tracker.completeGeneration(done.id, { status: 'success', pointsSpent: 3, costUsd: '0.25' });
      const piece = await tracker.recordGeneration(generationInput({ cookId: cook.id }));
      // The crash: the cook's cancel landed, and the process died before cancelling its children.
      await harness.repository.cooks.transition(cook.id, 'cancel', harness.clock.now());
      expect(await auditLedger(tracker, [cook.id], [cast.id])).not.toEqual([]);
      harness.clock.advance(20 * MINUTE);
      const report = await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect(report.timedOut).toEqual([]);
      expect([...report.cancelled].sort()).toEqual([cast.id, step.id, piece.id].sort());
      expect(await tracker.getCast(cast.id)).toMatchObject({ status: 'cancelled', inFlightCount: 0, costUsd: '0.25', pointsSpent: 3 });
      expect(await tracker.getCook(cook.id)).toMatchObject({ status: 'cancelled', cancelledCount: 2, inFlightCount: 0, openGenerationCount: 0, costUsd: '0.25' });
      expect(await auditLedger(tracker, [cook.id], [cast.id])).toEqual([]);
      // A second sweep finds nothing left to do.
      const again = await tracker.sweepStale({ olderThanMs: 60 * MINUTE });
      expect({ cancelled: again.cancelled, reconciled: again.reconciled, expired: again.expired }).toEqual({ cancelled: [], reconciled: [], expired: [] });
    });

    it('reconcile() rebuilds aggregates from the children and reports each difference', async () => {
      const harness = await createHarness(target);
      const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 5 });
      const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
      for (const cost of ['0.1', '0.2']) {
        const step = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
        await harness.tracker.completeGeneration(step.id, { status: 'success', costUsd: cost, pointsSpent: 2 });
      }
      expect(await harness.tracker.reconcile({ castId: cast.id })).toEqual({ kind: 'cast', id: cast.id, differences: [], repaired: false });
      // Corrupt the stored aggregates, as a buggy writer would.
      const stored = (await harness.tracker.getCast(cast.id))!;
      await harness.repository.casts.replaceAggregates(cast.id, stored.version, { ...stored, costUsd: '9', pointsSpent: 1, outcomes: { ...stored.outcomes, success: 7 } }, harness.clock.now());
      const report = await harness.tracker.reconcile({ castId: cast.id });
      expect(report.repaired).toBe(true);
      expect(report.differences.map((difference) => difference.field).sort()).toEqual(['costUsd', 'outcomes', 'pointsSpent']);
      expect(report.differences.find((difference) => difference.field === 'costUsd')).toMatchObject({ stored: '9', recomputed: '0.3' });
      expect(await harness.tracker.getCast(cast.id)).toMatchObject({ costUsd: '0.3', pointsSpent: 4, outcomes: { success: 2 } });
      expect((await harness.tracker.reconcile({ cookId: cook.id })).differences).toEqual([]);
      expect(harness.eventsNamed('castUpdate').at(-1)).toMatchObject({ change: 'repaired' });
      await expect(harness.tracker.reconcile({ castId: 'no-such-cast' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
