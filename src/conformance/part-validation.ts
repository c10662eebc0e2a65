/**
 * Invalid input to every public method gets a typed error naming the field, and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { createTracker, type Tracker } from '../tracker/create-tracker.js';
import type { EntityKind } from '../domain/records.js';
import { ValidationError } from '../errors.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

interface Fixture {
  readonly cookId: string;
  readonly castId: string;
  readonly generationId: string;
}

interface InvalidCall {
  readonly title: string;
  readonly field: string;
  readonly call: (tracker: Tracker, fixture: Fixture) => Promise<unknown>;
}

const NOT_AN_ID = 42 as unknown as string;

const INVALID_CALLS: readonly InvalidCall[] = [
  { title: 'recordGeneration() without toolDisplayName', field: 'input.toolDisplayName', call: (t) => t.recordGeneration(generationInput({ toolDisplayName: undefined }) as never) },
  { title: 'recordGeneration() with a "$" key in metadata', field: 'input.metadata.$where', call: (t, f) => t.recordGeneration(generationInput({ castId: f.castId, metadata: { $where: 'x' } })) },
  { title: 'recordGeneration() with a dotted key in requestPayload', field: 'input.requestPayload.a.b', call: (t, f) => t.recordGeneration(generationInput({ cookId: f.cookId, requestPayload: { 'a.b': 1 } })) },
  { title: 'recordGeneration() with a __proto__ key', field: 'input.metadata.__proto__', call: (t) => t.recordGeneration(generationInput({ metadata: JSON.parse('{"__proto__": {"admin": true}}') })) },
  { title: 'recordGeneration() with an unknown field', field: 'input', call: (t) => t.recordGeneration(generationInput({ costUSD: 1 })) },
  { title: 'recordGeneration() with an invalid date', field: 'input.requestTimestamp', call: (t) => t.recordGeneration(generationInput({ requestTimestamp: new Date('nope') })) },
  { title: 'recordGeneration() with a requestTimestamp before 1970', field: 'input.requestTimestamp', call: (t) => t.recordGeneration(generationInput({ requestTimestamp: new Date('1969-12-31T23:59:59Z') })) },
  { title: 'completeGeneration() with a responseTimestamp after 9999', field: 'input.responseTimestamp', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', responseTimestamp: new Date(8.64e15) }) },
  { title: 'recordGeneration() with a Date inside a payload', field: 'input.requestPayload.at', call: (t) => t.recordGeneration(generationInput({ requestPayload: { at: new Date() } })) },
  { title: 'recordGeneration() with U+0000 in toolDisplayName', field: 'input.toolDisplayName', call: (t, f) => t.recordGeneration(generationInput({ castId: f.castId, toolDisplayName: 'SD\u0000XL' })) },
  { title: 'recordGeneration() with an unpaired surrogate in a payload string', field: 'input.requestPayload.prompt', call: (t, f) => t.recordGeneration(generationInput({ cookId: f.cookId, requestPayload: { prompt: 'cat \uD83D' } })) },
  { title: 'completeGeneration() with U+0000 in a payload key', field: 'input.responsePayload', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', responsePayload: { 'a\u0000b': 1 } }) },
  { title: 'recordDelivery() with an unpaired surrogate in the error', field: 'input.error', call: (t, f) => t.recordDelivery(f.generationId, { status: 'dropped', error: '\uDC00 lost' }) },
  { title: 'recordGeneration() with an empty castId', field: 'input.castId', call: (t) => t.recordGeneration(generationInput({ castId: '' })) },
  { title: 'completeGeneration() with fractional points', field: 'input.pointsSpent', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', pointsSpent: 1.5 }) },
  { title: 'completeGeneration() with negative points', field: 'input.pointsSpent', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', pointsSpent: -1 }) },
  { title: 'completeGeneration() with NaN cost', field: 'input.costUsd', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', costUsd: Number.NaN }) },
  { title: 'completeGeneration() with a negative cost', field: 'input.costUsd', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', costUsd: '-0.01' }) },
  { title: 'completeGeneration() with a cost of too many digits', field: 'input.costUsd', call: (t, f) => t.completeGeneration(f.generationId, { status: 'success', costUsd: '0.0000000000000000001' }) },
  { title: 'completeGeneration() with a legacy status word', field: 'input.status', call: (t, f) => t.completeGeneration(f.generationId, { status: 'completed' as never }) },
  { title: 'completeGeneration() with a non-terminal status', field: 'input.status', call: (t, f) => t.completeGeneration(f.generationId, { status: 'processing' as never }) },
  { title: 'completeGeneration() with a numeric id', field: 'generationId', call: (t) => t.completeGeneration(NOT_AN_ID, { status: 'success' }) },
  { title: 'reportProgress() above 1', field: 'input.progress', call: (t, f) => t.reportProgress(f.generationId, { progress: 1.5 }) },
  { title: 'reportProgress() with Infinity', field: 'input.progress', call: (t, f) => t.reportProgress(f.generationId, { progress: Number.POSITIVE_INFINITY }) },
  { title: 'recordDelivery() with an unknown outcome', field: 'input.status', call: (t, f) => t.recordDelivery(f.generationId, { status: 'failed' as never }) },
  { title: 'startGeneration() with an id of control characters', field: 'generationId', call: (t) => t.startGeneration('\u0000\u0001') },
  { title: 'startCast() with totalSteps 0', field: 'input.totalSteps', call: (t) => t.startCast({ spellId: 's', initiatorAccountId: 'a', totalSteps: 0 }) },
  { title: 'startCast() with a huge spellId', field: 'input.spellId', call: (t) => t.startCast({ spellId: 'x'.repeat(10_000), initiatorAccountId: 'a' }) },
  { title: 'startCook() with a fractional targetSupply', field: 'input.targetSupply', call: (t) => t.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 2.5 }) },
  { title: 'startCook() with metadata too deep', field: 'input.metadata', call: (t) => t.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1, metadata: deep(40) as never }) },
  { title: 'finishCast() with an object id', field: 'castId', call: (t) => t.finishCast({} as never) },
  { title: 'cancelCook() with an empty id', field: 'cookId', call: (t) => t.cancelCook('') },
  { title: 'pauseCook() with null', field: 'cookId', call: (t) => t.pauseCook(null as never) },
  { title: 'cancelCast() without an id', field: 'castId', call: (t) => t.cancelCast(undefined as never) },
  { title: 'finishCook() with an array id', field: 'cookId', call: (t) => t.finishCook([] as never) },
  { title: 'resumeCook() with a numeric id', field: 'cookId', call: (t) => t.resumeCook(NOT_AN_ID) },
  { title: 'getGeneration() with an object id', field: 'generationId', call: (t) => t.getGeneration({ $ne: null } as never) },
  { title: 'getCast() with a numeric id', field: 'castId', call: (t) => t.getCast(NOT_AN_ID) },
  { title: 'getCook() with an id too long', field: 'cookId', call: (t) => t.getCook('c'.repeat(129)) },
  { title: 'listGenerations() with an operator for castId', field: 'input.castId', call: (t) => t.listGenerations({ castId: { $gt: '' } as never }) },
  { title: 'listGenerations() with limit 0', field: 'input.limit', call: (t) => t.listGenerations({ limit: 0 }) },
  { title: 'listGenerations() with a cursor that is not one', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: 'not-a-cursor' }) },
  { title: 'listGenerations() with a forged cursor holding U+0000 in its id', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(Date.UTC(2024, 0, 1), 'generation-\u00001') }) },
  { title: 'listGenerations() with a forged cursor holding an unpaired surrogate in its id', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(Date.UTC(2024, 0, 1), 'generation-\uD800') }) },
  { title: 'listGenerations() with a forged cursor holding an empty id', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(Date.UTC(2024, 0, 1), '') }) },
  { title: 'listGenerations() with a forged cursor holding an id too long', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(Date.UTC(2024, 0, 1), 'g'.repeat(129)) }) },
  { title: 'listGenerations() with a forged cursor holding a numeric id', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(Date.UTC(2024, 0, 1), 7) }) },
  { title: 'listGenerations() with a forged cursor holding an invalid date', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(8.64e15 + 1, 'generation-1') }) },
  { title: 'listGenerations() with a forged cursor holding a date no store keeps', field: 'input.cursor', call: (t) => t.listGenerations({ cursor: forgedCursor(-8.64e15, 'generation-1') }) },
  { title: 'sweepStale() with a negative threshold', field: 'options.olderThanMs', call: (t) => t.sweepStale({ olderThanMs: -5 }) },
  { title: 'reconcile() without a parent', field: 'input', call: (t) => t.reconcile({} as never) },
];

/** A cursor as `listGenerations` spells one, around whatever it is given. */
function forgedCursor(time: number, id: unknown): string {
  return Buffer.from(JSON.stringify([time, id]), 'utf8').toString('base64url');
}

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 0; level < levels; level += 1) value = { nested: value };
  return value;
}

