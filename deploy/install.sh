#!/usr/bin/env bash
# LingMo Gateway: production install on Debian 12 (docs/DEPLOY.md, "Production install").
#
#   sudo bash deploy/install.sh                 # build and install (running it again upgrades)
#   sudo bash deploy/install.sh --dry-run       # print what it would do, change nothing
#   sudo bash deploy/install.sh uninstall       # remove what it installed (keeps /etc/lingmo)
#   sudo bash deploy/install.sh uninstall --purge   # ... and /etc/lingmo (the secret key!) and the user
#
# What it installs (default --prefix /usr/local):
#   PREFIX/bin/lingmo-controld, PREFIX/bin/lingmo-admin
#   PREFIX/lib/nginx/modules/ngx_http_lingmo_module.so
#   PREFIX/share/lingmo/web/               the web console (found there by lingmo-controld)
#   PREFIX/share/lingmo/{nginx,redis}/     example configurations
#   /etc/lingmo/secret.key                 made once with lingmo-admin gen-secret (root:lingmo 0640)
#   /etc/lingmo/controld.conf, controld.env, nginx/lingmo-http.conf, nginx/lingmo-location.conf
#                                          made once; your edits are kept on later runs
#   /etc/systemd/system/lingmo-controld.service (+ lingmo-controld@.service for replicas on other ports)
#   the system user "lingmo" (the daemon runs as it)
# Your nginx.conf is not touched: the script prints the load_module and include lines to add.
# Idempotent: binaries, module and console are replaced (a running daemon is restarted), the
# secret key and the configuration files are never overwritten.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACTION=install
PREFIX=/usr/local
SYSCONFDIR=""
DESTDIR=${DESTDIR:-}
BUILD=${LINGMO_BUILD_DIR:-$ROOT/build}
DRY=0 DO_BUILD=1 DO_DEPS=1 DO_SYSTEMD=1 DO_USER=1 DO_START=1 DO_WEB=1 PURGE=0 REDIS_AOF=0
REDIS_ADDR=127.0.0.1:6379
USER_NAME=lingmo

usage() {
  cat <<'EOF'
usage: bash deploy/install.sh [install|uninstall] [options]
  --prefix DIR       install under DIR (default /usr/local): bin/, lib/nginx/modules/, share/lingmo/
  --sysconfdir DIR   configuration and secret key (default /etc/lingmo; PREFIX/etc/lingmo when
                     --prefix is neither /usr nor /usr/local)
  --destdir DIR      stage the files under DIR (packaging; also the DESTDIR variable): no user, no
                     chown, no systemctl; paths written into files leave DIR out
  --build-dir DIR    the CMake build tree (default $LINGMO_BUILD_DIR or <repo>/build)
  --no-build         install what is already built (build dir and controlplane/web/dist)
  --no-deps          do not run deploy/install-deps.sh (apt)
  --no-web           do not build or install the web console
  --no-systemd       do not install systemd units or call systemctl
  --no-user          do not create the lingmo user or change file owners
  --no-start         install and enable the unit, do not (re)start the daemon
  --redis ADDR       Redis for new config files (default 127.0.0.1:6379; host:port or unix:/path);
                     a password comes from the REDIS_PASSWORD variable
  --redis-aof        turn on Redis' append-only file in that Redis (CONFIG SET appendonly yes +
                     CONFIG REWRITE), so configuration and usage survive a Redis restart
  --purge            with uninstall: also remove the configuration dir (the secret key!) and the user
  --dry-run          print what would be done, change nothing
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    install|uninstall) ACTION=$1 ;;
    --prefix) PREFIX=${2:?}; shift ;;
    --prefix=*) PREFIX=${1#*=} ;;
    --sysconfdir) SYSCONFDIR=${2:?}; shift ;;
    --sysconfdir=*) SYSCONFDIR=${1#*=} ;;
    --destdir) DESTDIR=${2:?}; shift ;;
    --destdir=*) DESTDIR=${1#*=} ;;
    --build-dir) BUILD=${2:?}; shift ;;
    --build-dir=*) BUILD=${1#*=} ;;
    --redis) REDIS_ADDR=${2:?}; shift ;;
    --redis=*) REDIS_ADDR=${1#*=} ;;
    --no-build) DO_BUILD=0 ;;
    --no-deps) DO_DEPS=0 ;;
    --no-web) DO_WEB=0 ;;
    --no-systemd) DO_SYSTEMD=0 ;;
    --no-user) DO_USER=0 ;;
    --no-start) DO_START=0 ;;
    --redis-aof) REDIS_AOF=1 ;;
    --purge) PURGE=1 ;;
    --dry-run|-n) DRY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

