/** The memory store's copy of a cost provenance: equal to the caller's, sharing no object with it, frozen throughout. */
import { describe, expect, it } from 'vitest';
import { snapshotProvenance } from '../../adapters/memory/provenance.js';
import { memoryRepository } from '../../adapters/memory/index.js';
import { createTracker, silentLogger, type CostProvenance } from '../../src/index.js';

const basis = {
  toolId: 'tool-chat',
  serviceName: null,
  versionId: 'chat-v2',
  effectiveFrom: new Date('2026-03-01T00:00:00.000Z'),
  lines: [{ unit: 'images', quantity: 3, bands: [{ quantity: 2, unitPriceUsd: '0.1', amountUsd: '0.2' }, { quantity: 1, unitPriceUsd: '0.05', amountUsd: '0.05' }], amountUsd: '0.25' }],
  pointsPerUsd: '1000',
};
const provenance: CostProvenance = {
  source: 'computed',
  usage: { images: 3 },
  basis,
  unpricedReason: null,
  original: { source: 'computed', costUsd: '0.3', pointsSpent: 300, basis: { ...basis, versionId: 'chat-v1' } },
  adjustments: [{ reason: 'reprice', fromVersionId: 'chat-v1', toVersionId: 'chat-v2', previousCostUsd: '0.3', costUsd: '0.25', deltaUsd: '-0.05', previousPointsSpent: 300, pointsSpent: 250, deltaPoints: -50, at: new Date('2026-04-01T00:00:00.000Z') }],
};

function objectsOf(value: unknown, found: object[] = []): object[] {
  if (value !== null && typeof value === 'object') {
    found.push(value);
    if (!(value instanceof Date)) for (const child of Object.values(value)) objectsOf(child, found);
  }
  return found;
}

describe('snapshotProvenance()', () => {
  it('equals the structuredClone of the provenance, shares no object or Date with it, and every object in it is frozen', () => {
    const copy = snapshotProvenance(provenance);
    expect(copy).toEqual(structuredClone(provenance));
    const theirs = new Set(objectsOf(provenance));
    for (const object of objectsOf(copy)) {
      expect(theirs.has(object)).toBe(false);
      if (!(object instanceof Date)) expect(Object.isFrozen(object)).toBe(true);
    }
    // Frozen on the outside only: still copied.
    expect(snapshotProvenance(Object.freeze({ ...provenance }))).not.toBe(provenance);
    expect(snapshotProvenance(null)).toBeNull();
    expect(snapshotProvenance(undefined)).toBeUndefined();
  });

  it('a backfilled provenance is copied too: its figures and instant are the store\'s own, frozen', () => {
    const backfilled: CostProvenance = {
      source: 'backfilled',
      usage: null,
      basis: null,
      unpricedReason: null,
      original: null,
      adjustments: [],
      backfill: { at: new Date('2026-03-01T00:00:00.000Z'), figures: [{ field: 'costUsd', was: '0.30000000000000004', repair: 'float-cost' }] },
    };
    const copy = snapshotProvenance(backfilled);
    expect(copy).toEqual(structuredClone(backfilled));
    const theirs = new Set(objectsOf(backfilled));
    for (const object of objectsOf(copy)) {
      expect(theirs.has(object)).toBe(false);
      if (!(object instanceof Date)) expect(Object.isFrozen(object)).toBe(true);
    }
    expect(snapshotProvenance(copy)).toBe(copy);
  });

  it('a provenance frozen throughout is kept as it is; the tracker hands the store one, with a Date that is not the price table\'s', async () => {
    const frozen = snapshotProvenance(provenance);
    expect(snapshotProvenance(frozen)).toBe(frozen);
    const effectiveFrom = new Date('2026-01-01T00:00:00.000Z');
    const tracker = createTracker({
      repository: memoryRepository(),
      logger: silentLogger,
      prices: [{ toolId: 'tool-chat', versions: [{ id: 'v1', effectiveFrom, units: { images: '0.1' } }] }],
    });
    const generation = await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', requestTimestamp: new Date('2026-02-01T00:00:00.000Z') });
    const completed = await tracker.completeGeneration(generation.id, { status: 'success', usage: { images: 3 } });
    const stored = completed.costProvenance!;
    for (const object of objectsOf(stored)) if (!(object instanceof Date)) expect(Object.isFrozen(object)).toBe(true);
    expect(stored.basis!.effectiveFrom).toEqual(effectiveFrom);
    expect(stored.basis!.effectiveFrom).not.toBe(effectiveFrom);
    stored.basis!.effectiveFrom.setTime(0);
    const next = await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', requestTimestamp: new Date('2026-02-01T00:00:00.000Z') });
    expect((await tracker.completeGeneration(next.id, { status: 'success', usage: { images: 1 } })).costProvenance!.basis!.effectiveFrom).toEqual(effectiveFrom);
  });
});
