/**
 * How long the tracker takes to refuse inputs far over the size limits (issue 15): a
 * 10,000,000-element `requestPayload`, a 1,000,000-key `metadata`, a 100,000,000-character string
 * in a payload and a 100,000,000-character `toolId`, on the memory store.
 *
 *   npx tsx bench/oversized-input.ts
 *
 * Building the inputs is not timed; each refusal is timed over a few runs and the median printed.
 */
import { memoryRepository } from '../adapters/memory/index.js';
import { ValidationError } from '../src/errors.js';
import { createTracker } from '../src/tracker/create-tracker.js';

const tracker = createTracker({ repository: memoryRepository() });
const base = { masterAccountId: 'account-1', toolId: 'tool-1', toolDisplayName: 'Tool', serviceName: 'svc' };

const bigArray = new Array<number>(10_000_000).fill(1);
const manyKeys: Record<string, number> = {};
for (let index = 0; index < 1_000_000; index += 1) manyKeys[`k${index}`] = index;
const longText = 'x'.repeat(100_000_000);

async function refusalMs(input: Record<string, unknown>): Promise<{ ms: number; field: string }> {
  const started = performance.now();
  const error = await tracker.recordGeneration(input as never).then(
    () => null,
    (caught: unknown) => caught,
  );
  const ms = performance.now() - started;
  if (!(error instanceof ValidationError)) throw new Error(`expected a ValidationError, got ${String(error)}`);
  return { ms, field: error.field ?? '' };
}

async function measure(title: string, input: Record<string, unknown>): Promise<void> {
  const runs: number[] = [];
  let field = '';
  for (let run = 0; run < 5; run += 1) {
    const result = await refusalMs(input);
    runs.push(result.ms);
    field = result.field;
  }
  runs.sort((a, b) => a - b);
  console.log(
    `${title}: refused on ${field} in ${runs[2]!.toFixed(1)} ms (median of 5; min ${runs[0]!.toFixed(1)}, max ${runs[4]!.toFixed(1)})`,
  );
}

await measure('requestPayload of 10,000,000 numbers', { ...base, requestPayload: bigArray });
await measure('metadata of 1,000,000 keys', { ...base, metadata: manyKeys });
await measure('requestPayload holding a 100,000,000-character string', { ...base, requestPayload: { prompt: longText } });
await measure('toolId of 100,000,000 characters', { ...base, toolId: longText });
