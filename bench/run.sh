#!/usr/bin/env bash
# LingMo Gateway benchmark: the gateway module against plain nginx proxy_pass, same machine, same run.
#
#   bash bench/run.sh [--duration 10s] [--out bench/results.md] [--rounds 2] [--conns "1 16 64 256"]
#                     [--stream-requests 20] [--stream-concurrency 50] [--idle-streams 1000]
#                     [--two-node-conns 64] [--build-dir build] [--keep-tmp]
#
# What one run does (bench/README.md explains how to read the output):
#   1. Starts its own redis-server, one fake OpenAI vendor (tests/fakes/fake_vendor.mjs, with a
#      vendor API key) and seeds Redis with lingmo-admin: a fresh secret key (gen-secret), one
#      provider pointing at the fake vendor (its key sealed) and one gateway key.
#   2. Starts two nginx instances with identical settings (worker_processes 2, access_log off,
#      error_log warn, keepalive_requests 10000, worker_connections 4096, worker_rlimit_nofile 16384):
#        gateway     load_module ngx_http_lingmo_module.so; location /v1/ { lingmo_gateway on; }
#        proxy_pass  location /v1/ { proxy_pass http://vendor; ... proxy_buffering off; } with
#                    upstream vendor { keepalive 256; } and the vendor key set by proxy_set_header
#      Both get the same client request (same body, same gateway key in Authorization). A third
#      instance, gateway2, is a second gateway node on the same Redis (used in step 6 only).
#   3. Idle streams: the vendor answers streams with the role chunk and then stays silent (mode
#      normal, delay_ms 600000); bench/idle_streams.mjs opens --idle-streams streams through each
#      instance in turn and reads the nginx workers' RSS/PSS before, while open, after closing.
#   4. Non-stream: after a 2 s warm-up of each (at the largest connection count), wrk (--latency, bench/post.lua) runs for --duration
#      at every connection count in --conns (1 thread for 1 connection, else 2 threads), gateway and
#      proxy_pass back to back; --rounds repeats it with the order swapped each round.
#      CPU: utime+stime (+cutime+cstime) from /proc/<pid>/stat of each nginx master and its
#      workers, the fake vendor and redis, read before and after every wrk run, divided by the
#      number of requests wrk completed. Redis: INFO commandstats before and after every run,
#      divided by the requests the vendor received.
#   5. Stream: vendor mode normal chunks=10 delay_ms=50 stamp=true, then bench/stream_probe.mjs
#      sends --stream-requests sequential streamed requests through each (time to first content
#      event, first->last content event spread, per-event relay delay = arrival - vendor send
#      time), then --stream-concurrency requests all at once. The probe asks for include_usage
#      so the vendor sends both the same events.
#   6. Two nodes: one node = one wrk with --two-node-conns connections against gateway; two nodes
#      = two wrk at the same time, half the connections each, one against gateway and one against
#      gateway2; --rounds, order swapped. After every run the usage counters in Redis must have
#      grown by exactly the requests the vendor served.
#   7. Writes a markdown report (gateway / proxy_pass / ratio / difference) to --out and stdout.
#   8. Everything it started is stopped on exit (trap EXIT); ports are free ports picked at start,
#      files live in a mktemp dir (--keep-tmp keeps it). The system nginx/redis are not touched.
#
# Needs: nginx (the packaged 1.22 the module was built against), redis-server, redis-cli, wrk,
# node >= 20, curl, pgrep, and a build: cmake -S . -B build && cmake --build build -j2
# Exit status: 0 when the run completed (even if the first bar is missed), 1 on a setup failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CMDLINE="bash bench/run.sh"
for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done

DURATION=10s
OUT=bench/results.md
ROUNDS=2
CONNS="1 16 64 256"
STREAM_N=20
STREAM_CONC=50
IDLE_N=1000
NODES_CONNS=64
BUILD_DIR="$ROOT/build"
KEEP_TMP=0
WARMUP=2s

die() { echo "bench: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=${2:?}; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --rounds=*) ROUNDS=${1#*=}; shift ;;
    --conns) CONNS=${2:?}; shift 2 ;;
    --conns=*) CONNS=${1#*=}; shift ;;
    --stream-requests) STREAM_N=${2:?}; shift 2 ;;
    --stream-requests=*) STREAM_N=${1#*=}; shift ;;
    --stream-concurrency) STREAM_CONC=${2:?}; shift 2 ;;
    --stream-concurrency=*) STREAM_CONC=${1#*=}; shift ;;
    --idle-streams) IDLE_N=${2:?}; shift 2 ;;
    --idle-streams=*) IDLE_N=${1#*=}; shift ;;
    --two-node-conns) NODES_CONNS=${2:?}; shift 2 ;;
    --two-node-conns=*) NODES_CONNS=${1#*=}; shift ;;
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --build-dir=*) BUILD_DIR=${1#*=}; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $OUT == /* ]] || OUT="$PWD/$OUT"
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$PWD/$BUILD_DIR"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $STREAM_N =~ ^[1-9][0-9]*$ ]] || die "--stream-requests must be a positive integer"
[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "--duration must look like 10s, 1m or 30"
[[ $STREAM_CONC =~ ^[0-9]+$ ]] || die "--stream-concurrency must be a non-negative integer (0 skips it)"
[[ $IDLE_N =~ ^[0-9]+$ ]] || die "--idle-streams must be a non-negative integer (0 skips it)"
[[ $NODES_CONNS =~ ^[0-9]+$ && $((NODES_CONNS % 2)) -eq 0 ]] ||
  die "--two-node-conns must be an even non-negative integer (0 skips it)"
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--conns must be positive integers"; done

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE_SO="$BUILD_DIR/ngx_module/ngx_http_lingmo_module.so"
ADMIN_BIN="$BUILD_DIR/controlplane/lingmo-admin"
for t in "$NGINX" redis-server redis-cli wrk node curl pgrep; do
  command -v "$t" >/dev/null || die "$t is not installed"
done
[[ -f $MODULE_SO && -x $ADMIN_BIN ]] ||
  die "no build in $BUILD_DIR: run cmake -S $ROOT -B $BUILD_DIR && cmake --build $BUILD_DIR -j2"

# File descriptors: an idle stream holds a client socket in the probe, two in nginx (client and
# vendor side) and one in the vendor; nginx raises its own limit (worker_rlimit_nofile), the
# probe and the vendor inherit this shell's.
NOFILE_NEED=$(( IDLE_N + 1024 ))
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $NOFILE_NEED ]]; then
  ulimit -n "$NOFILE_NEED" 2>/dev/null ||
    die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); --idle-streams $IDLE_N needs $NOFILE_NEED: raise it or lower --idle-streams"
fi
(( IDLE_N <= 4000 )) || die "--idle-streams above 4000 would not fit worker_connections 4096 if one worker took them all"

CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lingmo-bench.XXXXXX")
chmod 755 "$TMP"  # nginx workers run as nobody when started as root
REDIS_PID='' VENDOR_PID='' GW_PID='' PX_PID='' GW2_PID=''
GW_WORKERS='' PX_WORKERS='' GW2_WORKERS=''

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

