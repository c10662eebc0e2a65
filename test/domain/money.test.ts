import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addCanonicalUsd, addUsd, ceilUnitsTimes, ceilUnitsTimesRate, ceilUsdTimes, compareUsd, formatUsdUnits, parseUsdUnits, reduceRate, sumUsd, toUsdAmount, usdToNumber } from '../../src/domain/money.js';
import { completeGenerationInputSchema } from '../../src/domain/inputs.js';

describe('money', () => {
  it('sums 10,000 costs of 0.0001 to exactly 1', () => {
    expect(sumUsd(Array.from({ length: 10_000 }, () => '0.0001'))).toBe('1');
  });

  it('adds 0.1 and 0.2 to exactly 0.3, from strings or numbers', () => {
    expect(addUsd('0.1', '0.2')).toBe('0.3');
    expect(addUsd(toUsdAmount(0.1), toUsdAmount(0.2))).toBe('0.3');
    expect(0.1 + 0.2).not.toBe(0.3);
  });

  it.each([
    ['0', '0'],
    ['0.10', '0.1'],
    ['007.5000', '7.5'],
    ['1e-7', '0.0000001'],
    ['1.5E3', '1500'],
    ['+2', '2'],
    ['-0', '0'],
    [' 3.25 ', '3.25'],
    ['0.000000000000000001', '0.000000000000000001'],
    ['123456789012345.123456789012345678', '123456789012345.123456789012345678'],
  ])('reads %j as %j', (input, canonical) => {
    expect(toUsdAmount(input)).toBe(canonical);
  });

  it.each([
    [1e-7, '0.0000001'],
    [0.1 + 0.2, '0.3'],
    [0.07 * 3, '0.21'],
    [1.1 * 1.1, '1.21'],
    [12, '12'],
    [0.000123456789012345, '0.000123456789012345'],
    [123456789.123456, '123456789.123456'],
    [1e21, '1000000000000000000000'],
  ])('reads the number %d as the nearest decimal of 15 significant digits, %j', (input, canonical) => {
    expect(toUsdAmount(input)).toBe(canonical);
  });

  it('reads every decimal of up to 15 significant digits given as a number as exactly that decimal', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }), fc.integer({ min: 0, max: 18 }), (digits, scale) => {
        const text = formatUsdUnits(digits * 10n ** BigInt(18 - scale));
        expect(toUsdAmount(Number(text))).toBe(text);
      }),
    );
  });

  it('keeps no state between calls: a formatted negative never passes as a cost', () => {
    expect(formatUsdUnits(-5n * 10n ** 18n)).toBe('-5');
    expect(() => toUsdAmount('-5')).toThrow();
  });

  it.each([['-1'], ['abc'], ['1.2.3'], [''], ['0x10'], ['1e-19'], ['0.0000000000000000001'], ['Infinity'], ['1e500']])('refuses %j', (input) => {
    expect(() => toUsdAmount(input)).toThrow();
  });

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], [-0.5]])('refuses the number %d', (input) => {
    expect(() => toUsdAmount(input)).toThrow();
  });

  it('round-trips every amount of up to 18 fraction digits exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (units) => {
        expect(parseUsdUnits(formatUsdUnits(units))).toBe(units);
      }),
    );
  });

  it('formats every signed number of units as the canonical decimal: dot 18 digits from the right, no trailing zero, no empty fraction', () => {
    // Reference: whole and fraction by bigint division, the fraction padded to 18 digits and its zeros cut.
    const reference = (units: bigint) => {
      const magnitude = units < 0n ? -units : units;
      const fraction = (magnitude % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
      const text = fraction === '' ? `${magnitude / 10n ** 18n}` : `${magnitude / 10n ** 18n}.${fraction}`;
      return units < 0n ? `-${text}` : text;
    };
    const scaled = fc.tuple(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), fc.integer({ min: 0, max: 24 })).map(([digits, zeros]) => digits * 10n ** BigInt(zeros));
    fc.assert(
      fc.property(scaled, (units) => {
        expect(formatUsdUnits(units)).toBe(reference(units));
      }),
      { numRuns: 5_000 },
    );
    for (const [units, text] of [[0n, '0'], [1n, '0.000000000000000001'], [10n ** 18n, '1'], [-(10n ** 17n), '-0.1'], [10n ** 19n + 5n * 10n ** 16n, '10.05'], [10n ** 40n, `1${'0'.repeat(22)}`]] as const) {
      expect(formatUsdUnits(units)).toBe(text);
    }
  });

  it('ceil(amount * rate) through the rate reduced once (lowest terms over 10^36) equals the full product, for any amount and rate', () => {
    const units = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 27n }), fc.integer({ min: 0, max: 20 })).map(([digits, zeros]) => digits * 10n ** BigInt(zeros));
    fc.assert(
      fc.property(units, units, (amount, rate) => {
        expect(ceilUnitsTimesRate(amount, reduceRate(rate))).toBe(ceilUnitsTimes(amount, rate));
      }),
      { numRuns: 5_000 },
    );
    expect(reduceRate(parseUsdUnits('1000'))).toEqual({ multiplier: 1n, divisor: 10n ** 15n });
    expect(ceilUnitsTimesRate(parseUsdUnits('0.0065'), reduceRate(parseUsdUnits('1000')))).toBe(7n);
    expect(ceilUnitsTimesRate(parseUsdUnits('0.006'), reduceRate(parseUsdUnits('1000')))).toBe(6n);
  });

  it('sums are associative and exact for any order', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 24n }), { maxLength: 50 }), (unitsList) => {
        const amounts = unitsList.map(formatUsdUnits);
        const expected = formatUsdUnits(unitsList.reduce((sum, units) => sum + units, 0n));
        expect(sumUsd(amounts)).toBe(expected);
        expect(sumUsd([...amounts].reverse())).toBe(expected);
      }),
    );
  });

  it('compares and converts for display', () => {
    expect(compareUsd('0.1', '0.10')).toBe(0);
    expect(compareUsd('0.1', '0.2')).toBe(-1);
    expect(compareUsd('2', '0.2')).toBe(1);
    expect(usdToNumber('0.0042')).toBe(0.0042);
  });

  it('ceilUsdTimes rounds up exactly', () => {
    expect(ceilUsdTimes('0.0123', '1000')).toBe(13n);
    expect(ceilUsdTimes('0.012', '1000')).toBe(12n);
    expect(ceilUsdTimes('0', '1000')).toBe(0n);
    expect(ceilUsdTimes('0.000000000000000001', '1')).toBe(1n);
  });

  it('a negative amount once formatted is still refused as a cost (the parse cache remembers only amounts a cost may be)', () => {
    expect(formatUsdUnits(-5n * 10n ** 18n)).toBe('-5');
    expect(completeGenerationInputSchema.safeParse({ status: 'success', costUsd: '-5' }).success).toBe(false);
    expect(() => parseUsdUnits('-5')).toThrow();
  });

  it('the small-sum path refuses an empty amount as the exact path does', () => {
    expect(() => addCanonicalUsd('' as never, '1.5')).toThrow();
    expect(() => addCanonicalUsd('' as never, '' as never)).toThrow();
    expect(addCanonicalUsd('0.1', '0.2')).toBe('0.3');
  });
});
