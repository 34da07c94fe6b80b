#!/usr/bin/env bash
# Conformance suite: Rocket.Chat's own JavaScript clients (pinned in package-lock.json) run
# against rcgate-sim. Usage: run.sh /path/to/rcgate-sim
# Anything missing (sim binary, node, npm packages) is a failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
start_dir="$(pwd)"

if [[ $# -lt 1 || -z "$1" ]]; then
  echo "usage: $0 /path/to/rcgate-sim" >&2
  exit 2
fi
sim="$(realpath -m "$1")"
if [[ ! -x "$sim" ]]; then
  echo "conformance: rcgate-sim not found or not executable: $sim (build target rcgate-sim)" >&2
  exit 1
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "conformance: '$tool' is not installed; Node.js >= 20.10 with npm is required" >&2
    exit 1
  fi
done
# --experimental-websocket (global WebSocket for @rocket.chat/ddp-client) appeared in 20.10.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)'; then
  echo "conformance: Node.js >= 20.10 required, found $(node --version)" >&2
  exit 1
fi

cd "$here"
# Install exactly what the lockfile pins. The stamp records which lockfile node_modules was
# installed from, so a repeated run needs no network; npm ci prefers the local cache anyway.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.rcgate-lock.sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "conformance: npm ci (lockfile $lock_sum)"
  if ! npm ci --prefer-offline --no-audit --no-fund; then
    echo "conformance: npm ci failed: cannot install the pinned Rocket.Chat clients" >&2
    exit 1
  fi
  echo "$lock_sum" >"$stamp"
fi

export RCGATE_SIM="$sim"
export CONFORMANCE_LOG_DIR="${CONFORMANCE_LOG_DIR:-$start_dir/conformance-logs}"
echo "conformance: rcgate-sim=$RCGATE_SIM transcripts in $CONFORMANCE_LOG_DIR"

# Every wait inside the tests is bounded; --test-timeout and --test-force-exit are the last
# line of defence so a wedged client can never hang the run.
exec node --experimental-websocket --no-warnings=ExperimentalWarning \
  --test --test-reporter=tap --test-timeout=90000 --test-force-exit \
  ddp-client.test.mjs sdk.test.mjs tls.test.mjs
