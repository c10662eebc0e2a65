/**
 * Runs every program in examples/, and each example directory's demo.ts (CI runs this): each must exit 0. Examples import 'genledger' as
 * users do; in the repo, tsconfig paths point that at the sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const directory = join(import.meta.dirname, '..', 'examples');
const entries = readdirSync(directory, { withFileTypes: true });
const programs = [
  ...entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => entry.name),
  ...entries.filter((entry) => entry.isDirectory() && existsSync(join(directory, entry.name, 'demo.ts'))).map((entry) => `${entry.name}/demo.ts`),
].sort();
let failures = 0;
for (const program of programs) {
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(directory, program)], { encoding: 'utf8', timeout: 120_000 });
  const ok = result.status === 0;
  if (!ok) failures += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} examples/${program} (${Date.now() - started} ms)`);
  if (!ok) console.log(result.stdout, result.stderr);
}
console.log(`${programs.length - failures}/${programs.length} examples ran`);
process.exit(failures === 0 ? 0 : 1);
