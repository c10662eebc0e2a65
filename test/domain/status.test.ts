import { describe, expect, it } from 'vitest';
import { canTransitionGeneration, GENERATION_STATUSES, TERMINAL_GENERATION_STATUSES } from '../../src/domain/status.js';

describe('the generation status machine', () => {
  it('allows exactly the transitions of the status machine', () => {
    const allowed: string[] = [];
    for (const from of GENERATION_STATUSES) for (const to of GENERATION_STATUSES) if (canTransitionGeneration(from, to)) allowed.push(`${from}->${to}`);
    expect(allowed.sort()).toEqual(
      [
        'pending->processing',
        ...TERMINAL_GENERATION_STATUSES.map((to) => `pending->${to}`),
        ...TERMINAL_GENERATION_STATUSES.map((to) => `processing->${to}`),
      ].sort(),
    );
  });
});
