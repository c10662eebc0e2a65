/**
 * The input fast paths never disagree with zod: on random inputs (valid, invalid and odd), a fast
 * path either declines (`undefined`, and zod decides) or returns zod's value for every field of the
 * schema, dates copied. And it does decide for the common inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  completeGenerationInputFast,
  progressInputFast,
  recordGenerationInputFast,
  startCastInputFast,
  startCookInputFast,
} from '../../src/tracker/input-fast-paths.js';
import {
  completeGenerationInputSchema,
  progressInputSchema,
  recordGenerationInputSchema,
  startCastInputSchema,
  startCookInputSchema,
} from '../../src/domain/inputs.js';

const strings = fc.oneof(
  fc.constantFrom(
    '',
    'a',
    'sdxl',
    'SDXL',
    'comfy',
    'none',
    'telegram',
    'pending',
    'processing',
    'success',
    'failed',
    'cancelled_by_user',
    'timeout',
    'running',
  ),
  fc.constantFrom(
    '0',
    '0.0185',
    '00.1',
    '1.50',
    '1e-3',
    '+2',
    '-0',
    ' 3 ',
    '.5',
    '5.',
    '999999999.999999999999999999',
    '1000000000',
    '1000000000.5',
    '0.0000000000000000001',
  ),
  fc.constantFrom('a\u0000b', 'tab\there', 'del\u007f', 'pair\uD83D\uDE00', 'lone\uD800', 'lone\uDC00x', 'é', '$set', '__proto__', 'a.b'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('x'.repeat(128), 'x'.repeat(129), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(512), 'x'.repeat(513)),
);
const numbers = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    1.5,
    2,
    3,
    19,
    1e9,
    1e9 + 1,
    -1e9,
    -1e9 - 1,
    1e5,
    1e5 + 1,
    1e8,
    1e8 + 1,
    0.1,
    1e-7,
    1e21,
    NaN,
    Infinity,
    -Infinity,
    0.30000000000000004,
  ),
  fc.double(),
  fc.integer(),
);
const dates = fc.constantFrom(
  new Date('2024-05-01T12:00:00Z'),
  new Date(0),
  new Date(-1),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('+010000-01-01T00:00:00Z'),
  new Date(Number.NaN),
);
const values = fc.oneof(
  { weight: 4, arbitrary: strings },
  { weight: 3, arbitrary: numbers },
  { weight: 1, arbitrary: dates },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, true, false, {}, [], { a: 1 }, ['https://x.example/a.png']) },
);

// Values each field accepts (and a few it refuses), so random objects are often valid as a whole.
const ids = ['a', 'cast-1', 'x'.repeat(128), 'pair\uD83D\uDE00', 'é', null, undefined];
const labels = ['SDXL', 'comfy', 'x'.repeat(256), 'tab\there', null, undefined];
const when = new Date('2024-05-01T12:00:00Z');
const units = [
  undefined,
  { points: 10 },
  { costUsd: '0.25' },
  { points: 0, costUsd: '1' },
  { points: 1.5 },
  { points: -1 },
  {},
  { points: 3, extra: 1 },
  { costUsd: 0.1 },
  { costUsd: '01' },
  { points: Number.MAX_SAFE_INTEGER + 1 },
  null,
];

const FIELD_VALUES: Record<string, readonly unknown[]> = {
  hold: units,
  budget: units,
  masterAccountId: ids,
  toolId: ids,
  spellId: ids,
  initiatorAccountId: ids,
  collectionId: ids,
  castId: ids,
  cookId: ids,
  sessionId: ids,
  initiatingEventId: ids,
  idempotencyKey: ids,
  toolDisplayName: labels,
  serviceName: labels,
  notificationPlatform: labels,
  deliveryStrategy: labels,
  liveStatus: labels,
  platformSpecificRunId: ['run-1', 'x'.repeat(512), null, undefined],
  status: ['pending', 'processing', 'success', 'failed', 'cancelled_by_user', 'timeout', undefined],
  requestTimestamp: [when, undefined],
  responseTimestamp: [when, undefined],
  startedAt: [when, undefined],
  requestPayload: [null, undefined, { prompt: 'x' }],
  responsePayload: [null, undefined, 'ok'],
  errorDetails: [null, undefined, { code: 1 }],
  metadata: [undefined, {}, { a: 1 }],
  artifactUrls: [undefined, [], ['https://x.example/a.png']],
  pointsSpent: [0, 19, 1e9, undefined],
  protocolNetPoints: [0, -5, 1e9, undefined],
  costUsd: ['0', '0.0185', '1.50', 0.1, 12, '999999999.999999999999999999', undefined],
  // Valid usages, and ones the schema refuses (a fraction, a negative, a bad unit name, 33 units).
  usage: [undefined, {}, { inputTokens: 1200, outputTokens: 350 }, { images: 2 }, { images: 1.5 }, { seconds: -1 }, { 'bad unit': 1 }, { _x: 1 }, Object.fromEntries(Array.from({ length: 33 }, (_unused, index) => [`u${index}`, 1])), null],
  progress: [0, 0.5, 1],
  totalSteps: [1, 3, 1e5, null, undefined],
  targetSupply: [1, 100, 1e8],
};

function inputs(keys: readonly string[]) {
  // Mostly the schema's own keys, sometimes an extra one.
  const candidates = [...keys, 'extra', 'costUSD', '__proto__'];
  return fc.dictionary(fc.constantFrom(...candidates), values, { maxKeys: keys.length + 1 });
}

function expectSameAsZod<S extends z.ZodType>(fast: (value: unknown) => unknown, schema: S, input: unknown): boolean {
  const decided = fast(input) as Record<string, unknown> | undefined;
  if (decided === undefined) return false;
  const parsed = schema.safeParse(input);
  expect(parsed.success, `the fast path accepted what zod refuses: ${String(parsed.error)}`).toBe(true);
  // Every field of the schema, with zod's value (an absent one is undefined in both).
  const fields = Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape);
  expect(Object.keys(decided)).toEqual(fields);
  const zodOutput = parsed.data as Record<string, unknown>;
  for (const field of fields) expect(decided[field], field).toStrictEqual(zodOutput[field]);
  for (const [key, value] of Object.entries(decided)) {
    if (value instanceof Date) expect(value).not.toBe((input as Record<string, unknown>)[key]);
  }
  return true;
}

const cases = [
  {
    name: 'recordGeneration',
    fast: recordGenerationInputFast,
    schema: recordGenerationInputSchema,
    typical: { masterAccountId: 'account-1', toolId: 'sdxl', toolDisplayName: 'SDXL', serviceName: 'comfy', castId: 'cast-1' },
  },
  {
    name: 'completeGeneration',
    fast: completeGenerationInputFast,
    schema: completeGenerationInputSchema,
    typical: { status: 'success', costUsd: '0.0185', pointsSpent: 19 },
  },
  { name: 'reportProgress', fast: progressInputFast, schema: progressInputSchema, typical: { progress: 0.5 } },
  {
    name: 'startCast',
    fast: startCastInputFast,
    schema: startCastInputSchema,
    typical: { spellId: 'spell-1', initiatorAccountId: 'account-1', totalSteps: 3, cookId: 'cook-1' },
  },
  {
    name: 'startCook',
    fast: startCookInputFast,
    schema: startCookInputSchema,
    typical: { collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 100 },
  },
] as const;

describe('input fast paths', () => {
  for (const { name, fast, schema, typical } of cases) {
    const keys = Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape);

    it(`${name}: decides the common input, as zod does`, () => {
      expect(expectSameAsZod(fast, schema, typical)).toBe(true);
      expect(expectSameAsZod(fast, schema, { ...typical, idempotencyKey: undefined })).toBe(
        name === 'recordGeneration' || name.startsWith('start'),
      );
    });

    it(`${name}: never disagrees with zod on random inputs`, () => {
      let decided = 0;
      fc.assert(
        fc.property(inputs(keys), (input) => {
          if (expectSameAsZod(fast, schema, input)) decided += 1;
        }),
        // Seeded, so the count of decided inputs checked below is the same on every run.
        { numRuns: 3000, seed: 20261125 },
      );
      fc.assert(
        fc.property(
          fc.record(
            Object.fromEntries(
              keys.map((key) => [
                key,
                fc.oneof(
                  { weight: 12, arbitrary: fc.constantFrom(...(FIELD_VALUES[key] ?? [undefined])) },
                  { weight: 1, arbitrary: values },
                ),
              ]),
            ),
            { requiredKeys: [] },
          ),
          (input) => {
            if (expectSameAsZod(fast, schema, { ...typical, ...input })) decided += 1;
          },
        ),
        { numRuns: 10_000, seed: 20261126 },
      );
      // The random inputs include enough valid ones that the fast path was really exercised (with
      // these seeds, from 79 inputs for recordGeneration, whose fast path takes only plain ones, up).
      expect(decided).toBeGreaterThan(20);
    });

    it(`${name}: leaves odd objects to zod`, () => {
      expect(fast(Object.assign(Object.create(null), typical))).toBeUndefined();
      expect(fast(Object.assign(Object.create({ inherited: 1 }), typical))).toBeUndefined();
      expect(fast([typical])).toBeUndefined();
      expect(fast(null)).toBeUndefined();
      expect(fast('input')).toBeUndefined();
      expect(fast({ ...typical, unknown: 1 })).toBeUndefined();
      // Dates whose valueOf or getTime say something else than the date they hold: zod decides.
      if (keys.includes('requestTimestamp') || keys.includes('responseTimestamp')) {
        const dateKey = keys.includes('requestTimestamp') ? 'requestTimestamp' : 'responseTimestamp';
        class ShiftedDate extends Date {
          override valueOf() {
            return -1;
          }
        }
        const ownValueOf = Object.assign(new Date('2020-01-01T00:00:00Z'), { valueOf: () => 253_402_300_800_000 });
        for (const odd of [new ShiftedDate('2020-01-01T00:00:00Z'), ownValueOf]) {
          expect(fast({ ...typical, [dateKey]: odd })).toBeUndefined();
          expect(schema.safeParse({ ...typical, [dateKey]: odd }).success).toBe(false);
        }
      }
      // A field zod reads although for...in does not see it (not enumerable): the same as zod, or zod decides.
      const hidden = { ...typical };
      const hiddenKey = keys.includes('idempotencyKey') ? 'idempotencyKey' : keys.includes('liveStatus') ? 'liveStatus' : 'platformSpecificRunId';
      Object.defineProperty(hidden, hiddenKey, { value: 'key-1', enumerable: false });
      expect((schema.parse(hidden) as Record<string, unknown>)[hiddenKey]).toBe('key-1');
      expectSameAsZod(fast, schema, hidden);
    });
  }
});
