/**
 * The `ids` option: checked to be a function when the tracker is made, and every id a generator
 * returns (the host's, the repository's preferred one, the tracker's own) checked with `idSchema`
 * at creation, before anything is written. The cross-adapter half (nothing stored or attached) is
 * in the conformance suite (part-validation.ts, "ids from the ids option").
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import type { EntityKind } from '../../src/domain/records.js';
import { ValidationError } from '../../src/errors.js';
import type { IdGenerator } from '../../src/port.js';
import { createTracker } from '../../src/tracker/create-tracker.js';

const silent = { warn: () => undefined, error: () => undefined };
const cookInput = { collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 };

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('createTracker({ ids })', () => {
  it.each([
    ['a string', 'cook-1'],
    ['a number', 7],
    ['an object', { next: () => 'id' }],
    ['an array', ['id-1']],
  ])('refuses %s for ids with a ValidationError on options.ids', (_title, ids) => {
    let error: unknown = null;
    try {
      createTracker({ repository: memoryRepository(), ids: ids as unknown as IdGenerator });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('options.ids');
    expect((error as ValidationError).reason).toMatch(/^must be a function/);
  });

  it('refuses a repository whose preferred ids are not a function, on options.repository.ids', () => {
    const repository = { ...memoryRepository(), ids: 'nope' as unknown as IdGenerator };
    expect(() => createTracker({ repository })).toThrow(ValidationError);
    expect(() => createTracker({ repository })).toThrow(/options\.repository\.ids: must be a function/);
    // The host's generator is used instead, so the repository's is not looked at.
    expect(() => createTracker({ repository, ids: () => 'x' })).not.toThrow();
  });

  it.each([
    ['an empty id', '', /the string ""/, /must not be empty/],
    ['a 129-character id', 'c'.repeat(129), /a 129-character string starting "c{20}"/, /at most 128 characters/],
    ['an id with a newline', 'a\nb', /the string "a\\nb"/, /control characters/],
    ['a number', 12, /the number 12/, /expected string/],
    ['null', null, /returned null/, /expected string/],
  ])(
    'a generator returning %s: ValidationError naming options.ids, the value and the kind; no cook stored',
    async (_title, badId, value, rule) => {
      const repository = memoryRepository();
      const tracker = createTracker({ repository, ids: () => badId as string, logger: silent });
      const error = await refusal(tracker.startCook(cookInput));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.field).toBe('options.ids');
      expect(error.reason).toMatch(value);
      expect(error.reason).toMatch(/as the id of a new cook/);
      expect(error.reason).toMatch(rule);
      expect(repository.count()).toEqual({ generations: 0, casts: 0, cooks: 0 });
    },
  );

  it("checks the repository's preferred ids, naming options.repository.ids", async () => {
    const repository = { ...memoryRepository(), ids: (kind: EntityKind) => (kind === 'cook' ? 'cook-1' : '') };
    const tracker = createTracker({ repository, logger: silent });
    const cook = await tracker.startCook(cookInput);
    const error = await refusal(
      tracker.recordGeneration({ masterAccountId: 'a', toolId: 't', toolDisplayName: 'T', serviceName: 's', cookId: cook.id }),
    );
    expect(error.field).toBe('options.repository.ids');
    expect(error.reason).toMatch(/as the id of a new generation/);
    expect((await tracker.getCook(cook.id))!.inFlightCount).toBe(0);
    expect(repository.count()).toEqual({ generations: 0, casts: 0, cooks: 1 });
  });

  it('accepts every id idSchema accepts, surrogate pairs and 128 characters included, and calls the generator once per creation', async () => {
    const given = ['cook-\u{1F600}', 'x'.repeat(128), 'ünïcödé id'];
    const calls: EntityKind[] = [];
    const tracker = createTracker({
      repository: memoryRepository(),
      ids: (kind) => {
        calls.push(kind);
        return given[calls.length - 1]!;
      },
    });
    for (const id of given) expect((await tracker.startCook(cookInput)).id).toBe(id);
    expect(calls).toEqual(['cook', 'cook', 'cook']);
  });

  it("the tracker's own ids pass", async () => {
    const tracker = createTracker({ repository: memoryRepository() });
    expect((await tracker.startCook(cookInput)).id).toMatch(/^[0-9a-f]{24}$/);
  });
});
