/**
 * The property: random sequences of tracker calls over a cook of casts, with duplicated and
 * reordered completions and calls racing each other, always leave every parent's aggregates equal
 * to those recomputed from its children, and reconcile always agrees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GenledgerError } from '../errors.js';
import { TERMINAL_GENERATION_STATUSES } from '../domain/status.js';
import { auditLedger } from './ledger-audit.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

/** One tracker call, with indices into what exists when it runs (taken modulo the count). */
export type LedgerOperation =
  | { readonly kind: 'startCast'; readonly totalSteps: number | null }
  | { readonly kind: 'recordStep'; readonly cast: number }
  | { readonly kind: 'recordPiece' }
  | { readonly kind: 'start'; readonly generation: number }
  | { readonly kind: 'progress'; readonly generation: number; readonly progress: number }
  | {
      readonly kind: 'complete';
      readonly generation: number;
      readonly status: (typeof TERMINAL_GENERATION_STATUSES)[number];
      readonly pointsSpent: number;
      readonly costUsd: string;
      readonly times: number;
    }
  | { readonly kind: 'finishCast' | 'cancelCast'; readonly cast: number }
  | { readonly kind: 'pauseCook' | 'resumeCook' | 'finishCook' };

const costArbitrary = fc.constantFrom('0', '0.0001', '0.1', '0.2', '0.3333', '1.25', '0.000000000000000001', '12.5');

export const ledgerOperationArbitrary: fc.Arbitrary<LedgerOperation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('startCast' as const), totalSteps: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('recordStep' as const), cast: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recordPiece' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('start' as const), generation: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('progress' as const), generation: fc.nat(40), progress: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('complete' as const),
      generation: fc.nat(40),
      status: fc.constantFrom(...TERMINAL_GENERATION_STATUSES, 'success', 'success'),
      pointsSpent: fc.integer({ min: 0, max: 50 }),
      costUsd: costArbitrary,
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('finishCast' as const, 'cancelCast' as const), cast: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('pauseCook' as const, 'resumeCook' as const, 'finishCook' as const) }) },
);

export interface LedgerWorld {
  readonly cookId: string;
  readonly castIds: string[];
  readonly generationIds: string[];
}

/** Errors the tracker is documented to throw for calls that do not fit the state; anything else fails the property. */
const EXPECTED_CODES: ReadonlySet<string> = new Set(['ILLEGAL_TRANSITION', 'CONFLICT']);

export async function runOperation(harness: Harness, world: LedgerWorld, operation: LedgerOperation, tracker = harness.tracker): Promise<void> {
  const pick = <T>(list: readonly T[], index: number): T | undefined => (list.length === 0 ? undefined : list[index % list.length]);
  try {
    switch (operation.kind) {
      case 'startCast': {
        const cast = await tracker.startCast({ spellId: 'spell-p', initiatorAccountId: 'account-p', totalSteps: operation.totalSteps, cookId: world.cookId });
        world.castIds.push(cast.id);
        return;
      }
      case 'recordStep': {
        const castId = pick(world.castIds, operation.cast);
        if (!castId) return;
        world.generationIds.push((await tracker.recordGeneration(generationInput({ castId, masterAccountId: 'account-p' }))).id);
        return;
      }
      case 'recordPiece':
        world.generationIds.push((await tracker.recordGeneration(generationInput({ cookId: world.cookId, masterAccountId: 'account-p' }))).id);
        return;
      case 'start': {
        const id = pick(world.generationIds, operation.generation);
        if (id) await tracker.startGeneration(id);
        return;
      }
      case 'progress': {
        const id = pick(world.generationIds, operation.generation);
        if (id) await tracker.reportProgress(id, { progress: operation.progress });
        return;
      }
      case 'complete': {
        const id = pick(world.generationIds, operation.generation);
        if (!id) return;
        // Duplicate deliveries of the same completion, racing each other.
        const input = { status: operation.status, pointsSpent: operation.pointsSpent, costUsd: operation.costUsd };
        const results = await Promise.allSettled(Array.from({ length: operation.times }, () => tracker.completeGeneration(id, input)));
        for (const result of results) if (result.status === 'rejected') throw result.reason;
        return;
      }
      case 'finishCast':
      case 'cancelCast': {
        const castId = pick(world.castIds, operation.cast);
        if (castId) await tracker[operation.kind](castId);
        return;
      }
      case 'pauseCook':
      case 'resumeCook':
      case 'finishCook':
        await tracker[operation.kind](world.cookId);
        return;
    }
  } catch (error) {
    if (error instanceof GenledgerError && EXPECTED_CODES.has(error.code)) return;
    throw error;
  }
}

export function propertyTests(target: ConformanceTarget): void {
  const scale = target.scale ?? 1;
  describe(`${target.name}: randomized roll-up`, () => {
    it(
      'random call sequences with duplicate, reordered and racing completions keep every aggregate equal to its children',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(ledgerOperationArbitrary, fc.boolean()), { minLength: 5, maxLength: 60 }),
            fc.integer({ min: 1, max: 4 }),
            async (steps, targetSupply) => {
              const harness = await createHarness(target);
              const cook = await harness.tracker.startCook({ collectionId: 'collection-p', initiatorAccountId: 'account-p', targetSupply });
              const world: LedgerWorld = { cookId: cook.id, castIds: [], generationIds: [] };
              // A `true` flag runs the operation together with the next one, so calls interleave.
              for (let index = 0; index < steps.length; index += 1) {
                const [operation, raceWithNext] = steps[index]!;
                const next = steps[index + 1];
                if (raceWithNext && next) {
                  await Promise.all([runOperation(harness, world, operation), runOperation(harness, world, next[0])]);
                  index += 1;
                } else {
                  await runOperation(harness, world, operation);
                }
              }
              // Money and counts match the children right away, whatever raced.
              expect(await auditLedger(harness.tracker, [world.cookId], world.castIds, { requireCancelCascade: false })).toEqual([]);
              // A child recorded while its parent was being cancelled is cancelled by the next sweep.
              await harness.tracker.sweepStale({ olderThanMs: 365 * 24 * 3_600_000 });
              expect(await auditLedger(harness.tracker, [world.cookId], world.castIds)).toEqual([]);
              for (const castId of world.castIds) expect((await harness.tracker.reconcile({ castId })).differences).toEqual([]);
              expect((await harness.tracker.reconcile({ cookId: world.cookId })).differences).toEqual([]);
            },
          ),
          { numRuns: Number(process.env.GENLEDGER_PROPERTY_RUNS) || Math.max(5, Math.round(100 * scale)) },
        );
      },
      (target.timeoutMs ?? 60_000) * 3,
    );
  });
}
