/**
 * `idAfter` / `idsBeyond` (adapters/mongo/filters.ts): the ids after (or before) a cursor id in the
 * order `sort: { _id: 1 }` uses across BSON types (numbers < strings < ObjectIds), as one filter
 * the fake (mingo) and a server both read. `$gt` alone compares within one type only.
 */
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { idAfter, idsBeyond } from '../../adapters/mongo/filters.js';
import { FakeDb } from './fake-db.js';

describe('MongoDB id order across types', () => {
  it('after a string id: the greater strings and every ObjectId; after an ObjectId: the greater ObjectIds; before: the mirror', async () => {
    const ids = [new ObjectId('000000000000000000000001'), new ObjectId('000000000000000000000002')];
    const collection = new FakeDb().collection('generationOutputs');
    for (const _id of ['a', 'c', ...ids]) await collection.insertOne({ _id });
    const found = async (filter: Record<string, unknown>) => (await collection.find(filter, { sort: { _id: 1 } }).toArray()).map((document) => String(document._id));
    const [first, second] = ids.map(String);
    expect(await found(idAfter('b'))).toEqual(['c', first, second]);
    expect(await found(idAfter(''))).toEqual(['a', 'c', first, second]);
    expect(await found(idAfter(first))).toEqual([second]);
    expect(await found({ $or: idsBeyond('b', -1) })).toEqual(['a']);
    expect(await found({ $or: idsBeyond(ids[1]!, -1) })).toEqual(['a', 'c', first]);
  });
});
