#!/usr/bin/env bash
# Checks the package as npm would publish it: publint on the packed tarball, and
# are-the-types-wrong on every subpath for every resolution: ESM and CJS consumers under node16,
# bundlers, and TypeScript's older `moduleResolution: node` (node10), which ignores `exports` and
# finds the subpaths' types through `typesVersions`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .tmp/pack && mkdir -p .tmp/pack
tarball=$(npm pack --silent --pack-destination .tmp/pack | tail -n 1)
echo "packed .tmp/pack/$tarball"
npx publint run ".tmp/pack/$tarball" --strict
npx attw ".tmp/pack/$tarball" --format table

# The tarball as a stranger meets it: installed into an empty project (only its own dependencies,
# from the registry), then used from there.
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
(
  cd "$project"
  npm init -y >/dev/null
  npm install --silent --no-audit --no-fund "$OLDPWD/.tmp/pack/$tarball" >/dev/null
  cp "$OLDPWD/scripts/stranger-smoke.mjs" ./smoke.mjs
  node smoke.mjs
)

# The command as a stranger meets it without the optional MongoDB driver: what to install, in one line.
(
  cd "$project"
  npx --no-install genledger --help | grep -q 'npm install mongodb'
  if npx --no-install genledger audit --uri mongodb://127.0.0.1:1 --db app 2>"$project/err.txt"; then
    echo "genledger without mongodb should fail"; exit 1
  fi
  test "$(wc -l < "$project/err.txt")" -eq 1 && grep -q 'npm install mongodb' "$project/err.txt"
  echo "stranger smoke: without mongodb, the genledger command says what to install in one line"
)

# The types as a strict stranger compiles them: exactOptionalPropertyTypes, and no skipLibCheck, so
# genledger's own .d.ts files are checked too (without the optional drivers' types installed).
(
  cd "$project"
  npm install --silent --no-audit --no-fund typescript@~5.9.3 @types/node@^20 >/dev/null
  cat > types-smoke.ts <<'TS'
import { createTracker } from 'genledger';
import { memoryRepository } from 'genledger/memory';
import { postgresRepository, type PostgresPool } from 'genledger/postgres';
import { settle, type LedgerRepository, type Settlement } from 'genledger/adapter';

export async function pages(): Promise<number> {
  const tracker = createTracker({ repository: memoryRepository(), limits: { maxInFlightChildren: process.env.CAP ? Number(process.env.CAP) : undefined } });
  const first = await tracker.listGenerations({ limit: 10 });
  // "Pass nextCursor back as cursor", as it is.
  const second = await tracker.listGenerations({ cursor: first.nextCursor });
  return first.items.length + second.items.length;
}

// The adapter kit's types, as a third-party store meets them.
export const kitSettle: (...args: Parameters<typeof settle>) => Settlement = settle;
export const store: LedgerRepository = memoryRepository();

export function fromEnvironment(pool: PostgresPool) {
  return postgresRepository(pool, { schema: process.env.PG_SCHEMA, tablePrefix: process.env.PG_TABLE_PREFIX });
}
TS
  npx --no-install tsc --strict --exactOptionalPropertyTypes --noUncheckedIndexedAccess --skipLibCheck false \
    --module nodenext --moduleResolution nodenext --target es2022 --noEmit types-smoke.ts
  echo "stranger smoke: strict types (exactOptionalPropertyTypes, no skipLibCheck) compile"
)
