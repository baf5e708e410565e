#!/usr/bin/env bash
# deploy/install.sh, without touching the machine: everything goes under a temp --prefix (and a
# --destdir for the systemd units), with --no-user (no system user, no chown) and the build tree
# that tests/run.sh made (--no-build --no-deps). Checks:
#   --dry-run changes nothing and says what it would do;
#   an install puts programs, module, console, config (secret key 0640, controld.conf pointing at
#   them) in place, turns on Redis' AOF (--redis-aof: CONFIG SET + CONFIG REWRITE, data kept);
#   the installed daemon runs from the installed config and serves the installed console; the
#   printed load_module/include lines make an nginx.conf that nginx -t accepts;
#   a second run keeps the secret key and the edited config (idempotent);
#   a --destdir staging writes systemd units with the installation's paths (and the @ template);
#   uninstall removes the files and keeps the config; --purge removes that too.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
for f in "$BUILD/ngx_module/ngx_http_lingmo_module.so" "$BUILD/controlplane/lingmo-admin" "$BUILD/controlplane/lingmo-controld"; do
  [ -f "$f" ] || { echo "missing $f: build first (LINGMO_BUILD_DIR=$BUILD)"; exit 1; }
done
BASE_PORT=${DEPLOY_TEST_PORT:-18570}
P_REDIS=$BASE_PORT P_API=$((BASE_PORT + 1))
T=$(mktemp -d /tmp/lingmo-install-test.XXXXXX)
P=$T/prefix
DAEMON_PID=""
cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null || true
  redis-cli -p "$P_REDIS" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
expect() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
mode() { stat -c %a "$1"; }

WEB=1; [ -f "$ROOT/controlplane/web/dist/index.html" ] || WEB=0
NOWEB=(); [ "$WEB" = 1 ] || NOWEB=(--no-web)
COMMON=(--prefix "$P" --build-dir "$BUILD" --no-build --no-deps --no-systemd --no-user "${NOWEB[@]}")

# A Redis with a config file (CONFIG REWRITE needs one) and some data in it.
printf 'port %s\nbind 127.0.0.1\ndir %s\nsave ""\nappendonly no\n' "$P_REDIS" "$T" >"$T/redis.conf"
redis-server "$T/redis.conf" --daemonize yes --pidfile "$T/redis.pid" --logfile "$T/redis.log"
for _ in $(seq 50); do redis-cli -p "$P_REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$P_REDIS" set lingmo:test:before-aof 1 >/dev/null

# 1. Dry run.
out=$(bash "$ROOT/deploy/install.sh" --dry-run "${COMMON[@]}" --redis "127.0.0.1:$P_REDIS" --redis-aof 2>&1)
expect "dry run: creates nothing" test ! -e "$P"
expect "dry run: says it would install the daemon, the module and the key" \
  grep -q "install -D -m 0755 $BUILD/controlplane/lingmo-controld $P/bin/lingmo-controld" <<<"$out"
grep -q "gen-secret $P/etc/lingmo/secret.key" <<<"$out" && grep -q "CONFIG SET appendonly yes" <<<"$out" &&
  grep -q "ngx_http_lingmo_module.so $P/lib/nginx/modules/" <<<"$out" || not_ok "dry run output: $out"
expect "dry run: Redis untouched" test "$(redis-cli -p "$P_REDIS" config get appendonly | tail -1)" = no

# 2. Install.
out=$(bash "$ROOT/deploy/install.sh" "${COMMON[@]}" --redis "127.0.0.1:$P_REDIS" --redis-aof 2>&1) ||
  { echo "$out"; not_ok "install exited non-zero"; }
expect "install: programs and module" test -x "$P/bin/lingmo-controld" -a -x "$P/bin/lingmo-admin" -a -f "$P/lib/nginx/modules/ngx_http_lingmo_module.so"
[ "$WEB" = 1 ] && expect "install: the console in share/lingmo/web" test -f "$P/share/lingmo/web/index.html"
expect "install: secret key 0640, config dir 0750" test "$(mode "$P/etc/lingmo/secret.key")/$(mode "$P/etc/lingmo")" = 640/750
expect "install: controld.env 0600, controld.conf 0640" test "$(mode "$P/etc/lingmo/controld.env")/$(mode "$P/etc/lingmo/controld.conf")" = 600/640
expect "install: controld.conf names the key, Redis and console" \
  grep -qx "SECRET_FILE=$P/etc/lingmo/secret.key" "$P/etc/lingmo/controld.conf"
