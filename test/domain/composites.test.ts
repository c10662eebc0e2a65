import { describe, expect, it } from 'vitest';
import { newCast, newCook, newGeneration } from '../../src/domain/builders.js';
import type { GenerationOutcome } from '../../src/domain/generation-reducer.js';
import type { Cast, Cook, Generation } from '../../src/domain/records.js';
import { endCast, replaceCastAggregates, replaceCookAggregates } from '../../src/domain/rollup/cast-ending.js';
import type { ParentCaps } from '../../src/domain/rollup/contribution.js';
import { createAttached, creationCookId } from '../../src/domain/rollup/creation.js';
import { settle } from '../../src/domain/rollup/settlement.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const caps: ParentCaps = { maxInFlight: 2, maxEmbeddedIds: 1 };
const person = { masterAccountId: 'account', toolId: 'tool', toolDisplayName: 'Tool', serviceName: 'svc' };
const noLinks = { castId: null, cookId: null, spellId: null, collectionId: null };

function generation(id: string): Generation {
  return newGeneration(person, id, T0, noLinks);
}

function outcome(status: GenerationOutcome['status'], seconds: number, costUsd = '0.1'): GenerationOutcome {
  return { status, pointsSpent: 2, protocolNetPoints: -1, costUsd, responseTimestamp: at(seconds), at: at(seconds) };
}

/** A cook with one cast piece (one step) and one generation piece, made with the composites. */
function world() {
  let cook: Cook = newCook({ collectionId: 'collection', initiatorAccountId: 'account', targetSupply: 1 }, 'cook-1', T0);
  const piece = createAttached({ kind: 'cast', record: newCast({ spellId: 'spell', initiatorAccountId: 'account', totalSteps: 1 }, 'cast-1', T0, null), cookId: cook.id, at: at(1), caps }, { cast: null, cook });
  if (piece.outcome !== 'created') throw new Error(piece.outcome);
  cook = piece.cook!;
  let cast: Cast = piece.record;
  const step = createAttached({ kind: 'generation', record: generation('step-1'), castId: cast.id, cookId: null, at: at(2), caps }, { cast, cook: cook });
  if (step.outcome !== 'created') throw new Error(step.outcome);
  cast = step.cast!;
  cook = step.cook!;
  const genPiece = createAttached({ kind: 'generation', record: generation('piece-1'), castId: null, cookId: cook.id, at: at(3), caps }, { cast: null, cook });
  if (genPiece.outcome !== 'created') throw new Error(genPiece.outcome);
  cook = genPiece.cook!;
  return { cook, cast, step: step.record, piece: genPiece.record };
}

describe('createAttached', () => {
  it('links the child from its parents and bumps their counts; the cook cap counts pieces for a piece, open generations for a step', () => {
    const { cook, cast, step, piece } = world();
    expect(step).toMatchObject({ castId: 'cast-1', spellId: 'spell', cookId: 'cook-1', collectionId: 'collection' });
    expect(piece).toMatchObject({ castId: null, cookId: 'cook-1', collectionId: 'collection' });
    expect(cast).toMatchObject({ inFlightCount: 1, stepGenerationIds: ['step-1'], cookId: 'cook-1' });
    expect(cook).toMatchObject({ inFlightCount: 2, openGenerationCount: 2, generationIds: ['step-1'], castIds: ['cast-1'] });
    // Two pieces in flight (the cap): a third piece is refused, a second step of the cast too (two open generations).
    expect(createAttached({ kind: 'generation', record: generation('piece-2'), castId: null, cookId: cook.id, at: at(4), caps }, { cast: null, cook })).toMatchObject({ outcome: 'refused', parent: 'cook', attach: { outcome: 'full' } });
    expect(createAttached({ kind: 'generation', record: generation('step-2'), castId: cast.id, cookId: null, at: at(4), caps }, { cast, cook })).toMatchObject({ outcome: 'refused', parent: 'cook', attach: { outcome: 'full' } });
  });

  it('refuses in order: a missing cast, a cast of another cook, the cast, a missing cook, the cook', () => {
    const { cook, cast } = world();
    const child = (castId: string | null, cookId: string | null) => ({ kind: 'generation' as const, record: generation('g'), castId, cookId, at: at(5), caps });
    expect(createAttached(child('cast-x', null), { cast: null, cook: null })).toEqual({ outcome: 'refused', parent: 'cast', parentId: 'cast-x', attach: null });
    expect(createAttached(child(cast.id, 'cook-2'), { cast, cook: null })).toEqual({ outcome: 'mismatch', cast });
    expect(createAttached(child(null, 'cook-x'), { cast: null, cook: null })).toEqual({ outcome: 'refused', parent: 'cook', parentId: 'cook-x', attach: null });
    expect(creationCookId(child(cast.id, null), cast)).toBe('cook-1');
    expect(creationCookId(child(null, 'cook-1'), null)).toBe('cook-1');
    const finished = endCast(cast, cook, 'finish', at(6)).cast.record;
    expect(createAttached(child(finished.id, null), { cast: finished, cook })).toMatchObject({ outcome: 'refused', parent: 'cast', attach: { outcome: 'closed' } });
  });
});

