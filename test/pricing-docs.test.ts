/**
 * docs/pricing.md's worked example is what the tracker says: the table on the page, the usage on
 * the page, and `explainCost()`'s lines equal to the block the page prints.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, silentLogger, type PriceTableInput } from '../src/index.js';
import { runReprice } from '../adapters/mongo/reprice-command.js';

const page = readFileSync(new URL('../docs/pricing.md', import.meta.url), 'utf8');

describe('docs/pricing.md', () => {
  it('the worked example prints what explainCost() returns, and the March figures hold', async () => {
    const table = /const prices: PriceTableInput = (\[[\s\S]*?\n\]);/.exec(page)![1]!;
    const prices = new Function(`return ${table};`)() as PriceTableInput;
    const tracker = createTracker({ repository: memoryRepository(), prices, pointsPerUsd: '100', logger: silentLogger });
    const record = (requestTimestamp: Date) => tracker.recordGeneration({ masterAccountId: 'a', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'openai', requestTimestamp });
    const february = await record(new Date('2026-02-10T00:00:00Z'));
    await tracker.completeGeneration(february.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } });
    const printed = /### Worked example[\s\S]*?```\n([\s\S]*?)```/.exec(page)![1]!.trim().split('\n');
    expect((await tracker.explainCost(february.id)).lines).toEqual(printed);
    const march = await record(new Date('2026-03-01T00:00:00Z'));
    const done = await tracker.completeGeneration(march.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } });
    expect([done.costUsd, done.pointsSpent, done.costProvenance?.basis?.versionId]).toEqual(['0.0052', 6, 'chat-2026-03']);
    expect(page).toContain('costs `1200 × 0.000002 + 350 × 0.000008 = 0.0052`, 6 points');
  });
});

describe('docs/pricing.md, genledger reprice', () => {
  it('the command on the page, run on the worked example with the corrected table on the page, prints the block on the page', async () => {
    const table = /const prices: PriceTableInput = (\[[\s\S]*?\n\]);/.exec(page)![1]!;
    const prices = new Function(`return ${table};`)() as PriceTableInput;
    const names = new Map([['cast', 'cast-1'], ['generation', 'gen-1']]);
    const repository = memoryRepository();
    const tracker = createTracker({ repository, prices, pointsPerUsd: '100', logger: silentLogger, ids: (kind) => names.get(kind) ?? kind });
    const cast = await tracker.startCast({ spellId: 'spell', initiatorAccountId: 'acct-1' });
    const generation = await tracker.recordGeneration({ masterAccountId: 'acct-1', toolId: 'chat', toolDisplayName: 'Chat', serviceName: 'openai', castId: cast.id, requestTimestamp: new Date('2026-02-10T00:00:00Z') });
    await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1200, outputTokens: 350 } });
    const section = page.slice(page.indexOf('## From the command line'));
    const fixedJson = /`prices-fixed.json`:\n\n```json\n([\s\S]*?)```/.exec(section)![1]!;
    const argv = /`genledger reprice ([^`]*?)` prints/.exec(section)![1]!.split(/\s+/);
    const printed = /prints \(`[^`]*`\):\n\n```\n([\s\S]*?)```/.exec(section)![1]!;
    const out: string[] = [];
    const code = await runReprice(argv, {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: () => undefined },
      readFile: async (path) => (path === 'prices-fixed.json' ? fixedJson : Promise.reject(new Error(`no ${path}`))),
      openStore: async () => ({ repository, close: async () => undefined }),
    });
    expect(code).toBe(0);
    expect(out.join('')).toBe(printed);
  });
});