grep -qx "REDIS_ADDR=127.0.0.1:$P_REDIS" "$P/etc/lingmo/controld.conf" || not_ok "controld.conf: no REDIS_ADDR line"
expect "install: lingmo-http.conf points at the Redis and the key" \
  grep -q "lingmo_redis 127.0.0.1:$P_REDIS;" "$P/etc/lingmo/nginx/lingmo-http.conf"
grep -q "lingmo_secret_key_file $P/etc/lingmo/secret.key;" "$P/etc/lingmo/nginx/lingmo-http.conf" || not_ok "lingmo-http.conf: key path"
expect "install: examples in share/lingmo" test -f "$P/share/lingmo/nginx/tls.conf" -a -f "$P/share/lingmo/redis/lingmo-aof.conf"
expect "install: --redis-aof turned the AOF on, in memory and in redis.conf, data kept" \
  test "$(redis-cli -p "$P_REDIS" config get appendonly | tail -1)/$(redis-cli -p "$P_REDIS" get lingmo:test:before-aof)" = yes/1
grep -q '^appendonly yes' "$T/redis.conf" || not_ok "redis.conf was not rewritten with appendonly yes"
redis-cli -p "$P_REDIS" shutdown >/dev/null 2>&1 || true   # saves the AOF; restart from redis.conf alone
sleep 0.5
redis-server "$T/redis.conf" --daemonize yes --pidfile "$T/redis.pid" --logfile "$T/redis.log"
for _ in $(seq 50); do redis-cli -p "$P_REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done
expect "install: after a Redis restart the data is still there (AOF)" test "$(redis-cli -p "$P_REDIS" get lingmo:test:before-aof)" = 1

# 3. The installed daemon, from the installed config.
env -u REDIS_ADDR -u REDIS_SENTINELS -u REDIS_MASTER -u WEB_ROOT -u ENCRYPT_KEY -u LINGMO_CONTROLD_CONFIG \
  "$P/bin/lingmo-controld" --config "$P/etc/lingmo/controld.conf" --port "$P_API" >"$T/controld.out" 2>"$T/controld.log" &
DAEMON_PID=$!
for _ in $(seq 50); do grep -q '^LISTENING' "$T/controld.out" && break; sleep 0.1; done
expect "installed daemon: starts from controld.conf and prints a one-time password" grep -q '^  password: ' "$T/controld.out"
expect "installed daemon: /healthz" test "$(curl -s "http://127.0.0.1:$P_API/healthz")" = '{"status":"ok","redis":"ok"}'
if [ "$WEB" = 1 ]; then
  expect "installed daemon: serves the installed console" grep -q "web console: serving $P/share/lingmo/web" "$T/controld.log"
  ctype=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$P_API/" || true)
  expect "installed daemon: / is HTML" test "${ctype%%;*}" = "200 text/html"
fi
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""

# 4. The lines the script prints make a working nginx.conf.
load=$(grep -m1 '^ *load_module ' <<<"$out")
inc_http=$(grep -m1 '^ *include .*lingmo-http.conf;' <<<"$out")
inc_loc=$(grep -m1 '^ *include .*lingmo-location.conf;' <<<"$out")
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
$load
pid $T/nginx/nginx.pid;
events {}
http {
  access_log off;
  $inc_http
  server {
    listen 127.0.0.1:$((BASE_PORT + 2));
    $inc_loc
  }
}
EOF
if nginx -t -q -c "$T/nginx/nginx.conf" -p "$T/nginx/" -e "$T/nginx/error.log" >"$T/nginx/t.out" 2>&1; then
  ok "printed load_module + include lines: nginx -t accepts them"
else not_ok "printed lines: nginx -t: $(cat "$T/nginx/t.out") [$load / $inc_http / $inc_loc]"; fi
grep -q "checked: .* loads the module" <<<"$out" && ok "install: checked that this machine's nginx loads the module" ||
  not_ok "install did not check the module against nginx: $out"

