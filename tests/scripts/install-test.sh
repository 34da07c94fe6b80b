#!/usr/bin/env bash
# Installs the rcgate package into a clean Debian 12 root, checks what it put there, runs the
# service's command line against rcgate-sim and sees it log in, upgrades it to a raised version
# (configuration, permissions, state and user kept), then purges it and checks that nothing of it
# is left.
#   bash tests/scripts/install-test.sh [PACKAGE.deb]
# Without an argument it uses the newest package from tests/scripts/package.sh in PKG_DIR
# (default ./build-pkg), building it first when there is none.
# SIM=path/to/rcgate-sim (default: BUILD_DIR/tests/sim/rcgate-sim, built into BUILD_DIR, default
# ./build, when missing).
#
# The root is made by debootstrap (bookworm, minbase + systemd) from the machine's Debian mirror,
# once, and kept in PKG_DIR/debian12-base; every run works on a fresh copy of it. systemd cannot
# run as PID 1 here, so the service is started the way its unit says, by hand, inside the root:
# ExecStart= as User=rcgate with the unit's UMask, with NOTIFY_SOCKET and WATCHDOG_USEC pointing at
# a listener of this script, which checks READY=1, the link STATUS=, WATCHDOG=1 and STOPPING=1
# (the sd_notify protocol systemd speaks). The unit itself is checked inside the root with
# systemd-analyze verify/security and systemctl is-enabled.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${PKG_DIR:-$here/build-pkg}"
arch="$(dpkg --print-architecture)"
export DEBIAN_FRONTEND=noninteractive

deb="${1:-}"
if [ -z "$deb" ]; then
  deb="$(find "$out/src" -maxdepth 1 -name "rcgate_*_$arch.deb" 2>/dev/null | sort -V | tail -1)"
  if [ -z "$deb" ]; then
    bash "$here/tests/scripts/package.sh"
    deb="$(find "$out/src" -maxdepth 1 -name "rcgate_*_$arch.deb" | sort -V | tail -1)"
  fi
fi
deb="$(realpath "$deb")"
echo "== package: $deb"

sim="${SIM:-${BUILD_DIR:-$here/build}/tests/sim/rcgate-sim}"
if [ ! -x "$sim" ]; then
  echo "== building rcgate-sim into ${BUILD_DIR:-$here/build}"
  cmake -S "$here" -B "${BUILD_DIR:-$here/build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "${BUILD_DIR:-$here/build}" -j "${JOBS:-$(nproc)}" rcgate-sim
fi
command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null

base="$out/debian12-base"
if [ ! -f "$base/.complete" ]; then
  echo "== debootstrap bookworm into $base (once)"
  rm -rf "$base"
  mirror="$(grep -rhoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
            2>/dev/null | head -1 | tr -d ' ' || true)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv bookworm "$base" \
    "${mirror:-http://deb.debian.org/debian}" >"$out/debootstrap.log" 2>&1 \
    || { tail -20 "$out/debootstrap.log"; echo "install-test.sh: debootstrap failed" >&2; exit 1; }
  touch "$base/.complete"
fi

