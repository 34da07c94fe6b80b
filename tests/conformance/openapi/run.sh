#!/usr/bin/env bash
# Validates rcgate's OpenAPI document with a real OpenAPI validator (@apidevtools/swagger-parser,
# pinned in package-lock.json). Usage: run.sh [path/to/openapi.json]
# Anything missing (node, npm packages) is a failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
document="$(realpath -m "${1:-$here/../../../src/app/openapi.json}")"
if [[ ! -f "$document" ]]; then
  echo "openapi: $document not found" >&2
  exit 1
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "openapi: '$tool' is not installed; Node.js >= 18 with npm is required (tests/scripts/deps.sh)" >&2
    exit 1
  fi
done

cd "$here"
# As in ../run.sh: install exactly what the lockfile pins, once per lockfile.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.rcgate-lock.sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "openapi: npm ci (lockfile $lock_sum)"
  if ! npm ci --prefer-offline --no-audit --no-fund; then
    echo "openapi: npm ci failed: cannot install the pinned OpenAPI validator" >&2
    exit 1
  fi
  echo "$lock_sum" >"$stamp"
fi

exec node validate.mjs "$document"
