#!/usr/bin/env bash
# Every nginx configuration shipped in deploy/ parses with `nginx -t` and the built module:
#   deploy/nginx/example.conf          (standalone)
#   deploy/nginx/lingmo-http.conf +    (the include snippets, inside someone else's http/server)
#     deploy/nginx/lingmo-location.conf
#   deploy/nginx/tls.conf              (TLS + HTTP/2, console/API proxied)
#   deploy/nginx/quickstart.conf.in    (rendered as deploy/quickstart.sh does)
#   the nginx.conf deploy/docker/gateway-entrypoint.sh writes
# Paths that point into /etc or /usr/local are rewritten to a temp dir (module, key, certificate)
# and ports to spare ones. Then the snippet set and the TLS example are run for real, with a
# throw-away Redis and lingmo-controld: a gateway call over HTTP/2 + TLS, the console/API through
# the TLS proxy, the http->https redirect.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
SO=$BUILD/ngx_module/ngx_http_lingmo_module.so
ADMIN_BIN=$BUILD/controlplane/lingmo-admin
CONTROLD=$BUILD/controlplane/lingmo-controld
for f in "$SO" "$ADMIN_BIN" "$CONTROLD"; do [ -f "$f" ] || { echo "missing $f: build first (LINGMO_BUILD_DIR=$BUILD)"; exit 1; }; done
BASE_PORT=${DEPLOY_TEST_PORT:-18560}   # uses BASE_PORT .. BASE_PORT+5
P_HTTP=$BASE_PORT P_TLS=$((BASE_PORT + 1)) P_REDIS=$((BASE_PORT + 2)) P_API=$((BASE_PORT + 3)) P_PLAIN=$((BASE_PORT + 4)) P_VENDOR=$((BASE_PORT + 5))