stop_pid() {  # pid [extra pids to kill if it has to be forced]
  local pid=$1 i
  shift
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" "$@" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_pid "$GW_PID" $GW_WORKERS
  stop_pid "$PX_PID" $PX_WORKERS
  stop_pid "$GW2_PID" $GW2_WORKERS
  stop_pid "$VENDOR_PID"
  stop_pid "$REDIS_PID"
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/gateway/error.log "$TMP"/proxy/error.log "$TMP"/gateway2/error.log "$TMP"/vendor.log "$TMP"/redis.log; do
      [[ -s $f ]] && { echo "---- tail of $f" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  if [[ $KEEP_TMP -eq 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Picks N distinct free TCP ports on 127.0.0.1 (all held open together, then released).
free_ports() {
  node -e '
    const net = require("net"); const n = +process.argv[1]; const s = []; const ports = [];
    const next = () => {
      if (s.length === n) { console.log(ports.join(" ")); s.forEach((x) => x.close()); return; }
      const srv = net.createServer(); s.push(srv);
      srv.listen(0, "127.0.0.1", () => { ports.push(srv.address().port); next(); });
    };
    next();' "$1"
}

wait_for() {  # description, timeout seconds, command...
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up within ${secs}s"
}

proc_ticks() {  # pid -> utime+stime+cutime+cstime in clock ticks (0 if gone)
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} + ${14} + ${15} ))
}

tree_ticks() {  # nginx master pid -> ticks of the master plus its live children (the workers)
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do total=$(( total + $(proc_ticks "$p") )); done
  echo "$total"
}

sys_busy_ticks() {  # all CPUs, all processes: user+nice+system (irq/softirq time is not charged to
  # any process, and loopback traffic makes plenty of it, so it is left out on both sides)
  local _c u n sy _rest
  read -r _c u n sy _rest </proc/stat
  echo $(( u + n + sy ))
}

child_ticks() {  # CPU of this shell's finished children (wrk), from the times builtin (no fork)
  times >"$TMP/times.txt"
  awk -v hz="$CLK_TCK" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%d\n", t * hz + 0.5 }' "$TMP/times.txt"
}

rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

vendor_stats() {  # -> "<requests> <connections>": the fake vendor's counters (connections = accepted so far,
  # including the one this query itself arrives on)
  local j
  j=$(curl -sf "http://127.0.0.1:$VENDOR_PORT/_control/stats")
  echo "$(grep -o '"requests":[0-9]*' <<<"$j" | head -n1 | cut -d: -f2) $(grep -o '"connections":[0-9]*' <<<"$j" | head -n1 | cut -d: -f2)"
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

cmdstats() {  # -> "<command> <calls>" lines from INFO commandstats (Redis counts the commands a
  # Lua script runs as well, under their own names)
  rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/p'
}

cmd_delta() {  # before-file after-file label -> "<label>\t<command>\t<calls>" for every command that
  # was called in between, without the INFO calls this script makes itself
  awk -v l="$3" 'NR == FNR { b[$1] = $2; next } $1 != "info" && $2 - b[$1] > 0 { printf "%s\t%s\t%d\n", l, $1, $2 - b[$1] }' "$1" "$2"
}

usage_sum() {  # -> "<requests> <failures>" summed over the keys matching pattern $1
  local k req fail tr=0 tf=0
  while read -r k; do
    [[ -n $k ]] || continue
    read -r req fail < <(rcli hmget "$k" requests failures | tr '\n' ' ')
    tr=$(( tr + ${req:-0} )); tf=$(( tf + ${fail:-0} ))
  done < <(rcli --scan --pattern "$1")
  echo "$tr $tf"
}

usage_all() {  # -> "<daily requests> <daily failures> <hourly requests> <key requests>" for the bench
  # provider (lingmo:usage:*, lingmo:usageh:*) and the bench key (lingmo:keyusage:*), all days
  local d h k
  d=$(usage_sum 'lingmo:usage:bench-vendor:*'); h=$(usage_sum 'lingmo:usageh:bench-vendor:*'); k=$(usage_sum 'lingmo:keyusage:*')
  echo "$d ${h% *} ${k% *}"
}

usage_settled() {  # waits until the usage counters stop moving (a worker flushes 100 ms after an
  # increment, and retries on its 1 s tick), then prints usage_all
  local a b i
  sleep 1.2
  a=$(usage_all)
  for ((i = 0; i < 20; i++)); do
    sleep 0.5; b=$(usage_all)
    [[ $a == "$b" ]] && break
    a=$b
  done
  echo "$a"
}

# ---------------------------------------------------------------------------------------------
# 1. redis, fake vendor, seed
# ---------------------------------------------------------------------------------------------
IDLE0=$(sys_busy_ticks); sleep 2; IDLE1=$(sys_busy_ticks)
BUSY_BEFORE=$(awk -v t=$((IDLE1 - IDLE0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz / 2 }')
awk -v b="$BUSY_BEFORE" 'BEGIN { exit !(b > 0.25) }' &&
  log "warning: the machine is busy before the run ($BUSY_BEFORE cores in use); results will be noisy"
read -r REDIS_PORT GW_PORT PX_PORT GW2_PORT < <(free_ports 4)
log "temp dir $TMP; ports redis=$REDIS_PORT gateway=$GW_PORT proxy_pass=$PX_PORT gateway2=$GW2_PORT"

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$TMP" \
  --logfile "$TMP/redis.log" --daemonize no >/dev/null 2>&1 &
REDIS_PID=$!
wait_for "redis-server" 10 bash -c "redis-cli -p $REDIS_PORT ping | grep -q PONG"

VENDOR_KEY="sk-bench-$(rand_hex 12)"
node "$ROOT/tests/fakes/fake_vendor.mjs" --port 0 --name bench --key "$VENDOR_KEY" \
  --port-file "$TMP/vendor.port" >"$TMP/vendor.log" 2>&1 &
VENDOR_PID=$!
wait_for "fake vendor" 10 test -s "$TMP/vendor.port"
VENDOR_PORT=$(cat "$TMP/vendor.port")
log "redis pid $REDIS_PID, fake vendor pid $VENDOR_PID on port $VENDOR_PORT"

ADMIN=("$ADMIN_BIN" --redis "127.0.0.1:$REDIS_PORT" --secret-file "$TMP/secret.key")
"${ADMIN[@]}" gen-secret "$TMP/secret.key" >/dev/null
LINGMO_BENCH_VENDOR_KEY=$VENDOR_KEY "${ADMIN[@]}" provider add --id bench-vendor \
  --base-url "http://127.0.0.1:$VENDOR_PORT/v1" --api-key-env LINGMO_BENCH_VENDOR_KEY --model fake-model >/dev/null
GW_KEY=$("${ADMIN[@]}" key add --name bench 2>/dev/null)
[[ -n $GW_KEY ]] || die "lingmo-admin key add printed no key"
export LINGMO_BENCH_KEY=$GW_KEY  # read by bench/post.lua

# ---------------------------------------------------------------------------------------------
# 2. two nginx instances, identical apart from the location body (and a second gateway node)
# ---------------------------------------------------------------------------------------------
write_conf() {  # kind dir port (kind gateway, gateway2 or proxy)
  local kind=$1 dir=$2 port=$3
  mkdir -p "$dir/tmp" "$dir/html"
  {
    [[ $kind == gateway* ]] && echo "load_module $MODULE_SO;"
    cat <<EOF
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000;
    default_type application/octet-stream;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
EOF
    if [[ $kind == gateway* ]]; then
      cat <<EOF
    lingmo_redis 127.0.0.1:$REDIS_PORT;
    lingmo_secret_key_file $TMP/secret.key;
    server {
        listen 127.0.0.1:$port;
        root $dir/html;
        location /v1/ { lingmo_gateway on; }
    }
}
EOF
    else
      cat <<EOF
    upstream vendor {
        server 127.0.0.1:$VENDOR_PORT;
        keepalive 256;
        keepalive_requests 10000;
    }
    server {
        listen 127.0.0.1:$port;
        root $dir/html;
        location /v1/ {
            proxy_pass http://vendor;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $VENDOR_KEY";
            proxy_buffering off;
        }
    }
}
EOF
    fi
  } >"$dir/nginx.conf"
}

start_nginx() {  # kind port -> sets <KIND>_PID and <KIND>_WORKERS
  local kind=$1 port=$2 dir="$TMP/$1" pid workers
  write_conf "$kind" "$dir" "$port"
  "$NGINX" -t -q -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" 2>"$dir/test.log" ||
    { cat "$dir/test.log" >&2; die "nginx -t failed for $kind"; }
  "$NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  pid=$!
  case $kind in gateway) GW_PID=$pid ;; gateway2) GW2_PID=$pid ;; *) PX_PID=$pid ;; esac
  wait_for "nginx ($kind)" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"  # a bare connect: no request, no log line
  wait_for "nginx workers ($kind)" 10 bash -c "[[ \$(pgrep -P $pid | wc -l) -ge 2 ]]"
  workers=$(pgrep -P "$pid" | tr '\n' ' ')
  case $kind in gateway) GW_WORKERS=$workers ;; gateway2) GW2_WORKERS=$workers ;; *) PX_WORKERS=$workers ;; esac
  log "nginx $kind: master $pid, workers $workers"
}