async function snapshot(harness: Harness, fixture: Fixture) {
  return {
    counts: await harness.inspect.count(),
    cook: await harness.inspect.cook(fixture.cookId),
    cast: await harness.inspect.cast(fixture.castId),
    generation: await harness.inspect.generation(fixture.generationId),
  };
}

/** Ids an `ids` generator might return that no call could name again. */
const BAD_IDS: readonly (readonly [string, unknown])[] = [
  ['an empty id', ''],
  ['a 129-character id', 'g'.repeat(129)],
  ['an id with a newline', 'a\nb'],
  ['an id with U+0000', 'a\u0000b'],
  ['a number', 42],
  ['null', null],
  ['undefined', undefined],
];

export function validationTests(target: ConformanceTarget): void {
  describe(`${target.name}: ids from the ids option`, () => {
    for (const [title, badId] of BAD_IDS) {
      it(`an ids generator returning ${title} is a ValidationError on options.ids, and nothing is stored or attached`, async () => {
        const harness = await createHarness(target);
        const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3 });
        const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1', cookId: cook.id });
        const fixture = { cookId: cook.id, castId: cast.id, generationId: 'none' };
        const ids = (_kind: EntityKind) => badId as string;
        const tracker = createTracker({ repository: harness.repository, clock: harness.clock, ids, logger: { warn: () => undefined, error: () => undefined } });
        const cookBefore = (await harness.inspect.cook(cook.id))!;
        const before = await snapshot(harness, fixture);
        const creations = [
          () => tracker.recordGeneration(generationInput({ cookId: cook.id })),
          () => tracker.recordGeneration(generationInput({ castId: cast.id })),
          () => tracker.recordGeneration(generationInput()),
          () => tracker.startCast({ spellId: 'spell-2', initiatorAccountId: 'account-1', cookId: cook.id }),
          () => tracker.startCast({ spellId: 'spell-2', initiatorAccountId: 'account-1' }),
        ];
        for (const creation of creations) {
          const error = await creation().then(
            () => null,
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(ValidationError);
          expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
          expect((error as ValidationError).field).toBe('options.ids');
          expect((error as ValidationError).reason).toMatch(/as the id of a new (generation|cast)/);
        }
        expect(await snapshot(harness, fixture)).toEqual(before);
        const storedCook = (await harness.inspect.cook(cook.id))!;
        expect(storedCook).toEqual(cookBefore);
        expect(storedCook.inFlightCount).toBe(1);
        expect(storedCook.castIds).toEqual([cast.id]);
        expect(storedCook.openGenerationCount).toBe(0);
        expect((await harness.inspect.cast(cast.id))!.inFlightCount).toBe(0);
        expect(await harness.repository.openChildren({ kind: 'cook', id: cook.id }, 10)).toEqual({ generationIds: [], castIds: [cast.id] });
        expect((await tracker.listGenerations({ cookId: cook.id })).items).toEqual([]);
        expect(await harness.inspect.count()).toEqual({ generations: 0, casts: 1, cooks: 1 });
        // The cook still finishes: nothing waits for a child that was never made.
        await tracker.finishCast(cast.id);
        expect((await harness.inspect.cook(cook.id))!.inFlightCount).toBe(0);
      });
    }
  });

  describe(`${target.name}: invalid input`, () => {
    for (const invalid of INVALID_CALLS) {
      it(`${invalid.title} throws a ValidationError on ${invalid.field} and writes nothing`, async () => {
        const harness = await createHarness(target);
        const cook = await harness.tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 3 });
        const cast = await harness.tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'account-1' });
        const generation = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
        const fixture = { cookId: cook.id, castId: cast.id, generationId: generation.id };
        const before = await snapshot(harness, fixture);
        const eventsBefore = harness.events.length;
        const error = await invalid.call(harness.tracker, fixture).then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
        const fields = (error as ValidationError).issues.map((issue) => issue.field);
        expect(fields.some((field) => field === invalid.field || field.startsWith(`${invalid.field}.`)), fields.join(', ')).toBe(true);
        expect((error as ValidationError).message).toMatch(/^\[genledger\] /);
        expect(await snapshot(harness, fixture)).toEqual(before);
        expect(harness.events.length).toBe(eventsBefore);
      });
    }
  });
}
