import { describe, expect, it } from 'vitest';
import { newGeneration } from '../../src/domain/builders.js';
import { toGenerationProgressMessage, toGenerationUpdateMessage } from '../../src/domain/messages.js';

const requested = new Date('2026-02-01T12:00:00.000Z');
const base = newGeneration(
  { masterAccountId: 'acct', toolId: 'flux', toolDisplayName: 'Flux', serviceName: 'comfy', platformSpecificRunId: 'run-9' },
  'gen-1',
  requested,
  { castId: 'cast-1', cookId: 'cook-1', spellId: 'spell-1', collectionId: 'col-1' },
);

describe('websocket messages in the production shapes', () => {
  it('generationProgress', () => {
    const message = toGenerationProgressMessage({ ...base, status: 'processing', progress: 0.4 }, 'sampling 8/20');
    expect(message).toEqual({
      type: 'generationProgress',
      payload: {
        generationId: 'gen-1',
        runId: 'run-9',
        status: 'processing',
        progress: 0.4,
        liveStatus: 'sampling 8/20',
        toolId: 'flux',
        spellId: 'spell-1',
        castId: 'cast-1',
        cookId: 'cook-1',
        collectionId: 'col-1',
      },
    });
    expect(Object.keys(message.payload).sort()).toEqual(
      ['generationId', 'runId', 'status', 'progress', 'liveStatus', 'toolId', 'spellId', 'castId', 'cookId', 'collectionId'].sort(),
    );
  });

  it('generationUpdate, with costUsd as a JSON number and missing links as null', () => {
    const finished = {
      ...base,
      castId: null,
      cookId: null,
      spellId: null,
      collectionId: null,
      status: 'success' as const,
      costUsd: '0.0042',
      responsePayload: [{ url: 'https://cdn.example/a.png' }],
      responseTimestamp: new Date('2026-02-01T12:00:03.000Z'),
    };
    const message = toGenerationUpdateMessage(finished);
    expect(JSON.parse(JSON.stringify(message))).toEqual({
      type: 'generationUpdate',
      payload: {
        generationId: 'gen-1',
        runId: 'run-9',
        status: 'success',
        outputs: [{ url: 'https://cdn.example/a.png' }],
        costUsd: 0.0042,
        finalEventTimestamp: '2026-02-01T12:00:03.000Z',
        toolId: 'flux',
        spellId: null,
        castId: null,
        cookId: null,
        collectionId: null,
      },
    });
  });
});
