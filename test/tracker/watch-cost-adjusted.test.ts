/**
 * watch() reports a re-price as `costAdjusted` (generation and parents) once it has seen the
 * version before it, as the in-process events do, and never as a second finish.
 */
import { describe, expect, it } from 'vitest';
import { createTracker, type PriceTableInput } from '../../src/index.js';
import { memoryRepository } from '../../adapters/memory/index.js';

const launch = new Date('2026-01-01T00:00:00.000Z');
const table = (output: string): PriceTableInput => [
  { toolId: 'chat', versions: [{ id: `chat-${output}`, effectiveFrom: launch, units: { inputTokens: '0.000001', outputTokens: output } }] },
];

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('watch() and a re-price', () => {
  it('reports costAdjusted for the generation, its cast and its cook, and no second finish', async () => {
    const tracker = createTracker({ repository: memoryRepository(), prices: table('0.00001') });
    const seen: string[] = [];
    const watch = tracker.watch();
    for (const name of ['generationUpdate', 'generationFinished', 'castUpdate', 'castFinished', 'cookUpdate', 'cookFinished'] as const) {
      watch.on(name, (payload) => void seen.push('change' in payload ? `${name}:${payload.change}` : name));
    }
    await watch.ready;
    const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'u', targetSupply: 1 });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: 'u', cookId: cook.id, totalSteps: 1 });
    const generation = await tracker.recordGeneration({ masterAccountId: 'u', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'x', castId: cast.id });
    await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 100, outputTokens: 100 } });
    await until(() => seen.includes('cookFinished'), 'the cook to finish at the watch');
    const finishedBefore = seen.filter((name) => name.endsWith('Finished')).length;

    tracker.setPrices(table('0.00002'));
    const page = await tracker.reprice({ toolId: 'chat', from: launch, to: new Date('2030-01-01T00:00:00.000Z'), dryRun: false });
    expect(page.differences.filter((difference) => difference.applied)).toHaveLength(1);
    await until(() => seen.includes('cookUpdate:costAdjusted'), 'the cook adjustment at the watch');
    expect(seen).toContain('generationUpdate:costAdjusted');
    expect(seen).toContain('castUpdate:costAdjusted');
    expect(seen.filter((name) => name.endsWith('Finished'))).toHaveLength(finishedBefore);
    await watch.close();
  });
});

describe('the memory store and a re-price gate', () => {
  it('keeps its own frozen copy of a cost provenance: a caller cannot move the adjustment count', async () => {
    const tracker = createTracker({ repository: memoryRepository(), prices: table('0.00001') });
    const generation = await tracker.recordGeneration({ masterAccountId: 'u', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'x' });
    const finished = await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 100, outputTokens: 100 } });
    const provenance = finished.costProvenance as unknown as { adjustments: unknown[]; usage: Record<string, number> };
    expect(() => provenance.adjustments.push({})).toThrow(TypeError);
    expect(() => (provenance.usage.inputTokens = 1)).toThrow(TypeError);
    tracker.setPrices(table('0.00002'));
    const range = { toolId: 'chat', from: launch, to: new Date('2030-01-01T00:00:00.000Z') };
    await tracker.reprice({ ...range, dryRun: false });
    const adjusted = (await tracker.getGeneration(generation.id))!;
    expect(adjusted.costProvenance?.adjustments).toHaveLength(1);
    expect(() => (adjusted.costProvenance!.adjustments as unknown[]).push({})).toThrow(TypeError);
    expect((await tracker.reprice({ ...range, dryRun: false })).differences.filter((difference) => difference.applied)).toHaveLength(0);
    expect((await tracker.getGeneration(generation.id))!.costProvenance?.adjustments).toHaveLength(1);
  });
});
