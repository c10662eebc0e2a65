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
    return 'the genledger command needs the MongoDB driver: npm install mongodb';
  }
  return null;
}

/** A connection string with its password hidden, for "connecting to ..." lines. */
export function redactedUri(uri: string): string {
  return uri.replace(/^([a-z+]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}