describe('settle', () => {
  it('applies a generation to its cast and cook once; the step that ends a cast piece applies the piece in the same settlement', () => {
    const { cook, cast, step } = world();
    const first = settle(step, cast, cook, outcome('success', 10), at(10));
    expect(first.generation.changed).toBe(true);
    expect(first.cast?.record).toMatchObject({ status: 'completed', inFlightCount: 0, costUsd: '0.1' });
    expect(first.cook?.record).toMatchObject({ openGenerationCount: 1, inFlightCount: 2, costUsd: '0.1', generatedCount: 0 });
    expect(first.castPiece?.record).toMatchObject({ openGenerationCount: 1, inFlightCount: 1, generatedCount: 1, costUsd: '0.1', status: 'running' });
    // A repeat on the finished generation applies nothing, whatever its parents look like.
    const again = settle(first.generation.record, first.cast!.record, first.castPiece!.record, outcome('success', 11), at(11));
    expect(again).toEqual({ generation: { changed: false, record: first.generation.record, previousStatus: 'success' }, cast: null, cook: null, castPiece: null });
  });

  it('a stale-guarded timeout of a generation written since applies nothing', () => {
    const { cook, piece } = world();
    const result = settle(piece, null, cook, { ...outcome('timeout', 12), onlyIfUpdatedBefore: at(0) }, at(12));
    expect(result).toMatchObject({ generation: { changed: false }, cast: null, cook: null, castPiece: null });
  });

  it('the last piece completes the cook with its supply made', () => {
    const { cook, cast, step, piece } = world();
    const first = settle(step, cast, cook, outcome('success', 10), at(10));
    const last = settle(piece, null, first.castPiece!.record, outcome('failed', 12, '0.000000000000000001'), at(12));
    expect(last.cook?.record).toMatchObject({ status: 'completed', completedAt: at(12), inFlightCount: 0, openGenerationCount: 0, generatedCount: 1, failedCount: 1, costUsd: '0.100000000000000001' });
  });
});

describe('endCast and replaceCastAggregates', () => {
  it('the write that ends a cast piece applies it to its cook; a repeat applies nothing', () => {
    const { cook, cast } = world();
    const cancelled = endCast(cast, cook, 'cancel', at(7));
    expect(cancelled.castPiece?.record).toMatchObject({ cancelledCount: 1, inFlightCount: 1 });
    expect(endCast(cancelled.cast.record, cancelled.castPiece!.record, 'cancel', at(8))).toEqual({
      cast: { changed: false, record: cancelled.cast.record, previousStatus: 'cancelled' },
      castPiece: null,
    });
    expect(endCast(cast, null, 'finish', at(7)).castPiece).toBeNull();
  });

  it('a replacement is a compare-and-set on the version, and applies the piece only when it ends the cast', () => {
    const { cook, cast } = world();
    const recomputed: Cast = { ...cast, status: 'failed', completedAt: at(9), durationMs: 9000 };
    expect(replaceCastAggregates(cast, cast.version + 1, recomputed, cook, at(9))).toBeNull();
    const replaced = replaceCastAggregates(cast, cast.version, recomputed, cook, at(9))!;
    expect(replaced.cast.record).toEqual({ ...recomputed, version: cast.version + 1, updatedAt: at(9) });
    expect(replaced.castPiece?.record).toMatchObject({ failedCount: 1, inFlightCount: 1 });
    const ended = replaced.cast.record;
    expect(replaceCastAggregates(ended, ended.version, { ...ended, costUsd: '1' }, replaced.castPiece!.record, at(10))!.castPiece).toBeNull();
    expect(replaceCookAggregates(cook, cook.version, { ...cook, costUsd: '3' }, at(11))?.record).toMatchObject({ costUsd: '3', version: cook.version + 1 });
    expect(replaceCookAggregates(cook, cook.version - 1, cook, at(11))).toBeNull();
  });
});