start_nginx gateway "$GW_PORT"
start_nginx proxy "$PX_PORT"
if (( NODES_CONNS > 0 )); then start_nginx gateway2 "$GW2_PORT"; fi

BODY='{"model":"fake-model","messages":[{"role":"user","content":"Say hello in one word."}]}'
check_target() {  # name port: one request must come back 200 with the vendor's answer
  local name=$1 port=$2 code i
  for ((i = 0; i < 50; i++)); do
    code=$(curl -sS -o "$TMP/check-$name.body" -D "$TMP/check-$name.hdr" -w '%{http_code}' \
      -H "Authorization: Bearer $GW_KEY" -H 'Content-Type: application/json' -d "$BODY" \
      "http://127.0.0.1:$port/v1/chat/completions") || code=000
    [[ $code == 200 ]] && grep -q 'bench says hello' "$TMP/check-$name.body" && return 0
    sleep 0.1  # a fresh gateway worker may still be loading its first config snapshot
  done
  echo "HTTP $code: $(head -c 400 "$TMP/check-$name.body" 2>/dev/null)" >&2
  die "sanity request through $name did not return 200"
}
check_target gateway "$GW_PORT"
check_target proxy_pass "$PX_PORT"
grep -qi '^x-lingmo-provider: bench-vendor' "$TMP/check-gateway.hdr" || die "gateway answer lacks X-LingMo-Provider"
if (( NODES_CONNS > 0 )); then
  check_target gateway2 "$GW2_PORT"
  grep -qi '^x-lingmo-provider: bench-vendor' "$TMP/check-gateway2.hdr" || die "gateway2 answer lacks X-LingMo-Provider"
fi

URL_GW="http://127.0.0.1:$GW_PORT/v1/chat/completions"
URL_PX="http://127.0.0.1:$PX_PORT/v1/chat/completions"
URL_GW2="http://127.0.0.1:$GW2_PORT/v1/chat/completions"
vendor_mode() {  # JSON body for the fake vendor's /_control/mode
  curl -sf -X POST "http://127.0.0.1:$VENDOR_PORT/_control/mode" -d "$1" >/dev/null || die "could not set the vendor's mode to $1"
}

# ---------------------------------------------------------------------------------------------
# 3. memory per idle stream (fresh workers: before the warm-up and the wrk runs)
# ---------------------------------------------------------------------------------------------
idle_probe() {  # label url master-pid
  local rc=0 workers
  workers=$(pgrep -P "$3" | tr '\n' ' ')
  node "$ROOT/bench/idle_streams.mjs" --url "$2" --key "$GW_KEY" --vendor "http://127.0.0.1:$VENDOR_PORT" \
    --pids "$workers" --vendor-pid "$VENDOR_PID" --n "$IDLE_N" --label "$1" \
    >"$TMP/idle-$1.txt" 2>"$TMP/idle-$1.err" || rc=$?
  log "idle streams $1: $(cat "$TMP/idle-$1.txt")"
  [[ -s $TMP/idle-$1.err ]] && sed 's/^/    /' "$TMP/idle-$1.err" >&2
  [[ $rc -le 1 ]] || die "idle stream probe crashed for $1"
}
if (( IDLE_N > 0 )); then
  # The role chunk goes out at once, the first content chunk 10 minutes later: the streams stay
  # open and silent (well inside the gateway's 60 s lingmo_idle_timeout and proxy_read_timeout).
  vendor_mode '{"mode":"normal","chunks":10,"delay_ms":600000}'
  idle_probe gateway "$URL_GW" "$GW_PID"
  sleep 1
  idle_probe proxy "$URL_PX" "$PX_PID"
  vendor_mode '{"mode":"normal"}'
  sleep 1
fi
ID_GW=$(grep '^IDLE ' "$TMP/idle-gateway.txt" 2>/dev/null || true)
ID_PX=$(grep '^IDLE ' "$TMP/idle-proxy.txt" 2>/dev/null || true)

# ---------------------------------------------------------------------------------------------
# 4. non-stream wrk runs with CPU and Redis command accounting
# ---------------------------------------------------------------------------------------------
RUNS="$TMP/runs.tsv"
CMDS="$TMP/cmds.tsv"  # target, conns, command, calls (one line per command per run)
: >"$CMDS"
printf 'target\tconns\tround\trequests\tduration_us\tp50_us\tp90_us\tp99_us\tnon2xx\tsockerr\tnginx_ticks\tvendor_ticks\tredis_ticks\tupstream\tupconns\twrk_ticks\tsys_ticks\tstarted\n' >"$RUNS"
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