# 5. Idempotent: a second run keeps the key and an edited config.
key_sum=$(sha256sum "$P/etc/lingmo/secret.key")
echo "# edited by the admin" >>"$P/etc/lingmo/controld.conf"
out2=$(bash "$ROOT/deploy/install.sh" "${COMMON[@]}" --redis "127.0.0.1:$P_REDIS" 2>&1) || not_ok "second install exited non-zero: $out2"
expect "second run: secret key unchanged" test "$(sha256sum "$P/etc/lingmo/secret.key")" = "$key_sum"
expect "second run: edited controld.conf kept" grep -q '^# edited by the admin' "$P/etc/lingmo/controld.conf"
expect "second run: still installed" test -x "$P/bin/lingmo-controld"
expect "second run: no leftovers of the console swap" test -z "$(ls -d "$P"/share/lingmo/web.* 2>/dev/null)"

# 6. Staged (--destdir) with systemd units, paths as on the target.
S=$T/stage
bash "$ROOT/deploy/install.sh" --destdir "$S" --prefix /usr --build-dir "$BUILD" --no-build --no-deps "${NOWEB[@]}" >"$T/stage.out" 2>&1 ||
  { cat "$T/stage.out"; not_ok "staged install exited non-zero"; }
U=$S/etc/systemd/system
expect "staged: binaries under DESTDIR/usr/bin, config under DESTDIR/etc/lingmo" test -x "$S/usr/bin/lingmo-controld" -a -f "$S/etc/lingmo/secret.key"
expect "staged: the unit runs /usr/bin/lingmo-controld with /etc/lingmo/controld.conf" \
  grep -qx 'ExecStart=/usr/bin/lingmo-controld --config /etc/lingmo/controld.conf' "$U/lingmo-controld.service"
grep -qx 'EnvironmentFile=/etc/lingmo/controld.env' "$U/lingmo-controld.service" || not_ok "staged unit: EnvironmentFile"
expect "staged: the replica template adds --port %i" \
  grep -qx 'ExecStart=/usr/bin/lingmo-controld --config /etc/lingmo/controld.conf --port %i' "$U/lingmo-controld@.service"
expect "staged: DESTDIR is not written into the files" test -z "$(grep -rl "$S" "$S/etc" 2>/dev/null)"
[ "$WEB" = 1 ] && expect "staged: controld.conf's WEB_ROOT is /usr/share/lingmo/web" grep -qx 'WEB_ROOT=/usr/share/lingmo/web' "$S/etc/lingmo/controld.conf"
# systemd's own checker on the staged tree (no systemd runs here to start them): every key known
# and every value parsed (it only warns on those, so any output is a failure), the binary there
# and executable, the dependencies resolvable against this machine's stock units.
if command -v systemd-analyze >/dev/null 2>&1 && [ -d /lib/systemd/system ]; then
  mkdir -p "$S/usr/lib/systemd" && cp -a /lib/systemd/system "$S/usr/lib/systemd/"
  for unit in lingmo-controld.service lingmo-controld@8001.service; do
    out=$(systemd-analyze verify --root="$S" "$U/$unit" 2>&1) && [ -z "$out" ] &&
      ok "staged: systemd-analyze verify $unit finds nothing" || not_ok "systemd-analyze verify $unit: $out"
  done
else
  echo "ok - # SKIP systemd-analyze verify: no systemd here"
fi

# 7. Uninstall.
out=$(bash "$ROOT/deploy/install.sh" uninstall --dry-run "${COMMON[@]}" 2>&1)
expect "uninstall --dry-run: removes nothing" test -x "$P/bin/lingmo-controld"
bash "$ROOT/deploy/install.sh" uninstall "${COMMON[@]}" >"$T/un.out" 2>&1 || not_ok "uninstall exited non-zero"
expect "uninstall: programs, module and console gone" \
  test ! -e "$P/bin/lingmo-controld" -a ! -e "$P/bin/lingmo-admin" -a ! -e "$P/lib/nginx/modules/ngx_http_lingmo_module.so" -a ! -e "$P/share/lingmo"
expect "uninstall: configuration and secret key kept" test -f "$P/etc/lingmo/secret.key"
bash "$ROOT/deploy/install.sh" uninstall "${COMMON[@]}" >/dev/null 2>&1 && ok "uninstall: a second time is fine" || not_ok "second uninstall failed"
bash "$ROOT/deploy/install.sh" uninstall --purge "${COMMON[@]}" >/dev/null 2>&1 || not_ok "uninstall --purge exited non-zero"
expect "uninstall --purge: configuration gone" test ! -e "$P/etc/lingmo"

echo "install.sh: $passed passed, $failed failed"
[ "$failed" = 0 ]