PREFIX=${PREFIX%/}; [ -n "$PREFIX" ] || PREFIX=/
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac
if [ -z "$SYSCONFDIR" ]; then
  case "$PREFIX" in /usr|/usr/local) SYSCONFDIR=/etc/lingmo ;; *) SYSCONFDIR=$PREFIX/etc/lingmo ;; esac
fi
DESTDIR=${DESTDIR%/}
BINDIR=$PREFIX/bin
MODDIR=$PREFIX/lib/nginx/modules
SHAREDIR=$PREFIX/share/lingmo
WEBDIR=$SHAREDIR/web
UNITDIR=/etc/systemd/system
MODULE=ngx_http_lingmo_module.so
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1
# Owners and the system user only for a real install as root.
OWN=0; [ "$IS_ROOT" = 1 ] && [ -z "$DESTDIR" ] && [ "$DO_USER" = 1 ] && OWN=1
SYSTEMD_LIVE=0
[ "$DO_SYSTEMD" = 1 ] && [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null && SYSTEMD_LIVE=1

say() { printf '==> %s\n' "$*"; }
# Runs a command, or prints it with --dry-run.
run() {
  if [ "$DRY" = 1 ]; then printf '  + %s\n' "$*"; else "$@"; fi
}
# Writes stdin to FILE (under DESTDIR) with MODE, atomically (a temp file renamed over it).
write_file() {
  local file=$DESTDIR$1 mode=$2 tmp
  if [ "$DRY" = 1 ]; then printf '  + write %s (mode %s)\n' "$file" "$mode"; cat >/dev/null; return; fi
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"; chmod "$mode" "$tmp"; mv -f "$tmp" "$file"
}
# Owner change, only for a real install as root.
own() { [ "$OWN" = 1 ] && run chown "$@" || true; }
# Replaces a file by a new inode (install(1) unlinks first): processes that have the old file
# mapped (an nginx master holding the old module) keep it intact.
put() { run install -D -m "$1" "$2" "$DESTDIR$3"; }
# Copies a directory in beside the old one, then swaps them.
put_dir() {
  local src=$1 dst=$DESTDIR$2
  run rm -rf "$dst.new" "$dst.old"
  run mkdir -p "$(dirname "$dst")"
  run cp -R "$src" "$dst.new"
  run chmod -R u=rwX,go=rX "$dst.new"
  if [ -e "$dst" ] || [ "$DRY" = 1 ]; then run mv "$dst" "$dst.old" 2>/dev/null || true; fi
  run mv "$dst.new" "$dst"
  run rm -rf "$dst.old"
}
# The unit from deploy/systemd with this installation's paths.
unit_text() {
  sed -e "s#/usr/local/bin/#$BINDIR/#g" -e "s#/etc/lingmo/#$SYSCONFDIR/#g" "$ROOT/deploy/systemd/lingmo-controld.service"
}
# The template unit: one replica per port (lingmo-controld@8001), for rolling restarts.
template_unit_text() {
  unit_text | sed -e 's#^Description=.*#Description=LingMo Gateway control plane (admin REST API), replica on port %i#' \
                  -e "s#^ExecStart=.*#& --port %i#"
}

uninstall() {
  say "uninstalling LingMo Gateway from $DESTDIR$PREFIX"
  if [ -z "$DESTDIR" ] && grep -rqs "$MODULE" /etc/nginx 2>/dev/null; then
    echo "  warning: /etc/nginx still loads $MODULE: remove the load_module and include lines first," >&2
    echo "           or nginx will refuse its next reload or start." >&2
  fi
  if [ "$SYSTEMD_LIVE" = 1 ]; then
    for u in $(systemctl list-units --all --plain --no-legend 'lingmo-controld*' 2>/dev/null | awk '{print $1}'); do
      run systemctl disable --now "$u" || true
    done
    run systemctl disable lingmo-controld.service 2>/dev/null || true
  fi
  if [ "$DO_SYSTEMD" = 1 ]; then
    run rm -f "$DESTDIR$UNITDIR/lingmo-controld.service" "$DESTDIR$UNITDIR/lingmo-controld@.service"
    [ "$SYSTEMD_LIVE" = 1 ] && run systemctl daemon-reload
  fi
  run rm -f "$DESTDIR$BINDIR/lingmo-controld" "$DESTDIR$BINDIR/lingmo-admin" "$DESTDIR$MODDIR/$MODULE"
  run rm -rf "$DESTDIR$SHAREDIR"
  if [ "$PURGE" = 1 ]; then
    run rm -rf "$DESTDIR$SYSCONFDIR"
    if [ "$OWN" = 1 ] && getent passwd "$USER_NAME" >/dev/null; then run userdel "$USER_NAME" || true; fi
    say "removed $SYSCONFDIR too (the secret key: vendor keys sealed with it in Redis can no longer be opened)"
  else
    say "kept $DESTDIR$SYSCONFDIR (secret key, settings) and the $USER_NAME user; --purge removes them"
  fi
  say "the data in Redis is left as it is (redis-cli --scan --pattern 'lingmo:*' lists it)"
}

if [ "$ACTION" = uninstall ]; then uninstall; exit 0; fi

[ "$DRY" = 1 ] && say "dry run: nothing is changed"
if [ "$IS_ROOT" = 0 ] && [ -z "$DESTDIR" ] && [ "$DRY" = 0 ]; then
  case "$PREFIX$SYSCONFDIR" in
    /usr*|/etc*) echo "install.sh: installing into $PREFIX and $SYSCONFDIR needs root (or use --prefix, --destdir)" >&2; exit 1 ;;
  esac
  if [ "$DO_SYSTEMD" = 1 ]; then
    echo "install.sh: systemd units go to $UNITDIR, which needs root (or pass --no-systemd, or --destdir)" >&2; exit 1
  fi
