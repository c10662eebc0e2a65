/**
 * genledger/mongo's change feed on the mingo-backed fake Db, whose `hello`, oplog and change
 * streams are EMULATED (test/mongo/fake-change-stream.ts): which way the feed reads changes and the
 * one fallback warning; what a notice carries; resuming by position, after a dropped stream, and
 * from a position the oplog no longer reaches; and what polling guarantees (equal timestamps,
 * writers with late clocks, no repeats) and what it does not (a write further behind than the
 * overlap). The conformance suite's change-feed part runs in test/adapters/mongo-mingo.test.ts.
 */
import { ObjectId, type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { mongoRepository, type MongoRepositoryOptions } from '../../adapters/mongo/index.js';
import { ConflictError, RepositoryError } from '../../src/errors.js';
import type { ChangeNotice, ChangeSubscription } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { recordingLogger } from './conformance-target.js';
import { FakeDb } from './fake-db.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface Listener {
  readonly notices: ChangeNotice[];
  readonly errors: unknown[];
  readonly subscription: ChangeSubscription;
}

async function listen(repository: ReturnType<typeof mongoRepository>, after?: string): Promise<Listener> {
  const notices: ChangeNotice[] = [];
  const errors: unknown[] = [];
  const subscription = await repository.changes.subscribe({ after, onChange: (notice) => notices.push(notice), onError: (error) => errors.push(error) });
  return { notices, errors, subscription };
}

const FALLBACK = 'MongoDB change streams need a replica set';
const brief = (notices: readonly ChangeNotice[]) => notices.map(({ kind, id, version }) => `${kind}:${id}@${version}`);
const at = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms);

function setup(topology: 'standalone' | 'replicaSet' | 'sharded', options: MongoRepositoryOptions = {}, fakeOptions: { oplogSize?: number } = {}) {
  const fake = new FakeDb({ topology, ...fakeOptions });
  const logger = recordingLogger();
  const repository = mongoRepository(fake.asDb(), { logger, ...options, changeFeed: { reconnectDelayMs: 2, pollIntervalMs: 2, ...options.changeFeed } });
  return { fake, logger, repository };
}

