/**
 * `genledger reprice --store postgres` without the `pg` driver: one line saying what to install,
 * exit code 2, nothing connected (as the legacy commands without the MongoDB driver). The real
 * command runs with a resolve hook that fails `pg` as Node does for a package not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'pg') throw Object.assign(new Error("Cannot find package 'pg' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}`;
const hidePg = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`)}`;

describe('genledger reprice without the pg driver', () => {
  it('--store postgres prints "--store postgres needs the PostgreSQL driver: npm install pg" alone and exits 2', () => {
    const bin = fileURLToPath(new URL('../../adapters/mongo/bin.ts', import.meta.url));
    const prices = join(mkdtempSync(join(tmpdir(), 'genledger-cli-')), 'prices.json');
    writeFileSync(prices, JSON.stringify([{ toolId: 't', versions: [{ id: 'v1', effectiveFrom: '2026-01-01T00:00:00.000Z', units: { images: '0.01' } }] }]));
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', hidePg, bin, 'reprice', '--tool', 't', '--from', '2026-01-01T00:00:00.000Z', '--to', '2026-02-01T00:00:00.000Z', '--prices', prices, '--store', 'postgres', '--uri', 'postgres://ada:secret@127.0.0.1:1/app'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(run.stderr.split('\n').filter(Boolean)).toEqual(['genledger reprice: --store postgres needs the PostgreSQL driver: npm install pg']);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
  });
});