fi

# 1. Packages and build.
if [ "$DO_DEPS" = 1 ]; then say "dependencies (apt)"; run bash "$ROOT/deploy/install-deps.sh"; fi
if [ "$DO_BUILD" = 1 ]; then
  say "building in $BUILD"
  run cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  run cmake --build "$BUILD" -j"$(nproc)" --target ngx_http_lingmo_module lingmo-admin lingmo-controld
  if [ "$DO_WEB" = 1 ]; then
    say "building the web console (npm ci && npm run build)"
    if [ "$DRY" = 1 ]; then run npm ci; run npm run build
    else (cd "$ROOT/controlplane/web" && npm ci --no-audit --no-fund --loglevel=error && npm run build); fi
  fi
fi
for f in "$BUILD/ngx_module/$MODULE" "$BUILD/controlplane/lingmo-controld" "$BUILD/controlplane/lingmo-admin"; do
  [ -f "$f" ] || [ "$DRY" = 1 ] || { echo "install.sh: $f is missing: build first (or drop --no-build)" >&2; exit 1; }
done
if [ "$DO_WEB" = 1 ] && [ ! -f "$ROOT/controlplane/web/dist/index.html" ] && [ "$DRY" = 0 ]; then
  echo "install.sh: controlplane/web/dist is missing: build the console (cd controlplane/web && npm ci && npm run build) or pass --no-web" >&2
  exit 1
fi

# 2. The system user.
if [ "$OWN" = 1 ] && ! getent passwd "$USER_NAME" >/dev/null; then
  say "creating the system user $USER_NAME"
  run useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi

# 3. Programs, module, console, examples.
say "installing into $DESTDIR$PREFIX"
put 0755 "$BUILD/controlplane/lingmo-controld" "$BINDIR/lingmo-controld"
put 0755 "$BUILD/controlplane/lingmo-admin" "$BINDIR/lingmo-admin"
put 0644 "$BUILD/ngx_module/$MODULE" "$MODDIR/$MODULE"
[ "$DO_WEB" = 1 ] && put_dir "$ROOT/controlplane/web/dist" "$WEBDIR"
for f in example.conf tls.conf lingmo-http.conf lingmo-location.conf; do
  put 0644 "$ROOT/deploy/nginx/$f" "$SHAREDIR/nginx/$f"
done
put 0644 "$ROOT/deploy/redis/lingmo-aof.conf" "$SHAREDIR/redis/lingmo-aof.conf"
put 0644 "$ROOT/deploy/controld.conf.example" "$SHAREDIR/controld.conf.example"

