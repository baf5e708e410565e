#!/usr/bin/env bash
# The Docker images and compose.yaml for real, on a machine without a Docker engine: Debian's
# podman (its builder is buildah) builds deploy/docker/Dockerfile's three images and
# podman-compose runs deploy/docker/compose.yaml as it is, then:
#   - the console is served and /healthz says Redis is ok; the one-time admin password is in the
#     controld log and logs in;
#   - a provider added with the image's lingmo-admin (pointing at a fake vendor on the host)
#     serves a chat completion through the gateway container's published port, usage counted;
#   - Redis runs append-only; after `down` and `up` (containers recreated, volume kept) the
#     provider and key are still there and serve again;
#   - the gateway refuses to start without ENCRYPT_KEY.
# Slow (a full C++ build, apt and npm inside the build stages: about 10 min here); tests/run.sh
# runs it last, LINGMO_SKIP_CONTAINERS=1 skips it. docs/DEPLOY.md, "Docker".
# Podman's set-up (private configuration, the debian:12 base image): podman_env.sh. Needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROJECT=lingmo-imagetest
GW_PORT=${IMAGES_GATEWAY_PORT:-18680} API_PORT=${IMAGES_API_PORT:-18681} VENDOR_PORT=${IMAGES_VENDOR_PORT:-18682}
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
# shellcheck source=podman_env.sh
source "$ROOT/tests/deploy/podman_env.sh"

# The compose project: its own .env (a developer's deploy/docker/.env is not read), its own ports.
ENVF=$WORK/env
printf 'ENCRYPT_KEY=%s\nGATEWAY_PORT=%s\nAPI_PORT=%s\nAPI_BIND=127.0.0.1\nGATEWAY_BIND=127.0.0.1\n' \
  "$(openssl rand -hex 32)" "$GW_PORT" "$API_PORT" >"$ENVF"
compose() { (cd "$ROOT/deploy/docker" && set -a && . "$ENVF" && set +a && podman-compose -p "$PROJECT" -f compose.yaml "$@"); }
vendor_pid=""
cleanup() {
  compose down -v >/dev/null 2>&1 || true
  [ -n "$vendor_pid" ] && kill "$vendor_pid" 2>/dev/null || true
}
trap 'cleanup; podman_env_cleanup' EXIT
cleanup

for image in redis controld gateway; do podman untag "lingmo/$image:1.0.0" >/dev/null 2>&1 || true; done  # no stale image passes
start=$SECONDS
# podman-compose 1.0.3 goes on past an image that failed to build: check that all three exist.
if compose build >"$WORK/build.log" 2>&1 &&
   podman image exists lingmo/redis:1.0.0 && podman image exists lingmo/controld:1.0.0 && podman image exists lingmo/gateway:1.0.0; then
  ok "compose build: the gateway, controld and redis images build from deploy/docker/Dockerfile ($((SECONDS - start)) s)"
else
  tail -30 "$WORK/build.log"; not_ok "compose build (log: $WORK/build.log)"; exit 1
fi

# A fake OpenAI-style vendor on the host, reached from the containers through the bridge.
node "$ROOT/tests/fakes/fake_vendor.mjs" --host 0.0.0.0 --port "$VENDOR_PORT" --name docker-demo --key sk-image-test \
  >"$WORK/vendor.log" 2>&1 &
vendor_pid=$!

compose up -d --no-build >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; not_ok "compose up"; exit 1; }
api=http://127.0.0.1:$API_PORT gw=http://127.0.0.1:$GW_PORT/v1
wait_http() { for _ in $(seq 150); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done; return 1; }
if wait_http "$api/healthz" && [ "$(curl -s "$api/healthz")" = '{"status":"ok","redis":"ok"}' ]; then
  ok "controld container: /healthz ok with Redis reached by its service name"
else
  podman logs "${PROJECT}_controld_1" 2>&1 | tail -20; not_ok "controld /healthz: $(curl -s "$api/healthz" || true)"
