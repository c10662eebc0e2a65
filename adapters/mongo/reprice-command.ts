/**
 * `genledger reprice`: re-prices one tool's finished generations in a time range under a price
 * table, on a MongoDB or PostgreSQL store, page by page (`tracker.reprice()`), printing each
 * generation's difference as its page is read, the sum per parent at the end, and progress on
 * stderr. A dry run unless `--apply`. Every wrong argument is one line on stderr and exit code 2,
 * decided before anything connects. `bin.ts` runs it with the real drivers (reprice-stores.ts);
 * tests run it on any repository.
 *
 * ```sh
 * genledger reprice --tool chat --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z \
 *   --prices prices.json --store postgres --uri postgres://... [--apply]
 * ```
 */
import { parseArgs } from 'node:util';
import { createTracker, GenledgerError, priceTableSchema, toUsdAmount, type LedgerRepository, type Logger, type PriceTableInput, type RepriceDifference } from 'genledger';
import { formatUsdUnits, parseSignedUsdUnits, reviveStoredPriceTable } from 'genledger/adapter';
import { MissingDriverError, oneLine, redactedUri } from './cli-messages.js';

export const REPRICE_USAGE = `usage: genledger reprice --tool <id> --from <iso instant> --to <iso instant>
                        --store <mongodb|postgres> --uri <uri> [--prices <file.json>] [options]

  Re-prices the finished generations of one tool requested in [from, to) under the price table,
  printing each generation whose cost differs, the sum each cast and cook receives, and progress
  on stderr. A dry run (nothing written) unless --apply; a second --apply run changes nothing.

options:
  --tool <id>                the tool whose generations are re-priced (required)
  --service <name>           only the tool's generations run by this service
  --from <iso>, --to <iso>   request times, e.g. 2026-01-01T00:00:00Z (required; from < to)
  --prices <file.json>       the price table as JSON (createTracker's prices, effectiveFrom as ISO text);
                             default: the latest table stored through the repository
  --points-per-usd <rate>    the tracker's pointsPerUsd, for versions without their own (default: none)
  --apply                    write the differences as adjustments (default: dry run)
  --store <mongodb|postgres> the store (default: from the --uri scheme)
  --uri <uri>                connection string (mongodb://... or postgres://...)
  --db <name>                mongodb: the database (required there)
  --schema <name>            postgres: the schema (default public)
  --table-prefix <prefix>    postgres: the table prefix (default genledger_)
  --batch-size <n>           generations per page, 1-5000 (default 500)
  --json                     one JSON object per line on stdout: differences, parents, accounts, then a summary
  --help                     this text
`;

export type StoreKind = 'mongodb' | 'postgres';

/** Where to connect, as the command was told. */
export interface StoreTarget {
  readonly store: StoreKind;
  readonly uri: string;
  /** mongodb: the database. */
  readonly database?: string | undefined;
  /** postgres: schema and table prefix (`undefined`: the adapter's defaults). */
  readonly schema?: string | undefined;
  readonly tablePrefix?: string | undefined;
}

/** An open store; the command closes it when done. */
export interface OpenedStore {
  readonly repository: LedgerRepository;
  close(): Promise<void>;
}

/** Where the command reads and writes, injectable for tests. */
export interface RepriceEnvironment {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readFile(path: string): Promise<string>;
  openStore(target: StoreTarget): Promise<OpenedStore>;
  /** Loads the store's driver before anything is printed; throws a `MissingDriverError` when it is not installed. */
  loadDriver?(store: StoreTarget['store']): Promise<void>;
}

/** A wrong argument: one line, exit code 2, nothing connected. */
export class RepriceUsageError extends Error {
  override readonly name = 'RepriceUsageError';
}

