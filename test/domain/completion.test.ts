import { describe, expect, it } from 'vitest';
import { completionMismatch, type CompletionFigures } from '../../src/domain/completion.js';

const stored: CompletionFigures = { status: 'success', pointsSpent: 120, protocolNetPoints: -4, costUsd: '0.1' };

describe('completionMismatch()', () => {
  it('is null when a repeat says what the stored completion says', () => {
    expect(completionMismatch(stored, { ...stored })).toBeNull();
  });

  it('compares the cost as an amount, not as text', () => {
    expect(completionMismatch(stored, { ...stored, costUsd: '0.10' })).toBeNull();
    expect(completionMismatch(stored, { ...stored, costUsd: '0.100000' })).toBeNull();
  });

  it.each([
    ['status', { status: 'failed' }, 'success', 'failed'],
    ['pointsSpent', { pointsSpent: 121 }, '120', '121'],
    ['protocolNetPoints', { protocolNetPoints: 0 }, '-4', '0'],
    ['costUsd', { costUsd: '0.11' }, '0.1', '0.11'],
  ] as const)('names %s when only it differs, with both values', (field, change, storedText, givenText) => {
    expect(completionMismatch(stored, { ...stored, ...change })).toEqual({ field, stored: storedText, given: givenText });
  });

  it('names the first differing field in the order status, pointsSpent, protocolNetPoints, costUsd', () => {
    const all: CompletionFigures = { status: 'timeout', pointsSpent: 1, protocolNetPoints: 1, costUsd: '9' };
    expect(completionMismatch(stored, all)?.field).toBe('status');
    expect(completionMismatch(stored, { ...all, status: 'success' })?.field).toBe('pointsSpent');
    expect(completionMismatch(stored, { ...all, status: 'success', pointsSpent: 120 })?.field).toBe('protocolNetPoints');
    expect(completionMismatch(stored, { ...stored, costUsd: '0' })?.field).toBe('costUsd');
  });

  it('treats a zero cost given as "0" and stored as "0.00" as the same', () => {
    expect(completionMismatch({ ...stored, costUsd: '0.00' }, { ...stored, costUsd: '0' })).toBeNull();
  });
});
