#!/usr/bin/env bash
# Runs rcgate's libFuzzer targets (tests/fuzz) one after the other, each for a set time, and
# prints per target how many inputs ran, the coverage reached and the findings (crash files).
#   tests/scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every target)
# Environment: BUILD_DIR (default <repo>/../build-fuzz), WORK_DIR (scratch: corpora and findings,
# default <BUILD_DIR>/fuzz-work), JOBS (ninja -j, default 2), NO_BUILD=1 (run what is built).
# New corpus entries go to WORK_DIR, never into the repository. Not part of CI.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-600}"
if [ $# -gt 0 ]; then shift; fi
all_targets=(fuzz_ddp fuzz_rest_message fuzz_config fuzz_api_request fuzz_multipart)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in *" $t "*) ;; *)
    echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 64;;
  esac
done
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive number, got '$seconds'" >&2; exit 64
fi
build="$(realpath -m "${BUILD_DIR:-$here/../build-fuzz}")"
work="$(realpath -m "${WORK_DIR:-$build/fuzz-work}")"
fixtures="${RCGATE_FIXTURES_DIR:-$here/../shared/fixtures}"

# clang and libFuzzer's runtime (Debian's packages), like deps.sh installs the rest.
need=()
command -v clang++-14 >/dev/null || need+=(clang-14)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] ||
  dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed" ||
  need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "fuzz.sh: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
"$here/tests/scripts/deps.sh" >/dev/null

# Build (coverage + ASan + UBSan, -O1 as libFuzzer likes it).
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" -DRCGATE_FUZZ=ON -DRCGATE_FIXTURES_DIR="$fixtures" >/dev/null
fi
if [ "${NO_BUILD:-0}" = 1 ]; then
  for t in "${targets[@]}"; do
    [ -x "$build/tests/fuzz/$t" ] || { echo "fuzz.sh: NO_BUILD=1 but $build/tests/fuzz/$t is not built" >&2; exit 1; }
  done
else
  nice -n 10 ninja -C "$build" -j "${JOBS:-2}" "${targets[@]}"
fi

# Seeds: the committed hand-written ones plus, for each target, what the tests already use.
seed() {  # seed TARGET DIR: fills DIR
  local t="$1" dir="$2"
  mkdir -p "$dir"
  cp "$here/tests/fuzz/corpus/$t/"* "$dir/" 2>/dev/null || true
  case "$t" in
    fuzz_ddp)
      # Every frame of the fixtures, one per file, as it travels on the WebSocket.
      python3 - "$fixtures" "$dir" <<'PY'
import json, sys, glob, os
fixtures, out = sys.argv[1], sys.argv[2]
for path in sorted(glob.glob(os.path.join(fixtures, "*.json"))):
    doc = json.load(open(path))
    for side in ("server", "client"):
        for i, frame in enumerate(doc.get(side, [])):
            if isinstance(frame, dict) and ("http" in frame or "http_status" in frame):
                continue
            name = "%s-%s-%d" % (os.path.basename(path)[:-5], side, i)
            open(os.path.join(out, name), "w").write(json.dumps(frame, separators=(",", ":")))
PY
      for f in "$here"/tests/data/frames/*/*.txt; do [ -e "$f" ] && cp "$f" "$dir/frames-$(basename "$f")"; done
      ;;
    fuzz_rest_message)
      # The fixtures' REST answers in the target's form: status, headers, blank line, body.
      python3 - "$fixtures" "$dir" <<'PY'
import json, sys, glob, os
fixtures, out = sys.argv[1], sys.argv[2]
for path in sorted(glob.glob(os.path.join(fixtures, "*.json"))):
    doc = json.load(open(path))
    for i, frame in enumerate(doc.get("server", [])):
        if not isinstance(frame, dict) or "http_status" not in frame:
            continue
        head = "%d\n" % frame["http_status"]
        head += "".join("%s: %s\n" % kv for kv in frame.get("headers", {}).items())
        body = json.dumps(frame.get("body", {}), separators=(",", ":"))
        open(os.path.join(out, "%s-%d" % (os.path.basename(path)[:-5], i)), "w").write(head + "\n" + body)
PY
      ;;
    fuzz_config)
      for f in "$here"/tests/data/config/*/*.yaml "$here"/config/*.yaml; do
        [ -e "$f" ] && cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
      done
      ;;
  esac
}

summary=()
for t in "${targets[@]}"; do
  corpus="$work/$t/corpus"
  findings="$work/$t/findings"
  # With -jobs, libFuzzer runs the target in a child process that writes fuzz-0.log in the
  # current directory: run it from the target's scratch directory.
  log="$work/$t/fuzz-0.log"
  rm -f "$log"
  mkdir -p "$corpus" "$findings"
  # Findings of earlier runs (fixed since, or not) are kept apart: this run reports its own.
  if [ -n "$(ls -A "$findings")" ]; then
    mkdir -p "$work/$t/findings-earlier"
    mv "$findings"/* "$work/$t/findings-earlier/"
    echo "fuzz.sh: $t: earlier findings moved to $work/$t/findings-earlier (replay them with the target binary)"
  fi
  seeds="$(mktemp -d)"
  seed "$t" "$seeds"
  echo "fuzz.sh: $t for ${seconds}s (corpus $corpus, findings $findings)"
  set +e
  cd "$work/$t"
  # One job, one worker: the machine is shared. stdin is closed: no input ever waits on it.
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice -n 10 "$build/tests/fuzz/$t" -max_total_time="$seconds" -jobs=1 -workers=1 \
      -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$corpus" "$seeds" </dev/null >"$work/$t/fuzz.log" 2>&1
  status=$?
  set -e
  cd "$here"
  rm -rf "$seeds"
  # libFuzzer's progress lines: "#123456 DONE cov: 1234 ft: 2345 corp: 120/30Kb ..."
  last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  [ -n "$runs" ] || runs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")"
  cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
  ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
  crashes=("$findings"/*)
  [ -e "${crashes[0]}" ] || crashes=()
  line="$t: ${runs:-?} runs, cov ${cov:-?} edges, ft ${ft:-?}, corpus $(ls "$corpus" | wc -l) files"
  if [ ${#crashes[@]} -gt 0 ] || [ $status -ne 0 ]; then
    line+=", FINDINGS (exit $status): ${crashes[*]:-see $log}"
  else
    line+=", no findings"
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "fuzz.sh summary (${seconds}s per target; logs and corpora in $work):"
printf '  %s\n' "${summary[@]}"
for s in "${summary[@]}"; do [[ "$s" == *FINDINGS* ]] && exit 1; done
exit 0