/** An instant written in ISO 8601 with a date, and, when a time is given, its zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function instant(value: string | undefined, option: string): Date {
  if (value === undefined) throw new RepriceUsageError(`--${option} is required (an ISO 8601 instant like 2026-01-01T00:00:00Z)`);
  const date = new Date(value);
  // Date rolls a day past the month's end over (2026-02-30 is March 2): the day must exist.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const dayExists = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!ISO_INSTANT.test(value) || !dayExists || Number.isNaN(date.getTime())) {
    throw new RepriceUsageError(`--${option} must be an ISO 8601 instant like 2026-01-01T00:00:00Z (a time needs its zone), got "${value}"`);
  }
  return date;
}

function storeKind(store: string | undefined, uri: string): StoreKind {
  if (store === 'mongodb' || store === 'postgres') return store;
  if (store !== undefined) throw new RepriceUsageError(`--store must be mongodb or postgres, got "${store}"`);
  if (/^mongodb(\+srv)?:\/\//i.test(uri)) return 'mongodb';
  if (/^postgres(ql)?:\/\//i.test(uri)) return 'postgres';
  throw new RepriceUsageError('--store is required when --uri is not mongodb://... or postgres://...');
}

/** What the arguments ask, checked whole before anything connects. */
export interface RepriceCommand {
  readonly toolId: string;
  readonly serviceName: string | undefined;
  readonly from: Date;
  readonly to: Date;
  readonly apply: boolean;
  readonly json: boolean;
  readonly batchSize: number;
  /** `undefined`: the latest table stored through the repository. */
  readonly pricesFile: string | undefined;
  readonly pointsPerUsd: string | undefined;
  readonly target: StoreTarget;
}

export function parseRepriceArguments(argv: readonly string[]): RepriceCommand | 'help' {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    // node:util's own messages ("Unknown option '--x'. To specify a positional argument, ...") run long.
    throw new RepriceUsageError(oneLine(error).replace(/\. To specify a positional argument.*$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) throw new RepriceUsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.tool) throw new RepriceUsageError('--tool is required');
  const from = instant(values.from, 'from');
  const to = instant(values.to, 'to');
  if (from >= to) throw new RepriceUsageError(`--to must be after --from (got ${from.toISOString()} to ${to.toISOString()})`);
  if (values.prices === '') throw new RepriceUsageError('--prices needs a file name');
  if (!values.uri) throw new RepriceUsageError('--uri is required');
  const store = storeKind(values.store, values.uri);
  if (store === 'mongodb' && !values.db) throw new RepriceUsageError('--db is required with --store mongodb');
  if (store !== 'mongodb' && values.db !== undefined) throw new RepriceUsageError('--db applies to --store mongodb only');
  if (store !== 'postgres' && (values.schema !== undefined || values['table-prefix'] !== undefined)) {
    throw new RepriceUsageError('--schema and --table-prefix apply to --store postgres only');
  }
  let batchSize = 500;
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5_000) {
      throw new RepriceUsageError(`--batch-size must be a whole number from 1 to 5000, got "${values['batch-size']}"`);
    }
  }
  let pointsPerUsd: string | undefined;
  if (values['points-per-usd'] !== undefined) {
    try {
      pointsPerUsd = toUsdAmount(values['points-per-usd']);
    } catch {
      throw new RepriceUsageError(`--points-per-usd must be a non-negative decimal like 100 or 0.5, got "${values['points-per-usd']}"`);
    }
  }
  return {
    toolId: values.tool,
    serviceName: values.service,
    from,
    to,
    apply: values.apply ?? false,
    json: values.json ?? false,
    batchSize,
    pricesFile: values.prices,
    pointsPerUsd,
    target: { store, uri: values.uri, database: values.db, schema: values.schema, tablePrefix: values['table-prefix'] },
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      tool: { type: 'string' },
      service: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      prices: { type: 'string' },
      'points-per-usd': { type: 'string' },
      apply: { type: 'boolean', default: false },
      store: { type: 'string' },
      uri: { type: 'string' },
      db: { type: 'string' },
      schema: { type: 'string' },
      'table-prefix': { type: 'string' },
      'batch-size': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

/**
 * A price table read from JSON: `effectiveFrom` written as ISO text becomes a `Date`, then the
 * whole table is checked by `priceTableSchema` (a wrong one names its field).
 */
export function priceTableFromJson(text: string, source: string): PriceTableInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RepriceUsageError(`${source} is not JSON: ${oneLine(error)}`);
  }
  const revived = reviveStoredPriceTable(value);
  const checked = priceTableSchema.safeParse(revived);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const more = checked.error.issues.length > 1 ? ` (and ${checked.error.issues.length - 1} more)` : '';
    throw new RepriceUsageError(`${source}: ${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}${more}`);
  }
  // The table as written (dates revived): createTracker parses it again, as it parses any table.
  return revived as PriceTableInput;
}

const signed = (amount: string) => (amount.startsWith('-') ? amount : `+${amount}`);
const signedPoints = (points: number) => (points < 0 ? String(points) : `+${points}`);

