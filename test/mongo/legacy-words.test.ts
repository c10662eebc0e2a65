/**
 * The legacy status words of the production MongoDB documents and their normalisers, as
 * `genledger/mongo/legacy` publishes them; `genledger` itself knows only the canonical words.
 */
import { describe, expect, it } from 'vitest';
import * as root from 'genledger';
import {
  isLegacyGenerationStatusWord,
  LEGACY_DELIVERY_WORDS,
  LEGACY_GENERATION_WORDS,
  LEGACY_PARENT_WORDS,
  normalizeCastStatus,
  normalizeCookStatus,
  normalizeDeliveryStatus,
  normalizeGenerationStatus,
} from 'genledger/mongo/legacy';

describe('legacy status words (genledger/mongo/legacy)', () => {
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
    // Canonical, but not as written: the backfill rewrites it.
    expect(isLegacyGenerationStatusWord('Success')).toBe(true);
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

  it('publishes the legacy words, each with the canonical status it means', () => {
    expect(LEGACY_GENERATION_WORDS).toEqual({
      queued: 'pending',
      running: 'processing',
      in_progress: 'processing',
      completed: 'success',
      succeeded: 'success',
      error: 'failed',
      cancelled: 'cancelled_by_user',
      canceled: 'cancelled_by_user',
    });
    expect(LEGACY_DELIVERY_WORDS).toEqual({ failed: 'dropped' });
    expect(LEGACY_PARENT_WORDS).toEqual({
      pending: 'running',
      processing: 'running',
      in_progress: 'running',
      queued: 'running',
      success: 'completed',
      succeeded: 'completed',
      error: 'failed',
      canceled: 'cancelled',
      cancelled_by_user: 'cancelled',
    });
  });

  it('genledger exports only the canonical vocabulary', () => {
    const names = Object.keys(root);
    expect(names.filter((name) => /legacy|normali[sz]e/i.test(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['GENERATION_STATUSES', 'DELIVERY_STATUSES', 'CAST_STATUSES', 'COOK_STATUSES']));
  });
});
