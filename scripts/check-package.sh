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
