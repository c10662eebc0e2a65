/**
 * watch() over a store whose reads fail for a while: a change it cannot read yet is read again
 * (back-off from 50 ms doubling to 2 s) until it can be, for as long as the watch is open, with
 * `position` held before it and the delay reported once; close() stops the retries at once. And
 * watch().ready rejects with a typed error whatever the feed throws.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { ConflictError, GenledgerError, RepositoryError, WatchReadDelayedError } from '../../src/errors.js';
import type { LedgerRepository } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';
import { sequentialIds } from '../../src/testing/sequential-ids.js';

const input = { masterAccountId: 'account-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy' };

/** A reader on `store` whose generation reads fail while `state.failing`, counting every read. */
function flakyReader(store: ReturnType<typeof memoryRepository>) {
  const state = { failing: false, reads: 0 };
  const flaky: LedgerRepository = {
    ...store,
    generations: {
      ...store.generations,
      get: (ids) => {
        state.reads += 1;
        return state.failing ? Promise.reject(new Error('connection reset')) : store.generations.get(ids);
      },
    },
  };
  const warnings: string[] = [];
  const reader = createTracker({ repository: flaky, logger: { warn: (message) => void warnings.push(message), error: () => undefined } });
  return { state, reader, warnings };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('watch: reads that fail for a while', () => {
  it('a change whose record cannot be read for seconds reaches the live watch once it can be; position waits for it; the delay is reported once', async () => {
    // Only timers and the clock are faked: the memory feed delivers on microtasks, which run as usual.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const store = memoryRepository();
    const writer = createTracker({ repository: store, ids: sequentialIds(), logger: { warn: () => undefined, error: () => undefined } });
    const { state, reader, warnings } = flakyReader(store);
    const errors: unknown[] = [];
    const watch = reader.watch({}, { onError: (error) => void errors.push(error) });
    const seen: string[] = [];
    watch.on('generationUpdate', ({ generation, change }) => void seen.push(`${generation.id}:${change}`));
    watch.on('cookUpdate', ({ cook }) => void seen.push(cook.id));
    await watch.ready;

    const first = await writer.startCook({ collectionId: 'c', initiatorAccountId: 'account-1', targetSupply: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const beforeFailure = watch.position;
    expect(beforeFailure).not.toBeNull();
    state.failing = true;
    const delayed = await writer.recordGeneration(input);
    await writer.completeGeneration(delayed.id, { status: 'success', costUsd: '0.1' });
    const later = await writer.startCook({ collectionId: 'd', initiatorAccountId: 'account-1', targetSupply: 1 });

    // The retries: 50, 100, 200, 400 ms (the fifth failed read, at 750 ms, reports the delay), then
    // 800, 1600, 2000, 2000, ... ms: past the 0.75 s after which watch() used to give up.
    await vi.advanceTimersByTimeAsync(749);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toHaveLength(1);
    const report = errors[0] as WatchReadDelayedError;
    expect(report).toBeInstanceOf(WatchReadDelayedError);
    expect(report).toBeInstanceOf(RepositoryError);
    expect(report).toMatchObject({
      code: 'REPOSITORY_FAILURE',
      repository: 'memory',
      operation: 'generations.get',
      attempts: 5,
      delayedMs: 750,
    });
    expect(report.change).toMatchObject({ kind: 'generation', id: delayed.id, version: 1 });
    expect((report.cause as Error).message).toBe('connection reset');
    await vi.advanceTimersByTimeAsync(10_000);
    const readsWhileFailing = state.reads;
    // 1 + the reads at 50, 150, 350, 750, 1550, 3150, 5150, 7150, 9150 ms and 11150 ms.
    expect(readsWhileFailing).toBe(10);
    // The later cook arrived meanwhile; the generation did not; the position stayed before it.
    expect(seen).toEqual([first.id, later.id]);
    expect(watch.position).toBe(beforeFailure);
    expect(errors).toHaveLength(1);

    state.failing = false;
    await vi.advanceTimersByTimeAsync(2_000);
    // Read once more, at its next retry: its latest version (finished), the two changes as one.
    expect(seen).toEqual([first.id, later.id, `${delayed.id}:finished`]);
    expect(watch.position).not.toBe(beforeFailure);
    expect(errors).toHaveLength(1);
    expect(warnings).toEqual([
      '[genledger] watch reads the store again: 1 delayed change(s) read, the longest 11150 ms late; nothing was lost',
    ]);
    await watch.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a second spell of failing reads is reported again; reads failing within one spell are reported once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const store = memoryRepository();
    const writer = createTracker({ repository: store, ids: sequentialIds(), logger: { warn: () => undefined, error: () => undefined } });
    const { state, reader } = flakyReader(store);
    const errors: unknown[] = [];
    const watch = reader.watch({}, { onError: (error) => void errors.push(error) });
    const finished = new Set<string>();
    watch.on('generationFinished', ({ generation }) => void finished.add(generation.id));
    await watch.ready;
    const spell = async () => {
      state.failing = true;
      const ids = [];
      for (let index = 0; index < 3; index += 1) {
        const generation = await writer.recordGeneration(input);
        await writer.completeGeneration(generation.id, { status: 'success' });
        ids.push(generation.id);
      }
      await vi.advanceTimersByTimeAsync(3_000);
      state.failing = false;
      await vi.advanceTimersByTimeAsync(2_000);
      return ids;
    };
    const one = await spell();
    expect(errors).toHaveLength(1);
    const two = await spell();
    expect(errors).toHaveLength(2);
    expect([...finished].sort()).toEqual([...one, ...two].sort());
    await watch.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() stops the retries at once: no read after it, no timer left, no unhandled rejection, and the position stays before the change', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = memoryRepository();
      const writer = createTracker({ repository: store, ids: sequentialIds(), logger: { warn: () => undefined, error: () => undefined } });
      const { state, reader } = flakyReader(store);
      const watch = reader.watch({}, { onError: () => undefined });
      await watch.ready;
      await writer.startCook({ collectionId: 'c', initiatorAccountId: 'account-1', targetSupply: 1 });
      await vi.advanceTimersByTimeAsync(0);
      const before = watch.position;
      state.failing = true;
      await writer.recordGeneration(input);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(vi.getTimerCount()).toBe(1);
      const reads = state.reads;
      await watch.close();
      expect(vi.getTimerCount()).toBe(0);
      state.failing = false;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(state.reads).toBe(reads);
      expect(watch.position).toBe(before);
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a read in flight when the watch closes is dropped when it returns: nothing emitted, position unmoved', async () => {
    const store = memoryRepository();
    const writer = createTracker({ repository: store, ids: sequentialIds(), logger: { warn: () => undefined, error: () => undefined } });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const slow: LedgerRepository = {
      ...store,
      generations: { ...store.generations, get: async (ids) => ((reads += 1), await held, store.generations.get(ids)) },
    };
    const watch = createTracker({ repository: slow, logger: { warn: () => undefined, error: () => undefined } }).watch();
    const seen: string[] = [];
    watch.on('generationUpdate', ({ generation }) => void seen.push(generation.id));
    await watch.ready;
    await writer.recordGeneration(input);
    while (reads === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await watch.close();
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    expect(watch.position).toBeNull();
  });
});

describe('watch().ready', () => {
  const feedFailing = (subscribe: () => Promise<never>): LedgerRepository => {
    const store = memoryRepository();
    return { ...store, name: 'flaky-store', changes: { subscribe } };
  };

  it('rejects with a RepositoryError naming the store and the operation, the driver error as cause, also given to onError', async () => {
    const driverError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const errors: unknown[] = [];
    const watch = createTracker({ repository: feedFailing(() => Promise.reject(driverError)) }).watch(
      {},
      { onError: (error) => void errors.push(error) },
    );
    const error = await watch.ready.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RepositoryError);
    expect(error).toMatchObject({
      code: 'REPOSITORY_FAILURE',
      repository: 'flaky-store',
      operation: 'changes.subscribe',
      cause: driverError,
    });
    expect(String(error)).toMatch(/\[flaky-store\] changes\.subscribe failed: connect ECONNREFUSED/);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors).toEqual([error]);
    await watch.close();
  });

  it('a feed that throws instead of rejecting is converted the same way', async () => {
    const thrown = new Error('not connected');
    const watch = createTracker({
      repository: feedFailing(() => {
        throw thrown;
      }),
    }).watch({}, { onError: () => undefined });
    const error = await watch.ready.catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'REPOSITORY_FAILURE', operation: 'changes.subscribe', cause: thrown });
  });

  it("the feed's own GenledgerError passes through unchanged", async () => {
    const refusal = new ConflictError('after', '"x" is not a position this feed gave');
    const watch = createTracker({ repository: feedFailing(() => Promise.reject(refusal)) }).watch({}, { onError: () => undefined });
    expect(await watch.ready.catch((caught: unknown) => caught)).toBe(refusal);
  });

  it('a position the memory feed never gave is a ConflictError on after', async () => {
    for (const after of ['abc', '-1', '99']) {
      const watch = createTracker({ repository: memoryRepository() }).watch({}, { after, onError: () => undefined });
      const error = await watch.ready.catch((caught: unknown) => caught);
      expect(error, after).toBeInstanceOf(GenledgerError);
      expect(error, after).toMatchObject({ code: 'CONFLICT', field: 'after' });
    }
  });
});
