/**
 * The pure legacy rules (adapters/mongo/legacy/repairs.ts, documents.ts, money.ts): what a legacy document
 * reads as, what it lacks, and what the backfill makes of it. No database at all.
 */
import { BSON, Decimal128, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { fromCastDocument, fromCookDocument, fromGenerationDocument, toCastDocument, toCookDocument, toGenerationDocument } from '../../adapters/mongo/documents.js';
import { planGenerationRepair } from 'genledger/mongo/legacy';
import { readUsd } from '../../adapters/mongo/money.js';
import { newCast, newCook, newGeneration } from '../../src/domain/builders.js';
import { buildLegacyDataset, FIXTURE_NOW } from './legacy-fixture.js';

const T0 = new Date('2025-05-01T10:00:00.000Z');
const HOUR = 3_600_000;
const id = ObjectId.createFromHexString('6813a89000000000000000aa');

/** A finished production record with nothing wrong with it. */
function clean(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _id: id,
    masterAccountId: ObjectId.createFromHexString('65f000000000000000000001'),
    serviceName: 'comfyui',
    toolId: 'sdxl',
    toolDisplayName: 'SDXL',
    status: 'success',
    notificationPlatform: 'telegram',
    deliveryStatus: 'sent',
    deliveryTimestamp: new Date(T0.getTime() + 5000),
    requestTimestamp: T0,
    responseTimestamp: new Date(T0.getTime() + 4000),
    durationMs: 4000,
    costUsd: Decimal128.fromString('0.0042'),
    pointsSpent: 5,
    protocolNetPoints: 0,
    metadata: {},
    ...overrides,
  };
}

function without(document: Record<string, unknown>, ...fields: string[]) {
  const copy = { ...document };
  for (const field of fields) delete copy[field];
  return copy;
}

const plan = (document: Record<string, unknown>) => planGenerationRepair(document, { now: FIXTURE_NOW });

describe('reading legacy costs', () => {
  it.each([
    [Decimal128.fromString('0.30'), '0.3'],
    [0.1 + 0.2, '0.3'],
    [0.0042, '0.0042'],
    ['12.125', '12.125'],
    ['1e-3', '0.001'],
    [null, '0'],
    [undefined, '0'],
    [-0.5, '0'],
    ['n/a', '0'],
    [Decimal128.fromString('1E-18'), '0.000000000000000001'],
    [Decimal128.fromString('0.0000000000000000015'), '0.000000000000000002'],
  ])('%s reads as "%s"', (raw, expected) => {
    expect(readUsd(raw)).toBe(expected);
  });
});

describe('records survive the trip to a document and back exactly', () => {
  it('a generation, a cast and a cook with every kind of id', () => {
    const generation = {
      ...newGeneration(
        { masterAccountId: '65f000000000000000000001', toolId: 't', toolDisplayName: 'T ✓', serviceName: 's', requestPayload: { a: [1, 'b', null, { c: true }], big: 12345678901 }, metadata: { k: 'v' } },
        '6813a89000000000000000ab',
        T0,
        { castId: 'cast-readable', cookId: '6813a89000000000000000ac', spellId: 'SPELL-UPPER-000000000000', collectionId: '6813a89000000000000000ad' },
      ),
      costUsd: '123456789.000000000000000001',
    };
    const viaBson = <T>(document: T): T => BSON.deserialize(BSON.serialize(document as BSON.Document)) as T;
    const stored = viaBson(toGenerationDocument(generation));
    expect(stored._id).toBeInstanceOf(ObjectId);
    expect(stored.castId).toBe('cast-readable');
    expect(stored.collectionId).toBe('6813a89000000000000000ad'); // a string, as production stored it
    expect(stored.costUsd).toBeInstanceOf(Decimal128);
    expect(fromGenerationDocument(stored)).toEqual(generation);
    const cast = newCast({ spellId: '6813a89000000000000000ae', initiatorAccountId: 'acct', totalSteps: 2 }, 'cast-1', T0, { id: 'cook-1', collectionId: 'c' });
    expect(fromCastDocument(viaBson(toCastDocument(cast)))).toEqual(cast);
    const cook = newCook({ collectionId: 'c', initiatorAccountId: '65f000000000000000000001', targetSupply: 3 }, '6813a89000000000000000af', T0);
    expect(fromCookDocument(viaBson(toCookDocument(cook)))).toEqual(cook);
  });
});

