#!/usr/bin/env bash
# Runs the resilience suite (Node's built-in test runner, no npm dependencies): each
# tests/resilience/*.test.mjs file starts its own stack (redis-server, fake vendors, nginx with the
# lingmo module; tests/integration/harness.mjs), one file at a time. sentinel.test.mjs adds a
# replica and a Redis Sentinel (`redis-server --sentinel`) and fails the master over under load
# (nginx and lingmo-controld). The other files: Redis killed/paused, reloads during streams, a
# worker killed, vendor faults, client disconnects, slowloris, oversize input, the control plane
# stopped, canary keys (tests/resilience/README.md).
#
# Needs: a build (cmake --build build) -> the module, lingmo-admin and lingmo-controld in
# $LINGMO_BUILD_DIR; nginx (/usr/sbin/nginx or $NGINX_BIN), redis-server (with Sentinel mode),
# redis-cli, node >= 20.
# Env: LINGMO_BUILD_DIR (default <repo>/build), LINGMO_KEEP_TMP=1 keeps every stack's temp dir,
# LINGMO_RESILIENCE_LONG=1 runs the long variants (more streams and clients, longer outages).
# Fuzz targets for a longer budget: LINGMO_FUZZ_SECONDS=3600 bash tests/resilience/fuzz_long.sh.
# Extra arguments go to `node --test` (e.g. --test-name-pattern=SIGKILL).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite=resilience
# shellcheck source=../require_build.sh
source "$repo/tests/require_build.sh"
require_controld
require_commands node redis-server redis-cli "${NGINX_BIN:-/usr/sbin/nginx}"

cd "$repo"
exec node --test --test-concurrency=1 "$@" tests/resilience/*.test.mjs
