#!/usr/bin/env bash
# LingMo Gateway quickstart: from a fresh Debian 12 machine to a working gateway and its admin
# console, offline.
#
#   bash deploy/quickstart.sh          # install deps, build, start Redis, demo vendor, nginx, lingmo-controld
#   bash deploy/quickstart.sh stop     # stop what it started
#
# Everything runs as the current user under $LINGMO_RUN_DIR (default: <repo>/.run):
#   - a private redis-server on loopback (append-only file: configuration, usage and the admin
#     account survive a restart), with a random password;
#   - a fake OpenAI-compatible "demo" vendor on loopback (no internet or real API key needed),
#     configured as the provider "demo";
#   - the stock nginx binary loading the freshly built module, on $GATEWAY_PORT (default 8080);
#   - lingmo-controld, the admin REST API and the web console (built here with npm), on
#     $API_LISTEN:$API_PORT (default 127.0.0.1:8000).
# It prints the gateway's base URL, a demo gateway key, a curl command, the console URL and the
# one-time admin password that lingmo-controld prints on its first start.
#
# Network: only the apt (install-deps.sh) and npm (npm ci) registries are contacted.
# Settings (environment): GATEWAY_PORT, API_PORT, API_LISTEN, DEMO_VENDOR_PORT, LINGMO_REDIS_PORT,
# LINGMO_BUILD_DIR (default <repo>/build), LINGMO_RUN_DIR, DEMO_KEY, LINGMO_REBUILD_UI=1 (rebuild
# the console even when it looks up to date).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${LINGMO_RUN_DIR:-$ROOT/.run}
PORT=${GATEWAY_PORT:-8080}
API_PORT=${API_PORT:-8000}
API_LISTEN=${API_LISTEN:-127.0.0.1}
VENDOR_PORT=${DEMO_VENDOR_PORT:-18801}
REDIS_PORT=${LINGMO_REDIS_PORT:-16390}
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
DEMO_KEY=${DEMO_KEY:-lm-demo-key-0123456789}
WEB=$ROOT/controlplane/web

