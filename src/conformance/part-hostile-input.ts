/**
 * Bad input: fast-check drives every public method with arbitrary and hostile values (wrong types,
 * NaN, Infinity, negative or fractional points, huge strings, deep objects, operator-like and
 * prototype keys, invalid dates, unknown ids). Each call either succeeds as documented (the record
 * it returns passes the record schema) or throws a typed GenledgerError, and a failed call writes
 * nothing. Nothing ever pollutes Object.prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { castSchema, cookSchema, generationSchema } from '../domain/records.js';
import { accountSchema } from '../domain/accounts/records.js';
import { GenledgerError } from '../errors.js';
import type { Tracker } from '../tracker/create-tracker.js';
import { createHarness, generationInput, type Harness } from './harness.js';
import type { ConformanceTarget } from './types.js';

function deepObject(levels: number): unknown {
  let value: unknown = { leaf: 1 };
  for (let level = 0; level < levels; level += 1) value = { nested: value };
  return value;
}

const HOSTILE_CONSTANTS: readonly unknown[] = [
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, -1, -1.5, 2 ** 53, Number.MAX_VALUE, 1e-30,
  '', ' ', '\u0000\u0001', 'x'.repeat(100_000), '$gt', 'completed', 'success', '-0.01', '1e-19', '0x10', '１２',
  { $gt: '' }, { 'a.b': 1 }, JSON.parse('{"__proto__": {"polluted": true}}'), { constructor: { prototype: { polluted: true } } },
  new Date('invalid'), new Date(8.64e15 + 1), deepObject(60), [], [null], null, undefined, true, Symbol('s'), 10n,
  () => 'function', new Map([['a', 1]]), Object.create(null),
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_CONSTANTS) },
  { weight: 2, arbitrary: fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
);

/** `@generation`, `@cast`, `@cook` stand for the fixture's ids, filled in when the call runs. */
const idArgument: fc.Arbitrary<unknown> = fc.oneof(hostileValue, fc.constantFrom('@generation', '@cast', '@cook', 'unknown-id'));

/** A valid input with one field replaced (or added) with a hostile value, or a wholly hostile value. */
function mutated(base: Record<string, unknown>, fields: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.record({ field: fc.constantFrom(...fields, '$where', 'costUSD', '__proto__', 'constructor', 'metadata', 'nested.key'), value: hostileValue }).map(({ field, value }) => {
      const input: Record<string, unknown> = { ...base };
      Object.defineProperty(input, field, { value, enumerable: true, configurable: true, writable: true });
      return input;
    }),
    hostileValue,
  );
}

type Call = { readonly method: keyof Tracker; readonly args: readonly unknown[] };

const generationFields = ['masterAccountId', 'toolId', 'toolDisplayName', 'serviceName', 'castId', 'cookId', 'status', 'requestTimestamp', 'notificationPlatform', 'requestPayload', 'idempotencyKey', 'hold'];
const movementFields = ['points', 'costUsd', 'reason', 'idempotencyKey'];
/** The account the fixture credits: `@account` in a call. */
const ACCOUNT_ID = 'account-h';

