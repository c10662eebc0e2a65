#!/usr/bin/env node
/**
 * Entry point of the `genledger` command (package.json "bin"): see cli.ts. The MongoDB driver is an
 * optional peer dependency of genledger, so the command loads it (and everything that needs it)
 * only when it runs: `--help` works without it, and without it the command says what to install
 * in one line instead of a module-resolution stack.
 */
import { CONNECT_TIMEOUT_MS, missingDriverMessage, oneLine } from './cli-messages.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let cli: typeof import('./cli.js');
  let driver: typeof import('mongodb');
  try {
    [cli, driver] = await Promise.all([import('./cli.js'), import('mongodb')]);
  } catch (error) {
    const missing = missingDriverMessage(error);
    if (missing === null) throw error;
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(`${missing}\n`);
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
