#!/usr/bin/env bash
# Builds the rcgate Debian package for this machine's architecture and checks it:
# lintian (no error or warning allowed), systemd-analyze verify and security (exposure <= 2.0).
#   bash tests/scripts/package.sh              package the committed tree (git HEAD)
#   bash tests/scripts/package.sh --worktree   package the working tree as it is (uncommitted
#                                              changes and new files included, ignored ones not)
# PKG_DIR (default ./build-pkg) receives the source copy, the .deb and the logs.
# DEB_BUILD_OPTIONS=nocheck builds without the unit tests; JOBS=N sets the parallel jobs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${PKG_DIR:-$here/build-pkg}"
jobs="${JOBS:-$(nproc)}"
mode="head"
case "${1:-}" in
  --worktree) mode=worktree ;;
  "") ;;
  *) echo "usage: $0 [--worktree]" >&2; exit 2 ;;
esac

# Build and check tools, and the build dependencies (debian/control mirrors tests/scripts/deps.sh).
bash "$here/tests/scripts/deps.sh"
need=(dpkg-dev debhelper lintian systemd)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "package.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A clean copy of the source, so the build never writes into the work tree. ../shared/fixtures
# (which the unit tests replay) is found through RCGATE_FIXTURES_DIR.
version="$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)"
src="$out/src/rcgate-$version"
rm -rf "$out/src"
mkdir -p "$src"
if [ "$mode" = head ]; then
  git -C "$here" archive --format=tar HEAD | tar -x -C "$src"
else
  (cd "$here" && git ls-files -z -c -o --exclude-standard | xargs -0 tar -c --no-recursion -f -) \
    | tar -x -C "$src"
fi
export RCGATE_FIXTURES_DIR="${RCGATE_FIXTURES_DIR:-$here/../shared/fixtures}"
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$jobs"

echo "== dpkg-buildpackage ($mode, DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS), log: $out/build.log"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  echo "package.sh: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
  exit 1
fi
grep -E '^== tests/|\[  (PASSED|FAILED)  \]|unit tests not run' "$out/build.log" || true
echo "   built in $(( $(date +%s) - start )) s"
arch="$(dpkg --print-architecture)"
changes="$out/src/rcgate_${version}_${arch}.changes"
deb="$out/src/rcgate_${version}_${arch}.deb"
ls -l "$deb"

status=0
echo "== lintian (errors and warnings fail; info and pedantic tags shown)"
if lintian --fail-on error,warning --display-info --pedantic "$changes"; then
  echo "   lintian: no error, no warning"
else
  echo "package.sh: lintian reported errors or warnings" >&2
  status=1
fi

# The unit as the package installs it, checked in a root made of the package's own files.
root="$out/unit-root"
rm -rf "$root"
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
unit="$root/usr/lib/systemd/system/rcgate.service"
[ -f "$unit" ] || unit="$root/lib/systemd/system/rcgate.service"
echo "== systemd-analyze verify"
# This machine has no /usr/bin/rcgate: verify a copy whose ExecStart= names the packaged binary.
# The real unit is verified where the package is installed (tests/scripts/install-test.sh).
mkdir -p "$root/verify"
sed "s|/usr/bin/rcgate|$root/usr/bin/rcgate|g" "$unit" >"$root/verify/rcgate.service"
if verify_out="$(systemd-analyze verify --man=no "$root/verify/rcgate.service" 2>&1)" \
   && [ -z "$verify_out" ]; then
  echo "   verify: clean"
else
  echo "$verify_out"
  echo "package.sh: systemd-analyze verify is not clean" >&2
  status=1
fi
if [ -f "$root/usr/share/man/man1/rcgate.1.gz" ] && man -l "$root/usr/share/man/man1/rcgate.1.gz" >/dev/null 2>&1; then
  echo "   Documentation=man:rcgate(1): in the package and renders"
else
  echo "package.sh: the man page rcgate(1) is missing or does not render" >&2
  status=1
fi
echo "== systemd-analyze security (exposure must be <= 2.0)"
security="$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1)" || {
  echo "$security" | grep -E '✗|Overall'; echo "package.sh: exposure above 2.0" >&2; status=1; }
echo "$security" | grep 'Overall exposure'
exit $status
