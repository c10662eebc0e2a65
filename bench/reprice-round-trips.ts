/**
 * Store calls of one re-price page on the memory store, by method, as the page's generations and
 * their parents grow: N finished generations of the tool (spread over N/10 casts and one cook),
 * re-priced after a price change, dry run then applied. Counts every call the tracker makes on
 * the repository (a Proxy), so a per-generation read of a parent would show as N calls.
 *
 * `npx tsx bench/reprice-round-trips.ts`
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker, type LedgerRepository } from '../src/index.js';
import { table } from './stats.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const table1 = [{ toolId: 'tool-chat', versions: [{ id: 'v1', effectiveFrom: T0, units: { inputTokens: '0.000003' } }] }];
const table2 = [{ toolId: 'tool-chat', versions: [{ id: 'v1', effectiveFrom: T0, units: { inputTokens: '0.000004' } }] }];

function counting(repository: LedgerRepository, calls: Map<string, number>): LedgerRepository {
  const wrap = (target: object, prefix: string): object =>
    new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver) as unknown;
        if (typeof key !== 'string') return value;
        if (typeof value === 'function') {
          return (...args: unknown[]) => {
            calls.set(`${prefix}${key}`, (calls.get(`${prefix}${key}`) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        }
        if (value !== null && typeof value === 'object' && ['generations', 'casts', 'cooks', 'accounts'].includes(key)) return wrap(value, `${key}.`);
        return value;
      },
    });
  return wrap(repository, '') as LedgerRepository;
}

const rows: string[][] = [];
for (const size of [100, 1_000]) {
  const calls = new Map<string, number>();
  const repository = counting(memoryRepository(), calls);
  const tracker = createTracker({ repository, prices: table1, pointsPerUsd: '100' });
  const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: 1_000_000 });
  let cast = null as null | { id: string };
  for (let index = 0; index < size; index += 1) {
    if (index % 10 === 0) cast = await tracker.startCast({ spellId: 's', initiatorAccountId: 'a', cookId: cook.id });
    const generation = await tracker.recordGeneration({ masterAccountId: 'a', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', castId: cast!.id, requestTimestamp: new Date(T0.getTime() + index) });
    await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1000 + index } });
  }
  tracker.setPrices(table2);
  for (const dryRun of [true, false]) {
    calls.clear();
    const report = await tracker.reprice({ toolId: 'tool-chat', from: T0, to: new Date(T0.getTime() + 86_400_000), dryRun, limit: 5_000 });
    const byMethod = [...calls.entries()].sort().map(([name, count]) => `${name} ${count}`).join(', ');
    rows.push([String(size), dryRun ? 'dry run' : 'applied', String(report.differences.length), byMethod]);
  }
}
console.log(table(['generations', 'page', 'differences', 'store calls by method'], rows));

// Generations of other tools in the range: the store's list filters by tool, so a re-price reads
// only the tool's (before that filter: 1,100 and 10,100 read for the same 100).
const scans: string[][] = [];
for (const others of [0, 1_000, 10_000]) {
  const repository = memoryRepository();
  const tracker = createTracker({ repository, prices: table1, pointsPerUsd: '100' });
  for (let index = 0; index < 100 + others; index += 1) {
    const toolId = index % (1 + others / 100) === 0 ? 'tool-chat' : 'tool-other';
    const generation = await tracker.recordGeneration({ masterAccountId: 'a', toolId, toolDisplayName: 'T', serviceName: 'api', requestTimestamp: new Date(T0.getTime() + index) });
    await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1000 } });
  }
  tracker.setPrices(table2);
  let pages = 0;
  let scanned = 0;
  let considered = 0;
  let cursor: string | null = null;
  do {
    const report = await tracker.reprice({ toolId: 'tool-chat', from: T0, to: new Date(T0.getTime() + 86_400_000), dryRun: true, cursor });
    pages += 1;
    scanned += report.scanned;
    considered += report.considered;
    cursor = report.nextCursor;
  } while (cursor !== null);
  scans.push([String(others), String(considered), String(scanned), String(pages)]);
}
console.log(`\n${table(['other tools\' generations', 'of the tool, considered', 'read', 'pages of 500'], scans)}`);