run_wrk() {  # target conns round
  local target=$1 conns=$2 round=$3 url pid threads out line
  if [[ $target == gateway ]]; then url=$URL_GW pid=$GW_PID; else url=$URL_PX pid=$PX_PID; fi
  threads=$(( conns < 2 ? 1 : 2 ))
  out="$TMP/wrk-$target-c$conns-r$round.txt"
  local n0 v0 r0 u0 k0 w0 s0 n1 v1 r1 u1 k1 w1 s1 started
  started=$(date +%T)
  cmdstats >"$TMP/c0"
  read -r u0 k0 < <(vendor_stats); n0=$(tree_ticks "$pid"); v0=$(proc_ticks "$VENDOR_PID"); r0=$(proc_ticks "$REDIS_PID")
  child_ticks >"$TMP/w0"; s0=$(sys_busy_ticks)
  wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$ROOT/bench/post.lua" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed ($target, $conns connections)"; }
  s1=$(sys_busy_ticks); child_ticks >"$TMP/w1"
  n1=$(tree_ticks "$pid"); v1=$(proc_ticks "$VENDOR_PID"); r1=$(proc_ticks "$REDIS_PID")
  w0=$(cat "$TMP/w0"); w1=$(cat "$TMP/w1")
  sleep 0.3  # let requests wrk abandoned at the deadline reach the vendor, and usage flush, before counting
  read -r u1 k1 < <(vendor_stats)
  cmdstats >"$TMP/c1"; cmd_delta "$TMP/c0" "$TMP/c1" "$target"$'\t'"$conns" >>"$CMDS"
  line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no BENCH line in wrk output"; }
  local sockerr=$(( $(kv "$line" connect) + $(kv "$line" read) + $(kv "$line" write) + $(kv "$line" timeout) ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$conns" "$round" \
    "$(kv "$line" requests)" "$(kv "$line" duration_us)" "$(kv "$line" p50_us)" "$(kv "$line" p90_us)" \
    "$(kv "$line" p99_us)" "$(kv "$line" non2xx)" "$sockerr" $((n1 - n0)) $((v1 - v0)) $((r1 - r0)) $((u1 - u0)) $((k1 - k0 - 1)) $((w1 - w0)) $((s1 - s0)) "$started" >>"$RUNS"
  log "$target c=$conns round $round: $(awk -v r="$(kv "$line" requests)" -v d="$(kv "$line" duration_us)" 'BEGIN{printf "%.0f req/s", r/(d/1e6)}'), p50 $(kv "$line" p50_us) us, p99 $(kv "$line" p99_us) us, non-2xx $(kv "$line" non2xx), socket errors $sockerr"
}

WARM_C=2
for c in $CONNS; do (( c > WARM_C )) && WARM_C=$c; done
warm_up() {  # url...: wrk at the largest connection count, so the upstream connections are open
  local u
  for u in "$@"; do
    wrk -t2 -c"$WARM_C" -d"$WARMUP" -s "$ROOT/bench/post.lua" "$u" >"$TMP/warmup.txt" 2>&1 || { cat "$TMP/warmup.txt" >&2; die "warm-up failed"; }
  done
}
log "warm-up: $WARMUP of wrk -c$WARM_C against each"
warm_up "$URL_GW" "$URL_PX"

for ((round = 1; round <= ROUNDS; round++)); do
  if (( round % 2 == 1 )); then order="gateway proxy"; else order="proxy gateway"; fi
  for c in $CONNS; do
    for t in $order; do run_wrk "$t" "$c" "$round"; sleep 1; done
  done
done

# ---------------------------------------------------------------------------------------------
# 5. streaming
# ---------------------------------------------------------------------------------------------
# stamp: every event carries the vendor's send time (CLOCK_MONOTONIC µs), which the probe
# subtracts from the arrival time: the relay delay of each content event.
vendor_mode '{"mode":"normal","chunks":10,"delay_ms":50,"stamp":true}'
probe() {  # label url n concurrency warm-up-requests
  local rc=0
  node "$ROOT/bench/stream_probe.mjs" --url "$2" --key "$GW_KEY" --n "$3" --concurrency "$4" --warmup "$5" \
    --label "$1" --expect-chunks 10 --json "$TMP/stream-$1.json" >"$TMP/stream-$1.txt" 2>"$TMP/stream-$1.err" || rc=$?
  log "stream $1: $(cat "$TMP/stream-$1.txt")"
  [[ -s $TMP/stream-$1.err ]] && sed 's/^/    /' "$TMP/stream-$1.err" >&2
  [[ $rc -le 1 ]] || die "stream probe crashed for $1"
}
# Redis commands around the sequential probes: one stream every ~650 ms is the sparse case, where
# every request flushes its own usage batch and request-log record. The proxy_pass probe takes as
# long and shows the background rate (the gateway workers' config polls), subtracted in the report.
cmdstats >"$TMP/c0"; read -r SQ_U0 _ < <(vendor_stats)
probe gateway "$URL_GW" "$STREAM_N" 1 1
sleep 0.3; cmdstats >"$TMP/c1"; read -r SQ_U1 _ < <(vendor_stats)
cmd_delta "$TMP/c0" "$TMP/c1" gateway >"$TMP/seq-cmds.tsv"
cmdstats >"$TMP/c0"
probe proxy "$URL_PX" "$STREAM_N" 1 1
sleep 0.3; cmdstats >"$TMP/c1"
cmd_delta "$TMP/c0" "$TMP/c1" proxy >>"$TMP/seq-cmds.tsv"
SQ_REQ=$(( SQ_U1 - SQ_U0 ))
if (( STREAM_CONC > 0 )); then
  # two waves of STREAM_CONC streams that all start together
  probe gateway-conc "$URL_GW" $((2 * STREAM_CONC)) "$STREAM_CONC" 0
  probe proxy-conc "$URL_PX" $((2 * STREAM_CONC)) "$STREAM_CONC" 0
fi
vendor_mode '{"mode":"normal"}'
SP_GW=$(grep '^PROBE ' "$TMP/stream-gateway.txt" || true)
SP_PX=$(grep '^PROBE ' "$TMP/stream-proxy.txt" || true)
SC_GW=$(grep '^PROBE ' "$TMP/stream-gateway-conc.txt" 2>/dev/null || true)
SC_PX=$(grep '^PROBE ' "$TMP/stream-proxy-conc.txt" 2>/dev/null || true)

# ---------------------------------------------------------------------------------------------
# 6. two gateway nodes on one Redis
# ---------------------------------------------------------------------------------------------
NODES="$TMP/nodes.tsv"
printf 'setup\tround\trequests\tduration_us\tp50_us\tp99_us\tnon2xx\tsockerr\tnginx_ticks\tredis_ticks\tvendor_ticks\tupstream\tusage_req\tusage_fail\thourly_req\tkey_req\tredis_cmds\twrk_ticks\tsys_ticks\n' >"$NODES"
: >"$TMP/nodes-cmds.tsv"
run_nodes() {  # setup (one|two) round
  local setup=$1 round=$2 half=$((NODES_CONNS / 2)) n0 n1 r0 r1 v0 v1 u0 u1 a0 a1 line l1 l2 req dur p50 p99 bad sock w0 w1 s0 s1
  local -a ua0 ua1
  read -r -a ua0 < <(usage_settled)
  read -r u0 _ < <(vendor_stats)
  cmdstats >"$TMP/c0"
  n0=$(( $(tree_ticks "$GW_PID") + $(tree_ticks "$GW2_PID") )); r0=$(proc_ticks "$REDIS_PID"); v0=$(proc_ticks "$VENDOR_PID")
  child_ticks >"$TMP/w0"; s0=$(sys_busy_ticks)  # (not $(child_ticks): a subshell has no children)
  if [[ $setup == one ]]; then
    wrk -t2 -c"$NODES_CONNS" -d"$DURATION" --latency -s "$ROOT/bench/post.lua" "$URL_GW" >"$TMP/nodes-$setup-r$round-a.txt" 2>&1 ||
      { cat "$TMP/nodes-$setup-r$round-a.txt" >&2; die "wrk failed (one node)"; }
  else
    wrk -t1 -c"$half" -d"$DURATION" --latency -s "$ROOT/bench/post.lua" "$URL_GW" >"$TMP/nodes-$setup-r$round-a.txt" 2>&1 & a0=$!
    wrk -t1 -c"$half" -d"$DURATION" --latency -s "$ROOT/bench/post.lua" "$URL_GW2" >"$TMP/nodes-$setup-r$round-b.txt" 2>&1 & a1=$!
    wait "$a0" || { cat "$TMP/nodes-$setup-r$round-a.txt" >&2; die "wrk failed (node A)"; }
    wait "$a1" || { cat "$TMP/nodes-$setup-r$round-b.txt" >&2; die "wrk failed (node B)"; }
  fi
  s1=$(sys_busy_ticks); child_ticks >"$TMP/w1"; w0=$(cat "$TMP/w0"); w1=$(cat "$TMP/w1")
  n1=$(( $(tree_ticks "$GW_PID") + $(tree_ticks "$GW2_PID") )); r1=$(proc_ticks "$REDIS_PID"); v1=$(proc_ticks "$VENDOR_PID")
  sleep 0.3
  cmdstats >"$TMP/c1"; cmd_delta "$TMP/c0" "$TMP/c1" "$setup" >>"$TMP/nodes-cmds.tsv"
  read -r -a ua1 < <(usage_settled)
  read -r u1 _ < <(vendor_stats)
  # requests and errors add up over the wrk processes; the duration is the longest; p50/p99 are
  # the mean of the per-node percentiles
  req=0 dur=0 p50=0 p99=0 bad=0 sock=0 l2=0
  for f in "$TMP/nodes-$setup-r$round-"*.txt; do
    line=$(grep '^BENCH ' "$f") || { cat "$f" >&2; die "no BENCH line in wrk output"; }
    req=$(( req + $(kv "$line" requests) )); l1=$(kv "$line" duration_us); (( l1 > dur )) && dur=$l1
    p50=$(( p50 + $(kv "$line" p50_us) )); p99=$(( p99 + $(kv "$line" p99_us) )); l2=$(( l2 + 1 ))
    bad=$(( bad + $(kv "$line" non2xx) )); sock=$(( sock + $(kv "$line" connect) + $(kv "$line" read) + $(kv "$line" write) + $(kv "$line" timeout) ))
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$setup" "$round" "$req" "$dur" $(( p50 / l2 )) $(( p99 / l2 )) \
    "$bad" "$sock" $((n1 - n0)) $((r1 - r0)) $((v1 - v0)) $((u1 - u0)) $(( ua1[0] - ua0[0] )) $(( ua1[1] - ua0[1] )) \
    $(( ua1[2] - ua0[2] )) $(( ua1[3] - ua0[3] )) "$(awk -F'\t' -v s="$setup" '$1 == s { t += $3 } END { print t + 0 }' <(cmd_delta "$TMP/c0" "$TMP/c1" "$setup"))" $((w1 - w0)) $((s1 - s0)) >>"$NODES"
  log "$setup node(s) round $round: $(awk -v r="$req" -v d="$dur" 'BEGIN{printf "%.0f req/s", r/(d/1e6)}'), vendor served $((u1 - u0)), usage +$(( ua1[0] - ua0[0] )) (hourly +$(( ua1[2] - ua0[2] )), key +$(( ua1[3] - ua0[3] ))), non-2xx $bad, socket errors $sock"
}
if (( NODES_CONNS > 0 )); then
  log "two nodes: warm-up of gateway2, then $ROUNDS round(s) of one node vs two nodes at $NODES_CONNS connections in all"
  warm_up "$URL_GW" "$URL_GW2"
  for ((round = 1; round <= ROUNDS; round++)); do
    if (( round % 2 == 1 )); then order="one two"; else order="two one"; fi
    for t in $order; do run_nodes "$t" "$round"; sleep 1; done
  done
fi
USAGE_LINE=$("${ADMIN[@]}" usage bench-vendor 2>&1 || true)

# ---------------------------------------------------------------------------------------------
# 7. report
# ---------------------------------------------------------------------------------------------
# Aggregate the runs: per target and connection count, req/s = all requests / all wrk time,
# latency percentiles = mean over rounds, CPU = all ticks / all requests.
declare -A M
while read -r k v; do M[$k]=$v; done < <(awk -F'\t' -v hz="$CLK_TCK" '
  NR == 1 { next }
  { t = ($1 == "gateway") ? "gw" : "px"; k = t "_" $2
    req[k] += $4; dur[k] += $5; p50[k] += $6; p90[k] += $7; p99[k] += $8; n[k]++
    bad[t] += $9; sock[t] += $10; ng[k] += $11; ve[k] += $12; re[k] += $13; up[k] += $14; uc[k] += $15; wk[k] += $16
    fo = ($17 - $11 - $12 - $13 - $16) / hz / ($5 / 1e6); if (fo < 0) fo = 0
    fsum += fo * $5; fdur += $5; if (fo > fmax) fmax = fo
    rps = $4 / ($5 / 1e6); rr[k, $3] = rps }
  END {
    for (k in n) {
      printf "%s_rps %.1f\n", k, req[k] / (dur[k] / 1e6)
      printf "%s_p50 %.3f\n%s_p90 %.3f\n%s_p99 %.3f\n", k, p50[k] / n[k] / 1000, k, p90[k] / n[k] / 1000, k, p99[k] / n[k] / 1000
      printf "%s_cpu %.1f\n%s_vcpu %.1f\n%s_rcpu %.1f\n", k, ng[k] * 1e6 / hz / req[k], k, ve[k] * 1e6 / hz / req[k], k, re[k] * 1e6 / hz / req[k]
      printf "%s_up %.3f\n%s_req %d\n%s_uc %d\n%s_wcpu %.1f\n", k, up[k] / req[k], k, req[k], k, uc[k], k, wk[k] * 1e6 / hz / req[k]
      printf "%s_upn %d\n", k, up[k]
    }
    printf "foreign_avg %.2f\nforeign_max %.2f\n", (fdur > 0 ? fsum / fdur : 0), fmax
    for (t in bad) printf "%s_non2xx %d\n%s_sockerr %d\n", t, bad[t], t, sock[t]
    # paired per-round throughput ratios, to show the run-to-run spread
    for (k in n) if (substr(k, 1, 2) == "gw") {
      c = substr(k, 4); lo = 1e9; hi = 0
      for (r = 1; r <= n[k]; r++) if (("px_" c, r) in rr) {
        x = rr[k, r] / rr["px_" c, r]; if (x < lo) lo = x; if (x > hi) hi = x }
      if (hi > 0) printf "ratio_range_%s %.2f–%.2f\n", c, lo, hi
    }
  }' "$RUNS")

fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 == 0 || a == "nan" || b == "nan") print "–"; else printf "%.2f", a / b }'; }
fmt_diff() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan") print "–"; else printf "%+.*f", d, a - b }'; }
row() {  # label gw px [decimals for the difference]
  printf '| %s | %s | %s | %s | %s |\n' "$1" "${2:-–}" "${3:-–}" "$(fmt_ratio "$2" "$3")" "$(fmt_diff "$2" "$3" "${4:-2}")"
}
div() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { if (b + 0 == 0) print ""; else printf "%.*f", d, a / b }'; }

