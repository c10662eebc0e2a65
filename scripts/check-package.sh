#!/usr/bin/env bash
# Checks the package as npm would publish it: publint on the packed tarball, and
# are-the-types-wrong on every subpath for ESM and CJS consumers (node10 resolution is ignored:
# subpath exports cannot work there, and engines already require Node 20).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .tmp/pack && mkdir -p .tmp/pack
tarball=$(npm pack --silent --pack-destination .tmp/pack | tail -n 1)
echo "packed .tmp/pack/$tarball"
npx publint run ".tmp/pack/$tarball" --strict
npx attw ".tmp/pack/$tarball" --profile node16 --format table
