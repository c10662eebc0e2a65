/**
 * The fake Db's own promises, so that what it checks can be trusted: it refuses what a server
 * refuses, and its decimal operators are exact. (It stays a model of MongoDB, not a server.)
 */
import { Decimal128, MongoBulkWriteError, MongoServerError, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { FakeDb, InjectedWriteFault } from './fake-db.js';

describe('the mingo-backed fake Db', () => {
  it('refuses $inc on a null field, as MongoDB does (how production lost every cast cost)', async () => {
    const casts = new FakeDb().collection('casts');
    await casts.insertOne({ _id: 'cast-1', costUsd: null });
    const error = await casts.updateOne({ _id: 'cast-1' }, { $inc: { costUsd: 0.1 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(14);
    expect((await casts.findOne({ _id: 'cast-1' }))!.costUsd).toBeNull();
  });

  it('adds Decimal128 exactly inside a pipeline, and converts legacy values as documented', async () => {
    const casts = new FakeDb().collection('casts');
    await casts.insertMany([
      { _id: 'a', costUsd: Decimal128.fromString('0.1') },
      { _id: 'b', costUsd: 0.1 + 0.2 },
      { _id: 'c', costUsd: null },
      { _id: 'd', costUsd: 'junk' },
    ]);
    const add = [{ $set: { costUsd: { $add: [{ $convert: { input: '$costUsd', to: 'decimal', onError: Decimal128.fromString('0'), onNull: Decimal128.fromString('0') } }, { $literal: Decimal128.fromString('0.2') }] } } }];
    for (const id of ['a', 'b', 'c', 'd']) await casts.updateOne({ _id: id }, add);
    const costs = (await casts.find({}).toArray()).map((document) => [document._id, String(document.costUsd)]);
    expect(costs).toEqual([['a', '0.3'], ['b', '0.500000000000000'], ['c', '0.2'], ['d', '0.2']]);
  });

  it('raises E11000 with the key pattern for _id and for a unique partial index, and ignores documents outside the partial filter', async () => {
    const generations = new FakeDb().collection('generationOutputs');
    await generations.createIndex({ idempotencyKey: 1 }, { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } });
    const id = new ObjectId();
    await generations.insertOne({ _id: id, idempotencyKey: 'k' });
    await generations.insertOne({ _id: new ObjectId(), idempotencyKey: null });
    await generations.insertOne({ _id: new ObjectId(), idempotencyKey: null });
    const byKey = await generations.insertOne({ _id: new ObjectId(), idempotencyKey: 'k' }).catch((caught: unknown) => caught);
    expect(byKey).toMatchObject({ code: 11000, keyPattern: { idempotencyKey: 1 } });
    const byId = await generations.insertOne({ _id: id }).catch((caught: unknown) => caught);
    expect(byId).toMatchObject({ code: 11000, keyPattern: { _id: 1 } });
    expect(await generations.countDocuments({})).toBe(3);
  });

  it('runs an unordered insertMany as the driver does: every document tried, the duplicates reported together in one MongoBulkWriteError', async () => {
    const db = new FakeDb();
    const entries = db.collection('ledgerEntries');
    await entries.insertOne({ _id: 'b' });
    await entries.insertOne({ _id: 'd' });
    db.failWrite({ nth: null, moment: 'before' });
    const error = await entries.insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }, { _id: 'd' }, { _id: 'e' }], { ordered: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    expect((error as MongoBulkWriteError).code).toBe(11000);
    expect((error as MongoBulkWriteError).writeErrors).toMatchObject([
      { code: 11000, index: 1 },
      { code: 11000, index: 3 },
    ]);
    // Past the duplicates, the rest landed: one command, counted as one write.
    expect((await entries.find({}).toArray()).map((document) => document._id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(db.writeCount).toBe(1);
    // Ordered (the default) stops at the first duplicate.
    const ordered = await entries.insertMany([{ _id: 'f' }, { _id: 'a' }, { _id: 'g' }]).catch((caught: unknown) => caught);
    expect(ordered).toMatchObject({ code: 11000 });
    expect(await entries.countDocuments({ _id: { $in: ['f', 'g'] } })).toBe(1);
  });

  it('brackets types in range queries: null is never $lt a date', async () => {
    const generations = new FakeDb().collection('generationOutputs');
    await generations.insertMany([{ _id: 'dated', updatedAt: new Date(0) }, { _id: 'null', updatedAt: null }, { _id: 'missing' }]);
    expect((await generations.find({ updatedAt: { $lt: new Date() } }).toArray()).map((document) => document._id)).toEqual(['dated']);
  });

  it('refuses update documents a server refuses', async () => {
    const casts = new FakeDb().collection('casts');
    await casts.insertOne({ _id: 'x' });
    await expect(casts.updateOne({ _id: 'x' }, { status: 'running' })).rejects.toMatchObject({ code: 9 });
    await expect(casts.updateOne({ _id: 'x' }, [{ $match: {} }])).rejects.toMatchObject({ code: 40324 });
    await expect(casts.updateOne({ _id: 'x' }, [{ $set: { _id: 'y' } }])).rejects.toMatchObject({ code: 66 });
  });

  it('emulates change streams over its own writes: events in write order with ordered tokens, none for a no-op update, resumable after a token', async () => {
    const fake = new FakeDb({ topology: 'replicaSet' });
    const stream = fake.watch([{ $match: { 'ns.coll': 'casts' } }]);
    expect(await stream.tryNext()).toBeNull();
    const casts = fake.collection('casts');
    await casts.insertOne({ _id: 'x', version: 1 });
    await fake.collection('cooks').insertOne({ _id: 'other' });
    await casts.updateOne({ _id: 'x' }, { $set: { version: 1 } });
    await casts.updateOne({ _id: 'x' }, { $set: { version: 2 }, $unset: { missing: '' } });
    await casts.deleteMany({});
    const events = [await stream.next(), await stream.next(), await stream.next()];
    expect(events.map((event) => event.operationType)).toEqual(['insert', 'update', 'delete']);
    expect(events[1]).toMatchObject({ ns: { db: 'genledger-fake', coll: 'casts' }, documentKey: { _id: 'x' }, updateDescription: { updatedFields: { version: 2 }, removedFields: [] } });
    const tokens = events.map((event) => (event._id as { _data: string })._data);
    expect([...tokens].sort()).toEqual(tokens);
    await stream.close();
    const resumed = fake.watch([{ $match: { 'ns.coll': 'casts' } }], { resumeAfter: events[0]!._id });
    expect((await resumed.next()).operationType).toBe('update');
    await resumed.close();
  });

  it('refuses what a server refuses of change streams: a standalone server, a pipeline that alters _id', async () => {
    await expect(new FakeDb({ topology: 'standalone' }).watch().tryNext()).rejects.toMatchObject({ code: 40573 });
    const fake = new FakeDb({ topology: 'replicaSet' });
    const stream = fake.watch([{ $project: { _id: 0 } }]);
    await stream.tryNext();
    await fake.collection('casts').insertOne({ _id: 'x' });
    await expect(stream.next()).rejects.toMatchObject({ code: 280 });
  });

  it('evaluates $$NOW at its controllable server clock, in filters ($expr) and in update pipelines, for leases and fences', async () => {
    let now = new Date('2026-01-01T00:00:00.000Z');
    const fake = new FakeDb({ serverClock: () => now });
    const cooks = fake.collection('cooks');
    await cooks.insertOne({ _id: 'cook-1', until: new Date('2026-01-01T00:00:10.000Z'), n: 0 });
    const fenced = { _id: 'cook-1', $expr: { $lt: ['$$NOW', '$until'] } };
    const stamp = [{ $set: { n: { $add: ['$n', 1] }, at: '$$NOW' } }];
    expect(await cooks.findOneAndUpdate(fenced, stamp, { returnDocument: 'after' })).toMatchObject({ n: 1, at: now });
    now = new Date('2026-01-01T00:00:10.000Z');
    // The lease has passed on the server's clock, whatever the machine's says.
    expect(await cooks.findOneAndUpdate(fenced, stamp)).toBeNull();
    expect(await cooks.countDocuments({ $expr: { $gte: ['$$NOW', '$until'] } })).toBe(1);
    expect((await fake.command({ hello: 1 })).localTime).toEqual(now);
    fake.setServerClock(null);
    expect(await cooks.findOne({ $expr: { $lt: ['$$NOW', '$until'] } })).toBeNull();
  });

  it('fails the Nth driver write once, before it reaches the data or after it landed', async () => {
    const fake = new FakeDb();
    const casts = fake.collection('casts');
    fake.failWrite({ nth: 2, moment: 'before' });
    await casts.insertOne({ _id: 'a', n: 0 });
    await expect(casts.updateOne({ _id: 'a' }, { $inc: { n: 1 } })).rejects.toBeInstanceOf(InjectedWriteFault);
    expect((await casts.findOne({ _id: 'a' }))!.n).toBe(0);
    await casts.updateOne({ _id: 'a' }, { $inc: { n: 1 } });
    fake.failWrite({ nth: 1, moment: 'after' });
    await expect(casts.findOneAndUpdate({ _id: 'a' }, { $inc: { n: 1 } })).rejects.toMatchObject({ operation: 'casts.findOneAndUpdate', moment: 'after' });
    expect((await casts.findOne({ _id: 'a' }))!.n).toBe(2);
    expect(fake.writeCount).toBe(1);
    expect(fake.firedWriteFault).toMatchObject({ write: 1 });
  });
});