# Redis commands per request: all commands Redis ran during a target's runs at one connection
# count (the ones inside the usage script included) / the requests the vendor served in them.
# The usage script's own commands are counted by Redis under their names (SET, HINCRBY, TTL,
# EXPIRE); SCRIPT_CMDS lists them to tell them apart from round trips.
SCRIPT_CMDS=" set hincrby ttl expire hget "
for c in $CONNS; do
  for t in gateway proxy; do
    k=$([[ $t == gateway ]] && echo gw || echo px)
    tot=$(awk -F'\t' -v t="$t" -v c="$c" '$1 == t && $2 == c { s += $4 } END { print s + 0 }' "$CMDS")
    rt=$(awk -F'\t' -v t="$t" -v c="$c" -v sc="$SCRIPT_CMDS" '$1 == t && $2 == c && index(sc, " " $3 " ") == 0 { s += $4 } END { print s + 0 }' "$CMDS")
    M[${k}_${c}_rcmd]=$(div "$tot" "${M[${k}_${c}_upn]}")
    M[${k}_${c}_rrt]=$(div "$rt" "${M[${k}_${c}_upn]}")
  done
done

# Two nodes: per setup (one, two) sums over the rounds.
declare -A N
if (( NODES_CONNS > 0 )); then
  while read -r k v; do N[$k]=$v; done < <(awk -F'\t' -v hz="$CLK_TCK" '
    NR == 1 { next }
    { s = $1; req[s] += $3; dur[s] += $4; p50[s] += $5; p99[s] += $6; n[s]++; bad += $7; sock += $8
      ng[s] += $9; re[s] += $10; up[s] += $12; cmds[s] += $17
      if ($12 != $13 || $12 != $15 || $12 != $16 || $14 != 0) mismatch++
      fo = ($19 - $9 - $10 - $11 - $18) / hz / ($4 / 1e6); if (fo < 0) fo = 0; if (fo > fmax) fmax = fo
      rr[s, $2] = $3 / ($4 / 1e6) }
    END {
      for (s in n) {
        printf "%s_rps %.1f\n%s_p50 %.3f\n%s_p99 %.3f\n", s, req[s] / (dur[s] / 1e6), s, p50[s] / n[s] / 1000, s, p99[s] / n[s] / 1000
        printf "%s_cpu %.1f\n%s_rcpu %.2f\n%s_rcmd %.3f\n%s_up %d\n", s, ng[s] * 1e6 / hz / req[s], s, re[s] * 1e6 / hz / req[s], s, cmds[s] / up[s], s, up[s]
      }
      lo = 1e9; hi = 0
      for (r = 1; r <= n["two"]; r++) if (("one", r) in rr) { x = rr["two", r] / rr["one", r]; if (x < lo) lo = x; if (x > hi) hi = x }
      if (hi > 0) printf "ratio_range %.2f–%.2f\n", lo, hi
      printf "mismatch %d\nnon2xx %d\nsockerr %d\nforeign_max %.2f\n", mismatch, bad, sock, fmax
    }' "$NODES")
  for s in one two; do
    rt=$(awk -F'\t' -v s="$s" -v sc="$SCRIPT_CMDS" '$1 == s && index(sc, " " $2 " ") == 0 { t += $3 } END { print t + 0 }' "$TMP/nodes-cmds.tsv")
    N[${s}_rrt]=$(div "$rt" "${N[${s}_up]}")
  done
fi

# Redis command breakdown for the gateway: one column per connection count (+ the two-node runs).
cmd_table() {
  local dens="seq=$SQ_REQ" c
  for c in $CONNS; do dens+=" c$c=${M[gw_${c}_upn]}"; done
  if (( NODES_CONNS > 0 )); then dens+=" one=${N[one_up]} two=${N[two_up]}"; fi
  {
    # sparse: the gateway probe's commands minus the background the proxy_pass probe saw
    awk -F'\t' '{ print "seq\t" $2 "\t" ($1 == "gateway" ? $3 : -$3) }' "$TMP/seq-cmds.tsv"
    awk -F'\t' '$1 == "gateway" { print "c" $2 "\t" $3 "\t" $4 }' "$CMDS"
    if (( NODES_CONNS > 0 )); then awk -F'\t' '{ print $1 "\t" $2 "\t" $3 }' "$TMP/nodes-cmds.tsv"; fi
  } | awk -F'\t' -v dens="$dens" -v sc="$SCRIPT_CMDS" '
    BEGIN { nc = split(dens, d, " "); for (i = 1; i <= nc; i++) { split(d[i], kv, "="); col[i] = kv[1]; den[kv[1]] = kv[2] } }
    { v[$2, $1] += $3; tot[$1] += $3; if (!($2 in seen)) { seen[$2] = 1; cmds[++m] = $2 } }
    END {
      hdr = "| command | runs |"; sep = "| --- | --- |"
      for (i = 1; i <= nc; i++) {
        lab = col[i]; if (lab == "seq") lab = "streams one at a time (sparse)"; else if (lab ~ /^c/) lab = substr(lab, 2) " conn"; else lab = (lab == "one" ? "one node" : "two nodes") " (" '"$NODES_CONNS"' " conn)"
        hdr = hdr " " lab " |"; sep = sep " ---: |" }
      print hdr; print sep
      # most frequent first (by the sum of the per-request rates)
      for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) {
        sa = 0; sb = 0; for (i = 1; i <= nc; i++) if (den[col[i]] > 0) { sa += v[cmds[a], col[i]] / den[col[i]]; sb += v[cmds[b], col[i]] / den[col[i]] }
        if (sb > sa) { t = cmds[a]; cmds[a] = cmds[b]; cmds[b] = t } }
      for (a = 1; a <= m; a++) {
        where = index(sc, " " cmds[a] " ") ? "inside the usage EVAL" : "sent by a worker"
        line = "| " toupper(cmds[a]) " | " where " |"
        for (i = 1; i <= nc; i++) { x = v[cmds[a], col[i]]; if (x < 0) x = 0  # (background noise in the sparse column)
          line = line " " (den[col[i]] > 0 ? sprintf(col[i] == "seq" ? "%.2f" : "%.4f", x / den[col[i]]) : "–") " |" }
        print line }
      line = "| **all** | |"
      for (i = 1; i <= nc; i++) line = line " **" (den[col[i]] > 0 ? sprintf("%.3f", tot[col[i]] / den[col[i]]) : "–") "** |"
      print line
      line = "| requests served (vendor) | |"
      for (i = 1; i <= nc; i++) line = line " " den[col[i]] " |"
      print line
    }'
}

