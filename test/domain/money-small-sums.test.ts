/**
 * `addCanonicalUsd` adds small amounts with integer arithmetic in doubles; it must give exactly
 * what the bigint path gives, for every pair of canonical amounts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addCanonicalUsd, formatUsdUnits, parseUsdUnits } from '../../src/domain/money.js';

const bigintSum = (left: string, right: string) => formatUsdUnits(parseUsdUnits(left) + parseUsdUnits(right));

// Canonical amounts of every size: up to 20 integer digits and 18 fraction digits, so both the
// double path and the bigint fallback (beyond 15 digits at the common scale) are exercised.
const amount = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 18 }), fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }))
  .map(([whole, digits, fraction]) => formatUsdUnits(whole * 10n ** 18n + (digits === 0 ? 0n : (fraction % 10n ** BigInt(digits)) * 10n ** BigInt(18 - digits))));
const small = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 99_999_999 })).map(([whole, digits, fraction]) =>
  formatUsdUnits(BigInt(whole) * 10n ** 18n + (digits === 0 ? 0n : BigInt(fraction % 10 ** digits) * 10n ** BigInt(18 - digits))),
);

describe('addCanonicalUsd', () => {
  it.each([
    ['0.0185', '0.0185', '0.037'],
    ['0.1', '0.2', '0.3'],
    ['0.5', '0.5', '1'],
    ['999999999999999', '1', '1000000000000000'],
    ['0.000000000000000001', '0.999999999999999999', '1'],
    ['123456789012345', '0.1', '123456789012345.1'],
    ['1.05', '2.95', '4'],
  ])('%s + %s = %s', (left, right, sum) => {
    expect(addCanonicalUsd(left, right)).toBe(sum);
    expect(addCanonicalUsd(right, left)).toBe(sum);
  });

  it('equals the bigint sum for any two canonical amounts', () => {
    fc.assert(
      fc.property(amount, amount, (left, right) => {
        expect(addCanonicalUsd(left, right)).toBe(bigintSum(left, right));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(small, small, (left, right) => {
        expect(addCanonicalUsd(left, right)).toBe(bigintSum(left, right));
      }),
      { numRuns: 20_000 },
    );
  });

  it('sums 100,000 costs of 0.0185 one at a time, as a running total does, to exactly 1850', () => {
    let total = '0';
    for (let index = 0; index < 100_000; index += 1) total = addCanonicalUsd(total, '0.0185');
    expect(total).toBe('1850');
  });
});