const callArbitrary: fc.Arbitrary<Call> = fc.oneof(
  mutated(generationInput({ castId: '@cast' }), generationFields).map((input) => ({ method: 'recordGeneration' as const, args: [input] })),
  mutated(generationInput({ masterAccountId: '@account', hold: { points: 40 } }), generationFields).map((input) => ({ method: 'recordGeneration' as const, args: [input] })),
  fc.tuple(fc.constantFrom('credit', 'debit') as fc.Arbitrary<keyof Tracker>, fc.oneof(hostileValue, fc.constant('@account')), mutated({ points: 30, costUsd: '0.5', reason: 'hostile', idempotencyKey: 'key-h' }, movementFields)).map(([method, account, input]) => ({ method, args: [account, input] })),
  fc.tuple(fc.constantFrom('getAccount', 'reconcileAccount') as fc.Arbitrary<keyof Tracker>, fc.oneof(hostileValue, fc.constant('@account'))).map(([method, account]) => ({ method, args: [account] })),
  mutated({ accountId: '@account', limit: 10 }, ['accountId', 'cursor', 'limit']).map((input) => ({ method: 'listLedgerEntries' as const, args: [input] })),
  mutated({ spellId: 'spell-h', initiatorAccountId: 'account-h', totalSteps: 2, cookId: '@cook' }, ['spellId', 'initiatorAccountId', 'totalSteps', 'cookId', 'startedAt', 'metadata', 'budget']).map((input) => ({ method: 'startCast' as const, args: [input] })),
  mutated({ collectionId: 'collection-h', initiatorAccountId: 'account-h', targetSupply: 2 }, ['collectionId', 'initiatorAccountId', 'targetSupply', 'metadata', 'startedAt', 'budget']).map((input) => ({ method: 'startCook' as const, args: [input] })),
  fc.tuple(idArgument, mutated({ status: 'success', pointsSpent: 3, costUsd: '0.01' }, ['status', 'pointsSpent', 'protocolNetPoints', 'costUsd', 'responsePayload', 'artifactUrls', 'errorDetails', 'responseTimestamp'])).map((args) => ({ method: 'completeGeneration' as const, args })),
  fc.tuple(idArgument, mutated({ progress: 0.5 }, ['progress', 'liveStatus'])).map((args) => ({ method: 'reportProgress' as const, args })),
  fc.tuple(idArgument, mutated({ status: 'sent' }, ['status', 'attempts', 'error'])).map((args) => ({ method: 'recordDelivery' as const, args })),
  fc.tuple(fc.constantFrom('startGeneration', 'getGeneration') as fc.Arbitrary<keyof Tracker>, idArgument).map(([method, id]) => ({ method, args: [id] })),
  fc.tuple(fc.constantFrom('finishCast', 'cancelCast', 'getCast') as fc.Arbitrary<keyof Tracker>, idArgument).map(([method, id]) => ({ method, args: [id] })),
  fc.tuple(fc.constantFrom('finishCook', 'cancelCook', 'pauseCook', 'resumeCook', 'getCook') as fc.Arbitrary<keyof Tracker>, idArgument).map(([method, id]) => ({ method, args: [id] })),
  mutated({ castId: '@cast', limit: 10 }, ['castId', 'cookId', 'masterAccountId', 'status', 'limit', 'cursor', 'order']).map((input) => ({ method: 'listGenerations' as const, args: [input] })),
  mutated({ olderThanMs: 3_600_000 }, ['olderThanMs', 'limit', 'finishIdleParents']).map((input) => ({ method: 'sweepStale' as const, args: [input] })),
  mutated({ castId: '@cast' }, ['castId', 'cookId']).map((input) => ({ method: 'reconcile' as const, args: [input] })),
);

function resolvePlaceholders(value: unknown, ids: Record<string, string>): unknown {
  if (typeof value === 'string' && value in ids) return ids[value];
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(copy, key, { value: resolvePlaceholders((value as Record<string, unknown>)[key], ids), enumerable: true, configurable: true, writable: true });
    }
    return copy;
  }
  return value;
}

async function storeState(harness: Harness, ids: Record<string, string>) {
  return {
    counts: await harness.inspect.count(),
    generation: await harness.inspect.generation(ids['@generation']!),
    cast: await harness.inspect.cast(ids['@cast']!),
    cook: await harness.inspect.cook(ids['@cook']!),
    // The accounts a call may move (the fixture's, and the generations' default one), with their last entries.
    accounts: harness.repository.capabilities.accounts
      ? await Promise.all(
          [ACCOUNT_ID, 'account-1'].map(async (accountId) => ({
            account: await harness.repository.accounts.get(accountId),
            entries: await harness.repository.accounts.listEntries({ accountId, afterSequence: 0, limit: 1000 }),
          })),
        )
      : null,
  };
}

/** The state without the parents' `version` and `updatedAt`. */
function withoutVersions(state: Awaited<ReturnType<typeof storeState>>) {
  const strip = <T extends { version: number; updatedAt: Date }>(record: T | null | undefined) => {
    if (!record) return record;
    const { version: _version, updatedAt: _updatedAt, ...rest } = record;
    return rest;
  };
  return { ...state, cast: strip(state.cast), cook: strip(state.cook) };
}

function checkReturnedRecord(method: string, result: unknown): void {
  if (result === null || result === undefined || typeof result !== 'object') return;
  if (method === 'getAccount' || method === 'credit' || method === 'debit') {
    const parsed = accountSchema.safeParse(method === 'getAccount' ? result : (result as { account: unknown }).account);
    if (!parsed.success) throw new Error(`${method} returned an account that breaks its schema: ${parsed.error.message}`);
    return;
  }
  const schema = /Generation$/.test(method) || ['reportProgress', 'recordDelivery'].includes(method) ? generationSchema : /Cast$/.test(method) ? castSchema : /Cook$/.test(method) ? cookSchema : null;
  if (!schema) return;
  const parsed = schema.safeParse(result);
  if (!parsed.success) throw new Error(`${method} returned a record that breaks its schema: ${parsed.error.message}`);
}