MIB() { awk -v k="$1" 'BEGIN { if (k == "" || k == "nan") print "–"; else printf "%.1f", k / 1024 }'; }

REPORT="$TMP/report.md"
{
  echo "# LingMo Gateway benchmark: gateway vs nginx proxy_pass"
  echo
  echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') by \`$CMDLINE\` (run from the repository root)."
  echo
  echo "## Machine and setup"
  echo
  echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); kernel $(uname -r); RAM $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- $("$NGINX" -v 2>&1); node $(node -v); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}'); redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  echo "- gateway build: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && echo ' (working tree has uncommitted changes)'), $MODULE_SO (built $(date -u -r "$MODULE_SO" '+%Y-%m-%d %H:%M UTC'))"
  echo "- every nginx: worker_processes 2, worker_connections 4096, worker_rlimit_nofile 16384, access_log off, error_log warn," \
       "keepalive_requests 10000; proxy_pass: upstream keepalive 256, proxy_buffering off, proxy_http_version 1.1;" \
       "gateway: request log on (default lingmo_request_log_size 10000)"
  echo "- one fake vendor (node, single process) behind all; redis local; wrk, nginx, vendor and redis share the $(nproc) cores"
  echo "- wrk: $DURATION per run, 2 threads (1 for 1 connection), $ROUNDS round(s), order swapped every round;" \
       "req/s = all requests / all wrk time; latencies = mean of the rounds' percentiles"
  echo
  echo "## Results"
  echo
  echo "| metric | gateway | proxy_pass | ratio (gw/px) | difference (gw − px) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for c in $CONNS; do
    row "non-stream throughput, $c conn (req/s)" "${M[gw_${c}_rps]}" "${M[px_${c}_rps]}" 0
    row "non-stream p50 latency, $c conn (ms)" "${M[gw_${c}_p50]}" "${M[px_${c}_p50]}" 3
    row "non-stream p99 latency, $c conn (ms)" "${M[gw_${c}_p99]}" "${M[px_${c}_p99]}" 3
  done
  for c in $CONNS; do
    row "nginx CPU per request, $c conn (µs, master+workers)" "${M[gw_${c}_cpu]}" "${M[px_${c}_cpu]}" 1
  done
  for c in $CONNS; do
    row "fake vendor CPU per request, $c conn (µs)" "${M[gw_${c}_vcpu]}" "${M[px_${c}_vcpu]}" 1
  done
  for c in $CONNS; do
    row "wrk (client) CPU per request, $c conn (µs)" "${M[gw_${c}_wcpu]}" "${M[px_${c}_wcpu]}" 1
  done
  for c in $CONNS; do
    row "redis CPU per request, $c conn (µs)" "${M[gw_${c}_rcpu]}" "${M[px_${c}_rcpu]}" 1
  done
  for c in $CONNS; do
    row "redis commands per request, $c conn (all; round trips in brackets)" "${M[gw_${c}_rcmd]} (${M[gw_${c}_rrt]})" "${M[px_${c}_rcmd]}" 3
  done
  for c in $CONNS; do
    row "vendor requests per client request, $c conn" "${M[gw_${c}_up]}" "${M[px_${c}_up]}" 3
  done
  for c in $CONNS; do
    printf '| new vendor connections opened during the %s-conn runs | %s | %s | | |\n' "$c" "${M[gw_${c}_uc]}" "${M[px_${c}_uc]}"
  done
  printf '| non-2xx responses (all wrk runs) | %s | %s | | |\n' "${M[gw_non2xx]}" "${M[px_non2xx]}"
  printf '| socket errors (all wrk runs) | %s | %s | | |\n' "${M[gw_sockerr]}" "${M[px_sockerr]}"
  printf '| stream requests ok, one at a time | %s/%s | %s/%s | | |\n' "$(kv "$SP_GW" ok)" "$STREAM_N" "$(kv "$SP_PX" ok)" "$STREAM_N"
  row "stream time to first content event, p50 (ms)" "$(kv "$SP_GW" ttft_p50_ms)" "$(kv "$SP_PX" ttft_p50_ms)" 1
  row "stream time to first content event, p90 (ms)" "$(kv "$SP_GW" ttft_p90_ms)" "$(kv "$SP_PX" ttft_p90_ms)" 1
  row "stream per-chunk relay delay, p50 (ms; arrival − vendor send, $(kv "$SP_GW" relay_n)/$(kv "$SP_PX" relay_n) events)" "$(kv "$SP_GW" relay_p50_ms)" "$(kv "$SP_PX" relay_p50_ms)" 3
  row "stream per-chunk relay delay, p99 (ms)" "$(kv "$SP_GW" relay_p99_ms)" "$(kv "$SP_PX" relay_p99_ms)" 3
  row "stream first→last content event, p50 (ms)" "$(kv "$SP_GW" spread_p50_ms)" "$(kv "$SP_PX" spread_p50_ms)" 1
  printf '| stream first→last content event, min–max (ms) | %s–%s | %s–%s | | |\n' \
    "$(kv "$SP_GW" spread_min_ms)" "$(kv "$SP_GW" spread_max_ms)" "$(kv "$SP_PX" spread_min_ms)" "$(kv "$SP_PX" spread_max_ms)"
  row "stream response headers received, p50 (ms)" "$(kv "$SP_GW" headers_p50_ms)" "$(kv "$SP_PX" headers_p50_ms)" 1
  row "stream [DONE] received, p50 (ms)" "$(kv "$SP_GW" done_p50_ms)" "$(kv "$SP_PX" done_p50_ms)" 1
  if (( STREAM_CONC > 0 )); then
    printf '| stream requests ok, %s at a time | %s/%s | %s/%s | | |\n' "$STREAM_CONC" "$(kv "$SC_GW" ok)" "$((2 * STREAM_CONC))" "$(kv "$SC_PX" ok)" "$((2 * STREAM_CONC))"
    row "$STREAM_CONC concurrent streams: time to first content event, p50 (ms)" "$(kv "$SC_GW" ttft_p50_ms)" "$(kv "$SC_PX" ttft_p50_ms)" 1
    row "$STREAM_CONC concurrent streams: time to first content event, p99 (ms)" "$(kv "$SC_GW" ttft_p99_ms)" "$(kv "$SC_PX" ttft_p99_ms)" 1
    row "$STREAM_CONC concurrent streams: per-chunk relay delay, p50 (ms)" "$(kv "$SC_GW" relay_p50_ms)" "$(kv "$SC_PX" relay_p50_ms)" 3
    row "$STREAM_CONC concurrent streams: per-chunk relay delay, p99 (ms)" "$(kv "$SC_GW" relay_p99_ms)" "$(kv "$SC_PX" relay_p99_ms)" 3
  fi
  if (( IDLE_N > 0 )); then
    printf '| idle streams open (of %s) | %s | %s | | |\n' "$IDLE_N" "$(kv "$ID_GW" open)" "$(kv "$ID_PX" open)"
    row "memory per idle stream (KiB, nginx workers' RSS growth ÷ streams)" "$(kv "$ID_GW" per_stream_kib)" "$(kv "$ID_PX" per_stream_kib)" 1
    row "memory per idle stream (KiB, PSS growth ÷ streams)" "$(kv "$ID_GW" per_stream_pss_kib)" "$(kv "$ID_PX" per_stream_pss_kib)" 1
    row "memory per 1,000 idle streams (MiB, RSS)" "$(awk -v k="$(kv "$ID_GW" per_stream_kib)" 'BEGIN { printf "%.1f", k * 1000 / 1024 }')" \
        "$(awk -v k="$(kv "$ID_PX" per_stream_kib)" 'BEGIN { printf "%.1f", k * 1000 / 1024 }')" 1
    row "nginx workers' RSS before the idle streams (MiB)" "$(MIB "$(kv "$ID_GW" rss_before_kib)")" "$(MIB "$(kv "$ID_PX" rss_before_kib)")" 1
    row "nginx workers' RSS with $IDLE_N idle streams open (MiB)" "$(MIB "$(kv "$ID_GW" rss_open_kib)")" "$(MIB "$(kv "$ID_PX" rss_open_kib)")" 1
    row "nginx workers' RSS after they closed (MiB)" "$(MIB "$(kv "$ID_GW" rss_closed_kib)")" "$(MIB "$(kv "$ID_PX" rss_closed_kib)")" 1
  fi
  echo
  conc_note=""
  (( STREAM_CONC > 0 )) && conc_note=" (then $((2 * STREAM_CONC)) in two waves of $STREAM_CONC that start together)"
  echo "Streams: vendor mode normal chunks=10 delay_ms=50 stamp=true, $STREAM_N requests one at a time$conc_note," \
       "each with stream_options.include_usage." \
       "Content events leave the vendor 50 ms apart, so ~450 ms first→last means every event was relayed as it arrived" \
       "(a buffering relay would show ~0 ms). The vendor stamps each event with its send time (CLOCK_MONOTONIC); the" \
       "relay delay is arrival − send for every content event, i.e. what each chunk costs beyond the vendor's own spacing."
  if (( IDLE_N > 0 )); then
    echo
    echo "Idle streams: $IDLE_N streamed requests open at once through each instance (one instance after the other," \
         "before any load, so the workers are fresh), the vendor sends the role chunk and then nothing (delay_ms 600000);" \
         "RSS/PSS summed over both workers, read 1.5 s after the vendor had all $IDLE_N requests."
  fi
  echo
  echo "## Redis commands per gateway request"
  echo
  echo "Every command Redis ran during the gateway's wrk runs (INFO commandstats after − before; the commands inside" \
       "a Lua script count under their own names) divided by the requests the vendor served in those runs. \"sent by a" \
       "worker\" are round trips; \"inside the usage EVAL\" are run by the batch script. Background: every worker of every" \
       "gateway node polls GET lingmo:config:version + HGETALL lingmo:provider_state once a second (the proxy_pass" \
       "column of the main table shows that rate alone, per proxy_pass request)."
  echo
  cmd_table
  if (( NODES_CONNS > 0 )); then
    echo
    echo "## Two gateway nodes on one Redis"
    echo
    echo "One node: wrk -t2 -c$NODES_CONNS against gateway. Two nodes: two wrk -t1 -c$((NODES_CONNS / 2)) at the same" \
         "time, one against gateway and one against gateway2 (2 workers each, same Redis, same secret key). $ROUNDS" \
         "round(s), order swapped. Both nodes share the same $(nproc) cores, so two nodes cannot serve more than one here:" \
         "the ratio shows what splitting the load costs, not what a second machine would add."
    echo
    echo "| metric | one node | two nodes | ratio (two/one) |"
    echo "| --- | ---: | ---: | ---: |"
    printf '| throughput (req/s, all nodes) | %s | %s | %s (rounds: %s) |\n' "${N[one_rps]}" "${N[two_rps]}" "$(fmt_ratio "${N[two_rps]}" "${N[one_rps]}")" "${N[ratio_range]:-n/a}"
    printf '| p50 latency (ms, mean of the nodes) | %s | %s | %s |\n' "${N[one_p50]}" "${N[two_p50]}" "$(fmt_ratio "${N[two_p50]}" "${N[one_p50]}")"
    printf '| p99 latency (ms, mean of the nodes) | %s | %s | %s |\n' "${N[one_p99]}" "${N[two_p99]}" "$(fmt_ratio "${N[two_p99]}" "${N[one_p99]}")"
    printf '| nginx CPU per request (µs, both nodes) | %s | %s | %s |\n' "${N[one_cpu]}" "${N[two_cpu]}" "$(fmt_ratio "${N[two_cpu]}" "${N[one_cpu]}")"
    printf '| redis CPU per request (µs) | %s | %s | %s |\n' "${N[one_rcpu]}" "${N[two_rcpu]}" "$(fmt_ratio "${N[two_rcpu]}" "${N[one_rcpu]}")"
    printf '| redis commands per request (all; round trips in brackets) | %s (%s) | %s (%s) | %s |\n' "${N[one_rcmd]}" "${N[one_rrt]}" "${N[two_rcmd]}" "${N[two_rrt]}" "$(fmt_ratio "${N[two_rcmd]}" "${N[one_rcmd]}")"
    echo
    echo "Usage in Redis against the requests the vendor served, per run (the counters read once they had stopped moving):"
    echo
    echo "| run | req/s | wrk requests | vendor served | Δ usage requests (daily) | Δ hourly | Δ key usage | Δ failures | exact |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    awk -F'\t' 'NR > 1 { ok = ($12 == $13 && $12 == $15 && $12 == $16 && $14 == 0) ? "yes" : "**NO**"
      printf "| %s node%s, round %s | %.0f | %d | %d | %d | %d | %d | %d | %s |\n", $1, ($1 == "one" ? "" : "s"), $2, $3 / ($4 / 1e6), $3, $12, $13, $15, $16, $14, ok }' "$NODES"
    echo
    echo "wrk counts the responses it read before its deadline; the requests still in flight then are served (and counted)" \
         "too, so the vendor's count is the reference."
  fi
  echo
  echo "## First bar (throughput ≥ 70% of proxy_pass, added p50 latency < 1 ms)"
  echo
  for c in $CONNS; do
    r=$(fmt_ratio "${M[gw_${c}_rps]}" "${M[px_${c}_rps]}")
    d=$(fmt_diff "${M[gw_${c}_p50]}" "${M[px_${c}_p50]}" 3)
    tp=$(awk -v r="$r" 'BEGIN { print (r >= 0.70) ? "PASS" : "FAIL" }')
    lp=$(awk -v d="$d" 'BEGIN { print (d < 1.0) ? "PASS" : "FAIL" }')
    if [[ $c -eq 1 ]]; then lp="**$lp**"; else lp="$lp, but queueing: judged at 1 conn"; fi
    echo "- $c conn: throughput ratio $r (rounds: ${M[ratio_range_$c]:-n/a}) → **$tp**; added p50 $d ms → $lp"
  done
  echo
  echo "The 1-connection row is the unloaded per-request cost and the one that counts for the latency bar; with more" \
       "connections both are saturated and p50 mostly reflects queueing (≈ connections ÷ throughput), so a" \
       "throughput ratio of r makes the gateway's p50 about 1/r of proxy_pass's."
  echo
  echo "## Checks"
  echo
  if [[ ${M[gw_non2xx]} -eq 0 && ${M[px_non2xx]} -eq 0 && ${M[gw_sockerr]} -eq 0 && ${M[px_sockerr]} -eq 0 ]]; then
    echo "- wrk: no non-2xx responses and no socket errors in any run."
  else
    echo "- wrk: **errors seen** — gateway non-2xx ${M[gw_non2xx]}, socket errors ${M[gw_sockerr]};" \
         "proxy_pass non-2xx ${M[px_non2xx]}, socket errors ${M[px_sockerr]} (see error logs below)."
  fi
  if (( NODES_CONNS > 0 )); then
    if [[ ${N[non2xx]} -eq 0 && ${N[sockerr]} -eq 0 ]]; then
      echo "- two-node runs: no non-2xx responses and no socket errors."
    else
      echo "- two-node runs: **errors seen** — non-2xx ${N[non2xx]}, socket errors ${N[sockerr]}."
    fi
    if [[ ${N[mismatch]} -eq 0 ]]; then
      echo "- usage: in every one-node and two-node run the daily, hourly and per-key request counters grew by exactly the requests the vendor served, with no failures."
    else
      echo "- usage: **${N[mismatch]} run(s) where the usage counters did not match the requests the vendor served** (table above)."
    fi
  fi
  echo "- CPU in use before the run started: $BUSY_BEFORE cores."
  fmax=$(awk -v a="${M[foreign_max]}" -v b="${N[foreign_max]:-0}" 'BEGIN { print (b > a) ? b : a }')
  echo "- CPU used by processes other than this benchmark's during the wrk runs: ${M[foreign_avg]} cores on average," \
       "$fmax in the busiest run$( (( NODES_CONNS > 0 )) && echo ' (two-node runs included)')$(awk -v m="$fmax" 'BEGIN { if (m > 0.25) print " — **the machine was not idle; treat the numbers as noisy**" }')."
  for kind in gateway proxy; do
    e=$TMP/idle-$kind.err
    [[ -s $e ]] && { echo "- idle stream probe ($kind):"; sed 's/^/  - /' "$e"; }
  done
  echo "- usage ledger in redis for bench-vendor (gateway only, includes warm-up, sanity and stream requests): \`$USAGE_LINE\`"
  # A worker whose request-log buffer (2000 records) is full drops the oldest record and warns at
  # the 1st, 1001st, 2001st... drop.
  read -r nw dlo dhi < <(cat "$TMP"/gateway/error.log "$TMP"/gateway2/error.log 2>/dev/null |
    awk '/request log buffer full/ { split($4, a, "#"); w[a[1]]++; n++ }
         END { for (p in w) { lo += (w[p] - 1) * 1000 + 1; hi += w[p] * 1000 }; print n + 0, lo + 0, hi + 0 }')
  if [[ ${nw:-0} -gt 0 ]]; then
    echo "- request log: the gateway workers warned ${nw} times that their request-log buffer was full, i.e." \
         "$dlo–$dhi request records were dropped before reaching \`lingmo:log:requests\`" \
         "(of $(usage_all | cut -d' ' -f1) gateway requests in all)."
  fi
  for kind in gateway proxy gateway2; do
    f="$TMP/$kind/error.log"
    [[ -f $f ]] || continue
    n=$(grep -cE '\[(warn|error|crit|alert|emerg)\]' "$f" 2>/dev/null || true)
    echo "- $kind error.log: ${n:-0} warn-or-worse line(s)"
    if [[ ${n:-0} -gt 0 ]]; then
      # the distinct messages (time, pid and the client/request tail stripped), most frequent first
      grep -E '\[(warn|error|crit|alert|emerg)\]' "$f" |
        sed -E 's/^[0-9\/]+ [0-9:]+ (\[[a-z]+\]) [0-9#]+: (\*[0-9]+ )?/\1 /; s/, (client|server|request|upstream|host): .*//' |
        sort | uniq -c | sort -rn >"$TMP/errsum.txt"
      echo
      echo '```'
      sed -n '1,15p' "$TMP/errsum.txt"
      [[ $(wc -l <"$TMP/errsum.txt") -gt 15 ]] && echo "... ($(( $(wc -l <"$TMP/errsum.txt") - 15 )) more distinct messages)"
      echo '```'
    fi
  done
  for kind in gateway proxy gateway-conc proxy-conc; do
    [[ -s $TMP/stream-$kind.err ]] && { echo "- stream probe ($kind) failures:"; sed 's/^/  - /' "$TMP/stream-$kind.err"; }
  done
  echo
  echo "## Raw wrk runs"
  echo
  echo "| started | target | conns | round | req/s | p50 (ms) | p99 (ms) | requests | non-2xx | socket errors | nginx CPU µs/req | vendor requests | new vendor conns | other processes (cores) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' -v hz="$CLK_TCK" 'NR > 1 { fo = ($17 - $11 - $12 - $13 - $16) / hz / ($5 / 1e6); if (fo < 0) fo = 0
    printf "| %s | %s | %s | %s | %.0f | %.3f | %.3f | %d | %d | %d | %.1f | %d | %d | %.2f |\n",
    $18, ($1 == "proxy" ? "proxy_pass" : $1), $2, $3, $4 / ($5 / 1e6), $6 / 1000, $8 / 1000, $4, $9, $10, $11 * 1e6 / hz / $4, $14, $15, fo }' "$RUNS"
  if (( NODES_CONNS > 0 )); then
    awk -F'\t' -v hz="$CLK_TCK" -v c="$NODES_CONNS" 'NR > 1 { fo = ($19 - $9 - $10 - $11 - $18) / hz / ($4 / 1e6); if (fo < 0) fo = 0
      printf "| | %s | %s | %s | %.0f | %.3f | %.3f | %d | %d | %d | %.1f | %d | | %.2f |\n",
      ($1 == "one" ? "gateway (one node)" : "gateway + gateway2"), c, $2, $3 / ($4 / 1e6), $5 / 1000, $6 / 1000, $3, $7, $8, $9 * 1e6 / hz / $3, $12, fo }' "$NODES"
  fi
} >"$REPORT"

mkdir -p "$(dirname "$OUT")"
cp "$REPORT" "$OUT"
cat "$REPORT"
log "wrote $OUT"
