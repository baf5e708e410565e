#!/usr/bin/env bash
# Smoke test of the README's first command: start the quickstart on spare ports, get a chat
# completion back through nginx from the demo vendor (OpenAI and Anthropic dialect), stop it, and
# check nothing is left running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export LINGMO_RUN_DIR=$(mktemp -d /tmp/lingmo-smoke.XXXXXX)
export GATEWAY_PORT=${SMOKE_GATEWAY_PORT:-18480} DEMO_VENDOR_PORT=${SMOKE_VENDOR_PORT:-18481} LINGMO_REDIS_PORT=${SMOKE_REDIS_PORT:-18482}
trap 'bash "$ROOT/deploy/quickstart.sh" stop >/dev/null 2>&1 || true; rm -rf "$LINGMO_RUN_DIR"' EXIT

out=$(bash "$ROOT/deploy/quickstart.sh")
key=$(sed -n 's/^  API key  : //p' <<<"$out")
base=$(sed -n 's/^  Base URL : //p' <<<"$out")
[ -n "$key" ] && [ "$base" = "http://127.0.0.1:$GATEWAY_PORT/v1" ] || { echo "quickstart did not print URL and key:"; echo "$out"; exit 1; }

resp=$(curl -sS "$base/chat/completions" -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}')
grep -q '"content":"demo says hello"' <<<"$resp" || { echo "unexpected answer: $resp"; tail -20 "$LINGMO_RUN_DIR/logs/error.log"; exit 1; }

resp=$(curl -sS "$base/messages" -H "x-api-key: $key" -H "anthropic-version: 2023-06-01" -H "Content-Type: application/json" \
  -d '{"model":"demo-chat","max_tokens":64,"messages":[{"role":"user","content":"Hello!"}]}')
grep -q '"type":"message"' <<<"$resp" && grep -q '"text":"demo says hello"' <<<"$resp" ||
  { echo "unexpected Anthropic-dialect answer: $resp"; exit 1; }

bash "$ROOT/deploy/quickstart.sh" stop >/dev/null
sleep 1
if curl -s -o /dev/null "$base/models"; then echo "gateway still answering after stop"; exit 1; fi
echo "quickstart smoke test: OK"
