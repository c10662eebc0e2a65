import { describe, expect, it } from 'vitest';
import {
  canTransitionGeneration,
  GENERATION_STATUSES,
  isLegacyGenerationStatusWord,
  normalizeCastStatus,
  normalizeCookStatus,
  normalizeDeliveryStatus,
  normalizeGenerationStatus,
  TERMINAL_GENERATION_STATUSES,
} from '../../src/domain/status.js';

describe('status vocabularies', () => {
  it.each([
    ['success', 'success'],
    ['completed', 'success'],
    ['succeeded', 'success'],
    ['error', 'failed'],
    ['failed', 'failed'],
    ['cancelled', 'cancelled_by_user'],
    ['cancelled_by_user', 'cancelled_by_user'],
    ['queued', 'pending'],
    ['pending', 'pending'],
    ['running', 'processing'],
    ['in_progress', 'processing'],
    ['processing', 'processing'],
    ['timeout', 'timeout'],
    [' Completed ', 'success'],
    ['nonsense', null],
    [42, null],
    [null, null],
  ])('reads the generation status word %j as %j', (word, canonical) => {
    expect(normalizeGenerationStatus(word)).toBe(canonical);
  });

  it('flags legacy words, not canonical ones', () => {
    expect(isLegacyGenerationStatusWord('completed')).toBe(true);
    expect(isLegacyGenerationStatusWord('success')).toBe(false);
    expect(isLegacyGenerationStatusWord('nonsense')).toBe(false);
  });

  it.each([
    ['skipped', 'skipped'],
    ['pending', 'pending'],
    ['sent', 'sent'],
    ['dropped', 'dropped'],
    ['failed', 'dropped'],
    ['other', null],
  ])('reads the delivery word %j as %j', (word, canonical) => {
    expect(normalizeDeliveryStatus(word)).toBe(canonical);
  });

  it('reads parent status words, legacy included', () => {
    expect(normalizeCastStatus('success')).toBe('completed');
    expect(normalizeCastStatus('in_progress')).toBe('running');
    expect(normalizeCastStatus('paused')).toBeNull();
    expect(normalizeCookStatus('paused')).toBe('paused');
    expect(normalizeCookStatus('canceled')).toBe('cancelled');
  });

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
