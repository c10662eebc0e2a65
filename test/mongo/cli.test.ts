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
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUsd, createTracker, silentLogger, type LedgerRepository } from 'genledger';
import { manualClock } from 'genledger/testing';
import { memoryRepository } from 'genledger/memory';
import { mongoRepository } from 'genledger/mongo';
import { REPRICE_USAGE, runReprice, type RepriceEnvironment, type StoreTarget } from '../../adapters/mongo/reprice-command.js';
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
    expect(missingDriverMessage(missing)).toBe('the audit, backfill and migrate commands need the MongoDB driver: npm install mongodb');
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

describe('genledger reprice (any store; here memory, and MongoDB on the mingo fake)', () => {
  const T0 = new Date('2026-01-01T00:00:00.000Z');
  const FROM = '2026-01-01T00:00:00Z';
  const TO = '2026-02-01T00:00:00Z';
  const booked = [{ toolId: 'tool-chat', versions: [{ id: 'chat-1', effectiveFrom: T0, units: { inputTokens: '0.000003' } }] }];
  // The price as it should have been: 0.000004 per input token (as JSON, dates as ISO text).
  const fixed = JSON.stringify([{ toolId: 'tool-chat', versions: [{ id: 'chat-1-fixed', effectiveFrom: FROM, units: { inputTokens: '0.000004' } }] }]);

  /** 5 chat generations under one cast in a cook (1000..1004 input tokens), 1 of another tool, 1 chat outside the range. */
  async function bookedStore(repository: LedgerRepository = memoryRepository()) {
    const tracker = createTracker({ repository, prices: booked, pointsPerUsd: '100', clock: manualClock({ start: T0, autoAdvanceMs: 1 }), logger: silentLogger });
    const cook = await tracker.startCook({ collectionId: 'c', initiatorAccountId: 'acct', targetSupply: 100 });
    const cast = await tracker.startCast({ spellId: 's', initiatorAccountId: 'acct', cookId: cook.id });
    const chat: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const generation = await tracker.recordGeneration({ masterAccountId: 'acct', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', castId: cast.id, requestTimestamp: new Date(T0.getTime() + 1000 * (index + 1)) });
      await tracker.completeGeneration(generation.id, { status: 'success', usage: { inputTokens: 1000 + index } });
      chat.push(generation.id);
    }
    const other = await tracker.recordGeneration({ masterAccountId: 'acct', toolId: 'tool-image', toolDisplayName: 'Image', serviceName: 'api', requestTimestamp: new Date(T0.getTime() + 500) });
    await tracker.completeGeneration(other.id, { status: 'success', costUsd: '0.5' });
    const later = await tracker.recordGeneration({ masterAccountId: 'acct', toolId: 'tool-chat', toolDisplayName: 'Chat', serviceName: 'api', requestTimestamp: new Date('2026-03-01T00:00:00Z') });
    await tracker.completeGeneration(later.id, { status: 'success', usage: { inputTokens: 1000 } });
    return { repository, tracker, cook, cast, chat, later: later.id };
  }

  function io(repository: LedgerRepository, files: Record<string, string> = { 'fixed.json': fixed }, isTTY = false) {
    const out: string[] = [];
    const err: string[] = [];
    const opened: StoreTarget[] = [];
    let closed = 0;
    const env: RepriceEnvironment = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text), isTTY },
      readFile: async (path) => {
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
        return text;
      },
      openStore: async (target) => {
        opened.push(target);
        return { repository, close: async () => void (closed += 1) };
      },
    };
    return { env, out: () => out.join(''), err: () => err.join(''), opened, closed: () => closed };
  }

  const base = ['--tool', 'tool-chat', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--points-per-usd', '100'];
  const pgArgs = [...base, '--uri', 'postgres://ada:secret@db.example/app'];

  it('a dry run prints each difference and the sum per parent, reports progress per page, writes nothing, and closes the store', async () => {
    const { repository, cook, cast, chat, later } = await bookedStore();
    const before = await repository.generations.get([...chat, later]);
    const run = io(repository);
    expect(await runReprice([...pgArgs, '--batch-size', '2'], run.env)).toBe(0);
    const lines = run.out().split('\n').filter(Boolean);
    expect(lines[0]).toBe(`dry run: re-pricing tool "tool-chat", requested 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z`);
    // 1000 tokens: $0.003 -> $0.004, 1 point -> 1 point; each line names its parents and versions.
    expect(lines[1]).toBe(`  ${chat[0]}  cast ${cast.id}  cook ${cook.id}  account acct  chat-1 -> chat-1-fixed  $0.003 -> $0.004 (+0.001)  points 1 -> 1 (+0)`);
    expect(lines.filter((line) => line.includes(' -> chat-1-fixed '))).toHaveLength(5);
    // 5015 more thousandths of a cent: 0.001 * (1000 + 1001 + ... + 1004) / 1000.
    expect(lines).toContain(`  cast ${cast.id}  +0.00501 USD  +0 points`);
    expect(lines).toContain(`  cook ${cook.id}  +0.00501 USD  +0 points`);
    expect(lines).toContain('5 generations read, 5 priced, 5 differing (+0.00501 USD, +0 points); left alone: 0 with a reported cost, 0 with no price in force now');
    expect(lines[lines.length - 1]).toBe('dry run: nothing written; run again with --apply to write these adjustments');
    // Pages of 2: progress after each, on stderr.
    expect(run.err().split('\n').filter((line) => line.startsWith('reprice: page'))).toEqual([
      'reprice: page 1, 2 generations read, 2 differing',
      'reprice: page 2, 4 generations read, 4 differing',
      'reprice: page 3, 5 generations read, 5 differing, done',
    ]);
    expect(run.err()).toContain('genledger reprice: connecting to postgres at postgres://ada:***@db.example/app');
    expect(run.opened).toEqual([{ store: 'postgres', uri: 'postgres://ada:secret@db.example/app', database: undefined, schema: undefined, tablePrefix: undefined }]);
    expect(run.closed()).toBe(1);
    expect(await repository.generations.get([...chat, later])).toEqual(before);
  });

  it('--apply writes each difference as an adjustment its parents receive, and a second run changes nothing', async () => {
    const { repository, tracker, cook, cast, chat } = await bookedStore();
    const castBefore = (await tracker.getCast(cast.id))!.costUsd;
    const applied = io(repository);
    expect(await runReprice([...pgArgs, '--apply'], applied.env)).toBe(0);
    expect(applied.out()).toMatch(/^applying: re-pricing tool "tool-chat"/);
    expect(applied.out()).toContain('applied 5 adjustments; a second run changes nothing\n');
    const adjusted = await tracker.getGeneration(chat[0]!);
    expect(adjusted?.costUsd).toBe('0.004');
    expect(adjusted?.costProvenance?.adjustments.map((adjustment) => [adjustment.fromVersionId, adjustment.toVersionId, adjustment.deltaUsd])).toEqual([['chat-1', 'chat-1-fixed', '0.001']]);
    expect((await tracker.getCast(cast.id))!.costUsd).toBe(addUsd(castBefore, '0.00501'));
    expect((await tracker.getCook(cook.id))!.costUsd).toBe(addUsd(castBefore, '0.00501'));
    const again = io(repository);
    expect(await runReprice([...pgArgs, '--apply'], again.env)).toBe(0);
    expect(again.out()).toContain('5 generations read, 5 priced, 0 differing (+0 USD, +0 points)');
    expect(again.out()).toContain('applied 0 adjustments');
    expect((await tracker.getCast(cast.id))!.costUsd).toBe(addUsd(castBefore, '0.00501'));
  });

  it('--json prints one object per line: each difference, each parent, then the summary', async () => {
    const { repository, cast, chat } = await bookedStore();
    const run = io(repository);
    expect(await runReprice([...pgArgs, '--json'], run.env)).toBe(0);
    const objects = run.out().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string } & Record<string, unknown>);
    expect(objects.filter((object) => object.type === 'difference').map((object) => object.generationId)).toEqual(chat);
    expect(objects.filter((object) => object.type === 'parent')).toContainEqual({ type: 'parent', kind: 'cast', id: cast.id, deltaUsd: '0.00501', deltaPoints: 0 });
    expect(objects[objects.length - 1]).toMatchObject({ type: 'summary', dryRun: true, read: 5, differing: 5, totalDeltaUsd: '0.00501', skipped: { reported: 0, unpricedNow: 0 } });
  });

  it('on MongoDB (the mingo fake) a dry run reads the same differences; --apply on a store that cannot adjust is refused, exit 2, one line', async () => {
    const fake = new FakeDb();
    const { chat } = await bookedStore(mongoRepository(fake.asDb()));
    const run = io(mongoRepository(fake.asDb()));
    expect(await runReprice([...base, '--uri', 'mongodb://x', '--db', 'app'], run.env)).toBe(0);
    expect(run.opened[0]).toMatchObject({ store: 'mongodb', database: 'app' });
    expect(run.out().split('\n').filter((line) => line.includes(' -> chat-1-fixed '))).toHaveLength(chat.length);
    const { repository } = await bookedStore();
    const refused = io({ ...repository, adjustGeneration: undefined });
    expect(await runReprice([...pgArgs, '--apply'], refused.env)).toBe(2);
    const errors = refused.err().split('\n').filter((line) => line.startsWith('genledger reprice:') && !line.includes('connecting') && !line.includes('pricing with'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^genledger reprice: repository "memory" cannot adjust generations .*run without --apply$/);
    expect(refused.out()).not.toContain('applied');
  });

  const table = (value: unknown) => JSON.stringify(value);
  it.each([
    [['--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--tool is required'],
    [['--tool', 't', '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--from is required'],
    [['--tool', 't', '--from', 'yesterday', '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--from must be an ISO 8601 instant like 2026-01-01T00:00:00Z (a time needs its zone), got "yesterday"'],
    [['--tool', 't', '--from', '2026-01-01T00:00:00', '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--from must be an ISO 8601 instant'],
    [['--tool', 't', '--from', '2026-02-30', '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--from must be an ISO 8601 instant'],
    [['--tool', 't', '--from', TO, '--to', FROM, '--prices', 'fixed.json', '--uri', 'postgres://x'], '--to must be after --from'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--uri', 'postgres://x', '--prices', ''], '--prices needs a file name'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json'], '--uri is required'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'redis://x'], '--store is required when --uri is not mongodb://... or postgres://...'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'x', '--store', 'mysql'], '--store must be mongodb or postgres, got "mysql"'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'mongodb://x'], '--db is required with --store mongodb'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', '--db', 'app'], '--db applies to --store mongodb only'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'mongodb://x', '--db', 'a', '--schema', 's'], '--schema and --table-prefix apply to --store postgres only'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', '--batch-size', '0'], '--batch-size must be a whole number from 1 to 5000, got "0"'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', '--batch-size', '9000'], '--batch-size must be a whole number from 1 to 5000'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', '--points-per-usd', 'lots'], '--points-per-usd must be a non-negative decimal like 100 or 0.5, got "lots"'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', '--bogus'], "Unknown option '--bogus'"],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'fixed.json', '--uri', 'postgres://x', 'now'], 'unexpected argument "now"'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'missing.json', '--uri', 'postgres://x'], "cannot read --prices missing.json: ENOENT: no such file or directory, open 'missing.json'"],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'broken.json', '--uri', 'postgres://x'], 'broken.json is not JSON: '],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'float.json', '--uri', 'postgres://x'], 'float.json: 0.versions.0.units.inputTokens: must be a decimal string like "0.000003"'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'undated.json', '--uri', 'postgres://x'], 'undated.json: 0.versions.0.effectiveFrom: must be a valid Date'],
    [['--tool', 't', '--from', FROM, '--to', TO, '--prices', 'object.json', '--uri', 'postgres://x'], 'object.json: '],
  ])('%j is one line on stderr, exit code 2, and connects to nothing', async (argv, message) => {
    const run = io(memoryRepository(), {
      'fixed.json': fixed,
      'broken.json': '[{"toolId": ',
      'float.json': table([{ toolId: 't', versions: [{ id: 'v', effectiveFrom: FROM, units: { inputTokens: 0.000003 } }] }]),
      'undated.json': table([{ toolId: 't', versions: [{ id: 'v', effectiveFrom: 'soon', units: { inputTokens: '1' } }] }]),
      'object.json': table({ toolId: 't' }),
    });
    expect(await runReprice(argv, run.env)).toBe(2);
    const lines = run.err().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`genledger reprice: ${message}`)).toBe(true);
    expect(lines[0]).toMatch(/\(genledger reprice --help\)$/);
    expect(run.opened).toEqual([]);
    expect(run.out()).toBe('');
  });

  it('without --prices it prices with the table stored through the repository; an empty store or one that keeps no tables is one line and exit code 2', async () => {
    const { repository, tracker, chat } = await bookedStore();
    const noPrices = pgArgs.filter((arg, index) => arg !== 'fixed.json' && pgArgs[index + 1] !== 'fixed.json');
    const empty = io(repository);
    expect(await runReprice(noPrices, empty.env)).toBe(2);
    expect(empty.err().split('\n').filter(Boolean).slice(1)).toEqual([
      'genledger reprice: the store holds no price table: pass --prices <file.json>, or save one with tracker.setPrices(table, { store: true }) (genledger reprice --help)',
    ]);
    expect(empty.closed()).toBe(1);
    await tracker.setPrices(JSON.parse(fixed).map((entry: { versions: { effectiveFrom: string }[] }) => ({ ...entry, versions: entry.versions.map((version) => ({ ...version, effectiveFrom: new Date(version.effectiveFrom) })) })), { store: true });
    const stored = io(repository);
    expect(await runReprice([...noPrices, '--json'], stored.env)).toBe(0);
    expect(stored.err()).toContain('genledger reprice: pricing with the stored price table, revision 1\n');
    const objects = stored.out().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.filter((object) => object.type === 'difference').map((object) => [object.generationId, object.toVersionId])).toEqual(chat.map((id) => [id, 'chat-1-fixed']));
    expect(objects[objects.length - 1]).toMatchObject({ type: 'summary', prices: { source: 'store', revision: 1 }, differing: 5 });
    const unsupported = io({ ...repository, capabilities: { ...repository.capabilities, prices: false } });
    expect(await runReprice(noPrices, unsupported.env)).toBe(2);
    expect(unsupported.err().split('\n').filter(Boolean).slice(1)).toHaveLength(1);
    expect(unsupported.err()).toMatch(/genledger reprice: the memory store does not keep price tables .*\(pass --prices <file\.json>\)\n$/);
  });

  it('--help prints the usage; a store it cannot open is one line and exit code 1', async () => {
    const help = io(memoryRepository());
    expect(await runReprice(['--help'], help.env)).toBe(0);
    expect(help.out()).toBe(REPRICE_USAGE);
    const run = io(memoryRepository());
    const refused = { ...run.env, openStore: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect')) };
    expect(await runReprice(pgArgs, refused)).toBe(1);
    expect(run.err().split('\n').filter(Boolean)).toEqual([
      'genledger reprice: connecting to postgres at postgres://ada:***@db.example/app',
      'genledger reprice: cannot connect to postgres://ada:***@db.example/app: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });

  it('the real command dispatches reprice: a wrong argument is one line and exit 2, and an unreachable PostgreSQL one line and exit 1', () => {
    const bin = fileURLToPath(new URL('../../adapters/mongo/bin.ts', import.meta.url));
    const wrong = spawnSync(process.execPath, ['--import', 'tsx', bin, 'reprice', '--tool', 't', '--from', 'soon'], { encoding: 'utf8', timeout: 20_000 });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr.split('\n').filter(Boolean)).toEqual(['genledger reprice: --from must be an ISO 8601 instant like 2026-01-01T00:00:00Z (a time needs its zone), got "soon" (genledger reprice --help)']);
    const prices = join(mkdtempSync(join(tmpdir(), 'genledger-cli-')), 'prices.json');
    writeFileSync(prices, fixed);
    const unreachable = spawnSync(process.execPath, ['--import', 'tsx', bin, 'reprice', ...base.map((arg) => (arg === 'fixed.json' ? prices : arg)), '--uri', 'postgres://u:p@127.0.0.1:1/db'], { encoding: 'utf8', timeout: 20_000 });
    expect(unreachable.status).toBe(1);
    const lines = unreachable.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('genledger reprice: connecting to postgres at postgres://u:***@127.0.0.1:1/db');
    expect(lines[1]).toMatch(/^genledger reprice: cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .+$/);
  }, 30_000);
});
