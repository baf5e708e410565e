#!/usr/bin/env bash
# LingMo Gateway quickstart: from a fresh Debian 12 machine to a working gateway, offline.
#
#   bash deploy/quickstart.sh          # install deps, build, start Redis + demo vendor + nginx
#   bash deploy/quickstart.sh stop     # stop what it started
#
# Everything runs as the current user under $LINGMO_RUN_DIR (default: <repo>/.run): a private
# redis-server on a unix socket, a fake OpenAI-compatible "demo" vendor on loopback (no internet or
# real API key needed), and the stock nginx binary loading the freshly built module on
# $GATEWAY_PORT (default 8080). It prints the base URL, a demo gateway key and a curl command.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${LINGMO_RUN_DIR:-$ROOT/.run}
PORT=${GATEWAY_PORT:-8080}
VENDOR_PORT=${DEMO_VENDOR_PORT:-18801}
REDIS_PORT=${LINGMO_REDIS_PORT:-16390}
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
DEMO_KEY=${DEMO_KEY:-lm-demo-key-0123456789}

stop() {
  [ -f "$RUN/nginx.pid" ] && kill -QUIT "$(cat "$RUN/nginx.pid")" 2>/dev/null || true
  [ -f "$RUN/vendor.pid" ] && kill "$(cat "$RUN/vendor.pid")" 2>/dev/null || true
  [ -f "$RUN/redis.pid" ] && kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true
  rm -f "$RUN"/*.pid
  echo "LingMo quickstart stopped."
}

if [ "${1:-start}" = stop ]; then stop; exit 0; fi

bash "$ROOT/deploy/install-deps.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

mkdir -p "$RUN/logs" "$RUN/tmp"
stop >/dev/null 2>&1 || true
# Redis: a private instance on loopback with a random password (nginx workers run as another
# user, so a private unix socket would not do), append-only so config and usage survive restarts.
[ -f "$RUN/redis.pass" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$RUN/redis.pass")
REDIS_PASS=$(cat "$RUN/redis.pass")
ADMIN=("$BUILD/controlplane/lingmo-admin" --redis "127.0.0.1:$REDIS_PORT" --secret-file "$RUN/secret.key")
export LINGMO_REDIS_PASSWORD=$REDIS_PASS
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --requirepass "$REDIS_PASS" --dir "$RUN" \
  --appendonly yes --save '' --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$RUN/logs/redis.log"
for _ in $(seq 50); do REDISCLI_AUTH=$REDIS_PASS redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The demo vendor: a local fake that speaks OpenAI's wire format.
nohup node "$ROOT/tests/fakes/fake_vendor.mjs" --port "$VENDOR_PORT" --name demo --key sk-demo-vendor \
  >"$RUN/logs/vendor.log" 2>&1 &
echo $! >"$RUN/vendor.pid"
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$VENDOR_PORT/health" && break; sleep 0.1; done

[ -f "$RUN/secret.key" ] || "${ADMIN[@]}" gen-secret "$RUN/secret.key" >/dev/null
"${ADMIN[@]}" provider add --id demo --name "Demo vendor (offline)" --vendor demo \
  --base-url "http://127.0.0.1:$VENDOR_PORT/v1" --api-key sk-demo-vendor \
  --model gpt-4o-mini=demo-model --model demo-chat=demo-model --priority 10 >/dev/null
"${ADMIN[@]}" key revoke "$DEMO_KEY" >/dev/null 2>&1 || true
"${ADMIN[@]}" key add --name demo --secret "$DEMO_KEY" >/dev/null 2>&1

(umask 077; sed -e "s#@REDIS@#127.0.0.1:$REDIS_PORT password=$REDIS_PASS#g" -e "s#@ROOT@#$ROOT#g" -e "s#@RUN@#$RUN#g" -e "s#@BUILD@#$BUILD#g" -e "s#@PORT@#$PORT#g" \
  "$ROOT/deploy/nginx/quickstart.conf.in" >"$RUN/nginx.conf")  # holds the Redis password
nginx -t -q -c "$RUN/nginx.conf" -p "$RUN"
nginx -c "$RUN/nginx.conf" -p "$RUN"

BASE="http://127.0.0.1:$PORT/v1"
for _ in $(seq 50); do
  curl -fs -o /dev/null -H "Authorization: Bearer $DEMO_KEY" "$BASE/models" && break
  sleep 0.1
done

cat <<MSG

LingMo Gateway is running (offline demo vendor).
  Base URL : $BASE
  API key  : $DEMO_KEY
  Models   : gpt-4o-mini, demo-chat, auto

Try it (OpenAI dialect):
  curl $BASE/chat/completions \\
    -H "Authorization: Bearer $DEMO_KEY" -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'
The same gateway speaks Anthropic's dialect (Claude Code: ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
ANTHROPIC_AUTH_TOKEN=$DEMO_KEY ANTHROPIC_MODEL=demo-chat; more in docs/AGENT_GUIDE.md):
  curl $BASE/messages -H "x-api-key: $DEMO_KEY" -H "anthropic-version: 2023-06-01" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"demo-chat","max_tokens":256,"messages":[{"role":"user","content":"Hello!"}]}'

Add a real vendor (the key is stored AES-256-GCM encrypted):
  LINGMO_REDIS_PASSWORD=\$(cat $RUN/redis.pass) ${ADMIN[*]} provider add --id deepseek --base-url https://api.deepseek.com/v1 \\
    --api-key-env DEEPSEEK_API_KEY --model gpt-4o-mini=deepseek-chat --priority 5
Logs: $RUN/logs/   Stop: bash deploy/quickstart.sh stop
MSG
