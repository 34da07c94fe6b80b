#!/usr/bin/env bash
# Cross-builds the rcgate Debian package for Raspberry Pi architectures and runs the cross-built
# unit tests under qemu-user.
#   bash tests/scripts/cross-package.sh [--worktree] [ARCH...]   ARCH: arm64 (default) and armhf
# arm64: 64-bit Raspberry Pi OS / Debian on Pi 3, 4, 5; armhf: 32-bit, ARMv7 (Pi 2 and later).
#
# The foreign architecture is registered only here, with its own apt-get update, and removed
# again on exit (with every package of that architecture this script installed), so a broken
# foreign package index never reaches the native build, CI or anyone else's apt-get. When an
# architecture's index cannot be fetched the script says so and goes on with the others.
# libyaml-cpp-dev and libsimdjson-dev are not Multi-Arch: installing a foreign variant would
# remove the native one, so only the co-installable runtime libraries are installed and CMake is
# given a small config for each (the headers are the same on every architecture).
# PKG_DIR (default ./build-pkg) receives the builds, the packages and the logs. JOBS=N.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${PKG_DIR:-$here/build-pkg}"
jobs="${JOBS:-$(nproc)}"
mode="head"
arches=()
for a in "$@"; do
  case "$a" in
    --worktree) mode=worktree ;;
    arm64|armhf) arches+=("$a") ;;
    *) echo "usage: $0 [--worktree] [arm64] [armhf]" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(arm64 armhf)
export DEBIAN_FRONTEND=noninteractive

bash "$here/tests/scripts/deps.sh" || exit 1
native=(dpkg-dev debhelper qemu-user-static)
for a in "${arches[@]}"; do native+=("crossbuild-essential-$a"); done
missing=()
for p in "${native[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross-package.sh: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || { echo "cross-package.sh: cannot install ${missing[*]}" >&2; exit 1; }
fi

version="$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)"
export RCGATE_FIXTURES_DIR="${RCGATE_FIXTURES_DIR:-$here/../shared/fixtures}"
mkdir -p "$out"

added_arch=""
remove_arch() {  # drop the foreign architecture and everything of it that this script installed
  local arch="$1"
  local pkgs
  pkgs="$(dpkg-query -W -f='${Package}:${Architecture}\n' 2>/dev/null | grep ":$arch\$" || true)"
  if [ -n "$pkgs" ]; then
    # Only packages of the foreign architecture: its libc is "essential" to apt, not to this machine.
    # shellcheck disable=SC2086
    apt-get purge -y -qq --allow-remove-essential $pkgs >/dev/null 2>&1 \
      || dpkg --purge --force-depends --force-remove-essential $pkgs >/dev/null 2>&1
  fi
  dpkg --remove-architecture "$arch" 2>/dev/null \
    || echo "cross-package.sh: could not unregister $arch (dpkg --print-foreign-architectures)" >&2
}
cleanup() { [ -z "$added_arch" ] || remove_arch "$added_arch"; added_arch=""; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

declare -A result
build_arch() {
  local arch="$1" triplet
  case "$arch" in
    arm64) triplet=aarch64-linux-gnu ;;
    armhf) triplet=arm-linux-gnueabihf ;;
  esac
  local dir="$out/$arch"
  rm -rf "$dir" && mkdir -p "$dir"
  local log="$dir/build.log"

  if dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "   $arch was already registered: it stays registered after this run"
  else
    dpkg --add-architecture "$arch" && added_arch="$arch"
  fi
  echo "== $arch: apt-get update with $arch registered"
  # One retry: a mirror caught mid-sync answers "File has unexpected size" for a while.
  if ! apt-get update >"$dir/apt-update.log" 2>&1; then
    sleep 20
    if ! apt-get update >"$dir/apt-update.log" 2>&1; then
      if grep -E '^(E|Err):' "$dir/apt-update.log" | grep -q "binary-$arch"; then
        echo "   the $arch package index is unavailable, so $arch is not built. apt said:"
        result[$arch]="not built: its package index is unavailable (see $dir/apt-update.log)"
      else
        echo "   apt-get update failed (not only because of $arch), so $arch is not built. apt said:"
        result[$arch]="not built: apt-get update failed (see $dir/apt-update.log)"
      fi
      grep -E '^(E|W|Err):' "$dir/apt-update.log" | sed 's/^/     /' | head -8
      return 1
    fi
  fi
  local dev=(libc6-dev libstdc++-12-dev libboost1.74-dev libssl-dev libspdlog-dev libfmt-dev
             libyaml-cpp0.7 libsimdjson14 libmosquitto-dev libgtest-dev libgmock-dev pkgconf)
  echo "== $arch: installing ${dev[*]/%/:$arch}"
  if ! apt-get install -y --no-install-recommends "${dev[@]/%/:$arch}" >"$dir/apt-install.log" 2>&1; then
    tail -15 "$dir/apt-install.log" | sed 's/^/     /'
    result[$arch]="not built: its -dev packages did not install (see $dir/apt-install.log)"
    return 1
  fi

  # yaml-cpp for the target: its runtime library with the (architecture-independent) headers.
  mkdir -p "$dir/cmake/yaml-cpp"
  cat >"$dir/cmake/yaml-cpp/yaml-cpp-config.cmake" <<CMAKE
