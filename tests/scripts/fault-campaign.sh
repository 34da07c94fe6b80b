#!/usr/bin/env bash
# The fault campaign (issue 7, point 3): builds rcgate, rcgate-sim and the driver into BUILD_DIR
# (default: build-chaos, RelWithDebInfo; point BUILD_DIR at an ASan+UBSan build to run the same
# campaign sanitized), then runs N randomized faults through the simulator (TCP drops, drops in
# the middle of a frame, server restarts, silent pings, DDP rate limits, REST 5xx/429 and slow
# answers) while alerts go through rcgate's API and people send DMs. Prints lost / duplicated /
# out-of-order counts, crashes and recovery percentiles; exits non-zero on any of them.
#   tests/scripts/fault-campaign.sh [--faults N] [--seed S] [--time-limit SECONDS]
# Loopback only; about 10 minutes for the default 1000 faults.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$here/build-chaos}"
jobs="${JOBS:-2}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 10 ninja -C "$build" -j "$jobs" rcgate rcgate-sim rcgate-fault-campaign
exec "$build/tests/chaos/rcgate-fault-campaign" "$@"
