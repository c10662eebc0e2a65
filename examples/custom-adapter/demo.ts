/**
 * The example store in use: a cook of two pieces tracked on a journal file, then the file opened
 * again as a restarted process would, with the same books. Run: npx tsx examples/custom-adapter/demo.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTracker } from 'genledger';
import { journalRepository } from './journal-store.js';

const directory = mkdtempSync(join(tmpdir(), 'genledger-journal-'));
const path = join(directory, 'ledger.jsonl');
try {
  const tracker = createTracker({ repository: journalRepository({ path }) });
  const cook = await tracker.startCook({ collectionId: 'collection-1', initiatorAccountId: 'account-1', targetSupply: 2 });
  for (const [index, costUsd] of ['0.1', '0.2'].entries()) {
    const piece = await tracker.recordGeneration({
      masterAccountId: 'account-1',
      toolId: 'sdxl',
      toolDisplayName: 'SDXL',
      serviceName: 'comfy',
      cookId: cook.id,
      idempotencyKey: `job-${index}`,
    });
    await tracker.completeGeneration(piece.id, { status: 'success', costUsd, pointsSpent: 5 });
  }
  console.log(`journal: ${readFileSync(path, 'utf8').trim().split('\n').length} lines, one per operation`);

  // A restart: a new store on the same file replays it.
  const restarted = createTracker({ repository: journalRepository({ path }) });
  const books = (await restarted.getCook(cook.id))!;
  console.log(`after a restart: cook ${books.status}, ${books.generatedCount}/${books.targetSupply} generated, ${books.pointsSpent} points, $${books.costUsd}`);
  if (books.status !== 'completed' || books.costUsd !== '0.3' || books.pointsSpent !== 10) throw new Error('the books did not survive the restart');
} finally {
  rmSync(directory, { recursive: true, force: true });
}
