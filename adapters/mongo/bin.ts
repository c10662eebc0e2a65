#!/usr/bin/env node
/**
 * Entry point of the `genledger` command (package.json "bin"): see cli.ts. The MongoDB driver is an
 * optional peer dependency of genledger; the command needs it installed.
 */
import { MongoClient } from 'mongodb';
import { runCli } from './cli.js';

void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  connect: async (uri) => MongoClient.connect(uri),
}).then((code) => {
  process.exitCode = code;
});