if(NOT TARGET yaml-cpp)
  add_library(yaml-cpp SHARED IMPORTED)
  set_target_properties(yaml-cpp PROPERTIES IMPORTED_LOCATION "/usr/lib/$triplet/libyaml-cpp.so.0.7")
endif()
CMAKE
  # simdjson likewise (libsimdjson-dev is not Multi-Arch either; simdjson.h is the same header
  # for every architecture and picks its kernels at run time).
  mkdir -p "$dir/cmake/simdjson"
  cat >"$dir/cmake/simdjson/simdjson-config.cmake" <<CMAKE
if(NOT TARGET simdjson::simdjson)
  add_library(simdjson::simdjson SHARED IMPORTED)
  set_target_properties(simdjson::simdjson PROPERTIES
    IMPORTED_LOCATION "/usr/lib/$triplet/libsimdjson.so.14"
    INTERFACE_INCLUDE_DIRECTORIES "/usr/include")
endif()
CMAKE

  local src="$dir/src/rcgate-$version"
  mkdir -p "$src"
  if [ "$mode" = head ]; then
    git -C "$here" archive --format=tar HEAD | tar -x -C "$src"
  else
    (cd "$here" && git ls-files -z -c -o --exclude-standard | xargs -0 tar -c --no-recursion -f -) \
      | tar -x -C "$src"
  fi
  echo "== $arch: dpkg-buildpackage -a$arch (unit tests under qemu-$( [ "$arch" = arm64 ] && echo aarch64 || echo arm)-static), log: $log"
  local start
  start=$(date +%s)
  # -d: the build dependencies are checked above by apt (yaml-cpp's and simdjson's -dev are the
  # runtime + shim).
  if ! (cd "$src" && RCGATE_EXTRA_CMAKE_ARGS="-Dyaml-cpp_DIR=$dir/cmake/yaml-cpp -Dsimdjson_DIR=$dir/cmake/simdjson" \
        DEB_BUILD_OPTIONS="parallel=$jobs crossbuildcanrunhostbinaries" \
        dpkg-buildpackage -us -uc -B -d -a"$arch") >"$log" 2>&1; then
    tail -30 "$log" | sed 's/^/     /'
    result[$arch]="build or unit tests FAILED (see $log)"
    return 1
  fi
  grep -E '^== tests/|\[  (PASSED|FAILED)  \]' "$log" | sed 's/^/   /'
  local deb="$dir/src/rcgate_${version}_${arch}.deb"
  file -b "$src"/obj-"$triplet"/src/rcgate | sed 's/^/   rcgate: /'
  dpkg-deb -f "$deb" Architecture Depends | sed 's/^/   /'
  result[$arch]="built and unit tests passed under qemu in $(( $(date +%s) - start )) s: $deb"
}

status=0
for arch in "${arches[@]}"; do
  build_arch "$arch" || status=1
  cleanup
done
echo "== summary"
for arch in "${arches[@]}"; do echo "   $arch: ${result[$arch]}"; done
exit $status