function differenceLine(difference: RepriceDifference): string {
  return (
    `  ${difference.generationId}  cast ${difference.castId ?? '-'}  cook ${difference.cookId ?? '-'}  account ${difference.masterAccountId}  ` +
    `${difference.fromVersionId ?? 'unpriced'} -> ${difference.toVersionId}  $${difference.previousCostUsd} -> $${difference.costUsd} (${signed(difference.deltaUsd)})  ` +
    `points ${difference.previousPointsSpent} -> ${difference.pointsSpent} (${signedPoints(difference.deltaPoints)})\n`
  );
}

/** Runs `genledger reprice <argv>`; resolves to the exit code (0 done, 1 failed, 2 wrong arguments or a refusal). */
export async function runReprice(argv: readonly string[], environment: RepriceEnvironment): Promise<number> {
  const { stdout, stderr } = environment;
  const fail = (code: number, message: string) => {
    stderr.write(`genledger reprice: ${message}\n`);
    return code;
  };
  let command: RepriceCommand;
  let prices: PriceTableInput | undefined;
  try {
    const parsed = parseRepriceArguments(argv);
    if (parsed === 'help') {
      stdout.write(REPRICE_USAGE);
      return 0;
    }
    command = parsed;
    if (command.pricesFile !== undefined) {
      let text: string;
      try {
        text = await environment.readFile(command.pricesFile);
      } catch (error) {
        throw new RepriceUsageError(`cannot read --prices ${command.pricesFile}: ${oneLine(error)}`);
      }
      prices = priceTableFromJson(text, command.pricesFile);
    }
  } catch (error) {
    if (error instanceof RepriceUsageError) return fail(2, `${error.message} (genledger reprice --help)`);
    throw error;
  }

  const { target } = command;
  try {
    await environment.loadDriver?.(target.store);
  } catch (error) {
    if (error instanceof MissingDriverError) return fail(2, error.message);
    throw error;
  }
  stderr.write(`genledger reprice: connecting to ${target.store} at ${redactedUri(target.uri)}\n`);
  let opened: OpenedStore;
  try {
    opened = await environment.openStore(target);
  } catch (error) {
    if (error instanceof MissingDriverError) return fail(2, error.message);
    return fail(1, `cannot connect to ${redactedUri(target.uri)}: ${oneLine(error)}`);
  }
  const logger: Logger = {
    warn: (message) => stderr.write(`genledger reprice: warning: ${oneLine(message)}\n`),
    error: (message) => stderr.write(`genledger reprice: error: ${oneLine(message)}\n`),
  };
  const dryRun = !command.apply;
  try {
    const tracker = createTracker({ repository: opened.repository, prices, pointsPerUsd: command.pointsPerUsd, logger });
    let pricesUsed: { source: 'file'; path: string } | { source: 'store'; revision: number };
    if (command.pricesFile !== undefined) {
      pricesUsed = { source: 'file', path: command.pricesFile };
    } else {
      const stored = await tracker.refreshPrices();
      if (stored.revision === null) {
        return fail(2, 'the store holds no price table: pass --prices <file.json>, or save one with tracker.setPrices(table, { store: true }) (genledger reprice --help)');
      }
      pricesUsed = { source: 'store', revision: stored.revision };
    }
    stderr.write(`genledger reprice: pricing with ${pricesUsed.source === 'file' ? pricesUsed.path : `the stored price table, revision ${pricesUsed.revision}`}\n`);
    const range = `tool "${command.toolId}"${command.serviceName === undefined ? '' : ` (service "${command.serviceName}")`}, requested ${command.from.toISOString()} to ${command.to.toISOString()}`;
    if (!command.json) stdout.write(`${dryRun ? 'dry run' : 'applying'}: re-pricing ${range}\n`);
    const parents = new Map<string, { kind: 'cast' | 'cook'; id: string; units: bigint; points: number }>();
    const accounts = new Map<string, { units: bigint; points: number; generations: number }>();
    let read = 0;
    let considered = 0;
    let differing = 0;
    let reported = 0;
    let unpricedNow = 0;
    let totalUnits = 0n;
    let totalPoints = 0;
    let pages = 0;
    let cursor: string | null = null;
    do {
      const page = await tracker.reprice({
        toolId: command.toolId,
        serviceName: command.serviceName,
        from: command.from,
        to: command.to,
        dryRun,
        cursor,
        limit: command.batchSize,
      });
      pages += 1;
      for (const difference of page.differences) {
        stdout.write(command.json ? `${JSON.stringify({ type: 'difference', ...difference })}\n` : differenceLine(difference));
        totalPoints += difference.deltaPoints;
      }
      for (const parent of page.parents) {
        const key = `${parent.kind}:${parent.id}`;
        const entry = parents.get(key) ?? { kind: parent.kind, id: parent.id, units: 0n, points: 0 };
        entry.units += parseSignedUsdUnits(parent.deltaUsd);
        entry.points += parent.deltaPoints;
        parents.set(key, entry);
      }
      for (const account of page.accounts) {
        const entry = accounts.get(account.masterAccountId) ?? { units: 0n, points: 0, generations: 0 };
        entry.units += parseSignedUsdUnits(account.deltaUsd);
        entry.points += account.deltaPoints;
        entry.generations += account.generations;
        accounts.set(account.masterAccountId, entry);
      }
      read += page.scanned;
      considered += page.considered;
      differing += page.differences.length;
      reported += page.skipped.reported;
      unpricedNow += page.skipped.unpricedNow;
      totalUnits += parseSignedUsdUnits(page.totalDeltaUsd);
      cursor = page.nextCursor;
      const progress = `reprice: page ${pages}, ${read} generations read, ${differing} differing${cursor === null ? ', done' : ''}`;
      stderr.write(stderr.isTTY ? `\r${progress}${cursor === null ? '\n' : ''}` : `${progress}\n`);
    } while (cursor !== null);

    const parentList = [...parents.values()].sort((left, right) => (left.kind === right.kind ? (left.id < right.id ? -1 : 1) : left.kind === 'cast' ? -1 : 1));
    const accountList = [...accounts].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    const summary = {
      type: 'summary',
      dryRun,
      toolId: command.toolId,
      serviceName: command.serviceName ?? null,
      from: command.from.toISOString(),
      to: command.to.toISOString(),
      prices: pricesUsed,
      read,
      considered,
      differing,
      skipped: { reported, unpricedNow },
      totalDeltaUsd: formatUsdUnits(totalUnits),
      totalDeltaPoints: totalPoints,
    };
    if (command.json) {
      for (const parent of parentList) stdout.write(`${JSON.stringify({ type: 'parent', kind: parent.kind, id: parent.id, deltaUsd: formatUsdUnits(parent.units), deltaPoints: parent.points })}\n`);
      for (const [masterAccountId, account] of accountList) {
        stdout.write(`${JSON.stringify({ type: 'account', masterAccountId, deltaUsd: formatUsdUnits(account.units), deltaPoints: account.points, generations: account.generations })}\n`);
      }
      stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      if (parentList.length > 0) {
        stdout.write('per parent:\n');
        for (const parent of parentList) stdout.write(`  ${parent.kind} ${parent.id}  ${signed(formatUsdUnits(parent.units))} USD  ${signedPoints(parent.points)} points\n`);
      }
      if (accountList.length > 0) {
        // A report: applying corrects the books' cost figures, it does not charge or refund an account.
        stdout.write('per account (not charged: balances are not moved):\n');
        for (const [masterAccountId, account] of accountList) {
          stdout.write(`  ${masterAccountId}  ${signed(formatUsdUnits(account.units))} USD  ${signedPoints(account.points)} points  (${account.generations} generation${account.generations === 1 ? '' : 's'})\n`);
        }
      }
      stdout.write(
        `${read} generation${read === 1 ? '' : 's'} read, ${considered} priced, ${differing} differing (${signed(summary.totalDeltaUsd)} USD, ${signedPoints(totalPoints)} points); ` +
          `left alone: ${reported} with a reported cost, ${unpricedNow} with no price in force now\n`,
      );
      stdout.write(
        dryRun
          ? differing > 0
            ? 'dry run: nothing written; run again with --apply to write these adjustments\n'
            : 'dry run: nothing to adjust\n'
          : `applied ${differing} adjustment${differing === 1 ? '' : 's'}; a second run changes nothing\n`,
      );
    }
    return 0;
  } catch (error) {
    // A store that keeps no price tables, asked for its table: say so, exit 2.
    if (error instanceof GenledgerError && error.code === 'UNSUPPORTED') return fail(2, `${error.reason} (pass --prices <file.json>)`);
    // A refusal (a store that cannot adjust, for --apply) or a wrong option the tracker found: exit 2.
    if (error instanceof GenledgerError && (error.code === 'CONFLICT' || error.code === 'VALIDATION_FAILED') && error.field?.startsWith('input.dryRun')) {
      return fail(2, `${error.reason}`.replace('pass dryRun: true', 'run without --apply'));
    }
    if (error instanceof GenledgerError && error.code === 'VALIDATION_FAILED') return fail(2, `${error.field ?? ''}: ${error.reason}`);
    return fail(1, oneLine(error));
  } finally {
    await opened.close().catch(() => undefined);
  }
}