root="$out/install-root"
work="$(mktemp -d)"
listener_pid=""
sim_pid=""
cleanup() {
  [ -z "$listener_pid" ] || kill "$listener_pid" 2>/dev/null || true
  [ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true
  for m in proc dev/pts; do umount "$root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

rm -rf "$root"
cp -a "$base" "$root"
mount -t proc proc "$root/proc"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true   # apt's terminal log only
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Like a real server: bookworm with its updates and security suites.
cat >"$root/etc/apt/sources.list" <<LIST
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

failures=0
running_in_root() {  # is any process running the root's /usr/bin/rcgate?
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$root/usr/bin/rcgate" ] && return 0
  done
  return 1
}
export -f running_in_root
export root
pass() { echo "   ok   $*"; }
fail() { echo "   FAIL $*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

snapshot() {  # every path in the root outside the volatile places, with owner and mode
  # dpkg's and apt's own database files change with any installation; what dpkg keeps per
  # package (var/lib/dpkg/info) stays in the picture, the statoverrides are checked apart.
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./run \
      -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/log -o -path ./root \) -prune \
      -o -printf '%p %u:%g %m\n' | grep -vE '^\./var/lib/dpkg/[^/]+ ' | sort)
}

echo "== apt-get update in the root"
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
# Packages the test itself uses (not rcgate's dependencies), then the "before" picture.
in_root apt-get install -y -qq --no-install-recommends util-linux >/dev/null
snapshot >"$work/before.txt"

echo "== apt-get install ./$(basename "$deb") in a clean Debian 12 root"
cp "$deb" "$root/tmp/"
if ! in_root apt-get install -y --no-install-recommends "/tmp/$(basename "$deb")" >"$work/install.log" 2>&1; then
  cat "$work/install.log"; echo "install-test.sh: the package did not install" >&2; exit 1
fi
grep -E '^(Setting up|W:|E:)' "$work/install.log" | grep -vE '^Setting up lib|posix_openpt' | sed 's/^/   /'

echo "== files, user, permissions, unit"
unit=/lib/systemd/system/rcgate.service
[ -f "$root$unit" ] || unit=/usr/lib/systemd/system/rcgate.service
check "/usr/bin/rcgate runs" in_root /usr/bin/rcgate --version
check "man page rcgate(1) installed" test -f "$root/usr/share/man/man1/rcgate.1.gz"
check "unit $unit installed" test -f "$root$unit"
check "/etc/rcgate/rcgate.yaml is a conffile" \
  sh -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' rcgate | grep -q ' /etc/rcgate/rcgate.yaml '"
user="$(in_root getent passwd rcgate || true)"
echo "   user: $user"
IFS=: read -r _ _ uid _ _ home shell <<<"$user"
check "system user rcgate (uid $uid < 1000)" test -n "$uid" -a "${uid:-1000}" -lt 1000
check "rcgate's home is /var/lib/rcgate" test "$home" = /var/lib/rcgate
check "rcgate has no login shell ($shell)" test "$shell" = /usr/sbin/nologin
check "group rcgate exists" in_root getent group rcgate
conf_perm="$(in_root stat -c '%U:%G %a' /etc/rcgate/rcgate.yaml)"
check "/etc/rcgate/rcgate.yaml is root:rcgate 640 ($conf_perm)" test "$conf_perm" = "root:rcgate 640"
state_perm="$(in_root stat -c '%U:%G %a' /var/lib/rcgate)"
check "/var/lib/rcgate is rcgate:rcgate 750 ($state_perm)" test "$state_perm" = "rcgate:rcgate 750"
check "the unit is enabled" sh -c "chroot '$root' systemctl is-enabled rcgate.service | grep -qx enabled"
# The package enables the unit but must not start rcgate itself (the example is not filled in).
check "installing started no rcgate process" bash -c "! running_in_root"
verify="$(in_root systemd-analyze verify --man=no "$unit" 2>&1 || echo "exit $?")"
if [ -z "$verify" ]; then pass "systemd-analyze verify $unit: clean"; else
  echo "$verify" | sed 's/^/     /'; fail "systemd-analyze verify $unit"; fi
exposure="$(in_root systemd-analyze security --offline=true "$unit" 2>&1 | grep 'Overall exposure' || true)"
check "systemd-analyze security: ${exposure#*: }" \
  in_root systemd-analyze security --offline=true --threshold=20 "$unit"
# The packaged example has no password: rcgate must refuse it with exit 78 and say why.
set +e
in_root setpriv --reuid=rcgate --regid=rcgate --init-groups /usr/bin/rcgate config >"$work/example.txt" 2>&1
code=$?
set -e
check "the unfilled example configuration is refused with exit 78 (got $code)" test "$code" = 78
sed 's/^/     /' "$work/example.txt" | head -4

echo "== rcgate against rcgate-sim"
"$sim" --port 0 --ports-file "$work/ports.json" --household "$here/tests/data/demo-household.json" \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -s "$work/ports.json" ] && break; sleep 0.1; done
port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ports.json")"
echo "   rcgate-sim on 127.0.0.1:$port"
# What an operator does: the server and the bot's account in the file, the password beside it.
sed -i "s|^  url: https://chat.example.org|  url: http://127.0.0.1:$port|; s|^    # password_file: /etc/rcgate/password|    password_file: /etc/rcgate/password|" \
  "$root/etc/rcgate/rcgate.yaml"
