/**
 * createTracker's options are checked whole at construction: each wrong option a first-hour user
 * writes is a ValidationError naming it, before any call (and so before any write).
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { ValidationError } from '../../src/errors.js';
import { createTracker, type TrackerOptions } from '../../src/tracker/create-tracker.js';

const construct = (options: unknown) => () => createTracker(options as TrackerOptions);

describe('createTracker(options)', () => {
  it.each([
    ['clock: () => new Date() (a function, not an object)', { clock: () => new Date() }, 'options.clock', /not a function: \{ now: \(\) => new Date\(\) \}/],
    ['clock without now()', { clock: {} }, 'options.clock', /now\(\) method/],
    ['logger: console.log (a function)', { logger: console.log }, 'options.logger', /warn\(\) and error\(\)/],
    ['logger without error()', { logger: { warn() {} } }, 'options.logger', /warn\(\) and error\(\)/],
    ['a misspelt option (clok)', { clok: { now: () => new Date() } }, 'options', /clok/],
    ['limits with an unknown key', { limits: { maxInFlight: 5 } }, 'options.limits', /maxInFlight/],
    ['limits.maxInFlightChildren 0', { limits: { maxInFlightChildren: 0 } }, 'options.limits.maxInFlightChildren', /at least 1/],
    ['limits.maxEmbeddedChildIds 1.5', { limits: { maxEmbeddedChildIds: 1.5 } }, 'options.limits.maxEmbeddedChildIds', /whole number/],
    ['pointsPerUsd "-1"', { pointsPerUsd: '-1' }, 'options.pointsPerUsd', /negative/],
    ['pointsPerUsd true', { pointsPerUsd: true }, 'options.pointsPerUsd', /decimal string or a number/],
    ['onListenerError "log"', { onListenerError: 'log' }, 'options.onListenerError', /must be a function/],
    ['ids 42', { ids: 42 }, 'options.ids', /must be a function/],
  ])('%s is a ValidationError naming %s', (_title, options, field, reason) => {
    const error = (() => {
      try {
        construct({ repository: memoryRepository(), ...options })();
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    const issue = (error as ValidationError).issues.find((candidate) => candidate.field === field);
    expect(issue, `issues: ${JSON.stringify((error as ValidationError).issues)}`).toBeDefined();
    expect(issue!.reason).toMatch(reason);
  });

  it.each([
    ['missing', {}, /is required/],
    ['the factory, not called', { repository: memoryRepository }, /call the factory, e\.g\. memoryRepository\(\)/],
    ['a string', { repository: 'memory' }, /is required/],
  ])('repository %s is a ValidationError on options.repository', (_title, options, reason) => {
    expect(construct(options)).toThrow(ValidationError);
    expect(construct(options)).toThrow(reason);
    try {
      construct(options)();
    } catch (error) {
      expect((error as ValidationError).issues.map((issue) => issue.field)).toContain('options.repository');
    }
  });

  it('no options at all is a ValidationError on options', () => {
    expect(construct(undefined)).toThrow(/options: must be an object/);
  });

  it('takes every documented option, undefined ones included (exactOptionalPropertyTypes hosts pass process.env values)', async () => {
    const tracker = createTracker({
      repository: memoryRepository(),
      clock: { now: () => new Date('2026-01-01T00:00:00Z') },
      ids: undefined,
      pointsPerUsd: process.env.GENLEDGER_NO_SUCH_VARIABLE,
      limits: { maxInFlightChildren: 2, maxEmbeddedChildIds: undefined },
      logger: console,
      onListenerError: () => undefined,
    });
    const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1 });
    expect(cook.startedAt).toEqual(new Date('2026-01-01T00:00:00Z'));
  });
});