export function hostileInputTests(target: ConformanceTarget): void {
  const scale = target.scale ?? 1;
  describe(`${target.name}: hostile input`, () => {
    it(
      'every public method, driven with arbitrary and hostile values, succeeds as documented or throws a typed error, and a failed call writes nothing',
      async () => {
        const tally = { calls: 0, accepted: 0, refused: 0, versionOnly: 0, codes: new Map<string, number>() };
        await fc.assert(
          fc.asyncProperty(fc.array(callArbitrary, { minLength: 1, maxLength: 8 }), async (calls) => {
            const harness = await createHarness(target);
            const cook = await harness.tracker.startCook({ collectionId: 'collection-h', initiatorAccountId: 'account-h', targetSupply: 3 });
            const cast = await harness.tracker.startCast({ spellId: 'spell-h', initiatorAccountId: 'account-h', cookId: cook.id });
            const generation = await harness.tracker.recordGeneration(generationInput({ castId: cast.id }));
            const ids = { '@generation': generation.id, '@cast': cast.id, '@cook': cook.id, '@account': ACCOUNT_ID };
            if (harness.repository.capabilities.accounts) await harness.tracker.credit(ACCOUNT_ID, { points: 50, costUsd: '1', reason: 'fixture', idempotencyKey: 'fixture-credit' });
            for (const call of calls) {
              const args = call.args.map((argument) => resolvePlaceholders(argument, ids));
              const before = await storeState(harness, ids);
              tally.calls += 1;
              let result: unknown;
              try {
                result = await (harness.tracker[call.method] as (...parameters: unknown[]) => Promise<unknown>)(...args);
              } catch (error) {
                if (!(error instanceof GenledgerError)) throw new Error(`${call.method} threw an untyped error: ${String(error)}`, { cause: error });
                expect(error.code).not.toBe('REPOSITORY_FAILURE');
                expect(typeof error.reason).toBe('string');
                tally.refused += 1;
                tally.codes.set(error.code, (tally.codes.get(error.code) ?? 0) + 1);
                const after = await storeState(harness, ids);
                if (harness.repository.recover && (call.method === 'recordGeneration' || call.method === 'startCast')) {
                  // A store whose roll-ups span several writes (it offers recover(): MongoDB without
                  // transactions) attaches to the parents one by one; when the cook refuses a step its
                  // cast took, the cast is released again: its content is as before, its version and
                  // updatedAt have moved on (versions never go back). docs/api.md says so.
                  expect(after.cast?.version ?? 0).toBeGreaterThanOrEqual(before.cast?.version ?? 0);
                  expect(after.cook?.version ?? 0).toBeGreaterThanOrEqual(before.cook?.version ?? 0);
                  expect(withoutVersions(after), `${call.method} failed with ${error.code} and must leave every record's content as it was`).toEqual(withoutVersions(before));
                  if (after.cast?.version !== before.cast?.version || after.cook?.version !== before.cook?.version) tally.versionOnly += 1;
                } else {
                  // A creation is one atomic store operation (insertAttached): a refusal writes nothing at all.
                  expect(after, `${call.method} failed with ${error.code} and must write nothing`).toEqual(before);
                }
                continue;
              }
              tally.accepted += 1;
              checkReturnedRecord(call.method, result);
            }
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          }),
          { numRuns: Number(process.env.GENLEDGER_PROPERTY_RUNS) || Math.max(10, Math.round(200 * scale)) },
        );
        const codes = [...tally.codes].map(([code, count]) => `${code} ${count}`).join(', ');
        console.log(
          `[genledger conformance] ${target.name} hostile input: ${tally.calls} calls on 24 methods, ${tally.accepted} accepted as documented, ` +
            `${tally.refused} refused with typed errors (${codes}), ` +
            (tally.versionOnly === 0
              ? 'no refused call wrote anything'
              : `no refused call changed a record's content (${tally.versionOnly} creations refused by the cook moved their cast's version: attached, then released), otherwise nothing written`) +
            ', no prototype polluted',
        );
      },
      (target.timeoutMs ?? 60_000) * 5,
    );
  });
}