# 4. Configuration: made once, never overwritten.
say "configuration in $DESTDIR$SYSCONFDIR"
run install -d -m 0750 "$DESTDIR$SYSCONFDIR" "$DESTDIR$SYSCONFDIR/nginx"
own root:"$USER_NAME" "$DESTDIR$SYSCONFDIR"
if [ -f "$DESTDIR$SYSCONFDIR/secret.key" ]; then
  echo "  $SYSCONFDIR/secret.key exists: kept"
else
  run "$BUILD/controlplane/lingmo-admin" gen-secret "$DESTDIR$SYSCONFDIR/secret.key"
fi
own root:"$USER_NAME" "$DESTDIR$SYSCONFDIR/secret.key"
run chmod 0640 "$DESTDIR$SYSCONFDIR/secret.key"

if [ -f "$DESTDIR$SYSCONFDIR/controld.conf" ]; then
  echo "  $SYSCONFDIR/controld.conf exists: kept (the current example: $SHAREDIR/controld.conf.example)"
else
  { sed -e "s#/etc/lingmo/#$SYSCONFDIR/#g" -e "s#^\#REDIS_ADDR=127.0.0.1:6379#REDIS_ADDR=$REDIS_ADDR#" \
        "$ROOT/deploy/controld.conf.example"
    if [ "$DO_WEB" = 1 ]; then printf '\n# Set by deploy/install.sh.\nWEB_ROOT=%s\n' "$WEBDIR"
    else printf '\n# Set by deploy/install.sh (--no-web).\nWEB_ROOT=off\n'; fi
  } | write_file "$SYSCONFDIR/controld.conf" 0640
  own root:"$USER_NAME" "$DESTDIR$SYSCONFDIR/controld.conf"
fi
if [ -f "$DESTDIR$SYSCONFDIR/controld.env" ]; then
  echo "  $SYSCONFDIR/controld.env exists: kept"
else
  # Secrets for the daemon (read by systemd as root before it drops privileges).
  { echo "# lingmo-controld secrets (KEY=VALUE): REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD, ENCRYPT_KEY. Root-only."
    [ -n "${REDIS_PASSWORD:-}" ] && echo "REDIS_PASSWORD=$REDIS_PASSWORD"
    true
  } | write_file "$SYSCONFDIR/controld.env" 0600
fi
if [ -f "$DESTDIR$SYSCONFDIR/nginx/lingmo-http.conf" ]; then
  echo "  $SYSCONFDIR/nginx/lingmo-http.conf exists: kept"
else
  redis_line="lingmo_redis $REDIS_ADDR${REDIS_PASSWORD:+ password=$REDIS_PASSWORD};"
  sed -e "s#^lingmo_redis [^;]*;#$redis_line#" -e "s#/etc/lingmo/#$SYSCONFDIR/#g" -e "s#/usr/local/lib/nginx/modules/#$MODDIR/#g" \
    "$ROOT/deploy/nginx/lingmo-http.conf" | write_file "$SYSCONFDIR/nginx/lingmo-http.conf" 0640
fi
if [ -f "$DESTDIR$SYSCONFDIR/nginx/lingmo-location.conf" ]; then
  echo "  $SYSCONFDIR/nginx/lingmo-location.conf exists: kept"
else
  write_file "$SYSCONFDIR/nginx/lingmo-location.conf" 0644 <"$ROOT/deploy/nginx/lingmo-location.conf"
fi

# 5. Redis' append-only file (opt-in: it changes the Redis server's configuration).
if [ "$REDIS_AOF" = 1 ]; then
  say "turning on the append-only file in Redis $REDIS_ADDR"
  case "$REDIS_ADDR" in
    unix:*) rcli=(redis-cli -s "${REDIS_ADDR#unix:}") ;;
    *:*) rcli=(redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}") ;;
    *) rcli=(redis-cli -h "$REDIS_ADDR") ;;
  esac
  run env REDISCLI_AUTH="${REDIS_PASSWORD:-}" "${rcli[@]}" CONFIG SET appendonly yes
  run env REDISCLI_AUTH="${REDIS_PASSWORD:-}" "${rcli[@]}" CONFIG REWRITE
fi

