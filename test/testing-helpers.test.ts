// Written as a host would write its own test, importing the published entry points.
import { describe, expect, it } from 'vitest';
import { toGenerationUpdateMessage, ValidationError } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { createTestTracker, runCast, runCook, runGeneration } from 'genledger/testing';

describe('genledger/testing, as a host uses it', () => {
  it('drives a cast through its lifecycle on a manual clock', async () => {
    const { tracker, clock, eventsNamed } = createTestTracker({ repository: memoryRepository() });
    const cast = await runCast(
      tracker,
      {
        spellId: 'spell-portrait',
        steps: [
          { progress: [0.5], complete: { status: 'success', costUsd: '0.01', pointsSpent: 1 } },
          { complete: { status: 'success', costUsd: '0.02', pointsSpent: 2 } },
        ],
      },
      clock,
    );
    expect(cast).toMatchObject({ status: 'completed', costUsd: '0.03', pointsSpent: 3, outcomes: { success: 2 } });
    expect(cast.durationMs).toBeGreaterThan(0);
    expect(eventsNamed('castFinished')).toHaveLength(1);
    expect(eventsNamed('generationProgress').map((event) => event.progress)).toEqual([0.5]);
  });

  it('drives a cook of casts and generations, and the websocket message a host would send', async () => {
    const { tracker, clock, eventsNamed } = createTestTracker({ repository: memoryRepository(), ids: { prefix: 'test-' } });
    const cook = await runCook(
      tracker,
      {
        targetSupply: 2,
        pieces: [
          { steps: [{ complete: { status: 'success', costUsd: '0.5' } }, { complete: { status: 'failed' } }] },
          { complete: { status: 'success', costUsd: '0.25' } },
          { steps: [{ complete: { status: 'success', costUsd: '0.25' } }] },
        ],
      },
      clock,
    );
    expect(cook).toMatchObject({ status: 'completed', generatedCount: 2, failedCount: 1, costUsd: '1' });
    const finished = eventsNamed('generationFinished').map(({ generation }) => toGenerationUpdateMessage(generation));
    expect(finished.map((message) => message.payload.cookId)).toEqual([cook.id, cook.id, cook.id, cook.id]);
    expect(cook.id.startsWith('test-cook-')).toBe(true);
  });

  it('gives predictable ids and times', async () => {
    const { tracker, clock } = createTestTracker({ repository: memoryRepository(), clock: { start: '2030-01-01T00:00:00Z' } });
    const generation = await runGeneration(tracker, { stepMs: 250, progress: [0.1, 0.9] }, clock);
    expect(generation.id).toBe('generation-000001');
    expect(generation.requestTimestamp.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(generation.durationMs).toBe(1000);
  });

  it('hands back the store it was given, with its own type', async () => {
    const { tracker, repository } = createTestTracker({ repository: memoryRepository() });
    await runGeneration(tracker);
    expect(repository.count()).toMatchObject({ generations: 1 });
  });

  it('without a store, says where to get one', () => {
    // As 0.1.0 documented it; a JavaScript host gets the same error.
    const call = () => (createTestTracker as (options?: object) => unknown)();
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/options\.repository: is required: createTestTracker\(\{ repository: memoryRepository\(\) \}\), with memoryRepository from 'genledger\/memory'/);
    expect(() => (createTestTracker as (options?: object) => unknown)({ ids: { prefix: 'x-' } })).toThrow(ValidationError);
  });
});
