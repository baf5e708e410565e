#!/usr/bin/env bash
# Runs the integration suite (Node's built-in test runner, no npm dependencies): each
# tests/integration/*.test.mjs file starts its own stack (redis-server, fake vendors, nginx with
# the lingmo module) on free ports in a temp dir, one file at a time.
#
# Needs: a build (cmake --build build) -> $LINGMO_BUILD_DIR/ngx_module/ngx_http_lingmo_module.so
# and $LINGMO_BUILD_DIR/controlplane/lingmo-admin; nginx (/usr/sbin/nginx or $NGINX_BIN),
# redis-server and redis-cli, node >= 20.
# Env: LINGMO_BUILD_DIR (default <repo>/build), LINGMO_KEEP_TMP=1 keeps every stack's temp dir.
# Extra arguments go to `node --test` (e.g. --test-name-pattern=stream).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite=integration
# shellcheck source=../require_build.sh
source "$repo/tests/require_build.sh"
require_commands node redis-server redis-cli "${NGINX_BIN:-/usr/sbin/nginx}"

cd "$repo"
exec node --test --test-concurrency=1 "$@" tests/integration/*.test.mjs