# 6. systemd.
if [ "$DO_SYSTEMD" = 1 ]; then
  say "systemd units in $DESTDIR$UNITDIR"
  unit_text | write_file "$UNITDIR/lingmo-controld.service" 0644
  template_unit_text | write_file "$UNITDIR/lingmo-controld@.service" 0644
  if [ "$SYSTEMD_LIVE" = 1 ]; then
    run systemctl daemon-reload
    replicas=$(systemctl list-units --plain --no-legend --state=active 'lingmo-controld@*' 2>/dev/null | awk '{print $1}')
    # The single unit, unless the machine runs replicas (lingmo-controld@PORT) instead of it.
    main=0
    if [ -z "$replicas" ] || systemctl is-enabled --quiet lingmo-controld.service 2>/dev/null; then main=1; fi
    [ "$main" = 1 ] && run systemctl enable lingmo-controld.service
    if [ "$DO_START" = 1 ]; then
      # restart: an upgrade takes the new binary; a first run starts it.
      [ "$main" = 1 ] && run systemctl restart lingmo-controld.service
      # Replicas are restarted one at a time, each after the previous one answers again.
      for u in $replicas; do
        run systemctl restart "$u"
        p=${u#lingmo-controld@}; p=${p%.service}
        [ "$DRY" = 1 ] || for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.2; done
      done
    fi
  elif [ -z "$DESTDIR" ]; then
    echo "  systemd is not running here: start the daemon with systemctl later, or by hand (below)"
  fi
fi

# 7. Does the module load into this machine's nginx?
if command -v nginx >/dev/null && [ "$DRY" = 0 ]; then
  t=$(mktemp -d)
  printf 'load_module %s;\npid %s/nginx.pid;\nevents {}\nhttp { access_log off; lingmo_redis %s; }\n' \
    "$DESTDIR$MODDIR/$MODULE" "$t" "$REDIS_ADDR" >"$t/nginx.conf"
  if nginx -t -q -c "$t/nginx.conf" -p "$t" -e "$t/error.log" 2>"$t/out"; then
    say "checked: $(nginx -v 2>&1 | sed 's/^nginx version: //') loads the module"
  else
    echo "  warning: this machine's nginx does not load the module:" >&2; cat "$t/out" >&2
    echo "  (build it against that nginx: docs/DEPLOY.md, 'Another nginx')" >&2
  fi
  rm -rf "$t"
fi

# 8. What is left to the user.
first_pass=""
if [ "$SYSTEMD_LIVE" = 1 ] && [ "$DO_START" = 1 ] && [ "$DRY" = 0 ]; then
  sleep 1
  first_pass=$(journalctl -u lingmo-controld -o cat --no-pager 2>/dev/null | sed -n 's/^  password: //p' | tail -1 || true)
fi
if [ "$DRY" = 1 ]; then echo; echo "Dry run: nothing was changed. After a real run:"
else echo; echo "LingMo Gateway is installed${DESTDIR:+ (staged in $DESTDIR)}."; fi
cat <<EOF

1. Add to your nginx (the module must match its version; the check above says so):
   main context (top of nginx.conf; Debian: a file in /etc/nginx/modules-enabled/):
       load_module $MODDIR/$MODULE;
   inside http { }:
       include $SYSCONFDIR/nginx/lingmo-http.conf;
   inside the server { } that should serve the gateway (its location /v1/):
       include $SYSCONFDIR/nginx/lingmo-location.conf;
   then: nginx -t && nginx -s reload          (a standalone or TLS example: $SHAREDIR/nginx/)
2. The control plane (admin API and console) on 127.0.0.1:8000, settings in $SYSCONFDIR/controld.conf:
EOF
if [ "$SYSTEMD_LIVE" = 1 ]; then
  echo "       systemctl status lingmo-controld"
  if [ -n "$first_pass" ]; then
    echo "   First start: user admin, one-time password $first_pass (change it at the first login)"
  else
    echo "   The first start's one-time admin password: journalctl -u lingmo-controld | grep -A3 'First start'"
  fi
else
  if [ "$OWN" = 1 ]; then echo "       runuser -u $USER_NAME -- $BINDIR/lingmo-controld --config $SYSCONFDIR/controld.conf"
  else echo "       $BINDIR/lingmo-controld --config $SYSCONFDIR/controld.conf"; fi
  echo "   (prints the one-time admin password on its first start)"
fi
cat <<EOF
   Console: http://127.0.0.1:8000/ (behind TLS: $SHAREDIR/nginx/tls.conf)
3. Redis ($REDIS_ADDR) keeps everything: keep its append-only file on ($SHAREDIR/redis/lingmo-aof.conf).
4. lingmo-admin: export LINGMO_REDIS=$REDIS_ADDR LINGMO_SECRET_FILE=$SYSCONFDIR/secret.key
Upgrading, several nodes, uninstalling: docs/DEPLOY.md.
EOF
