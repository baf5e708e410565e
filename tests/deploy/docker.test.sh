#!/usr/bin/env bash
# deploy/docker's files, checked without building anything (fast; images.test.sh builds the images
# with podman and runs compose.yaml).
#   - the Dockerfile's COPY sources exist, and its build context filter keeps out build trees and
#     node_modules;
#   - each runtime stage installs the Debian packages that provide the shared libraries the built
#     binaries need (readelf NEEDED -> dpkg -S), directly or as a dependency;
#   - compose.yaml: `docker compose config` (or docker-compose) accepts it, publishes
#     GATEWAY_PORT/API_PORT (defaults 8080/8000), passes ENCRYPT_KEY, and refuses to run
#     without ENCRYPT_KEY. Skipped, and said so, when no compose client is installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
D=$ROOT/deploy/docker
passed=0 failed=0 skipped=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip() { echo "ok - # SKIP $*"; skipped=$((skipped + 1)); }

# 1. COPY sources.
missing=""
while read -r src; do
  [ -e "$ROOT/$src" ] || missing="$missing $src"
done < <(grep -E '^COPY ' "$D/Dockerfile" | grep -v -- '--from=' | awk '{for (i = 2; i < NF; i++) print $i}')
[ -z "$missing" ] && ok "Dockerfile: every COPY source exists" || not_ok "Dockerfile: missing COPY sources:$missing"
lacking=""
for pat in 'build*' '**/node_modules' 'controlplane/web/dist' '.git'; do
  grep -qxF "$pat" "$D/Dockerfile.dockerignore" || lacking="$lacking $pat"
done
[ -z "$lacking" ] && ok "Dockerfile.dockerignore keeps build trees, node_modules, dist and .git out of the context" ||
  not_ok "Dockerfile.dockerignore lacks:$lacking"

# 2. Runtime libraries of each stage.
stage_pkgs() {  # the packages the runtime stage $1 installs with apt-get
  awk -v s="$1" '/^FROM /{on = ($NF == s)} on' "$D/Dockerfile" | tr '\\\n' '  ' |
    grep -o 'install -y --no-install-recommends[^&]*' | sed 's/install -y --no-install-recommends//' | tr ' ' '\n' | grep . || true
}
needed_pkgs() {  # Debian packages that provide the NEEDED libraries of a binary
  readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | while read -r lib; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    [ -n "$path" ] && dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1
  done | sort -u
}
check_stage() {  # STAGE BINARY...
  local stage=$1; shift
  local pkgs deps p have=" "
  pkgs=$(stage_pkgs "$stage")
  for p in $pkgs; do
    have="$have$p "
    deps=$(dpkg-query -W -f='${Depends}' "$p" 2>/dev/null | tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/ //g' | grep . || true)
    for d in $deps; do have="$have$d "; done
  done
  local lacking=""
  for bin in "$@"; do
    [ -f "$bin" ] || { skip "$stage: $bin not built"; return; }
    for p in $(needed_pkgs "$bin"); do
      case "$p" in libc6|libstdc++6|libgcc-s1) continue ;; esac   # in every debian:12 image
      [[ "$have" == *" $p "* ]] || lacking="$lacking $p"
    done
  done
  [ -z "$lacking" ] && ok "image $stage installs the libraries its binaries need ($(echo $pkgs | tr '\n' ' '))" ||
    not_ok "image $stage lacks:$lacking (installs: $(echo $pkgs))"
}
check_stage gateway "$BUILD/ngx_module/ngx_http_lingmo_module.so"
check_stage controld "$BUILD/controlplane/lingmo-controld" "$BUILD/controlplane/lingmo-admin"
stage_pkgs gateway | grep -qx nginx && stage_pkgs redis | grep -qx redis-server && stage_pkgs build | grep -qx nginx-dev &&
  ok "stages: nginx-dev to build, Debian's nginx and redis-server to run" || not_ok "stages: nginx / nginx-dev / redis-server missing"
sh -n "$D/gateway-entrypoint.sh" && ok "gateway-entrypoint.sh: sh -n" || not_ok "gateway-entrypoint.sh has syntax errors"

# 3. compose.yaml.
if docker compose version >/dev/null 2>&1; then DC=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then DC=(docker-compose)
else DC=(); fi
if [ ${#DC[@]} = 0 ]; then
  skip "compose.yaml: no docker compose / docker-compose client here"
else
  key=$(printf '%064d' 7)
  NOENV=$(mktemp); trap 'rm -f "$NOENV"' EXIT   # so that a developer's deploy/docker/.env is not read
  cfg=$(cd "$D" && env -u GATEWAY_PORT -u API_PORT ENCRYPT_KEY=$key "${DC[@]}" -f compose.yaml --env-file "$NOENV" config 2>&1) &&
    ok "compose.yaml: ${DC[*]} config accepts it" || not_ok "compose.yaml: ${DC[*]} config: $cfg"
  grep -q '0.0.0.0:8080:8080' <<<"$cfg" && grep -q '127.0.0.1:8000:8000' <<<"$cfg" && grep -q "ENCRYPT_KEY: '\?$key" <<<"$cfg" &&
    ok "compose.yaml: gateway on 8080, API on 127.0.0.1:8000, ENCRYPT_KEY passed" || not_ok "compose.yaml defaults: $cfg"
  cfg=$(cd "$D" && ENCRYPT_KEY=$key GATEWAY_PORT=9080 API_PORT=9000 "${DC[@]}" -f compose.yaml --env-file "$NOENV" config 2>&1 || true)
  grep -q ':9080:8080' <<<"$cfg" && grep -q ':9000:8000' <<<"$cfg" &&
    ok "compose.yaml: GATEWAY_PORT and API_PORT are honoured" || not_ok "compose.yaml ports: $cfg"
  if out=$(cd "$D" && env -u ENCRYPT_KEY "${DC[@]}" -f compose.yaml --env-file "$NOENV" config 2>&1); then
    not_ok "compose.yaml: accepted without ENCRYPT_KEY"
  else
    grep -q ENCRYPT_KEY <<<"$out" && ok "compose.yaml: refuses to start without ENCRYPT_KEY" || not_ok "compose.yaml without ENCRYPT_KEY: $out"
  fi
fi

echo "(the images are built and run by tests/deploy/images.test.sh)"
echo "docker: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
