#!/usr/bin/env bash
# Runs the control-plane suite (Node's built-in test runner, no npm dependencies): each
# tests/controlplane/*.test.mjs file starts its own stack (redis-server, fake vendors, nginx with
# the lingmo module; tests/integration/harness.mjs) and runs lingmo-controld against its Redis
# and secret file (tests/controlplane/daemon.mjs), one file at a time.
#
# Needs: a build (cmake --build build) -> $LINGMO_BUILD_DIR/controlplane/lingmo-controld, plus
# what the integration suite needs (the module, lingmo-admin, nginx, redis-server, redis-cli,
# node >= 20).
# Env: LINGMO_BUILD_DIR (default <repo>/build), LINGMO_KEEP_TMP=1 keeps every stack's temp dir.
# Extra arguments go to `node --test` (e.g. --test-name-pattern=CSRF).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite=controlplane
# shellcheck source=../require_build.sh
source "$repo/tests/require_build.sh"
require_controld
require_commands node redis-server redis-cli "${NGINX_BIN:-/usr/sbin/nginx}"

cd "$repo"
exec node --test --test-concurrency=1 "$@" tests/controlplane/*.test.mjs