T=$(mktemp -d /tmp/lingmo-nginx-test.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$T"/*/nginx.pid; do [ -f "$f" ] && kill -QUIT "$(cat "$f")" 2>/dev/null || true; done
  [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$T"
}
trap cleanup EXIT
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

"$ADMIN_BIN" gen-secret "$T/secret.key" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gateway.example.com \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1

# Rewrites a shipped file's machine paths and ports into the test's.
localize() {
  sed -e "s#^\( *\)load_module [^;]*;#\1load_module $SO;#" \
      -e "s#/etc/lingmo/secret.key#$T/secret.key#g" \
      -e "s#/etc/letsencrypt/live/gateway.example.com/fullchain.pem#$T/cert.pem#" \
      -e "s#/etc/letsencrypt/live/gateway.example.com/privkey.pem#$T/key.pem#" \
      -e "s#lingmo_redis 127.0.0.1:6379;#lingmo_redis 127.0.0.1:$P_REDIS;#" \
      -e "s#server 127.0.0.1:8000 #server 127.0.0.1:$P_API #" \
      -e "s#listen 8080;#listen $P_PLAIN;#; s#listen \[::\]:8080;#listen [::1]:$P_PLAIN;#" \
      -e "s#listen 80;#listen $P_HTTP;#; s#listen \[::\]:80;#listen [::1]:$P_HTTP;#" \
      -e "s#listen 443 ssl http2;#listen $P_TLS ssl http2;#; s#listen \[::\]:443 ssl http2;#listen [::1]:$P_TLS ssl http2;#" \
      -e "s#/var/log/nginx/#$T/#g" "$1"
}
# A main nginx.conf around an http-level body (like tests/integration/harness.mjs nginxTest()).
wrap() {  # DIR HTTP-BODY
  cat <<EOF
load_module $SO;
pid $1/nginx.pid;
error_log $1/error.log info;
events { worker_connections 256; }
http {
  access_log $1/access.log;
  client_body_temp_path $1/tmp_body; proxy_temp_path $1/tmp_proxy; fastcgi_temp_path $1/tmp_fastcgi;
  uwsgi_temp_path $1/tmp_uwsgi; scgi_temp_path $1/tmp_scgi;
$2
}
EOF
}
# nginx -t on DIR/nginx.conf.
check() {  # NAME DIR
  if nginx -t -q -c "$2/nginx.conf" -p "$2/" -e "$2/error.log" >"$2/t.out" 2>&1; then ok "nginx -t: $1"
  else not_ok "nginx -t: $1"; sed 's/^/    /' "$2/t.out"; fi
}
start() { nginx -c "$1/nginx.conf" -p "$1/" -e "$1/error.log"; }

# 1. Standalone example.
mkdir -p "$T/standalone"
localize "$ROOT/deploy/nginx/example.conf" | sed -e "s#^user www-data;#user $(id -un);#" \
  -e "s#^http {#pid $T/standalone/nginx.pid;\nhttp {\n    client_body_temp_path $T/standalone/tmp_body;#" >"$T/standalone/nginx.conf"
check "deploy/nginx/example.conf (standalone)" "$T/standalone"

# 2. The include snippets inside an existing server.
mkdir -p "$T/snippets"
localize "$ROOT/deploy/nginx/lingmo-http.conf" >"$T/snippets/lingmo-http.conf"
cp "$ROOT/deploy/nginx/lingmo-location.conf" "$T/snippets/lingmo-location.conf"
wrap "$T/snippets" "  include $T/snippets/lingmo-http.conf;
  server {
    listen 127.0.0.1:$P_PLAIN;
    location / { return 200 'the site that was there before\n'; }
    include $T/snippets/lingmo-location.conf;
  }" >"$T/snippets/nginx.conf"
check "deploy/nginx/lingmo-http.conf + lingmo-location.conf (include into an existing server)" "$T/snippets"

# 3. TLS + HTTP/2.
mkdir -p "$T/tls"
localize "$ROOT/deploy/nginx/tls.conf" >"$T/tls/tls.conf"
wrap "$T/tls" "  include $T/tls/tls.conf;" >"$T/tls/nginx.conf"
check "deploy/nginx/tls.conf (TLS, HTTP/2, console proxy)" "$T/tls"

# 4. The quickstart's template, rendered as deploy/quickstart.sh renders it.
mkdir -p "$T/quickstart/logs" "$T/quickstart/tmp"
cp "$T/secret.key" "$T/quickstart/secret.key"
sed -e "s#@REDIS@#127.0.0.1:$P_REDIS password=x#g" -e "s#@ROOT@#$ROOT#g" -e "s#@RUN@#$T/quickstart#g" \
  -e "s#@BUILD@#$BUILD#g" -e "s#@PORT@#$P_PLAIN#g" "$ROOT/deploy/nginx/quickstart.conf.in" >"$T/quickstart/nginx.conf"
check "deploy/nginx/quickstart.conf.in (rendered)" "$T/quickstart"

# 5. What the Docker gateway image's entrypoint writes (its heredoc, with the test's paths).
mkdir -p "$T/docker"
body=$(awk '/<<CONF$/{on=1; next} /^CONF$/{on=0} on' "$ROOT/deploy/docker/gateway-entrypoint.sh")
redis="127.0.0.1:$P_REDIS password=x" NGINX_WORKERS=1 body="$body" sh -c 'eval "cat <<CONF
$body
CONF"' | sed -e "s#/usr/lib/nginx/modules/ngx_http_lingmo_module.so#$SO#" -e "s#/run/lingmo/secret.key#$T/secret.key#" \
             -e "s#^pid .*#pid $T/docker/nginx.pid;#" -e "s#^user www-data;#user $(id -un);#" \
             -e "s#listen 8080;#listen 127.0.0.1:$P_PLAIN;#" >"$T/docker/nginx.conf"
grep -q lingmo_gateway "$T/docker/nginx.conf" || not_ok "could not extract the entrypoint's nginx.conf"
check "deploy/docker/gateway-entrypoint.sh's nginx.conf" "$T/docker"

# 6. For real: Redis, lingmo-controld, the snippet set and the TLS server.
redis-server --bind 127.0.0.1 --port "$P_REDIS" --save '' --dir "$T" --daemonize yes \
  --pidfile "$T/redis.pid" --logfile "$T/redis.log"
for _ in $(seq 50); do redis-cli -p "$P_REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done
KEY=lm-deploy-test-key-0123456789
"$ADMIN_BIN" --redis "127.0.0.1:$P_REDIS" --secret-file "$T/secret.key" key add --name deploy-test --secret "$KEY" >/dev/null 2>&1
env -u REDIS_SENTINELS -u REDIS_MASTER -u LINGMO_CONTROLD_CONFIG "$CONTROLD" --port "$P_API" \
  --redis "127.0.0.1:$P_REDIS" --secret-file "$T/secret.key" >"$T/controld.out" 2>"$T/controld.log" &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^LISTENING' "$T/controld.out" && break; sleep 0.1; done

node "$ROOT/tests/fakes/fake_vendor.mjs" --port "$P_VENDOR" --name fake --key sk-fake >"$T/vendor.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$P_VENDOR/health" && break; sleep 0.1; done
"$ADMIN_BIN" --redis "127.0.0.1:$P_REDIS" --secret-file "$T/secret.key" provider add --id fake \
  --base-url "http://127.0.0.1:$P_VENDOR/v1" --api-key sk-fake --model gpt-4o-mini=fake-model >/dev/null

start "$T/snippets"
start "$T/tls"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_PLAIN/" || true)
body=$(curl -s -H "Authorization: Bearer $KEY" "http://127.0.0.1:$P_PLAIN/v1/models" || true)
[ "$code" = 200 ] && grep -q '"object":"list"' <<<"$body" && ok "snippets: the existing site still answers and /v1/ is the gateway" ||
  not_ok "snippets: site $code, /v1/models: $body"

out=$(curl -sk --http2 -w '\n%{http_version} %{http_code}' -H "Authorization: Bearer $KEY" "https://127.0.0.1:$P_TLS/v1/models" || true)
[[ "$(tail -1 <<<"$out")" == "2 200" ]] && grep -q '"object":"list"' <<<"$out" && ok "tls: /v1/models over TLS + HTTP/2" ||
  not_ok "tls: /v1/models: $out"
out=$(curl -sSk --http2 -N -w '\n%{http_version} %{http_code} %{content_type}' -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' "https://127.0.0.1:$P_TLS/v1/chat/completions" \
  -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello!"}]}' || true)
[[ "$(tail -1 <<<"$out")" == "2 200 text/event-stream"* ]] && grep -q '^data: \[DONE\]' <<<"$out" && grep -q '"content":"' <<<"$out" &&
  ok "tls: a streamed chat completion over TLS + HTTP/2 (SSE, [DONE])" || not_ok "tls: stream: $out"
out=$(curl -sk --http2 -w '\n%{http_version} %{http_code}' "https://127.0.0.1:$P_TLS/v1/chat/completions" -d '{}' || true)
[[ "$(tail -1 <<<"$out")" == "2 401" ]] && grep -q '"error"' <<<"$out" && ok "tls: no key gives the gateway's 401 JSON" ||
  not_ok "tls: no key: $out"
out=$(curl -sk "https://127.0.0.1:$P_TLS/healthz" || true)
[ "$out" = '{"status":"ok","redis":"ok"}' ] && ok "tls: /healthz proxied to lingmo-controld" || not_ok "tls: /healthz: $out"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST "https://127.0.0.1:$P_TLS/api/login" -d '{"username":"admin","password":"wrong-password"}' || true)
[ "$code" = 401 ] && ok "tls: /api/login reaches the admin API (401 for a wrong password)" || not_ok "tls: /api/login: $code"
if [ -f "$ROOT/controlplane/web/dist/index.html" ]; then
  ctype=$(curl -sk -o /dev/null -w '%{http_code} %{content_type}' "https://127.0.0.1:$P_TLS/" || true)
  [[ "$ctype" == "200 text/html"* ]] && ok "tls: / is the web console" || not_ok "tls: / answered $ctype"
fi
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: gateway.example.com' "http://127.0.0.1:$P_HTTP/v1/models" || true)
[ "$out" = "301 https://gateway.example.com/v1/models" ] && ok "tls: plain HTTP redirects to https" || not_ok "tls: redirect: $out"

echo "nginx_examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
