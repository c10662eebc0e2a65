/**
 * What the `genledger` command says when it cannot start or connect: one line each, never a stack
 * trace. Kept apart from cli.ts so bin.ts can use it before the MongoDB driver is loaded.
 */

/** How long the command waits for a server before it gives up. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** The first line of an error's message (driver messages can run over many lines). */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0]!.trim() || (error instanceof Error ? error.name : 'unknown error');
}

/** What to install, when `error` is the MongoDB driver missing; `null` for any other error. */
export function missingDriverMessage(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]mongodb['"]/.test(message)) {
    return 'the audit, backfill and migrate commands need the MongoDB driver: npm install mongodb';
  }
  return null;
}

/**
 * `genledger reprice --store <store>` without the store's driver installed (both are optional
 * peers): its message is the one line the command prints, and the exit code is 2, as for the
 * legacy commands without the MongoDB driver.
 */
export class MissingDriverError extends Error {
  override readonly name = 'MissingDriverError';
  constructor(store: 'mongodb' | 'postgres', cause: unknown) {
    super(store === 'postgres' ? '--store postgres needs the PostgreSQL driver: npm install pg' : '--store mongodb needs the MongoDB driver: npm install mongodb', { cause });
  }
}

/** A connection string with its password hidden, for "connecting to ..." lines. */
export function redactedUri(uri: string): string {
  return uri.replace(/^([a-z+]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}

/** The `genledger` command's help; here, not in cli.ts, so it prints without the MongoDB driver. */
export const USAGE = `usage: genledger <audit|backfill|migrate> --uri <mongodb uri> --db <database> [options]
       genledger reprice --tool <id> --from <iso> --to <iso> --uri <uri> [options]

  audit      count, per problem, the generationOutputs records the legacy system left incomplete
  backfill   repair them in batches (a dry run unless --apply); a second run changes nothing
  migrate    rename cook_collections to collections (safe to re-run; refuses if both exist)
  reprice    re-price one tool's generations on MongoDB or PostgreSQL: genledger reprice --help

options:
  --uri <uri>               MongoDB connection string (default: $MONGODB_URI)
  --db <name>               database name (required)
  --apply                   backfill: write the repairs
  --json                    print the report as JSON on stdout (progress stays on stderr)
  --stuck-after-hours <n>   audit, backfill: open generations idle this long are stuck (default 24)
  --batch-size <n>          audit, backfill: documents per batch (default 500)
  --collection <name>       the generations collection (default generationOutputs)
  --help                    this text
`;
