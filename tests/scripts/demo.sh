#!/usr/bin/env bash
# Sets up a Debian machine, builds rcgate and runs it.
#   bash tests/scripts/demo.sh               against the bundled simulator (rcgate-sim) with a
#                                            small demo household that talks to the bot
#   bash tests/scripts/demo.sh FILE.yaml     against the Rocket.Chat server configured in FILE
# DEMO_SECONDS=N stops the simulator demo after N seconds (default: run until Ctrl-C).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
bash tests/scripts/deps.sh
export BUILD_DIR="${BUILD_DIR:-$here/build}"
bash tests/scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo
rcgate="$BUILD_DIR/src/rcgate"
sim="$BUILD_DIR/tests/sim/rcgate-sim"

if [ $# -ge 1 ]; then
  "$rcgate" check --config "$1" || true
  exec "$rcgate" run --config "$1"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== starting rcgate-sim (a Rocket.Chat simulator) on 127.0.0.1:3300 with the demo household"
"$sim" --port 3300 --ports-file "$work/ports.json" \
  --household tests/data/demo-household.json >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/ports.json" ] && break; sleep 0.1; done
[ -f "$work/ports.json" ] || { echo "rcgate-sim did not start:"; cat "$work/sim.log"; exit 1; }

echo "== rcgate check --config config/demo.yaml"
"$rcgate" check --config config/demo.yaml || true

echo "== rcgate run --config config/demo.yaml   (Ctrl-C to stop)"
"$rcgate" run --config config/demo.yaml --log-level debug &
pids+=($!)
rcgate_pid=$!

say() {  # say USER ROOM TEXT [THREAD-ID]: a person of the household writes in a room
  local body
  body=$(printf '{"user":"%s","room":"%s","text":"%s"%s}' "$1" "$2" "$3" "${4:+,\"tmid\":\"$4\"}")
  curl -fsS -X POST -H 'Content-Type: application/json' -d "$body" \
    http://127.0.0.1:3300/_sim/messages
}

transcript() {  # the conversation in a room, as the simulator stored it
  curl -fsS "http://127.0.0.1:3300/_sim/messages?room=$1" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["messages"]:
    if not m.get("t"):
        print("   %-10s %s" % (m["u"]["username"] + ":", m["msg"]))' 2>/dev/null || true
}

( sleep 3
  echo "-- alice in #general: @camera-bot is the garage door closed?"
  say alice general "@camera-bot is the garage door closed?" >/dev/null
  sleep 1
  echo "-- bob writes to the bot directly: turn the porch light on"
  say bob "BCmeyJm2r6b8hJiieDPhWaXqgdLBFjrF2q" "turn the porch light on" >/dev/null
  sleep 1
  echo "-- grandma chats in #general without asking the bot: dinner at 7?"
  say grandma general "dinner at 7?" >/dev/null
  sleep 1
  echo "-- a visitor the house does not know: @camera-bot open the front door"
  say visitor general "@camera-bot open the front door" >/dev/null
  sleep 1
  echo "-- bob in #lobby, a public room the bot has not joined: anyone seen my keys?"
  say bob lobby "anyone seen my keys?" >/dev/null
  sleep 1
  echo "-- an automation, through rcgate's local API: rcgate send --device general ..."
  "$rcgate" send --config config/demo.yaml --device general "The washing machine is done." || true
  echo "-- an automation asks alice (rcgate ask waits for the answer; she answers 'yes')"
  ( sleep 1.5; say alice general "yes" >/dev/null ) &
  answer=$("$rcgate" ask --config config/demo.yaml --device general --to alice \
             --answers "Yes,No" --timeout 30s "Close the garage door?") || true
  echo "   rcgate ask printed: ${answer:-(nothing)}"
  sleep 1
  echo "== #general as the household sees it:"
  transcript general
  echo "== bob's conversation with the bot:"
  transcript BCmeyJm2r6b8hJiieDPhWaXqgdLBFjrF2q
) &
pids+=($!)

if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
  kill -TERM "$rcgate_pid" 2>/dev/null || true
  wait "$rcgate_pid" 2>/dev/null || true
else
  wait "$rcgate_pid"
fi
