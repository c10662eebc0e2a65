/**
 * The `genledger` command, driven in-process against the mingo-backed fake Db (the command itself
 * only parses arguments, connects, and prints what the library functions return).
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli, type CliEnvironment } from '../../adapters/mongo/cli.js';
import { missingDriverMessage, redactedUri } from '../../adapters/mongo/cli-messages.js';
import { FakeDb } from './fake-db.js';
import { buildLegacyDataset, FIXTURE_CLEAN, FIXTURE_NEEDING_REPAIR } from './legacy-fixture.js';

function environment(fake: FakeDb, isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const connections: { uri: string; database?: string; closed: boolean }[] = [];
  const env: CliEnvironment = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text), isTTY },
    env: {},
    connect: async (uri) => {
      const connection: { uri: string; database?: string; closed: boolean } = { uri, closed: false };
      connections.push(connection);
      return {
        db: (name: string) => {
          connection.database = name;
          return fake.asDb();
        },
        close: async () => {
          connection.closed = true;
        },
      };
    },
  };
  return { env, out: () => out.join(''), err: () => err.join(''), connections };
}

// The command plans repairs as of the real clock, so the dataset is built as found now.
const dataset = () => buildLegacyDataset(1376, new Date());

async function seeded(): Promise<FakeDb> {
  const fake = new FakeDb();
  await fake.collection('generationOutputs').insertMany(dataset().generations as Document[]);
  return fake;
}

describe('the genledger command (on the mingo fake, not a server)', () => {
  it('audit --json prints the counts per problem, draws progress on stderr, and closes its connection', async () => {
    const fake = await seeded();
    const io = environment(fake);
    const code = await runCli(['audit', '--uri', 'mongodb://example:27017', '--db', 'prod', '--json', '--batch-size', '400'], io.env);
    expect(code).toBe(0);
    const report = JSON.parse(io.out());
    expect(report).toMatchObject({ collection: 'generationOutputs', scanned: FIXTURE_NEEDING_REPAIR + FIXTURE_CLEAN, withProblems: FIXTURE_NEEDING_REPAIR });
    expect(report.problems).toEqual(dataset().expected);
    expect(io.err()).toMatch(/audit \[#+-*\]\s+\d+% \d+\/1500\n/);
    expect(io.err()).toContain('100% 1500/1500');
    expect(io.connections).toEqual([{ uri: 'mongodb://example:27017', database: 'prod', closed: true }]);
  }, 120_000);

  it('backfill is a dry run without --apply, repairs with it, and a second run has nothing to do', async () => {
    const fake = await seeded();
    const dry = environment(fake, true);
    expect(await runCli(['backfill', '--uri', 'mongodb://x', '--db', 'prod'], dry.env)).toBe(0);
    expect(dry.out()).toContain(`dry run: ${FIXTURE_NEEDING_REPAIR} documents would be repaired; run again with --apply`);
    expect(dry.out()).toMatch(/missing-durationMs\s+\d+\s+finished without durationMs/);
    expect(dry.err()).toContain('\r'); // redrawn in place on a terminal
    const applied = environment(fake);
    expect(await runCli(['backfill', '--uri', 'mongodb://x', '--db', 'prod', '--apply', '--json'], applied.env)).toBe(0);
    expect(JSON.parse(applied.out())).toMatchObject({ applied: true, planned: FIXTURE_NEEDING_REPAIR, repaired: FIXTURE_NEEDING_REPAIR });
    const again = environment(fake);
    expect(await runCli(['backfill', '--uri', 'mongodb://x', '--db', 'prod', '--apply'], again.env)).toBe(0);
    expect(again.out()).toContain('generationOutputs: 1500 documents scanned, 0 need repair');
    expect(again.out()).toContain('repaired 0 of 0 documents');
  }, 240_000);

  it('migrate renames once, then says it is done; with both collections it refuses with exit code 2', async () => {
    const fake = new FakeDb();
    await fake.collection('cook_collections').insertMany([{ name: 'a' }]);
    const first = environment(fake);
    expect(await runCli(['migrate', '--uri', 'mongodb://x', '--db', 'prod'], first.env)).toBe(0);
    expect(first.out()).toBe('renamed: renamed "cook_collections" to "collections"\n');
    const second = environment(fake);
    expect(await runCli(['migrate', '--uri', 'mongodb://x', '--db', 'prod', '--json'], second.env)).toBe(0);
    expect(JSON.parse(second.out())).toMatchObject({ outcome: 'already-migrated' });
    await fake.collection('cook_collections').insertMany([{ name: 'b' }]);
    const both = environment(fake);
    expect(await runCli(['migrate', '--uri', 'mongodb://x', '--db', 'prod'], both.env)).toBe(2);
    expect(both.out()).toMatch(/^refused: both "cook_collections" \(1 documents\) and "collections" \(1 documents\) exist/);
  });

  it.each([
    [[], 'a command is required'],
    [['vacuum', '--uri', 'u', '--db', 'd'], 'unknown command "vacuum"'],
    [['audit', '--db', 'd'], '--uri is required'],
    [['audit', '--uri', 'u'], '--db is required'],
    [['audit', '--uri', 'u', '--db', 'd', '--apply'], '--apply only applies to backfill'],
    [['audit', '--uri', 'u', '--db', 'd', '--batch-size', '0'], '--batch-size must be a positive number'],
    [['audit', '--uri', 'u', '--db', 'd', '--bogus'], "Unknown option '--bogus'"],
  ])('%j is a usage error (exit 2) that says what is wrong and connects to nothing', async (argv, message) => {
    const io = environment(new FakeDb());
    expect(await runCli(argv, io.env)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).toContain('usage: genledger');
    expect(io.connections).toEqual([]);
  });

  it('a server it cannot reach is one line on stderr and exit code 1, after saying it is connecting', async () => {
    const io = environment(new FakeDb());
    const refused = { ...io.env, connect: async () => Promise.reject(new Error('Server selection timed out after 5000 ms\n  at Topology.selectServer (...)\n  at ...')) };
    expect(await runCli(['audit', '--uri', 'mongodb://ada:secret@db.example:27017', '--db', 'prod'], refused)).toBe(1);
    expect(io.err().split('\n').filter(Boolean)).toEqual([
      'genledger: connecting to mongodb://ada:***@db.example:27017 (waits up to 5 s)',
      'genledger: cannot connect to mongodb://ada:***@db.example:27017: Server selection timed out after 5000 ms',
    ]);
    expect(io.out()).toBe('');
  });

  it('says what to install when the driver is missing, and only then', () => {
    const missing = Object.assign(new Error("Cannot find package 'mongodb' imported from /app/node_modules/genledger/dist/genledger-cli.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(missingDriverMessage(missing)).toBe('the genledger command needs the MongoDB driver: npm install mongodb');
    expect(missingDriverMessage(Object.assign(new Error("Cannot find module 'left-pad'"), { code: 'MODULE_NOT_FOUND' }))).toBeNull();
    expect(missingDriverMessage(new Error('mongodb'))).toBeNull();
    expect(redactedUri('mongodb+srv://user:p%40ss@cluster0.example.net/app')).toBe('mongodb+srv://user:***@cluster0.example.net/app');
  });

  it.each([
    [['audit', '--uri', 'notauri', '--db', 'prod'], /^genledger: cannot connect to notauri: .+$/],
    [['audit', '--uri', 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300', '--db', 'prod'], /^genledger: cannot connect to mongodb:\/\/127\.0\.0\.1:1\/\?serverSelectionTimeoutMS=300: .+$/],
  ])('the real command with %j prints one line, no stack, and exits 1', (argv, last) => {
    const bin = fileURLToPath(new URL('../../adapters/mongo/bin.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', bin, ...argv], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^genledger: connecting to /);
    expect(lines[1]).toMatch(last);
    expect(run.stdout).toBe('');
  }, 30_000);

  it('--uri falls back to MONGODB_URI', async () => {
    const io = environment(new FakeDb());
    const code = await runCli(['migrate', '--db', 'd'], { ...io.env, env: { MONGODB_URI: 'mongodb://from-env' } });
    expect(code).toBe(0);
    expect(io.connections[0]!.uri).toBe('mongodb://from-env');
  });
});
