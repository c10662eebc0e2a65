#!/usr/bin/env node
/**
 * Entry point of the `genledger` command (package.json "bin"): `reprice` (any store) is
 * reprice-command.ts; the MongoDB legacy commands are cli.ts. The MongoDB driver is an
 * optional peer dependency of genledger, so the command loads it (and everything that needs it)
 * only when it runs: `--help` works without it, and without it the command says what to install
 * in one line instead of a module-resolution stack.
 */
import { CONNECT_TIMEOUT_MS, missingDriverMessage, oneLine, USAGE } from './cli-messages.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'reprice') {
    // Any store: reprice-stores.ts loads the driver the arguments name, once they are checked.
    const [command, stores] = await Promise.all([import('./reprice-command.js'), import('./reprice-stores.js')]);
    const { readFile } = await import('node:fs/promises');
    return command.runReprice(argv.slice(1), {
      stdout: process.stdout,
      stderr: process.stderr,
      readFile: (path) => readFile(path, 'utf8'),
      openStore: stores.openStore,
      loadDriver: stores.loadDriver,
    });
  }
  let cli: typeof import('./cli.js');
  let driver: typeof import('mongodb');
  try {
    [cli, driver] = await Promise.all([import('./cli.js'), import('mongodb')]);
  } catch (error) {
    const missing = missingDriverMessage(error);
    if (missing === null) throw error;
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      // The help lists every command (reprice needs no MongoDB driver), then what is missing.
      process.stdout.write(`${USAGE}\n(${missing})\n`);
      return 0;
    }
    process.stderr.write(`genledger: ${missing}\n`);
    return 2;
  }
  return cli.runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    connect: async (uri) => driver.MongoClient.connect(uri, { serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS, connectTimeoutMS: CONNECT_TIMEOUT_MS }),
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`genledger: ${oneLine(error)}\n`);
    process.exitCode = 1;
  },
);
