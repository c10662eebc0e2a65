/**
 * The websocket messages front-ends already listen for, built from a generation. A host that
 * forwards the tracker's events to browsers sends exactly these shapes (to the generation's
 * `masterAccountId`), so existing front-ends keep working unchanged.
 */
import type { JsonValue } from './json.js';
import { usdToNumber } from './money.js';
import type { Generation } from './records.js';
import type { GenerationStatus } from './status.js';

interface MessageLinks {
  readonly toolId: string;
  readonly spellId: string | null;
  readonly castId: string | null;
  readonly cookId: string | null;
  readonly collectionId: string | null;
}

export interface GenerationProgressMessage {
  readonly type: 'generationProgress';
  readonly payload: MessageLinks & {
    readonly generationId: string;
    readonly runId: string | null;
    readonly status: GenerationStatus;
    readonly progress: number;
    readonly liveStatus: string | null;
  };
}

export interface GenerationUpdateMessage {
  readonly type: 'generationUpdate';
  readonly payload: MessageLinks & {
    readonly generationId: string;
    readonly runId: string | null;
    readonly status: GenerationStatus;
    readonly outputs: JsonValue;
    /** A JSON number for the browser; the exact amount is `generation.costUsd`. */
    readonly costUsd: number;
    /** ISO time of the terminal transition, or `null` before it. */
    readonly finalEventTimestamp: string | null;
  };
}

function links(generation: Generation): MessageLinks {
  return {
    toolId: generation.toolId,
    spellId: generation.spellId,
    castId: generation.castId,
    cookId: generation.cookId,
    collectionId: generation.collectionId,
  };
}

export function toGenerationProgressMessage(generation: Generation, liveStatus: string | null = null): GenerationProgressMessage {
  return {
    type: 'generationProgress',
    payload: {
      generationId: generation.id,
      runId: generation.platformSpecificRunId,
      status: generation.status,
      progress: generation.progress,
      liveStatus,
      ...links(generation),
    },
  };
}

export function toGenerationUpdateMessage(generation: Generation): GenerationUpdateMessage {
  return {
    type: 'generationUpdate',
    payload: {
      generationId: generation.id,
      runId: generation.platformSpecificRunId,
      status: generation.status,
      outputs: generation.responsePayload,
      costUsd: usdToNumber(generation.costUsd),
      finalEventTimestamp: generation.responseTimestamp ? generation.responseTimestamp.toISOString() : null,
      ...links(generation),
    },
  };
}
