#!/usr/bin/env bash
# Crash safety (issue 7, point 4): builds rcgate, rcgate-sim and the driver into BUILD_DIR
# (default: build-chaos, RelWithDebInfo), then kills the daemon with SIGKILL at N random points
# (default 200) while it queues alerts, answers DMs and opens asks, restarting it each time; checks
# that every start loads state.json and queue.json and that every alert the API acknowledged is
# delivered exactly once. Exits non-zero on any loss, duplicate or damaged file.
#   tests/scripts/crash-safety.sh [--kills N] [--seed S] [--interval MS]
# Loopback only; about 5 minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$here/build-chaos}"
jobs="${JOBS:-2}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 10 ninja -C "$build" -j "$jobs" rcgate rcgate-sim rcgate-crash-safety
exec "$build/tests/chaos/rcgate-crash-safety" "$@"
