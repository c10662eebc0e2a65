/**
 * The `genledger` command: legacy audit, backfill and migration on a production MongoDB database.
 * A thin shell over the library functions of `genledger/mongo/legacy` (legacy/); `bin.ts` runs it.
 *
 * ```sh
 * genledger audit    --uri mongodb://... --db app [--json]
 * genledger backfill --uri mongodb://... --db app [--apply] [--json]
 * genledger migrate  --uri mongodb://... --db app [--json]
 * ```
 */
import { parseArgs } from 'node:util';
import type { Db } from 'mongodb';
import {
  auditLegacy,
  backfillLegacy,
  LEGACY_PROBLEM_REPAIRS,
  LEGACY_PROBLEMS,
  migrateCollections,
  MigrationRefusedError,
  type LegacyAuditReport,
} from './legacy/index.js';
import { CONNECT_TIMEOUT_MS, oneLine, redactedUri, USAGE } from './cli-messages.js';

export { USAGE };

/** Where the command reads and writes, injectable for tests. */
export interface CliEnvironment {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Opens a client; the command closes it when done. */
  connect(uri: string): Promise<{ db(name: string): Db; close(): Promise<void> }>;
}

class UsageError extends Error {}

function positiveNumber(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--${option} must be a positive number, got "${value}"`);
  return number;
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per report otherwise. */
function progressBar(stderr: CliEnvironment['stderr'], label: string): { update(done: number, total: number): void; end(): void } {
  let drawn = false;
  return {
    update(done, total) {
      const fraction = total === 0 ? 1 : Math.min(1, done / total);
      const width = 30;
      const filled = Math.round(fraction * width);
      const text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total}`;
      if (stderr.isTTY) stderr.write(`\r${text}`);
      else stderr.write(`${text}\n`);
      drawn = true;
    },
    end() {
      if (drawn && stderr.isTTY) stderr.write('\n');
    },
  };
}

function formatAudit(report: LegacyAuditReport): string {
  const lines = [`${report.collection}: ${report.scanned} documents scanned, ${report.withProblems} need repair`];
  const width = Math.max(...LEGACY_PROBLEMS.map((problem) => problem.length));
  for (const problem of LEGACY_PROBLEMS) {
    const count = report.problems[problem];
    if (count === 0) continue;
    lines.push(`  ${problem.padEnd(width)}  ${String(count).padStart(7)}  ${LEGACY_PROBLEM_REPAIRS[problem]}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the command; resolves to the exit code (0 done, 1 failed, 2 usage error or refusal). */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv, environment);
  } catch (error) {
    environment.stderr.write(`genledger: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    environment.stdout.write(USAGE);
    return 0;
  }
  const { command, uri, database, json, apply, stuckAfterMs, batchSize, generations } = parsed;
  // Every failure from here on is one line and a non-zero exit, never a stack trace.
  environment.stderr.write(`genledger: connecting to ${redactedUri(uri)} (waits up to ${CONNECT_TIMEOUT_MS / 1000} s)\n`);
  let client: Awaited<ReturnType<CliEnvironment['connect']>>;
  try {
    client = await environment.connect(uri);
  } catch (error) {
    environment.stderr.write(`genledger: cannot connect to ${redactedUri(uri)}: ${oneLine(error)}\n`);
    return 1;
  }
  try {
    const db = client.db(database);
    const collections = { generations };
    const print = (report: unknown, text: string) => environment.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : text);
    if (command === 'migrate') {
      try {
        const report = await migrateCollections(db, { collections });
        print(report, `${report.outcome}: ${report.detail}\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof MigrationRefusedError)) throw error;
        print({ outcome: 'refused', reason: error.reason }, `refused: ${error.reason}\n`);
        return 2;
      }
    }
    const bar = progressBar(environment.stderr, command);
    const scan = { collections, stuckAfterMs, batchSize, onProgress: bar.update };
    if (command === 'audit') {
      const report = await auditLegacy(db, scan);
      bar.end();
      print(report, formatAudit(report));
      return 0;
    }
    const report = await backfillLegacy(db, { ...scan, apply });
    bar.end();
    const outcome = apply
      ? `repaired ${report.repaired} of ${report.planned} documents${report.changedMeanwhile > 0 ? `; ${report.changedMeanwhile} changed while the backfill ran: run it again` : ''}\n`
      : `dry run: ${report.planned} documents would be repaired; run again with --apply to write them\n`;
    print(report, formatAudit(report) + outcome);
    return 0;
  } catch (error) {
    environment.stderr.write(`genledger ${command}: ${oneLine(error)}\n`);
    return 1;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function parse(argv: readonly string[], environment: CliEnvironment) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      uri: { type: 'string' },
      db: { type: 'string' },
      apply: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'stuck-after-hours': { type: 'string' },
      'batch-size': { type: 'string' },
      collection: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help' as const;
  const [command, ...extra] = positionals;
  if (command !== 'audit' && command !== 'backfill' && command !== 'migrate') {
    throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const uri = values.uri ?? environment.env.MONGODB_URI;
  if (!uri) throw new UsageError('--uri is required (or set MONGODB_URI)');
  if (!values.db) throw new UsageError('--db is required');
  if (values.apply && command !== 'backfill') throw new UsageError('--apply only applies to backfill');
  return {
    command,
    uri,
    database: values.db,
    json: values.json ?? false,
    apply: values.apply ?? false,
    stuckAfterMs: positiveNumber(values['stuck-after-hours'], 'stuck-after-hours', 24) * 3_600_000,
    batchSize: Math.floor(positiveNumber(values['batch-size'], 'batch-size', 500)),
    generations: values.collection,
  };
}