# Whether PID runs (a zombie waiting to be reaped by init does not count); from /proc, since a
# minimal Debian (a container) has no ps.
alive() { local st; st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
# Sends SIGNAL to the process in PIDFILE and waits (up to 10 s) until it is gone, so that a start
# right after a stop finds its ports free.
stop_one() {
  local sig=$1 pidfile=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -"$sig" "$pid" 2>/dev/null; then
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

stop() {
  stop_one QUIT "$RUN/nginx.pid"      # graceful: requests in flight finish
  stop_one TERM "$RUN/controld.pid"   # graceful too (docs/API.md)
  stop_one TERM "$RUN/vendor.pid"
  stop_one TERM "$RUN/redis.pid"      # redis-server flushes its append-only file on SIGTERM
  echo "LingMo quickstart stopped."
}

step() { printf '==> %s\n' "$*"; }

case "${1:-start}" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: bash deploy/quickstart.sh [start|stop]" >&2; exit 2 ;;
esac

step "dependencies (apt, only what is missing)"
bash "$ROOT/deploy/install-deps.sh"
step "building the module, lingmo-admin and lingmo-controld in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target ngx_http_lingmo_module lingmo-admin lingmo-controld >/dev/null

mkdir -p "$RUN/logs" "$RUN/tmp"
stop >/dev/null 2>&1 || true

# The web console (controlplane/web): npm ci only when package-lock.json changed since the last
# npm ci made here (a stamp in node_modules), vite build only when a source is newer than dist/.
step "building the web console (npm ci && npm run build in controlplane/web)"
lock_sum=$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$WEB/node_modules/.lingmo-lock" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error) >"$RUN/logs/web-build.log" 2>&1 ||
    { tail -30 "$RUN/logs/web-build.log"; echo "npm ci failed (log: $RUN/logs/web-build.log)" >&2; exit 1; }
  echo "$lock_sum" >"$WEB/node_modules/.lingmo-lock"
fi
if [ "${LINGMO_REBUILD_UI:-0}" = 1 ] || [ ! -f "$WEB/dist/index.html" ] ||
   [ -n "$(find "$WEB/src" "$WEB/public" "$WEB/index.html" "$WEB/vite.config.js" "$WEB/package.json" "$WEB/package-lock.json" \
             -newer "$WEB/dist/index.html" -print -quit 2>/dev/null)" ]; then
  (cd "$WEB" && npm run build) >>"$RUN/logs/web-build.log" 2>&1 ||
    { tail -30 "$RUN/logs/web-build.log"; echo "npm run build failed (log: $RUN/logs/web-build.log)" >&2; exit 1; }
fi

step "starting Redis, the demo vendor, nginx and lingmo-controld"
# Redis: a private instance on loopback with a random password (nginx workers run as another
# user, so a private unix socket would not do), append-only so config and usage survive restarts.
[ -f "$RUN/redis.pass" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$RUN/redis.pass")
REDIS_PASS=$(cat "$RUN/redis.pass")
ADMIN=("$BUILD/controlplane/lingmo-admin" --redis "127.0.0.1:$REDIS_PORT" --secret-file "$RUN/secret.key")
export LINGMO_REDIS_PASSWORD=$REDIS_PASS
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --requirepass "$REDIS_PASS" --dir "$RUN" \
  --appendonly yes --appendfsync everysec --save '' --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$RUN/logs/redis.log"
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
# By its absolute path, so that a binary upgrade (kill -USR2, docs/DEPLOY.md) can re-execute it.
NGINX=$(command -v nginx)
"$NGINX" -t -q -c "$RUN/nginx.conf" -p "$RUN"
"$NGINX" -c "$RUN/nginx.conf" -p "$RUN"

# lingmo-controld: the admin API and the console on one origin. Its stdout carries only the
# LISTENING line and, on the very first start (no admin account in Redis yet), the one-time admin
# password; the logs go to stderr. The Redis password goes in the environment (flags show in ps);
# Redis/config variables that may linger in the caller's shell are dropped so that the daemon
# uses the same Redis as nginx. OUTBOUND_ALLOW lets "Test connectivity" reach the demo vendor on
# loopback.
(umask 077; : >"$RUN/logs/controld.out")
env -u REDIS_SENTINELS -u REDIS_MASTER -u REDIS_SENTINEL_PASSWORD -u REDIS_DB -u ENCRYPT_KEY -u LINGMO_CONTROLD_CONFIG \
  REDIS_PASSWORD="$REDIS_PASS" WEB_ROOT="$WEB/dist" OUTBOUND_ALLOW=127.0.0.1 \
  nohup "$BUILD/controlplane/lingmo-controld" --listen "$API_LISTEN" --port "$API_PORT" \
  --redis "127.0.0.1:$REDIS_PORT" --secret-file "$RUN/secret.key" \
  >"$RUN/logs/controld.out" 2>"$RUN/logs/controld.log" &
echo $! >"$RUN/controld.pid"
for _ in $(seq 100); do
  grep -q '^LISTENING ' "$RUN/logs/controld.out" && break
  kill -0 "$(cat "$RUN/controld.pid")" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '^LISTENING ' "$RUN/logs/controld.out"; then
  tail -20 "$RUN/logs/controld.log" >&2
  echo "lingmo-controld did not start (log: $RUN/logs/controld.log); is port $API_PORT taken?" >&2
  exit 1
fi
first_pass=$(sed -n 's/^  password: //p' "$RUN/logs/controld.out")
if [ -n "$first_pass" ]; then
  (umask 077; printf '%s\n' "$first_pass" >"$RUN/admin.pass")
  pass_note="one-time: the console asks you to change it at the first login"
elif [ -s "$RUN/admin.pass" ]; then
  pass_note="printed by lingmo-controld on its first start; if you changed it since, use yours"
fi
ADMIN_PASS=$(cat "$RUN/admin.pass" 2>/dev/null || true)
if [ -z "$ADMIN_PASS" ]; then
  ADMIN_PASS="(unknown: the admin account was created earlier)"
  pass_note="lost it? docs/API.md, 'Lost the admin password?'"
fi

BASE="http://127.0.0.1:$PORT/v1"
for _ in $(seq 50); do
  curl -fs -o /dev/null -H "Authorization: Bearer $DEMO_KEY" "$BASE/models" && break
  sleep 0.1
done
CONSOLE_HOST=$API_LISTEN
case "$CONSOLE_HOST" in 0.0.0.0|::|'[::]') CONSOLE_HOST=127.0.0.1 ;; esac
CONSOLE="http://$CONSOLE_HOST:$API_PORT/"
case "$API_LISTEN" in
  127.*|localhost|::1) REMOTE="The console listens on $API_LISTEN only; from another machine: ssh -L $API_PORT:127.0.0.1:$API_PORT this-host" ;;
  *) REMOTE="The console listens on $API_LISTEN over plain HTTP: put TLS in front before you expose it (docs/DEPLOY.md)" ;;
esac

cat <<MSG

LingMo Gateway is running (offline demo vendor).
  Base URL : $BASE
  API key  : $DEMO_KEY
  Models   : gpt-4o-mini, demo-chat, auto
  Console  : $CONSOLE
  Admin    : admin
  Password : $ADMIN_PASS
             ($pass_note)
  Admin API: ${CONSOLE}api/  (health: ${CONSOLE}healthz; docs/API.md)

Try it (OpenAI dialect):
  curl $BASE/chat/completions \\
    -H "Authorization: Bearer $DEMO_KEY" -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'
The same gateway speaks Anthropic's dialect (Claude Code: ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
ANTHROPIC_AUTH_TOKEN=$DEMO_KEY ANTHROPIC_MODEL=demo-chat; more in docs/AGENT_GUIDE.md):
  curl $BASE/messages -H "x-api-key: $DEMO_KEY" -H "anthropic-version: 2023-06-01" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"demo-chat","max_tokens":256,"messages":[{"role":"user","content":"Hello!"}]}'

Add a real vendor in the console (Providers & models > Add), or from the shell (the key is
stored AES-256-GCM encrypted):
  LINGMO_REDIS_PASSWORD=\$(cat $RUN/redis.pass) ${ADMIN[*]} provider add --id deepseek --base-url https://api.deepseek.com/v1 \\
    --api-key-env DEEPSEEK_API_KEY --model gpt-4o-mini=deepseek-chat --priority 5
$REMOTE
Logs: $RUN/logs/   Stop: bash deploy/quickstart.sh stop   Production: docs/DEPLOY.md
MSG
