#!/usr/bin/env bash
# Browser tests of the admin console (controlplane/web): playwright-core (pinned in package.json /
# package-lock.json; it downloads no browser) drives Debian's `chromium` (headless, no sandbox,
# background networking off) against a full stack started by each test file: redis-server, fake
# vendors, nginx with the lingmo module (tests/integration/harness.mjs) and lingmo-controld serving
# the built console (tests/controlplane/daemon.mjs, WEB_ROOT=controlplane/web/dist).
# Screenshots of every page (desktop zh-CN and en, phone) go to tests/artifacts/browser/.
#
# Needs: a C++ build ($LINGMO_BUILD_DIR: the module, lingmo-admin, lingmo-controld), chromium
# (apt-get install chromium, or LINGMO_WITH_BROWSER=1 bash deploy/install-deps.sh), nginx,
# redis-server, node >= 18. Builds the console first when controlplane/web/dist is missing.
# Env: LINGMO_BUILD_DIR (default <repo>/build), CHROMIUM (default /usr/bin/chromium),
# LINGMO_BROWSER_HEADFUL=1 shows the browser. Extra arguments go to `node --test`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite=browser
# shellcheck source=../require_build.sh
source "$repo/tests/require_build.sh"
require_controld
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "$suite: $chromium not found: apt-get install chromium (or LINGMO_WITH_BROWSER=1 bash deploy/install-deps.sh)" >&2
  exit 2
fi
require_commands node npm redis-server redis-cli "${NGINX_BIN:-/usr/sbin/nginx}"

if [[ ! -f "$repo/controlplane/web/dist/index.html" ]]; then
  echo "$suite: building the console (controlplane/web: npm ci && npm run build)"
  (cd "$repo/controlplane/web" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

rm -rf "$repo/tests/artifacts/browser"
mkdir -p "$repo/tests/artifacts/browser"
echo "$suite: $("$chromium" --version 2>/dev/null | head -1), playwright-core $(node -p "require('$here/node_modules/playwright-core/package.json').version")"
cd "$repo"
status=0
node --test --test-concurrency=1 "$@" tests/browser/*.test.mjs || status=$?
echo "$suite: screenshots in tests/artifacts/browser/ ($(ls "$repo/tests/artifacts/browser" | wc -l) files)"
exit $status
