#!/usr/bin/env bash
# Sets up a Debian machine, builds rcgate and runs every test (unit, integration against
# rcgate-sim, conformance with Rocket.Chat's JavaScript clients).
#   bash tests/scripts/test.sh             normal build in ./build
#   bash tests/scripts/test.sh --sanitize  ASan+UBSan build in ./build-asan
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"

if [ ! -f ../shared/fixtures/handshake.json ]; then
  echo "test.sh: ../shared/fixtures is missing: the tests replay its server frames" >&2
  exit 1
fi

bash tests/scripts/deps.sh

mode="${1:-}"
if [ "$mode" = "--sanitize" ]; then
  export BUILD_DIR="$here/build-asan"
  bash tests/scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DRCGATE_SANITIZE=ON
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  export BUILD_DIR="$here/build"
  bash tests/scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

cd "$BUILD_DIR"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300
