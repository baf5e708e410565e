#!/usr/bin/env bash
# Installs the Debian 12 packages LingMo needs to build, run and test. Idempotent: does nothing
# when everything is already present, so the README commands can call it every time.
set -euo pipefail

PKGS=(build-essential cmake pkg-config
      nginx nginx-dev libpcre2-dev zlib1g-dev libssl-dev
      libhiredis-dev libcurl4-openssl-dev rapidjson-dev catch2
      redis-server wrk curl ca-certificates libcli11-dev
      libcpp-httplib-dev libspdlog-dev)
# Node.js runs the fake vendors and the SDK tests; keep a Node that is already there (e.g. NodeSource).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
# The fuzz target and the sanitizer build use clang's libFuzzer runtime.
[ "${LINGMO_WITH_FUZZ:-0}" = 1 ] && PKGS+=(clang libclang-rt-14-dev)
# The console's browser tests (tests/browser) drive Debian's chromium; a CJK font makes the
# zh-CN screenshots readable. Only for tests: the console itself needs no browser on the server.
[ "${LINGMO_WITH_BROWSER:-0}" = 1 ] && PKGS+=(chromium fonts-wqy-microhei)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "==> installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps apt from starting the system nginx/redis services: the project starts
  # its own instances on its own ports.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
