/**
 * sweepStale's and reconcile's options, and watch's filter and options, are checked whole by their
 * zod schemas: a wrong option is a ValidationError naming it, an unknown key is refused (a misspelt
 * option must not fall back to its default), and a refused call writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../../adapters/memory/index.js';
import { ValidationError } from '../../src/errors.js';
import { createTracker, type Tracker } from '../../src/tracker/create-tracker.js';

type Call = (tracker: Tracker, castId: string) => unknown;

async function refusal(call: Call): Promise<{ error: unknown; versionsBefore: number[]; versionsAfter: number[] }> {
  let now = new Date('2026-01-01T00:00:00Z');
  const tracker = createTracker({ repository: memoryRepository(), clock: { now: () => now } });
  const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'u-1' });
  const step = await tracker.recordGeneration({ masterAccountId: 'u-1', toolId: 't', toolDisplayName: 'T', serviceName: 's', castId: cast.id });
  // Both are old enough to be swept and finished, so a call that got through would write.
  now = new Date('2026-01-02T00:00:00Z');
  const versions = async () => [(await tracker.getGeneration(step.id))!.version, (await tracker.getCast(cast.id))!.version];
  const versionsBefore = await versions();
  let error: unknown = null;
  try {
    await call(tracker, cast.id);
  } catch (caught) {
    error = caught;
  }
  return { error, versionsBefore, versionsAfter: await versions() };
}

describe('maintenance and watch options', () => {
  it.each<[string, Call, string, RegExp]>([
    ['sweepStale finishIdleParents "yes"', (t) => t.sweepStale({ olderThanMs: 1000, finishIdleParents: 'yes' as never }), 'options.finishIdleParents', /boolean/],
    ['sweepStale a misspelt option (finishIdle)', (t) => t.sweepStale({ olderThanMs: 1000, finishIdle: false } as never), 'options', /finishIdle/],
    ['sweepStale without olderThanMs', (t) => t.sweepStale({} as never), 'options.olderThanMs', /./],
    ['sweepStale with no options at all', (t) => t.sweepStale(undefined as never), 'options', /object/],
    ['sweepStale limit 0', (t) => t.sweepStale({ olderThanMs: 1000, limit: 0 }), 'options.limit', /./],
    ['reconcile graceMs -1', (t, castId) => t.reconcile({ castId }, { graceMs: -1 }), 'options.graceMs', /./],
    ['reconcile graceMs 1.5', (t, castId) => t.reconcile({ castId }, { graceMs: 1.5 }), 'options.graceMs', /./],
    ['reconcile a misspelt option (force)', (t, castId) => t.reconcile({ castId }, { force: true } as never), 'options', /force/],
    ['reconcile options null', (t, castId) => t.reconcile({ castId }, null as never), 'options', /./],
    ['watch options memory 0', (t) => t.watch({}, { memory: 0 }), 'options.memory', /./],
    ['watch options onError "log"', (t) => t.watch({}, { onError: 'log' as never }), 'options.onError', /function/],
    ['watch options a misspelt option (afterPosition)', (t) => t.watch({}, { afterPosition: 'x' } as never), 'options', /afterPosition/],
    ['watch filter a misspelt key (cook)', (t) => t.watch({ cook: 'c' } as never), 'filter', /cook/],
  ])('%s is a ValidationError naming %s, and writes nothing', async (_title, call, field, reason) => {
    const { error, versionsBefore, versionsAfter } = await refusal(call);
    expect(error).toBeInstanceOf(ValidationError);
    const issue = (error as ValidationError).issues.find((candidate) => candidate.field === field);
    expect(issue, `issues: ${JSON.stringify((error as ValidationError).issues)}`).toBeDefined();
    expect(issue!.reason).toMatch(reason);
    expect(versionsAfter).toEqual(versionsBefore);
  });

  it('valid options still go through: finishIdleParents false leaves the idle cast running, and reconcile takes { graceMs: 0 }', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const tracker = createTracker({ repository: memoryRepository(), clock: { now: () => now } });
    const cast = await tracker.startCast({ spellId: 'spell-1', initiatorAccountId: 'u-1' });
    now = new Date('2026-01-02T00:00:00Z');
    await tracker.sweepStale({ olderThanMs: 1000, finishIdleParents: false });
    expect((await tracker.getCast(cast.id))!.status).toBe('running');
    await expect(tracker.reconcile({ castId: cast.id }, { graceMs: 0 })).resolves.toMatchObject({ repaired: false });
    await tracker.sweepStale({ olderThanMs: 1000 });
    expect((await tracker.getCast(cast.id))!.status).toBe('completed');
  });
});
