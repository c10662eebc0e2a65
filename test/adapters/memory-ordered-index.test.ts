/** The memory store's ordered index (a tool's generations by request time, id) pages as a filter and a sort would. */
import { describe, expect, it } from 'vitest';
import { OrderedIndex } from '../../adapters/memory/ordered-index.js';

describe('OrderedIndex.walk()', () => {
  it('gives the ids in (time, id) order past any position, ascending and descending, with out-of-order and equal times', () => {
    const index = new OrderedIndex();
    const added: { at: number; id: string }[] = [];
    for (let n = 0; n < 300; n += 1) {
      // Times out of order and repeated; ids that do not follow the times.
      const entry = { at: (n * 37) % 50, id: `g${(n * 101) % 300}`.padEnd(5, 'x') };
      added.push(entry);
      index.add('tool', entry.at, entry.id);
    }
    index.add('other', 1, 'o1');
    const ascending = [...added].sort((left, right) => left.at - right.at || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    const walk = (order: 'asc' | 'desc', after: { at: number; id: string } | null, limit: number) => {
      const ids: string[] = [];
      index.walk('tool', order, after, (id) => (ids.push(id), ids.length < limit));
      return ids;
    };
    expect(walk('asc', null, 1_000)).toEqual(ascending.map((entry) => entry.id));
    expect(walk('desc', null, 1_000)).toEqual([...ascending].reverse().map((entry) => entry.id));
    for (const position of [ascending[0]!, ascending[150]!, ascending[299]!, { at: 25, id: '' }, { at: 25, id: 'zzz' }, { at: -1, id: '' }, { at: 99, id: '' }]) {
      const later = ascending.filter((entry) => entry.at > position.at || (entry.at === position.at && entry.id > position.id));
      const earlier = ascending.filter((entry) => entry.at < position.at || (entry.at === position.at && entry.id < position.id)).reverse();
      expect(walk('asc', position, 7)).toEqual(later.slice(0, 7).map((entry) => entry.id));
      expect(walk('desc', position, 7)).toEqual(earlier.slice(0, 7).map((entry) => entry.id));
    }
    const none: string[] = [];
    index.walk('missing', 'asc', null, (id) => (none.push(id), true));
    expect(none).toEqual([]);
  });
});