describe('what a legacy generation lacks, and what it becomes', () => {
  it('a clean record needs nothing', () => {
    expect(plan(clean())).toMatchObject({ problems: [], set: {} });
  });

  it('a finished record without durationMs gets responseTimestamp - requestTimestamp', () => {
    expect(plan(without(clean(), 'durationMs'))).toMatchObject({ problems: ['missing-durationMs'], set: { durationMs: 4000 } });
  });

  it('a finished record without responseTimestamp gets requestTimestamp + durationMs', () => {
    const repair = plan(without(clean(), 'responseTimestamp'));
    expect(repair.problems).toEqual(['terminal-without-responseTimestamp']);
    expect(repair.set).toEqual({ responseTimestamp: new Date(T0.getTime() + 4000) });
  });

  it('legacy status words become canonical; unknown ones become failed', () => {
    expect(plan(clean({ status: 'completed' }))).toMatchObject({ problems: ['legacy-status-word'], set: { status: 'success' } });
    expect(plan(clean({ status: 'error' }))).toMatchObject({ set: { status: 'failed' } });
    expect(plan(clean({ status: 'weird' }))).toMatchObject({ problems: ['unknown-status'], set: { status: 'failed' } });
  });

  it('float, string and null costs become Decimal128', () => {
    const float = plan(clean({ costUsd: 0.1 + 0.2 }));
    expect(float.problems).toEqual(['float-cost']);
    expect(String(float.set.costUsd)).toBe('0.3');
    expect(float.set.costUsd).toBeInstanceOf(Decimal128);
    expect(plan(clean({ costUsd: null })).problems).toEqual(['null-cost']);
    expect(String(plan(without(clean(), 'costUsd')).set.costUsd)).toBe('0');
    expect(String(plan(clean({ costUsd: '0.5' })).set.costUsd)).toBe('0.5');
  });

  it('a finished record whose cost or points the backfill writes carries `backfilled` provenance naming what the legacy record held', () => {
    const backfilled = (figures: unknown[]) => ({ source: 'backfilled', usage: null, basis: null, unpricedReason: null, original: null, adjustments: [], backfill: { at: FIXTURE_NOW, figures } });
    const float = plan(clean({ costUsd: 0.1 + 0.2 }));
    expect(float.repaired.costProvenance).toEqual(backfilled([{ field: 'costUsd', was: '0.30000000000000004', repair: 'float-cost' }]));
    expect(float.set.costProvenance).toEqual(float.repaired.costProvenance);
    expect(plan(without(clean({ pointsSpent: 2.2 }), 'costUsd', 'protocolNetPoints')).repaired.costProvenance).toEqual(
      backfilled([
        { field: 'costUsd', was: 'missing', repair: 'null-cost' },
        { field: 'pointsSpent', was: '2.2', repair: 'missing-points' },
        { field: 'protocolNetPoints', was: 'missing', repair: 'missing-points' },
      ]),
    );
    expect(plan(clean({ costUsd: '12.125' })).repaired.costProvenance?.backfill?.figures).toEqual([{ field: 'costUsd', was: '"12.125"', repair: 'string-cost' }]);
    // Other repairs leave the provenance alone; so does an open record (it gets one when it finishes).
    expect(plan(without(clean(), 'durationMs')).repaired.costProvenance).toBeNull();
    const open = plan({ ...without(clean({ status: 'processing', costUsd: null, updatedAt: FIXTURE_NOW }), 'responseTimestamp', 'durationMs', 'deliveryTimestamp'), deliveryStatus: 'pending' });
    expect(open.problems).toContain('null-cost');
    expect(open.repaired.costProvenance).toBeNull();
    expect(open.set).not.toHaveProperty('costProvenance');
  });

  it('missing points become 0; fractional points spent round up', () => {
    expect(plan(without(clean(), 'pointsSpent'))).toMatchObject({ problems: ['missing-points'], set: { pointsSpent: 0, protocolNetPoints: 0 } });
    expect(plan(clean({ pointsSpent: 2.2 }))).toMatchObject({ set: { pointsSpent: 3 } });
  });

  it('missing toolDisplayName becomes the toolId', () => {
    expect(plan(without(clean(), 'toolDisplayName'))).toMatchObject({ problems: ['missing-toolDisplayName'], set: { toolDisplayName: 'sdxl' } });
  });

  it('delivery: failed becomes dropped; missing is derived, and a finished record with nothing recorded is dropped', () => {
    expect(plan(clean({ deliveryStatus: 'failed' }))).toMatchObject({ problems: ['legacy-delivery-word'], set: { deliveryStatus: 'dropped' } });
    expect(plan(without(clean(), 'deliveryStatus'))).toMatchObject({ set: { deliveryStatus: 'sent' } });
    expect(plan(without(clean({ notificationPlatform: 'none' }), 'deliveryStatus', 'deliveryTimestamp'))).toMatchObject({ set: { deliveryStatus: 'skipped' } });
    expect(plan(without(clean(), 'deliveryStatus', 'deliveryTimestamp'))).toMatchObject({ set: { deliveryStatus: 'dropped' } });
  });

  it('links kept under metadata are lifted to the top level, as ObjectIds', () => {
    const castId = ObjectId.createFromHexString('6813a89000000000000000c1');
    const repair = plan(clean({ metadata: { castId, spell: { _id: '6813a89000000000000000c2' } } }));
    expect(repair.problems).toEqual(['legacy-links']);
    expect(repair.set).toEqual({ castId, spellId: ObjectId.createFromHexString('6813a89000000000000000c2') });
  });

  it('open work idle past the threshold times out now; recent open work is left alone', () => {
    const stuck = { ...without(clean({ status: 'queued', requestTimestamp: new Date(FIXTURE_NOW.getTime() - 30 * HOUR) }), 'responseTimestamp', 'durationMs', 'deliveryTimestamp'), deliveryStatus: 'pending' };
    const repair = plan(stuck);
    expect(repair.problems).toEqual(['legacy-status-word', 'stuck-pending']);
    expect(repair.set).toMatchObject({ status: 'timeout', responseTimestamp: FIXTURE_NOW, durationMs: 30 * HOUR, updatedAt: FIXTURE_NOW, version: 2 });
    expect(repair.set.errorDetails).toMatchObject({ reason: 'stale' });
    const recent = { ...stuck, requestTimestamp: new Date(FIXTURE_NOW.getTime() - HOUR) };
    expect(plan(recent)).toMatchObject({ problems: ['legacy-status-word'], set: { status: 'pending' } });
    expect(planGenerationRepair(recent, { now: FIXTURE_NOW, stuckAfterMs: HOUR / 2 }).problems).toContain('stuck-pending');
  });

  it('on the whole legacy dataset: a repaired record reads as the legacy one did (the two decisions aside), and a repair is final', () => {
    const dataset = buildLegacyDataset();
    let decided = 0;
    for (const document of dataset.generations) {
      const repair = plan(document);
      const repaired = { ...document, ...repair.set };
      const again = plan(repaired);
      expect(again.problems, String(document._id)).toEqual([]);
      expect(fromGenerationDocument(repaired)).toEqual(repair.repaired);
      if (repair.problems.includes('stuck-pending') || repair.repaired.deliveryStatus !== fromGenerationDocument(document).deliveryStatus) {
        decided += 1;
        continue;
      }
      // The figures read the same; a finished record whose cost figures were written says so.
      const costRepaired = repair.problems.some((problem) => ['float-cost', 'null-cost', 'string-cost', 'missing-points'].includes(problem));
      const finished = !['pending', 'processing'].includes(repair.repaired.status);
      expect(fromGenerationDocument(repaired).costProvenance?.source ?? null, String(document._id)).toBe(costRepaired && finished ? 'backfilled' : null);
      expect({ ...fromGenerationDocument(repaired), costProvenance: null }, String(document._id)).toEqual(fromGenerationDocument(document));
    }
    expect(decided).toBeGreaterThan(0);
    expect(decided).toBeLessThan(dataset.generations.length / 2);
  });
});
