#!/usr/bin/env bash
# The production install under a real systemd: Debian 12 with systemd as PID 1 in a podman
# container (podman_env.sh), Debian's redis-server and nginx installed and started by their own
# units, then `deploy/install.sh --no-build` with this build. Checked:
#   - lingmo-controld.service is active, runs as the user lingmo, answers /healthz with Redis ok,
#     and install.sh printed the one-time password it found in the journal, which logs in;
#   - a replica from the template unit (lingmo-controld@8001) starts on its port;
#   - running install.sh again (an upgrade) restarts the service and the replica, each answering
#     again afterwards;
#   - `systemctl stop` ends the daemon cleanly (exit 0, Result=success);
#   - Debian's nginx, configured with the lines install.sh prints (load_module, the http and
#     location includes), reloads under its unit with the module and answers OpenAI's 401 for a
#     request without a key; the binary upgrade (USR2, WINCH, QUIT) of docs/DEPLOY.md leaves the
#     unit active on the new master.
# About a minute and a half (apt inside the image). Needs root and a build
# ($LINGMO_BUILD_DIR, the web console in controlplane/web/dist).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
NAME=lingmo-systemd-test
IMAGE=localhost/lingmo-systemd-test:1
passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
for f in "$BUILD/controlplane/lingmo-controld" "$BUILD/controlplane/lingmo-admin" "$BUILD/ngx_module/ngx_http_lingmo_module.so" \
         "$ROOT/controlplane/web/dist/index.html"; do
  [ -f "$f" ] || { echo "systemd test: $f is missing: build first" >&2; exit 2; }
done
# shellcheck source=podman_env.sh
source "$ROOT/tests/deploy/podman_env.sh"

# Debian 12 as a machine has it: systemd, and Redis and nginx from Debian. No policy-rc.d, so
# that enabled units start at boot.
cat >"$WORK/Containerfile.systemd" <<'EOF'
FROM docker.io/library/debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv dbus \
      redis-server nginx libhiredis0.14 libcurl4 libcpp-httplib0.11 libspdlog1.10 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
EOF
podman build -q -t "$IMAGE" -f "$WORK/Containerfile.systemd" "$WORK" >"$WORK/systemd-build.log" 2>&1 ||
  { tail -20 "$WORK/systemd-build.log"; echo "systemd test: image build failed" >&2; exit 1; }

cleanup() { podman rm -f "$NAME" >/dev/null 2>&1 || true; }
trap 'cleanup; podman_env_cleanup' EXIT
cleanup
podman run -d --name "$NAME" --systemd=always -v "$ROOT:/src:ro" -v "$BUILD:/build:ro" "$IMAGE" /lib/systemd/systemd >/dev/null
inside() { podman exec "$NAME" bash -c "$1"; }
for _ in $(seq 60); do
  st=$(inside 'systemctl is-system-running 2>/dev/null' || true)
  case "$st" in running|degraded) break ;; esac
  sleep 0.5
done
[ "$(inside 'systemctl is-active redis-server nginx' | tr '\n' ' ')" = "active active " ] &&
  ok "systemd $st in the container; Debian's redis-server and nginx started by their units" ||
  not_ok "boot: system $st; $(inside 'systemctl --failed --no-legend' || true)"

out=$(inside 'bash /src/deploy/install.sh --no-build --no-deps --build-dir /build 2>&1') || { echo "$out" | tail -20; not_ok "install.sh failed"; }
echo "$out" >"$WORK/systemd-install.log"
unit_ok() {  # UNIT PORT: active, and its port answers /healthz with Redis ok
  local h=""
  for _ in $(seq 50); do
    h=$(inside "curl -s http://127.0.0.1:$2/healthz" || true)
    [ "$h" = '{"status":"ok","redis":"ok"}' ] && break; sleep 0.2
  done
  [ "$(inside "systemctl is-active $1" || true)" = active ] && [ "$h" = '{"status":"ok","redis":"ok"}' ]
}
unit_ok lingmo-controld 8000 && ok "install.sh: lingmo-controld.service active, /healthz ok with Redis" ||
  not_ok "lingmo-controld.service: $(inside 'systemctl status lingmo-controld --no-pager -l 2>&1 | tail -15' || true)"
pid=$(inside 'systemctl show -p MainPID --value lingmo-controld')
[ "$(inside "awk '/^Uid:/ {print \$2}' /proc/$pid/status")" = "$(inside 'id -u lingmo')" ] &&
  ok "the daemon runs as the system user lingmo" || not_ok "the daemon (pid $pid) does not run as lingmo"
pass=$(sed -n 's/.*one-time password \([A-Za-z0-9]*\) .*/\1/p' <<<"$out")
login=$(inside "curl -s -X POST http://127.0.0.1:8000/api/login -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"$pass\"}'" || true)
[ -n "$pass" ] && grep -q '"must_change_password":true' <<<"$login" &&
  ok "install.sh printed the one-time password from the journal, and it logs in" || not_ok "one-time password ($pass): $login"

