/**
 * Helpers that drive a generation, a cast or a cook through its whole lifecycle in one call, for
 * tests that care about the outcome rather than each step. Each returns the final record.
 */
import type { CompleteGenerationInput, RecordGenerationInput } from '../domain/inputs.js';
import type { Cast, Cook, Generation } from '../domain/records.js';
import type { Tracker } from '../tracker/create-tracker.js';
import type { ManualClock } from './manual-clock.js';

/** How one generation should go. */
export interface GenerationScript {
  /** Overrides for the record call (the defaults name a test account and tool). */
  readonly record?: Partial<RecordGenerationInput>;
  /** Progress reports to make before completing. @default [] */
  readonly progress?: readonly number[];
  /** The completion. @default { status: 'success' } */
  readonly complete?: CompleteGenerationInput;
  /** Milliseconds the clock moves between steps, when a manual clock is given. @default 1000 */
  readonly stepMs?: number;
}

const DEFAULT_RECORD = { masterAccountId: 'test-account', toolId: 'test-tool', toolDisplayName: 'Test tool', serviceName: 'test' } as const;

export async function runGeneration(tracker: Tracker, script: GenerationScript = {}, clock?: ManualClock): Promise<Generation> {
  const advance = () => clock?.advance(script.stepMs ?? 1000);
  const generation = await tracker.recordGeneration({ ...DEFAULT_RECORD, ...script.record });
  advance();
  await tracker.startGeneration(generation.id);
  for (const progress of script.progress ?? []) {
    advance();
    await tracker.reportProgress(generation.id, { progress });
  }
  advance();
  return tracker.completeGeneration(generation.id, script.complete ?? { status: 'success' });
}

export interface CastScript {
  readonly spellId?: string;
  readonly initiatorAccountId?: string;
  readonly cookId?: string;
  /** @default steps.length */
  readonly totalSteps?: number | null;
  /** One script per step, run in order; steps after a failed one are not run (the cast has failed). */
  readonly steps: readonly GenerationScript[];
}

export async function runCast(tracker: Tracker, script: CastScript, clock?: ManualClock): Promise<Cast> {
  const cast = await tracker.startCast({
    spellId: script.spellId ?? 'test-spell',
    initiatorAccountId: script.initiatorAccountId ?? DEFAULT_RECORD.masterAccountId,
    cookId: script.cookId,
    totalSteps: script.totalSteps === undefined ? script.steps.length : script.totalSteps,
  });
  for (const step of script.steps) {
    const done = await runGeneration(tracker, { ...step, record: { ...step.record, castId: cast.id } }, clock);
    if (done.status !== 'success') break;
  }
  return (await tracker.getCast(cast.id))!;
}

export interface CookScript {
  readonly collectionId?: string;
  readonly initiatorAccountId?: string;
  /** @default pieces.length */
  readonly targetSupply?: number;
  /** Each piece is a generation script or a cast script (`{ steps: [...] }`). */
  readonly pieces: readonly (GenerationScript | CastScript)[];
}

export async function runCook(tracker: Tracker, script: CookScript, clock?: ManualClock): Promise<Cook> {
  const cook = await tracker.startCook({
    collectionId: script.collectionId ?? 'test-collection',
    initiatorAccountId: script.initiatorAccountId ?? DEFAULT_RECORD.masterAccountId,
    targetSupply: script.targetSupply ?? script.pieces.length,
  });
  for (const piece of script.pieces) {
    if ('steps' in piece) await runCast(tracker, { ...piece, cookId: cook.id }, clock);
    else await runGeneration(tracker, { ...piece, record: { ...piece.record, cookId: cook.id } }, clock);
  }
  return (await tracker.getCook(cook.id))!;
}