describe('mongo change feed: which way it reads (emulated servers)', () => {
  it('on a standalone server, auto mode polls and warns once per repository, however many subscribe', async () => {
    const { logger, repository } = setup('standalone');
    expect(await repository.changes.mode()).toBe('polling');
    expect(logger.messages).toEqual([]);
    const first = await listen(repository);
    const second = await listen(repository);
    const warnings = logger.messages.filter((message) => message.includes(FALLBACK));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('a standalone mongod (no replica set)');
    expect(warnings[0]).toContain('changeFeed.pollOverlapMs');
    expect(logger.messages).toHaveLength(1);
    await first.subscription.close();
    await second.subscription.close();
  });

  it('on a replica set member or a mongos, auto mode reads change streams and warns of nothing', async () => {
    for (const topology of ['replicaSet', 'sharded'] as const) {
      const { fake, logger, repository } = setup(topology);
      expect(await repository.changes.mode(), topology).toBe('changeStreams');
      const listener = await listen(repository);
      expect(fake.interruptChangeStreams(), `an emulated change stream is open on the ${topology}`).toBe(1);
      await listener.subscription.close();
      expect(logger.messages.filter((message) => message.includes(FALLBACK))).toEqual([]);
    }
  });

  it("mode 'polling' polls a replica set without a warning; mode 'changeStreams' refuses a standalone server with the server's error", async () => {
    const polling = setup('replicaSet', { changeFeed: { mode: 'polling' } });
    expect(await polling.repository.changes.mode()).toBe('polling');
    const listener = await listen(polling.repository);
    await until(() => polling.fake.feedQueries > 3, 'a few polls');
    expect(polling.fake.interruptChangeStreams()).toBe(0);
    await listener.subscription.close();
    expect(polling.logger.messages).toEqual([]);

    const streams = setup('standalone', { changeFeed: { mode: 'changeStreams' } });
    await expect(listen(streams.repository)).rejects.toMatchObject({ code: 40573 });
  });

  it('a failed hello rejects the subscription and is asked again next time', async () => {
    const fake = new FakeDb({ topology: 'replicaSet' });
    let refusals = 1;
    const flaky = new Proxy(fake, {
      get(target, property, receiver) {
        if (property === 'command') {
          return async (command: Record<string, unknown>) => {
            if (refusals-- > 0) throw new Error('server selection timed out (emulated)');
            return target.command(command);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const repository = mongoRepository(flaky as unknown as Db, { logger: recordingLogger() });
    await expect(listen(repository)).rejects.toThrow('server selection timed out (emulated)');
    const listener = await listen(repository);
    expect(await repository.changes.mode()).toBe('changeStreams');
    await listener.subscription.close();
  });

  it('ensureIndexes() adds the { updatedAt, _id } index its polls read only where the feed polls', async () => {
    const key = (indexes: { key: Record<string, number> }[]) => indexes.filter((index) => JSON.stringify(index.key) === '{"updatedAt":1,"_id":1}').length;
    // Generations, casts, cooks and accounts.
    expect(key(await setup('standalone').repository.ensureIndexes())).toBe(4);
    expect(key(await setup('replicaSet', { changeFeed: { mode: 'polling' } }).repository.ensureIndexes())).toBe(4);
    expect(key(await setup('replicaSet').repository.ensureIndexes())).toBe(0);
  });

  it('refuses a position it did not make, and a position of the other mode, saying so', async () => {
    const { repository } = setup('replicaSet');
    await expect(listen(repository, 'not-a-position')).rejects.toThrow(/starts with neither 'cs:' nor 'poll:'/);
    await expect(listen(repository, 'poll:1..')).rejects.toThrow(/was made by polling, and this feed reads change streams/);
    await expect(listen(repository, 'cs:{oops')).rejects.toThrow(/is not a resume token this feed gave/);
    const polling = setup('standalone');
    await expect(listen(polling.repository, 'cs:{"_data":"82"}')).rejects.toThrow(/was made by a change stream, and this feed reads polling/);
    await expect(listen(polling.repository, 'poll:x.y.z')).rejects.toThrow(/is not a polling position/);
    for (const [feed, after] of [[repository, 'not-a-position'], [repository, 'poll:1..'], [polling.repository, 'cs:{"_data":"82"}']] as const) {
      await expect(listen(feed, after), after).rejects.toMatchObject({ name: 'ConflictError', code: 'CONFLICT', field: 'after' });
    }
  });

  it('watch().ready rejects with typed errors: the server refusing the stream is a RepositoryError (changes.subscribe, the server error as cause); a position it did not make, a ConflictError on after', async () => {
    const quiet = { warn: () => {}, error: () => {} };
    const streams = setup('standalone', { changeFeed: { mode: 'changeStreams' } });
    const errors: unknown[] = [];
    const watch = createTracker({ repository: streams.repository, logger: quiet }).watch({}, { onError: (error) => void errors.push(error) });
    const error = await watch.ready.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RepositoryError);
    expect(error).toMatchObject({ code: 'REPOSITORY_FAILURE', repository: streams.repository.name, operation: 'changes.subscribe', cause: { code: 40573 } });
    expect(errors).toContain(error);
    await watch.close();
    const refused = createTracker({ repository: setup('replicaSet').repository, logger: quiet }).watch({}, { after: 'not-a-position', onError: () => {} });
    const refusal = await refused.ready.catch((caught: unknown) => caught);
    expect(refusal).toBeInstanceOf(ConflictError);
    expect(refusal).toMatchObject({ field: 'after' });
    await refused.close();
  });

  it('refuses options that would make it spin or stall', () => {
    const fake = new FakeDb();
    expect(() => mongoRepository(fake.asDb(), { changeFeed: { pollIntervalMs: 0 } })).toThrow(/options\.changeFeed\.pollIntervalMs: must be a positive number/);
    expect(() => mongoRepository(fake.asDb(), { changeFeed: { mode: 'sometimes' as never } })).toThrow(/options\.changeFeed\.mode: must be/);
  });
});

describe('mongo change feed on change streams (emulated)', () => {
  it('reports genledger writes to its three record collections and its accounts as (kind, string id, version, position), and nothing else', async () => {
    const { fake, repository } = setup('replicaSet');
    const listener = await listen(repository);
    const generation = new ObjectId();
    await fake.collection('generationOutputs').insertOne({ _id: generation, version: 1, updatedAt: at(0) });
    await fake.collection('generationOutputs').updateOne({ _id: generation }, { $set: { version: 2, status: 'processing' } });
    // Another program's write leaves `version` alone: not a genledger change.
    await fake.collection('generationOutputs').updateOne({ _id: generation }, { $set: { note: 'legacy writer' } });
    await fake.collection('casts').insertOne({ _id: 'cast-1', version: 1 });
    await fake.collection('somethingElse').insertOne({ _id: 'x', version: 1 });
    await fake.collection('casts').deleteMany({});
    // A legacy document without a version reads as version 1.
    await fake.collection('cooks').insertOne({ _id: 'cook-1' });
    // An account created empty for a fenced write (version 0) is nothing yet; its first move is.
    await fake.collection('genledgerAccounts').insertOne({ _id: 'account-1', version: 0, updatedAt: null });
    await fake.collection('genledgerAccounts').updateOne({ _id: 'account-1' }, { $set: { version: 1, updatedAt: at(1) } });
    await fake.collection('genledgerAccounts').updateOne({ _id: 'account-1', version: 1 }, { $set: { version: 2, updatedAt: at(2) } });
    await until(() => listener.notices.length >= 6, 'six notices');
    expect(brief(listener.notices)).toEqual([
      `generation:${generation.toHexString()}@1`,
      `generation:${generation.toHexString()}@2`,
      'cast:cast-1@1',
      'cook:cook-1@1',
      'account:account-1@1',
      'account:account-1@2',
    ]);
    for (const notice of listener.notices) expect(notice.position).toMatch(/^cs:\{"_data":"[0-9a-f]+"\}$/);
    await listener.subscription.close();
    expect(listener.errors).toEqual([]);
  });

  it('a subscriber from a position gets exactly the changes after it, none twice', async () => {
    const { fake, repository } = setup('replicaSet');
    const first = await listen(repository);
    for (let version = 1; version <= 3; version += 1) await fake.collection('cooks').insertOne({ _id: `cook-${version}`, version: 1 });
    await until(() => first.notices.length === 3, 'three notices');
    await first.subscription.close();
    const position = first.notices[1]!.position;
    await fake.collection('cooks').updateOne({ _id: 'cook-1' }, { $set: { version: 2 } });
    const resumed = await listen(repository, position);
    await until(() => resumed.notices.length >= 2, 'the changes after the position');
    expect(brief(resumed.notices)).toEqual(['cook:cook-3@1', 'cook:cook-1@2']);
    await resumed.subscription.close();
  });

  it('after its stream is dropped, it resumes after the last change delivered: nothing missed, nothing repeated, one warning', async () => {
    const { fake, logger, repository } = setup('replicaSet');
    const listener = await listen(repository);
    await fake.collection('casts').insertOne({ _id: 'a', version: 1 });
    await until(() => listener.notices.length === 1, 'the first notice');
    expect(fake.interruptChangeStreams()).toBe(1);
    // Written while no stream is open.
    await fake.collection('casts').insertOne({ _id: 'b', version: 1 });
    await fake.collection('casts').updateOne({ _id: 'a' }, { $set: { version: 2 } });
    await until(() => listener.notices.length >= 3, 'the changes made while disconnected');
    await fake.collection('casts').insertOne({ _id: 'c', version: 1 });
    await until(() => listener.notices.length >= 4, 'a change after the reconnect');
    expect(brief(listener.notices)).toEqual(['cast:a@1', 'cast:b@1', 'cast:a@2', 'cast:c@1']);
    expect(logger.messages.filter((message) => message.includes('the change stream failed (connection closed (emulated'))).toHaveLength(1);
    expect(listener.errors).toEqual([]);
    await listener.subscription.close();
  });

  it('a position the oplog no longer reaches is reported through onError, clearly, and the feed goes on from now', async () => {
    const { fake, repository } = setup('replicaSet', {}, { oplogSize: 3 });
    const first = await listen(repository);
    await fake.collection('cooks').insertOne({ _id: 'old', version: 1 });
    await until(() => first.notices.length === 1, 'a position');
    await first.subscription.close();
    for (let index = 0; index < 10; index += 1) await fake.collection('cooks').insertOne({ _id: `missed-${index}`, version: 1 });
    const resumed = await listen(repository, first.notices[0]!.position);
    expect(resumed.errors).toHaveLength(1);
    expect(String(resumed.errors[0])).toMatch(/cannot resume after position "cs:.*": the server's oplog no longer reaches back that far/);
    expect((resumed.errors[0] as Error).cause).toMatchObject({ code: 286 });
    await fake.collection('cooks').insertOne({ _id: 'new', version: 1 });
    await until(() => resumed.notices.length >= 1, 'a change after the loss');
    expect(brief(resumed.notices)).toEqual(['cook:new@1']);
    await resumed.subscription.close();
  });

  it('a subscriber whose onChange throws is told through onError, and the feed goes on', async () => {
    const { fake, repository } = setup('replicaSet');
    const seen: string[] = [];
    const errors: unknown[] = [];
    const subscription = await repository.changes.subscribe({
      onChange(notice) {
        seen.push(notice.id);
        if (notice.id === 'bad') throw new Error('listener bug');
      },
      onError: (error) => errors.push(error),
    });
    await fake.collection('casts').insertOne({ _id: 'bad', version: 1 });
    await fake.collection('casts').insertOne({ _id: 'good', version: 1 });
    await until(() => seen.length === 2, 'both notices');
    expect(seen).toEqual(['bad', 'good']);
    expect(String(errors[0])).toContain(`onChange threw on cast "bad" version 1`);
    await subscription.close();
  });

  it('close() closes its stream and delivers nothing more', async () => {
    const { fake, repository } = setup('replicaSet');
    const listener = await listen(repository);
    await listener.subscription.close();
    expect(fake.interruptChangeStreams()).toBe(0);
    await fake.collection('casts').insertOne({ _id: 'late', version: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listener.notices).toEqual([]);
  });
});

describe('mongo change feed by polling (emulated standalone server)', () => {
  it('a subscription from now reports only what is written after it', async () => {
    const { fake, repository } = setup('standalone');
    await fake.collection('casts').insertOne({ _id: 'before', version: 3, updatedAt: at(0) });
    const listener = await listen(repository);
    await fake.collection('casts').insertOne({ _id: 'after', version: 1, updatedAt: at(1) });
    await fake.collection('casts').updateOne({ _id: 'before' }, { $set: { version: 4, updatedAt: at(2) } });
    await until(() => listener.notices.length >= 2, 'two notices');
    expect(brief(listener.notices).sort()).toEqual(['cast:after@1', 'cast:before@4']);
    await listener.subscription.close();
  });

  it('many writes sharing one updatedAt, across batches, are each reported once', async () => {
    const { fake, repository } = setup('standalone', { changeFeed: { pollBatchSize: 2 } });
    const listener = await listen(repository);
    const ids = Array.from({ length: 7 }, (_, index) => `g-${index}`);
    // The first is read (it becomes the newest seen) before the others, with the same updatedAt, land.
    await fake.collection('generationOutputs').insertOne({ _id: ids[0], version: 1, updatedAt: at(5) });
    await until(() => listener.notices.length === 1, 'the first write');
    for (const id of ids.slice(1)) await fake.collection('generationOutputs').insertOne({ _id: id, version: 1, updatedAt: at(5) });
    await until(() => listener.notices.length >= ids.length, 'every write');
    const polls = fake.feedQueries;
    await until(() => fake.feedQueries >= polls + 9, 'three more polls of the three collections');
    expect(brief(listener.notices).sort()).toEqual(ids.map((id) => `generation:${id}@1`));
    await listener.subscription.close();
  });

  it('a write from a process whose clock is behind is reported while within pollOverlapMs of the newest seen; one further behind is not (the documented limit)', async () => {
    const { fake, repository } = setup('standalone', { changeFeed: { pollOverlapMs: 1000 } });
    const listener = await listen(repository);
    await fake.collection('cooks').insertOne({ _id: 'ahead', version: 1, updatedAt: at(10_000) });
    await until(() => listener.notices.length === 1, 'the newest write');
    await fake.collection('cooks').insertOne({ _id: 'late-clock', version: 1, updatedAt: at(9_200) });
    await fake.collection('cooks').insertOne({ _id: 'too-late', version: 1, updatedAt: at(8_000) });
    await fake.collection('cooks').insertOne({ _id: 'marker', version: 1, updatedAt: at(10_001) });
    await until(() => listener.notices.some((notice) => notice.id === 'marker'), 'the marker');
    const polls = fake.feedQueries;
    await until(() => fake.feedQueries >= polls + 6, 'two more polls');
    expect(brief(listener.notices).sort()).toEqual(['cook:ahead@1', 'cook:late-clock@1', 'cook:marker@1']);
    await listener.subscription.close();
  });

  it('resumed from a position, it reports every change after it (and may repeat some within the overlap, never fewer)', async () => {
    const { fake, repository } = setup('standalone');
    const first = await listen(repository);
    await fake.collection('casts').insertOne({ _id: 'one', version: 1, updatedAt: at(1) });
    await until(() => first.notices.length === 1, 'a position');
    await first.subscription.close();
    expect(first.notices[0]!.position).toMatch(/^poll:\.\d+\.\.$/);
    await fake.collection('casts').insertOne({ _id: 'two', version: 1, updatedAt: at(2) });
    await fake.collection('generationOutputs').insertOne({ _id: 'three', version: 1, updatedAt: at(3) });
    const resumed = await listen(repository, first.notices[0]!.position);
    await until(() => resumed.notices.length >= 2, 'the changes after the position');
    expect(brief(resumed.notices)).toEqual(expect.arrayContaining(['cast:two@1', 'generation:three@1']));
    await resumed.subscription.close();
  });

  it('reports account writes, and resumed from a position of an earlier version (no accounts named) reads every account once', async () => {
    const { fake, repository } = setup('standalone');
    const first = await listen(repository);
    await fake.collection('genledgerAccounts').insertOne({ _id: 'account-a', version: 0, updatedAt: null });
    await fake.collection('genledgerAccounts').updateOne({ _id: 'account-a' }, { $set: { version: 1, updatedAt: at(1) } });
    await fake.collection('casts').insertOne({ _id: 'cast-a', version: 1, updatedAt: at(2) });
    await until(() => first.notices.length === 2, 'the account and the cast');
    // (In one poll the collections are read one after another, so the order across them is not the write order.)
    expect(brief(first.notices).sort()).toEqual(['account:account-a@1', 'cast:cast-a@1']);
    await first.subscription.close();
    // A position of an earlier version: generations, casts, cooks only.
    const earlier = `poll:.${at(2).getTime()}.`;
    await fake.collection('genledgerAccounts').updateOne({ _id: 'account-a' }, { $set: { version: 2, updatedAt: at(3) } });
    const resumed = await listen(repository, earlier);
    await until(() => resumed.notices.some((notice) => notice.kind === 'account'), 'the account');
    expect(brief(resumed.notices.filter((notice) => notice.kind === 'account'))).toEqual(['account:account-a@2']);
    expect(resumed.notices.at(-1)!.position).toMatch(/^poll:\.\d+\.\.\d+$/);
    await resumed.subscription.close();
  });

  it('after a failed poll it warns and polls again from where it was: nothing missed', async () => {
    const { fake, logger, repository } = setup('standalone');
    const listener = await listen(repository);
    fake.failNextPoll();
    await until(() => !fake.pollFailurePending, 'the failed poll');
    await fake.collection('cooks').insertOne({ _id: 'k', version: 1, updatedAt: at(1) });
    await until(() => listener.notices.length === 1, 'the write after the failure');
    expect(logger.messages.filter((message) => message.includes('polling failed (connection closed (emulated by FakeDb.failNextPoll))'))).toHaveLength(1);
    expect(listener.errors).toEqual([]);
    await listener.subscription.close();
  });
});
