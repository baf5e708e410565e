#!/usr/bin/env bash
# Smoke test of the README's first command: start the quickstart on spare ports, get a chat
# completion back through nginx from the demo vendor (OpenAI and Anthropic dialect), check the
# control plane it started (the web console answers HTML, /healthz is ok, the printed one-time
# admin password logs in, the demo vendor is configured), run it a second time (same password,
# nothing left over from the first run), stop it, and check nothing is left running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export LINGMO_RUN_DIR=$(mktemp -d /tmp/lingmo-smoke.XXXXXX)
export GATEWAY_PORT=${SMOKE_GATEWAY_PORT:-18480} DEMO_VENDOR_PORT=${SMOKE_VENDOR_PORT:-18481} LINGMO_REDIS_PORT=${SMOKE_REDIS_PORT:-18482}
export API_PORT=${SMOKE_API_PORT:-18483} API_LISTEN=127.0.0.1
trap 'bash "$ROOT/deploy/quickstart.sh" stop >/dev/null 2>&1 || true; rm -rf "$LINGMO_RUN_DIR"' EXIT
fail() { echo "quickstart smoke test FAILED: $*"; exit 1; }
field() { sed -n "s/^  $1 *: //p" <<<"$out"; }

out=$(bash "$ROOT/deploy/quickstart.sh")
key=$(field "API key")
base=$(field "Base URL")
console=$(field "Console")
pass=$(field "Password")
[ -n "$key" ] && [ "$base" = "http://127.0.0.1:$GATEWAY_PORT/v1" ] || fail "no base URL and key printed: $out"
[ "$console" = "http://127.0.0.1:$API_PORT/" ] || fail "no console URL printed: $out"
[[ "$pass" =~ ^[A-Za-z0-9]{20}$ ]] || fail "no one-time admin password printed: $out"

# The gateway, in both dialects.
resp=$(curl -sS "$base/chat/completions" -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}')
grep -q '"content":"demo says hello"' <<<"$resp" || { tail -20 "$LINGMO_RUN_DIR/logs/error.log"; fail "unexpected answer: $resp"; }
resp=$(curl -sS "$base/messages" -H "x-api-key: $key" -H "anthropic-version: 2023-06-01" -H "Content-Type: application/json" \
  -d '{"model":"demo-chat","max_tokens":64,"messages":[{"role":"user","content":"Hello!"}]}')
grep -q '"type":"message"' <<<"$resp" && grep -q '"text":"demo says hello"' <<<"$resp" ||
  fail "unexpected Anthropic-dialect answer: $resp"

# The control plane: the console (HTML, also for a client-side route), the API's health check.
ctype=$(curl -sS -o "$LINGMO_RUN_DIR/index.html" -w '%{http_code} %{content_type}' "$console")
[[ "$ctype" == "200 text/html"* ]] && grep -qi '<div id="app"' "$LINGMO_RUN_DIR/index.html" || fail "console answered $ctype"
ctype=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' "${console}providers")
[[ "$ctype" == "200 text/html"* ]] || fail "console route /providers answered $ctype"
health=$(curl -sS "${console}healthz")
[ "$health" = '{"status":"ok","redis":"ok"}' ] || fail "/healthz answered $health"

# The printed password logs in; it is a one-time password that must be changed first.
login() { curl -sS -w '\n%{http_code}' -X POST "${console}api/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$1\"}"; }
resp=$(login "$pass")
[ "$(tail -1 <<<"$resp")" = 200 ] && grep -q '"must_change_password":true' <<<"$resp" || fail "login with the printed password: $resp"

# A second run (as after a reboot or a second `bash deploy/quickstart.sh`): stops the first one,
# keeps Redis' data (append-only file), prints the same password, which still logs in.
out=$(bash "$ROOT/deploy/quickstart.sh")
[ "$(field Password)" = "$pass" ] || fail "second run printed another password: $out"
[ "$(pgrep -c -f "lingmo-controld --listen 127.0.0.1 --port $API_PORT" || true)" = 1 ] || fail "not exactly one lingmo-controld after the second run"
resp=$(login "$pass")
[ "$(tail -1 <<<"$resp")" = 200 ] || fail "login after the second run: $resp"
token=$(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' <<<"$resp")
resp=$(curl -sS -X POST "${console}api/password" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"old_password\":\"$pass\",\"new_password\":\"smoke-test-password-1\"}")
[ "$resp" = '{"ok":true}' ] || fail "password change: $resp"
resp=$(curl -sS "${console}api/model/list" -H "Authorization: Bearer $token")
grep -q '"id":"demo"' <<<"$resp" || fail "the demo vendor is not configured in the control plane: $resp"

bash "$ROOT/deploy/quickstart.sh" stop >/dev/null
if curl -s -o /dev/null "$base/models"; then fail "gateway still answering after stop"; fi
if curl -s -o /dev/null "${console}healthz"; then fail "lingmo-controld still answering after stop"; fi
if REDISCLI_AUTH=$(cat "$LINGMO_RUN_DIR/redis.pass") redis-cli -p "$LINGMO_REDIS_PORT" ping >/dev/null 2>&1; then fail "redis still running after stop"; fi
[ -z "$(ls "$LINGMO_RUN_DIR"/*.pid 2>/dev/null)" ] || fail "pid files left after stop: $(ls "$LINGMO_RUN_DIR"/*.pid)"
echo "quickstart smoke test: OK"
