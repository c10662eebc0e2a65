/**
 * The price book's index by tool chooses the entry `findPriceEntry` chooses (the service's own,
 * else the tool's entry for every service), and follows every replacement of the table.
 */
import { describe, expect, it } from 'vitest';
import { findPriceEntry, priceUsage, type PriceTableInput } from '../../src/domain/pricing.js';
import { PriceBook, parsePriceTable } from '../../src/tracker/price-book.js';

const FROM = new Date('2026-01-01T00:00:00.000Z');
const AT = new Date('2026-02-01T00:00:00.000Z');
const entry = (toolId: string, id: string, price: string, serviceName?: string) => ({
  toolId,
  ...(serviceName === undefined ? {} : { serviceName }),
  versions: [{ id, effectiveFrom: FROM, units: { images: price } }],
});
// Many tools before and after the ones asked for, and a service entry listed before the general one and after.
const TABLE: PriceTableInput = [
  ...Array.from({ length: 500 }, (_unused, index) => entry(`tool-${index}`, `v-${index}`, '0.01')),
  entry('tool-image', 'image-fal', '0.03', 'fal'),
  entry('tool-image', 'image-any', '0.02'),
  entry('tool-image', 'image-replicate', '0.05', 'replicate'),
  ...Array.from({ length: 500 }, (_unused, index) => entry(`tool-late-${index}`, `late-${index}`, '0.04')),
];

describe('PriceBook.price()', () => {
  it('prices from the entry findPriceEntry chooses, for every tool and service, and a tool not in the table is unpriced', () => {
    const table = parsePriceTable(TABLE, 'prices');
    const book = new PriceBook(table, '100');
    const asked: [string, string][] = [
      ['tool-image', 'fal'],
      ['tool-image', 'replicate'],
      ['tool-image', 'openai'],
      ['tool-0', 'fal'],
      ['tool-499', 'x'],
      ['tool-late-499', 'x'],
      ['tool-missing', 'fal'],
    ];
    for (const [toolId, serviceName] of asked) {
      expect(book.price(toolId, serviceName, { images: 3 }, AT)).toEqual(priceUsage(table, toolId, serviceName, { images: 3 }, AT, '100'));
    }
    expect(findPriceEntry(table, 'tool-image', 'openai')?.versions[0]?.id).toBe('image-any');
    expect(book.price('tool-image', 'replicate', { images: 3 }, AT)).toMatchObject({ priced: true, costUsd: '0.15', basis: { versionId: 'image-replicate', serviceName: 'replicate' } });
    expect(book.price('tool-missing', 'fal', { images: 3 }, AT)).toEqual({ priced: false, reason: 'no price for tool "tool-missing"' });
  });

  it('follows replace() and adopt(): a tool the new table drops is unpriced, one it adds is priced', () => {
    const book = new PriceBook(parsePriceTable([entry('tool-a', 'a1', '1')], 'prices'), null);
    expect(book.price('tool-a', 's', { images: 1 }, AT)).toMatchObject({ priced: true, costUsd: '1' });
    book.replace([entry('tool-b', 'b1', '2')], 'prices');
    expect(book.price('tool-a', 's', { images: 1 }, AT)).toMatchObject({ priced: false });
    expect(book.price('tool-b', 's', { images: 1 }, AT)).toMatchObject({ priced: true, costUsd: '2' });
    book.adopt(parsePriceTable([entry('tool-c', 'c1', '3', 's')], 'prices'), 1, FROM);
    expect(book.price('tool-b', 's', { images: 1 }, AT)).toMatchObject({ priced: false });
    expect(book.price('tool-c', 's', { images: 1 }, AT)).toMatchObject({ priced: true, costUsd: '3' });
    expect(book.price('tool-c', 'other', { images: 1 }, AT)).toMatchObject({ priced: false });
  });
});