printf 'demo-password\n' >"$root/etc/rcgate/password"
in_root chown root:rcgate /etc/rcgate/password
in_root chmod 0640 /etc/rcgate/password
as_rcgate=(setpriv --reuid=rcgate --regid=rcgate --init-groups)
check "rcgate config accepts the filled-in file (as user rcgate)" in_root "${as_rcgate[@]}" /usr/bin/rcgate config
if in_root "${as_rcgate[@]}" /usr/bin/rcgate check >"$work/check.txt" 2>&1; then
  pass "rcgate check passes"; else fail "rcgate check"; fi
sed 's/^/     /' "$work/check.txt"

# The service's command line, as systemd would start it.
exec_start="$(sed -n 's/^ExecStart=//p' "$root$unit")"
umask_unit="$(sed -n 's/^UMask=//p' "$root$unit")"
mkdir -p "$root/run/rcgate-test"
notify="$root/run/rcgate-test/notify"
python3 - "$notify" "$work/notify.log" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode(errors="replace").replace("\n", " | ") + "\n")
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done
echo "   ExecStart=$exec_start (User=rcgate, UMask=$umask_unit)"
# shellcheck disable=SC2086
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 \
  NOTIFY_SOCKET=/run/rcgate-test/notify WATCHDOG_USEC=2000000 \
  sh -c "umask $umask_unit; exec setpriv --reuid=rcgate --regid=rcgate --init-groups $exec_start" \
  >"$work/rcgate.log" 2>&1 &
rcgate_pid=$!
online=""
for _ in $(seq 150); do
  grep -q 'STATUS=Rocket.Chat online' "$work/notify.log" 2>/dev/null && { online=yes; break; }
  kill -0 "$rcgate_pid" 2>/dev/null || break
  sleep 0.1
done
sleep 2.5   # long enough for a few watchdog pings (every WATCHDOG_USEC/2)
stats="$(curl -fsS "http://127.0.0.1:$port/_sim/stats" || true)"
check "rcgate is running from the root's /usr/bin/rcgate" running_in_root
check "READY=1 sent to the notify socket" grep -q 'READY=1' "$work/notify.log"
check "link status reported: STATUS=Rocket.Chat online" test -n "$online"
logins="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["password_logins"], len(d["subscriptions"]))' "$stats" 2>/dev/null || echo "0 0")"
check "rcgate-sim saw the bot log in and subscribe (password logins, subscriptions: $logins)" \
  test "${logins%% *}" -ge 1 -a "${logins##* }" -ge 1
check "watchdog fed (WATCHDOG=1 seen $(grep -c 'WATCHDOG=1' "$work/notify.log" || true) times)" \
  grep -q 'WATCHDOG=1' "$work/notify.log"
session_perm="$(in_root stat -c '%U:%G %a' /var/lib/rcgate/session.json 2>/dev/null || echo missing)"
check "saved session /var/lib/rcgate/session.json is rcgate's, not world-readable ($session_perm)" \
  sh -c "echo '$session_perm' | grep -qE '^rcgate:rcgate [0-7][0-7]0\$'"
# ExecReload=/bin/kill -HUP $MAINPID: a good file is reloaded, a broken one refused.
kill -HUP "$rcgate_pid"; sleep 0.5
check "SIGHUP reloads the configuration" grep -q 'reloaded /etc/rcgate/rcgate.yaml' "$work/rcgate.log"
cp "$root/etc/rcgate/rcgate.yaml" "$work/good.yaml"
echo "no_such_key: 1" >>"$root/etc/rcgate/rcgate.yaml"
kill -HUP "$rcgate_pid"; sleep 0.5
check "SIGHUP with a broken file is refused, rcgate keeps running" \
  sh -c "grep -q 'reload refused' '$work/rcgate.log' && kill -0 $rcgate_pid"