inside 'systemctl enable --now lingmo-controld@8001 >/dev/null 2>&1' || true
unit_ok lingmo-controld@8001 8001 && ok "a replica from the template unit: lingmo-controld@8001 answers on its port" ||
  not_ok "lingmo-controld@8001: $(inside 'systemctl status lingmo-controld@8001 --no-pager -l 2>&1 | tail -15' || true)"

pids() { inside 'for u in lingmo-controld lingmo-controld@8001; do systemctl show -p MainPID --value $u; done' | tr '\n' ' '; }
before=$(pids)
inside 'bash /src/deploy/install.sh --no-build --no-deps --build-dir /build >/dev/null 2>&1' || not_ok "install.sh (second run) failed"
after=$(pids)
read -r b1 b2 <<<"$before"; read -r a1 a2 <<<"$after"
if unit_ok lingmo-controld 8000 && unit_ok lingmo-controld@8001 8001 && [ "$b1" != "$a1" ] && [ "$b2" != "$a2" ]; then
  ok "install.sh again (an upgrade) restarted the service and the replica; both answer (pids $b1 $b2 -> $a1 $a2)"
else
  not_ok "upgrade run: pids $before-> $after"
fi

inside 'systemctl stop lingmo-controld@8001'
res=$(inside 'systemctl show -p Result -p ExecMainStatus --value lingmo-controld@8001 | tr "\n" " "')
[ "$res" = "success 0 " ] && ok "systemctl stop: the daemon exits 0 (Result=success)" || not_ok "after systemctl stop: $res"

# nginx with the lines install.sh prints.
inside 'echo "load_module /usr/local/lib/nginx/modules/ngx_http_lingmo_module.so;" >/etc/nginx/modules-enabled/50-mod-http-lingmo.conf
    echo "include /etc/lingmo/nginx/lingmo-http.conf;" >/etc/nginx/conf.d/lingmo.conf
    printf "server {\n  listen 8080;\n  include /etc/lingmo/nginx/lingmo-location.conf;\n}\n" >/etc/nginx/sites-enabled/lingmo'
grep -q 'load_module /usr/local/lib/nginx/modules/ngx_http_lingmo_module.so;' <<<"$out" &&
  grep -q 'include /etc/lingmo/nginx/lingmo-http.conf;' <<<"$out" && grep -q 'include /etc/lingmo/nginx/lingmo-location.conf;' <<<"$out" ||
  not_ok "install.sh no longer prints the nginx lines this test adds"
inside 'nginx -t -q && systemctl reload nginx' || not_ok "nginx -t / reload: $(inside 'nginx -t 2>&1' || true)"
r=""
for _ in $(seq 30); do r=$(inside 'curl -s -w " %{http_code}" http://127.0.0.1:8080/v1/models' || true); [[ "$r" == *" 401" ]] && break; sleep 0.2; done
[[ "$r" == *"You didn't provide an API key"*'"type":"invalid_request_error"'*" 401" ]] &&
  ok "Debian's nginx under systemd serves the gateway with the module (OpenAI's 401 without a key)" || not_ok "nginx /v1/models: $r"

# The binary upgrade of docs/DEPLOY.md (a new module .so needs a new master) under Debian's unit:
# the new master takes over, systemd follows it, the gateway answers throughout.
old_master=$(inside 'cat /run/nginx.pid')
inside 'kill -USR2 "$(cat /run/nginx.pid)"; for _ in $(seq 50); do [ -f /run/nginx.pid.oldbin ] && break; sleep 0.1; done
        sleep 1; kill -WINCH "$(cat /run/nginx.pid.oldbin)"; kill -QUIT "$(cat /run/nginx.pid.oldbin)"
        for _ in $(seq 50); do [ -f /run/nginx.pid.oldbin ] || break; sleep 0.1; done' || true
new_master=$(inside 'cat /run/nginx.pid')
main=$(inside 'systemctl show -p MainPID --value nginx')
r=$(inside 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/v1/models' || true)
[ "$new_master" != "$old_master" ] && [ "$main" = "$new_master" ] && [ "$(inside 'systemctl is-active nginx' || true)" = active ] && [ "$r" = 401 ] &&
  ok "nginx binary upgrade (USR2, WINCH, QUIT) under systemd: the unit follows the new master ($old_master -> $new_master) and the gateway answers" ||
  not_ok "binary upgrade under systemd: master $old_master -> $new_master, systemd MainPID $main, $(inside 'systemctl is-active nginx' || true), HTTP $r"

echo "systemd: $passed passed, $failed failed"
[ "$failed" = 0 ]
