#!/usr/bin/env bash
# Installs what rcgate needs to build and test, from Debian's packages (Debian 12 / Raspbian).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "deps.sh: run as root or install sudo" >&2; exit 1
  fi
fi

packages=(
  build-essential cmake ninja-build pkgconf git ca-certificates openssl curl python3
  libboost-dev libssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libsimdjson-dev
  libmosquitto-dev
  libgtest-dev libgmock-dev
  mosquitto mosquitto-clients
)
# Node.js runs the conformance tests with Rocket.Chat's own JavaScript clients.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "deps.sh: build and test dependencies are installed"
