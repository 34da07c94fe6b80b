#!/usr/bin/env bash
# Configures and builds rcgate into BUILD_DIR (default: build). Extra arguments go to cmake.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$here/build}"
jobs="${JOBS:-$(nproc)}"
cmake -S "$here" -B "$build" -G Ninja "$@" >/dev/null
ninja -C "$build" -j "$jobs"