fi
ctype=$(curl -s -o "$WORK/index.html" -w '%{http_code} %{content_type}' "$api/keys" || true)
[[ "$ctype" == "200 text/html"* ]] && grep -q '<div id="app"' "$WORK/index.html" &&
  ok "controld container serves the console built in the web stage" || not_ok "console: $ctype"
pass=$(podman logs "${PROJECT}_controld_1" 2>/dev/null | sed -n 's/^  password: //p' | head -1)
login=$(curl -s -X POST "$api/api/login" -H 'Content-Type: application/json' -d "{\"username\":\"admin\",\"password\":\"$pass\"}" || true)
[ -n "$pass" ] && grep -q '"must_change_password":true' <<<"$login" &&
  ok "the one-time admin password from the controld log logs in" || not_ok "one-time password ($pass): $login"
[ "$(podman exec "${PROJECT}_redis_1" redis-cli CONFIG GET appendonly | tail -1)" = yes ] &&
  ok "redis container: append-only" || not_ok "redis container: appendonly is not on"

host=$(podman exec "${PROJECT}_controld_1" getent hosts host.containers.internal | awk '{print $1}' || true)
[ -n "$host" ] || host=10.88.0.1
admin() { podman exec "${PROJECT}_controld_1" lingmo-admin "$@"; }
out=$({ admin provider add --id docker-demo --name "Image test vendor" --vendor demo --base-url "http://$host:$VENDOR_PORT/v1" \
          --api-key sk-image-test --model gpt-4o-mini=demo-model --priority 10 &&
        admin key add --name image-test --secret lm-image-test-key-0123456789; } 2>&1) ||
  not_ok "lingmo-admin in the controld container: $out"
chat() {
  curl -s -w '\n%{http_code}' "$gw/chat/completions" -H "Authorization: Bearer lm-image-test-key-0123456789" \
    -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello from a container test"}]}' || true
}
served() { for _ in $(seq 50); do resp=$(chat); [ "$(tail -1 <<<"$resp")" = 200 ] && return 0; sleep 0.2; done; return 1; }
if served && grep -q '"content":"docker-demo says hello"' <<<"$resp"; then
  ok "gateway container: a provider added with lingmo-admin serves a chat completion on the published port"
else
  podman logs "${PROJECT}_gateway_1" 2>&1 | tail -20; not_ok "chat through the gateway container: $resp"
fi
used=""
for _ in $(seq 30); do   # the workers flush usage in batches
  used=$(podman exec "${PROJECT}_redis_1" sh -c 'redis-cli HGET "lingmo:usage:docker-demo:$(date -u +%F)" requests')
  [ -n "$used" ] && [ "$used" -ge 1 ] && break; sleep 0.2
done
[ -n "$used" ] && [ "$used" -ge 1 ] && ok "usage counted in the redis container ($used request(s) today)" ||
  not_ok "no usage counted for docker-demo in Redis"

compose down >/dev/null 2>&1 || true
compose up -d --no-build >>"$WORK/up.log" 2>&1 || not_ok "compose up (second time)"
wait_http "$api/healthz" || true
if served; then
  ok "after down + up (new containers, same volume) the provider and key still serve"
else
  not_ok "after down + up: $resp"
fi
pass2=$(podman logs "${PROJECT}_controld_1" 2>/dev/null | sed -n 's/^  password: //p')
[ -z "$pass2" ] && ok "no second one-time password: the admin account survived in the volume" ||
  not_ok "a new one-time password after the restart"

out=$(podman run --rm --network none lingmo/gateway:1.0.0 2>&1 || true)
grep -q 'ENCRYPT_KEY is required' <<<"$out" && ok "gateway image refuses to start without ENCRYPT_KEY" ||
  not_ok "gateway without ENCRYPT_KEY: $out"

echo "images: $passed passed, $failed failed"
[ "$failed" = 0 ]