cp "$work/good.yaml" "$root/etc/rcgate/rcgate.yaml"
kill -TERM "$rcgate_pid"
set +e; wait "$rcgate_pid"; code=$?; set -e
check "SIGTERM stops rcgate with exit 0 (got $code)" test "$code" = 0
check "STOPPING=1 sent" grep -q 'STOPPING=1' "$work/notify.log"
check "no rcgate process left running" bash -c "! running_in_root"
kill "$listener_pid" 2>/dev/null || true; listener_pid=""
rm -rf "$root/run/rcgate-test"
kill "$sim_pid" 2>/dev/null || true; sim_pid=""
echo "   rcgate's log:"; sed 's/^/     /' "$work/rcgate.log" | head -20

echo "== upgrade to a newer version (the same package, its version raised)"
version="$(dpkg-deb -f "$deb" Version)"
mkdir "$work/upgrade"
dpkg-deb -R "$deb" "$work/upgrade"
sed -i "s/^Version: .*/Version: $version+upgradetest1/" "$work/upgrade/DEBIAN/control"
dpkg-deb -b --root-owner-group "$work/upgrade" "$root/tmp/rcgate-upgrade.deb" >/dev/null
if in_root apt-get install -y "/tmp/rcgate-upgrade.deb" >"$work/upgrade.log" 2>&1; then
  pass "apt-get install of $version+upgradetest1 over $version"; else
  tail -20 "$work/upgrade.log"; fail "upgrade"; fi
check "the operator's configuration is kept" grep -q "url: http://127.0.0.1:$port" "$root/etc/rcgate/rcgate.yaml"
conf_perm="$(in_root stat -c '%U:%G %a' /etc/rcgate/rcgate.yaml)"
check "it is still root:rcgate 640 ($conf_perm)" test "$conf_perm" = "root:rcgate 640"
check "the state is kept (session.json)" test -f "$root/var/lib/rcgate/session.json"
check "the rcgate user is the same (uid $uid)" test "$(in_root id -u rcgate)" = "$uid"

echo "== apt-get purge rcgate, then autoremove its dependencies"
rm -f "$root/etc/rcgate/password"   # the operator's own file: removed by them, as they made it
in_root apt-get purge -y rcgate >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; exit 1; }
in_root apt-get autoremove --purge -y >>"$work/purge.log" 2>&1
check "dpkg knows no rcgate" sh -c "! chroot '$root' dpkg-query -W rcgate 2>/dev/null"
for p in /usr/bin/rcgate /etc/rcgate /var/lib/rcgate "$unit" \
         /etc/systemd/system/multi-user.target.wants/rcgate.service /usr/share/doc/rcgate; do
  check "$p is gone" test ! -e "$root$p"
done
check "no dpkg-statoverride left" sh -c "! chroot '$root' dpkg-statoverride --list | grep -q rcgate"
snapshot >"$work/after.txt"
# Expected differences: the system user rcgate stays (Debian keeps system users, see
# debian/rcgate.postrm), so the account files and their backups change.
left="$(diff "$work/before.txt" "$work/after.txt" | grep '^[<>]' \
        | grep -vE '^[<>] \./etc/(passwd|group|shadow|gshadow)-? ' || true)"
if [ -z "$left" ]; then
  pass "nothing else left: the root matches its state before the installation"
else
  echo "$left" | sed 's/^/     /' | head -30; fail "files left after purge"
fi
check "the rcgate system user is kept, without a login shell (Debian practice)" \
  sh -c "chroot '$root' getent passwd rcgate | grep -q ':/usr/sbin/nologin$'"

echo "install-test: $((failures == 0 ? 1 : 0)) passed, $((failures == 0 ? 0 : 1)) failed ($failures failed checks)"
[ "$failures" = 0 ]
