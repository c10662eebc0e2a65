import { describe, expect, it } from 'vitest';
import { castStatusAfterStep, cookReachedSupply, cookStatusOnFinish, pieceCounterFor } from '../../src/domain/rollup/rules.js';
import { ZERO_OUTCOMES } from '../../src/domain/records.js';

describe('parent status rules', () => {
  it.each([
    ['success', { success: 3 }, 3, 'completed'],
    ['success', { success: 2 }, 3, 'running'],
    ['success', { success: 9 }, null, 'running'],
    ['failed', { success: 2, failed: 1 }, 3, 'failed'],
    ['timeout', { timeout: 1 }, 3, 'failed'],
    ['cancelled_by_user', { cancelled_by_user: 1 }, null, 'cancelled'],
  ] as const)('a cast step ending %s with outcomes %o of %s steps leaves the cast %s', (step, outcomes, totalSteps, expected) => {
    expect(castStatusAfterStep(step, { ...ZERO_OUTCOMES, ...outcomes }, totalSteps)).toBe(expected);
  });

  it.each([
    ['success', 'generatedCount'],
    ['completed', 'generatedCount'],
    ['failed', 'failedCount'],
    ['timeout', 'failedCount'],
    ['cancelled_by_user', 'cancelledCount'],
    ['cancelled', 'cancelledCount'],
  ] as const)('a piece ending %s moves %s', (status, counter) => {
    expect(pieceCounterFor(status)).toBe(counter);
  });

  it.each([
    [2, 0, 2, true],
    [3, 0, 2, true],
    [2, 1, 2, false],
    [1, 0, 2, false],
  ])('a cook with %i generated, %i in flight, target %i has reached its supply: %s', (generatedCount, inFlightCount, targetSupply, expected) => {
    expect(cookReachedSupply({ generatedCount, inFlightCount, targetSupply })).toBe(expected);
  });

  it('a cook finished early completes with any success, else fails', () => {
    expect(cookStatusOnFinish(1)).toBe('completed');
    expect(cookStatusOnFinish(0)).toBe('failed');
  });
});
