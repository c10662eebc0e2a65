/**
 * Oversized inputs are refused through the tracker's whole validation edge (fast path, zod, the JSON
 * walk) in time proportional to the limit, not the input: counted by reads, not timed (timings are
 * noisy). Elements are read through a Proxy and values through getters, which throw past a bound so
 * a walk that reads everything fails fast. Each refusal is the usual ValidationError on the field,
 * and nothing is stored.
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { LIMITS } from '../../src/domain/limits.js';
import { ValidationError } from '../../src/errors.js';
import { createTracker } from '../../src/tracker/create-tracker.js';

const base = { masterAccountId: 'account-1', toolId: 'tool-1', toolDisplayName: 'Tool', serviceName: 'svc' };

function countingArray(length: number, element: unknown, maxReads: number) {
  const counter = { reads: 0 };
  const value = new Proxy(new Array<unknown>(length), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        counter.reads += 1;
        if (counter.reads > maxReads) throw new Error(`read more than ${maxReads} elements`);
        return element;
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { value, counter };
}

function countingObject(keys: number, maxReads: number) {
  const counter = { reads: 0 };
  const get = () => {
    counter.reads += 1;
    if (counter.reads > maxReads) throw new Error(`read more than ${maxReads} values`);
    return 1;
  };
  const descriptors: PropertyDescriptorMap = {};
  for (let index = 0; index < keys; index += 1) descriptors[`k${index}`] = { get, enumerable: true };
  return { value: Object.defineProperties({}, descriptors) as Record<string, unknown>, counter };
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('oversized inputs through the tracker', () => {
  it('a 10,000,000-element requestPayload is refused on input.requestPayload without reading its elements', async () => {
    const repository = memoryRepository();
    const tracker = createTracker({ repository });
    const { value, counter } = countingArray(10_000_000, 1, LIMITS.payloadBytes / 2);
    const error = await refusal(tracker.recordGeneration({ ...base, requestPayload: value as never }));
    expect(error.field).toBe('input.requestPayload');
    expect(error.reason).toBe(`is larger than ${LIMITS.payloadBytes} bytes as JSON`);
    expect(counter.reads).toBe(0);
    expect(repository.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
  });

  it('a 200,000-key metadata object is refused on input.metadata without reading its values', async () => {
    const repository = memoryRepository();
    const tracker = createTracker({ repository });
    const { value, counter } = countingObject(200_000, LIMITS.metadataBytes / 5);
    const error = await refusal(
      tracker.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1, metadata: value as never }),
    );
    expect(error.field).toBe('input.metadata');
    expect(error.reason).toBe(`is larger than ${LIMITS.metadataBytes} bytes as JSON`);
    expect(counter.reads).toBe(0);
    expect(repository.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
  });

  it('10,000,000 artifact URLs, responsePayload and errorDetails are refused without reading their elements', async () => {
    const tracker = createTracker({ repository: memoryRepository() });
    const generation = await tracker.recordGeneration(base);
    for (const [field, input] of [
      ['input.artifactUrls', (value: unknown[]) => ({ status: 'success', artifactUrls: value })],
      ['input.responsePayload', (value: unknown[]) => ({ status: 'success', responsePayload: { images: value } })],
      ['input.errorDetails', (value: unknown[]) => ({ status: 'failed', errorDetails: { trace: value } })],
    ] as const) {
      const { value, counter } = countingArray(10_000_000, 'https://cdn.example/x.png', LIMITS.payloadBytes / 2);
      const error = await refusal(tracker.completeGeneration(generation.id, input(value) as never));
      expect(error.field).toBe(field);
      expect(counter.reads).toBe(0);
    }
    expect((await tracker.getGeneration(generation.id))!.status).toBe('pending');
  });

  it('an id of 10,000,000 characters is refused by its length alone', async () => {
    const tracker = createTracker({ repository: memoryRepository() });
    const error = await refusal(tracker.recordGeneration({ ...base, toolId: `${'t'.repeat(10_000_000)}\n` }));
    // The control-character and U+0000 checks would each add an issue had they read the string.
    expect(error.issues).toEqual([{ field: 'input.toolId', reason: `must be at most ${LIMITS.idLength} characters` }]);
  });
});
