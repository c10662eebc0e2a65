/**
 * The price table's schema tells a host what is wrong with a price, as docs/pricing.md promises,
 * and a parsed table's storable form parses back to the same table.
 */
import { describe, expect, it } from 'vitest';
import { createTracker, priceTableSchema, priceUsage, ValidationError } from '../../src/index.js';
import { readStoredCostProvenance, reviveStoredPriceTable, storablePriceTable } from '../../src/adapter.js';
import { memoryRepository } from '../../adapters/memory/index.js';
import { PRICES } from '../../src/conformance/part-pricing.js';

const withUnits = (units: unknown) => [{ toolId: 't', versions: [{ id: 'v', effectiveFrom: new Date('2026-01-01Z'), units }] }];

describe('price table schema', () => {
  it.each([
    [{ inputTokens: 0.000003 }, 'options.prices.0.versions.0.units.inputTokens', 'must be a decimal string like "0.000003"'],
    [{ images: null }, 'options.prices.0.versions.0.units.images', 'must be a decimal string like "0.000003"'],
    [{ inputTokens: '0.0000000000000000001' }, 'options.prices.0.versions.0.units.inputTokens', 'has more than 18 fraction digits'],
    [{ images: { tiers: [{ upTo: 10, usd: '0.04' }, { upTo: 5, usd: '0.03' }, { upTo: null, usd: '0.02' }] } }, 'options.prices.0.versions.0.units.images.tiers.1.upTo', "must be greater than the previous tier's upTo"],
    [{ images: { tiers: [{ upTo: 10, usd: '0.04' }, { upTo: 20, usd: '0.03' }] } }, 'options.prices.0.versions.0.units.images.tiers.1.upTo', 'must be null on the last tier'],
    [{ images: { tiers: [{ upTo: null, usd: 0.04 }] } }, 'options.prices.0.versions.0.units.images.tiers.0.usd', 'must be a decimal string like "0.000003"'],
  ])('a unit price %j is a ValidationError on %s saying what is wrong', (units, field, reason) => {
    const error = (() => {
      try {
        createTracker({ repository: memoryRepository(), prices: withUnits(units) as never });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).reason).toContain(reason);
  });

  it('storablePriceTable() of a parsed table parses back to the same table, through JSON too (dates revived)', () => {
    const parsed = priceTableSchema.parse(PRICES);
    const storable = storablePriceTable(parsed);
    expect(priceTableSchema.parse(storable)).toEqual(parsed);
    expect(priceTableSchema.parse(reviveStoredPriceTable(JSON.parse(JSON.stringify(storable))))).toEqual(parsed);
    expect(JSON.stringify(storablePriceTable(priceTableSchema.parse(storable)))).toBe(JSON.stringify(storable));
  });
});

describe('priceUsage (the table compiled once, then priced from)', () => {
  const at = new Date('2026-02-01Z');
  const table = priceTableSchema.parse([
    {
      toolId: 't',
      versions: [
        { id: 'old', effectiveFrom: new Date('2026-01-01Z'), units: { images: '0.5' } },
        { id: 'tiered', effectiveFrom: new Date('2026-01-15Z'), units: { images: { tiers: [{ upTo: 2, usd: '0.04' }, { upTo: null, usd: '0.03' }] }, steps: '0.1' }, pointsPerUsd: '100' },
      ],
    },
  ]);

  it('a unit named like an Object.prototype member is unpriced, not a crash', () => {
    for (const unit of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(priceUsage(table, 't', 's', { [unit]: 1 }, at)).toEqual({ priced: false, reason: `price version "tiered" does not price unit "${unit}"` });
    }
  });

  it('names the first unpriced unit by name, whatever order the usage lists them in', () => {
    expect(priceUsage(table, 't', 's', { zeta: 1, images: 1, alpha: 2 }, at)).toEqual({ priced: false, reason: 'price version "tiered" does not price unit "alpha"' });
  });

  it('lines come in unit-name order with their bands, the points derived with the version\'s rate, everything frozen and the date its own', () => {
    const priced = priceUsage(table, 't', 's', { steps: 3, images: 5 }, at, '1000');
    expect(priced).toEqual({
      priced: true,
      costUsd: '0.47',
      pointsSpent: 47,
      basis: {
        toolId: 't',
        serviceName: null,
        versionId: 'tiered',
        effectiveFrom: new Date('2026-01-15Z'),
        lines: [
          { unit: 'images', quantity: 5, bands: [{ quantity: 2, unitPriceUsd: '0.04', amountUsd: '0.08' }, { quantity: 3, unitPriceUsd: '0.03', amountUsd: '0.09' }], amountUsd: '0.17' },
          { unit: 'steps', quantity: 3, bands: [{ quantity: 3, unitPriceUsd: '0.1', amountUsd: '0.3' }], amountUsd: '0.3' },
        ],
        pointsPerUsd: '100',
      },
    });
    if (!priced.priced) throw new Error('unreachable');
    const { basis } = priced;
    expect([basis, basis.lines, ...basis.lines, ...basis.lines.map((line) => line.bands), ...basis.lines.flatMap((line) => line.bands)].every(Object.isFrozen)).toBe(true);
    expect(basis.effectiveFrom).not.toBe(table[0]!.versions[1]!.effectiveFrom);
    // The version before has no rate: the caller's is used, and named.
    expect(priceUsage(table, 't', 's', { images: 3 }, new Date('2026-01-10Z'), '1000')).toMatchObject({ costUsd: '1.5', pointsSpent: 1500, basis: { versionId: 'old', pointsPerUsd: '1000' } });
    expect(priceUsage(table, 't', 's', { images: 3 }, new Date('2026-01-10Z'))).toMatchObject({ pointsSpent: 0, basis: { pointsPerUsd: null } });
  });
});

describe('a backfilled provenance read back from JSON (a jsonb column, a file)', () => {
  it('is the same provenance, its instant revived', () => {
    const provenance = {
      source: 'backfilled' as const,
      usage: null,
      basis: null,
      unpricedReason: null,
      original: null,
      adjustments: [],
      backfill: { at: new Date('2026-03-01T00:00:00.000Z'), figures: [{ field: 'costUsd' as const, was: '0.30000000000000004', repair: 'float-cost' }] },
    };
    expect(readStoredCostProvenance(JSON.parse(JSON.stringify(provenance)))).toEqual(provenance);
    expect(readStoredCostProvenance(provenance)).toEqual(provenance);
  });
});
