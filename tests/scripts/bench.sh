#!/usr/bin/env bash
# The side-by-side benchmark (issue 7): builds rcgate, rcgate-sim and bench_table (optimised:
# RelWithDebInfo) into BUILD_DIR (default: build-bench), installs the reference bot's pinned
# packages (npm ci, tests/bench/reference-bot), then runs rcgate and the @rocket.chat/sdk
# reference bot one after the other against the same simulator and prints one table.
# Extra arguments go to bench_table (--rate, --seconds, --upload-mb, --bot-cpu, --json FILE,
# --rcgate-only: rcgate alone, no reference bot or curl, for comparing builds...).
# `bench.sh --rss-breakdown`: rcgate alone, idle on the household, and each mapping's share of
# its RSS (needs neither Node.js nor the reference bot).
# Not part of CI: figures depend on the machine and on what else runs on it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$here/build-bench}"
jobs="${JOBS:-2}"

# --rss-breakdown: only rcgate, idle, and where its memory is (no reference bot, no curl).
rss_only=no
for a in "$@"; do [ "$a" = --rss-breakdown ] && rss_only=yes; done
tools=(cmake ninja taskset)
[ "$rss_only" = yes ] || tools+=(node npm curl)
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench: '$tool' is not installed (needed: ${tools[*]})" >&2
    exit 1
  fi
done
if [ "$(nproc)" -lt 2 ]; then
  echo "bench: needs 2 cores (the bot on one, the simulator on the other); pass --bot-cpu/--sim-cpu to override" >&2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
nice -n 10 ninja -C "$build" -j "$jobs" rcgate rcgate-sim bench_table

if [ "$rss_only" = yes ]; then
  exec "$build/tests/bench/bench_table" "$@"
fi

bot="$here/tests/bench/reference-bot"
# npm ci when the packages are missing or older than the lockfile (pinned versions only).
if [ ! -d "$bot/node_modules/@rocket.chat/sdk" ] || [ "$bot/package-lock.json" -nt "$bot/node_modules" ]; then
  (cd "$bot" && npm ci --prefer-offline --no-audit --no-fund >/dev/null)
fi

echo "bench: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (nproc $(nproc))" >&2
exec "$build/tests/bench/bench_table" --reference-bot "$bot" "$@"
