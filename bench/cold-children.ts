/**
 * A probe for figure 5's memory row (not part of `npm run bench`): on ONE cook with N pieces in
 * flight, the cost of a record+complete pair when the completed piece is a random open one (a
 * child recorded long ago) against the newest one. Same cook, same store, same N: what differs is
 * only how cold the child is, so the gap is the children's memory, not the parent's.
 *
 *   node --expose-gc --max-old-space-size=4096 --import tsx bench/cold-children.ts 100000
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { createTracker } from '../src/index.js';
import { cookPieceInput, STEP } from '../bench/workloads.js';
const completion = { status: 'success', costUsd: STEP.costUsd, pointsSpent: STEP.pointsSpent } as const;
async function main() {
  const N = Number(process.argv[2] ?? 100000);
  const tracker = createTracker({ repository: memoryRepository(), limits: { maxInFlightChildren: 3_000_000 } });
  const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'a', targetSupply: N * 2 });
  const ids: string[] = [];
  for (let i = 0; i < N; i++) ids.push((await tracker.recordGeneration(cookPieceInput(cook.id, 'a'))).id);
  let seed = 7;
  const gc = (globalThis as any).gc;
  const run = async (mode: 'random' | 'lifo') => {
    gc?.({ type: 'minor' });
    const t = performance.now();
    for (let i = 0; i < 1000; i++) {
      ids.push((await tracker.recordGeneration(cookPieceInput(cook.id, 'a'))).id);
      let id: string;
      if (mode === 'lifo') id = ids.pop()!;
      else { seed = (seed * 1103515245 + 12345) % 2 ** 31; const k = seed % ids.length; id = ids[k]!; ids[k] = ids[ids.length - 1]!; ids.pop(); }
      await tracker.completeGeneration(id, completion);
    }
    return (performance.now() - t);
  };
  const r: number[] = [], l: number[] = [];
  for (let b = 0; b < 20; b++) { r.push(await run('random')); l.push(await run('lifo')); }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  console.log(`N=${N}: random ${med(r).toFixed(2)} us/pair, newest (lifo) ${med(l).toFixed(2)} us/pair, same cook, same ${N} in flight`);
}
main();
