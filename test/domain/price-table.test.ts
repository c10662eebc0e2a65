/**
 * The price table's schema tells a host what is wrong with a price, as docs/pricing.md promises,
 * and a parsed table's storable form parses back to the same table.
 */
import { describe, expect, it } from 'vitest';
import { createTracker, priceTableSchema, ValidationError } from '../../src/index.js';
import { reviveStoredPriceTable, storablePriceTable } from '../../src/adapter.js';
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
