#!/usr/bin/env bash
# LingMo Gateway benchmark: the gateway module against plain nginx proxy_pass, same machine, same run.
#
#   bash bench/run.sh [--duration 10s] [--out bench/results.md] [--rounds 2] [--conns "1 32 128"]
#                     [--stream-requests 20] [--build-dir build] [--keep-tmp]
#
# What one run does (bench/README.md explains how to read the output):
#   1. Starts its own redis-server, one fake OpenAI vendor (tests/fakes/fake_vendor.mjs, with a
#      vendor API key) and seeds Redis with lingmo-admin: a fresh secret key (gen-secret), one
#      provider pointing at the fake vendor (its key sealed) and one gateway key.
#   2. Starts two nginx instances with identical settings (worker_processes 2, access_log off,
#      error_log warn, keepalive_requests 10000):
#        gateway     load_module ngx_http_lingmo_module.so; location /v1/ { lingmo_gateway on; }
#        proxy_pass  location /v1/ { proxy_pass http://vendor; ... proxy_buffering off; } with
#                    upstream vendor { keepalive 64; } and the vendor key set by proxy_set_header
#      Both get the same client request (same body, same gateway key in Authorization).
#   3. Non-stream: after a 2 s warm-up of each, wrk (--latency, bench/post.lua) runs for --duration
#      at every connection count in --conns (1 thread for 1 connection, else 2 threads), gateway and
#      proxy_pass back to back; --rounds repeats it with the order swapped each round.
#   4. CPU: utime+stime (+cutime+cstime) from /proc/<pid>/stat of each nginx master and its
#      workers, the fake vendor and redis, read before and after every wrk run, divided by the
#      number of requests wrk completed.
#   5. Stream: vendor mode normal chunks=10 delay_ms=50, then bench/stream_probe.mjs sends
#      --stream-requests sequential streamed requests through each and reports time to first
#      content event and the first->last content event spread (~450 ms when nothing buffers).
#      The probe asks for include_usage so the vendor sends both the same events.
#   6. Writes a markdown table (gateway / proxy_pass / ratio / difference) to --out and stdout.
#   7. Everything it started is stopped on exit (trap EXIT); ports are free ports picked at start,
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
CONNS="1 32 128"
STREAM_N=20
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
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--conns must be positive integers"; done

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE_SO="$BUILD_DIR/ngx_module/ngx_http_lingmo_module.so"
ADMIN_BIN="$BUILD_DIR/controlplane/lingmo-admin"
for t in "$NGINX" redis-server redis-cli wrk node curl pgrep; do
  command -v "$t" >/dev/null || die "$t is not installed"
done
[[ -f $MODULE_SO && -x $ADMIN_BIN ]] ||
  die "no build in $BUILD_DIR: run cmake -S $ROOT -B $BUILD_DIR && cmake --build $BUILD_DIR -j2"

CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lingmo-bench.XXXXXX")
chmod 755 "$TMP"  # nginx workers run as nobody when started as root
REDIS_PID='' VENDOR_PID='' GW_PID='' PX_PID=''
GW_WORKERS='' PX_WORKERS=''

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
  stop_pid "$VENDOR_PID"
  stop_pid "$REDIS_PID"
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/gateway/error.log "$TMP"/proxy/error.log "$TMP"/vendor.log "$TMP"/redis.log; do
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

# ---------------------------------------------------------------------------------------------
# 1. redis, fake vendor, seed
# ---------------------------------------------------------------------------------------------
IDLE0=$(sys_busy_ticks); sleep 2; IDLE1=$(sys_busy_ticks)
BUSY_BEFORE=$(awk -v t=$((IDLE1 - IDLE0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz / 2 }')
awk -v b="$BUSY_BEFORE" 'BEGIN { exit !(b > 0.25) }' &&
  log "warning: the machine is busy before the run ($BUSY_BEFORE cores in use); results will be noisy"
read -r REDIS_PORT GW_PORT PX_PORT < <(free_ports 3)
log "temp dir $TMP; ports redis=$REDIS_PORT gateway=$GW_PORT proxy_pass=$PX_PORT"

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
# 2. two nginx instances, identical apart from the location body
# ---------------------------------------------------------------------------------------------
write_conf() {  # kind dir port
  local kind=$1 dir=$2 port=$3
  mkdir -p "$dir/tmp" "$dir/html"
  {
    [[ $kind == gateway ]] && echo "load_module $MODULE_SO;"
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
    if [[ $kind == gateway ]]; then
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
        keepalive 64;
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

start_nginx() {  # kind port -> sets <KIND>_PID
  local kind=$1 port=$2 dir="$TMP/$1" pid
  write_conf "$kind" "$dir" "$port"
  "$NGINX" -t -q -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" 2>"$dir/test.log" ||
    { cat "$dir/test.log" >&2; die "nginx -t failed for $kind"; }
  "$NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  pid=$!
  if [[ $kind == gateway ]]; then GW_PID=$pid; else PX_PID=$pid; fi
  wait_for "nginx ($kind)" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"  # a bare connect: no request, no log line
  wait_for "nginx workers ($kind)" 10 bash -c "[[ \$(pgrep -P $pid | wc -l) -ge 2 ]]"
  if [[ $kind == gateway ]]; then GW_WORKERS=$(pgrep -P "$pid" | tr '\n' ' '); else PX_WORKERS=$(pgrep -P "$pid" | tr '\n' ' '); fi
  log "nginx $kind: master $pid, workers $(pgrep -P "$pid" | tr '\n' ' ')"
}

start_nginx gateway "$GW_PORT"
start_nginx proxy "$PX_PORT"

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

URL_GW="http://127.0.0.1:$GW_PORT/v1/chat/completions"
URL_PX="http://127.0.0.1:$PX_PORT/v1/chat/completions"

# ---------------------------------------------------------------------------------------------
# 3+4. non-stream wrk runs with CPU accounting
# ---------------------------------------------------------------------------------------------
RUNS="$TMP/runs.tsv"
printf 'target\tconns\tround\trequests\tduration_us\tp50_us\tp90_us\tp99_us\tnon2xx\tsockerr\tnginx_ticks\tvendor_ticks\tredis_ticks\tupstream\tupconns\twrk_ticks\tsys_ticks\tstarted\n' >"$RUNS"
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

run_wrk() {  # target conns round
  local target=$1 conns=$2 round=$3 url pid threads out line
  if [[ $target == gateway ]]; then url=$URL_GW pid=$GW_PID; else url=$URL_PX pid=$PX_PID; fi
  threads=$(( conns < 2 ? 1 : 2 ))
  out="$TMP/wrk-$target-c$conns-r$round.txt"
  local n0 v0 r0 u0 k0 w0 s0 n1 v1 r1 u1 k1 w1 s1 started
  started=$(date +%T)
  read -r u0 k0 < <(vendor_stats); n0=$(tree_ticks "$pid"); v0=$(proc_ticks "$VENDOR_PID"); r0=$(proc_ticks "$REDIS_PID")
  child_ticks >"$TMP/w0"; s0=$(sys_busy_ticks)
  wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$ROOT/bench/post.lua" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed ($target, $conns connections)"; }
  s1=$(sys_busy_ticks); child_ticks >"$TMP/w1"
  n1=$(tree_ticks "$pid"); v1=$(proc_ticks "$VENDOR_PID"); r1=$(proc_ticks "$REDIS_PID")
  w0=$(cat "$TMP/w0"); w1=$(cat "$TMP/w1")
  sleep 0.3  # let requests wrk abandoned at the deadline reach the vendor before counting
  read -r u1 k1 < <(vendor_stats)
  line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no BENCH line in wrk output"; }
  local sockerr=$(( $(kv "$line" connect) + $(kv "$line" read) + $(kv "$line" write) + $(kv "$line" timeout) ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$conns" "$round" \
    "$(kv "$line" requests)" "$(kv "$line" duration_us)" "$(kv "$line" p50_us)" "$(kv "$line" p90_us)" \
    "$(kv "$line" p99_us)" "$(kv "$line" non2xx)" "$sockerr" $((n1 - n0)) $((v1 - v0)) $((r1 - r0)) $((u1 - u0)) $((k1 - k0 - 1)) $((w1 - w0)) $((s1 - s0)) "$started" >>"$RUNS"
  log "$target c=$conns round $round: $(awk -v r="$(kv "$line" requests)" -v d="$(kv "$line" duration_us)" 'BEGIN{printf "%.0f req/s", r/(d/1e6)}'), p50 $(kv "$line" p50_us) us, p99 $(kv "$line" p99_us) us, non-2xx $(kv "$line" non2xx), socket errors $sockerr"
}

log "warm-up: $WARMUP of wrk -c32 against each"
for u in "$URL_GW" "$URL_PX"; do
  wrk -t2 -c32 -d"$WARMUP" -s "$ROOT/bench/post.lua" "$u" >"$TMP/warmup.txt" 2>&1 || { cat "$TMP/warmup.txt" >&2; die "warm-up failed"; }
done

for ((round = 1; round <= ROUNDS; round++)); do
  if (( round % 2 == 1 )); then order="gateway proxy"; else order="proxy gateway"; fi
  for c in $CONNS; do
    for t in $order; do run_wrk "$t" "$c" "$round"; sleep 1; done
  done
done

# ---------------------------------------------------------------------------------------------
# 5. streaming
# ---------------------------------------------------------------------------------------------
curl -sf -X POST "http://127.0.0.1:$VENDOR_PORT/_control/mode" -d '{"mode":"normal","chunks":10,"delay_ms":50}' >/dev/null ||
  die "could not set the vendor's stream mode"
probe() {  # label url
  local rc=0
  node "$ROOT/bench/stream_probe.mjs" --url "$2" --key "$GW_KEY" --n "$STREAM_N" --label "$1" \
    --expect-chunks 10 --json "$TMP/stream-$1.json" >"$TMP/stream-$1.txt" 2>"$TMP/stream-$1.err" || rc=$?
  log "stream $1: $(cat "$TMP/stream-$1.txt")"
  [[ -s $TMP/stream-$1.err ]] && sed 's/^/    /' "$TMP/stream-$1.err" >&2
  [[ $rc -le 1 ]] || die "stream probe crashed for $1"
}
probe gateway "$URL_GW"
probe proxy "$URL_PX"
curl -sf -X POST "http://127.0.0.1:$VENDOR_PORT/_control/mode" -d '{"mode":"normal"}' >/dev/null || true
SP_GW=$(grep '^PROBE ' "$TMP/stream-gateway.txt" || true)
SP_PX=$(grep '^PROBE ' "$TMP/stream-proxy.txt" || true)
USAGE_LINE=$("${ADMIN[@]}" usage bench-vendor 2>&1 || true)

# ---------------------------------------------------------------------------------------------
# 6. report
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

fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "–"; else printf "%.2f", a / b }'; }
fmt_diff() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%+.*f", d, a - b }'; }
row() {  # label gw px [decimals for the difference]
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(fmt_ratio "$2" "$3")" "$(fmt_diff "$2" "$3" "${4:-2}")"
}

REPORT="$TMP/report.md"
{
  echo "# LingMo Gateway benchmark: gateway vs nginx proxy_pass"
  echo
  echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') by \`$CMDLINE\` (run from the repository root)."
  echo
  echo "## Machine and setup"
  echo
  echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); kernel $(uname -r)"
  echo "- $("$NGINX" -v 2>&1); node $(node -v); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}'); redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  echo "- gateway build: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && echo ' (working tree has uncommitted changes)'), $MODULE_SO (built $(date -u -r "$MODULE_SO" '+%Y-%m-%d %H:%M UTC'))"
  echo "- both nginx: worker_processes 2, access_log off, error_log warn, keepalive_requests 10000;" \
       "proxy_pass: upstream keepalive 64, proxy_buffering off, proxy_http_version 1.1"
  echo "- one fake vendor (node, single process) behind both; redis local; wrk, nginx, vendor and redis share the $(nproc) cores"
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
    row "vendor requests per client request, $c conn" "${M[gw_${c}_up]}" "${M[px_${c}_up]}" 3
  done
  for c in $CONNS; do
    printf '| new vendor connections opened during the %s-conn runs | %s | %s | | |\n' "$c" "${M[gw_${c}_uc]}" "${M[px_${c}_uc]}"
  done
  printf '| non-2xx responses (all wrk runs) | %s | %s | | |\n' "${M[gw_non2xx]}" "${M[px_non2xx]}"
  printf '| socket errors (all wrk runs) | %s | %s | | |\n' "${M[gw_sockerr]}" "${M[px_sockerr]}"
  printf '| stream requests ok | %s/%s | %s/%s | | |\n' "$(kv "$SP_GW" ok)" "$STREAM_N" "$(kv "$SP_PX" ok)" "$STREAM_N"
  row "stream time to first content event, p50 (ms)" "$(kv "$SP_GW" ttft_p50_ms)" "$(kv "$SP_PX" ttft_p50_ms)" 1
  row "stream time to first content event, p90 (ms)" "$(kv "$SP_GW" ttft_p90_ms)" "$(kv "$SP_PX" ttft_p90_ms)" 1
  row "stream first→last content event, p50 (ms)" "$(kv "$SP_GW" spread_p50_ms)" "$(kv "$SP_PX" spread_p50_ms)" 1
  printf '| stream first→last content event, min–max (ms) | %s–%s | %s–%s | | |\n' \
    "$(kv "$SP_GW" spread_min_ms)" "$(kv "$SP_GW" spread_max_ms)" "$(kv "$SP_PX" spread_min_ms)" "$(kv "$SP_PX" spread_max_ms)"
  row "stream response headers received, p50 (ms)" "$(kv "$SP_GW" headers_p50_ms)" "$(kv "$SP_PX" headers_p50_ms)" 1
  row "stream [DONE] received, p50 (ms)" "$(kv "$SP_GW" done_p50_ms)" "$(kv "$SP_PX" done_p50_ms)" 1
  echo
  echo "Streams: vendor mode normal chunks=10 delay_ms=50, $STREAM_N sequential requests each with" \
       "stream_options.include_usage; content events leave the vendor 50 ms apart, so ~450 ms first→last means every" \
       "event was relayed as it arrived (a buffering relay would show ~0 ms). The vendor sends [DONE] ~650 ms after the request."
  echo
  echo "## First bar (throughput ≥ 70% of proxy_pass, added p50 latency < 1 ms)"
  echo
  for c in $CONNS; do
    r=$(fmt_ratio "${M[gw_${c}_rps]}" "${M[px_${c}_rps]}")
    d=$(fmt_diff "${M[gw_${c}_p50]}" "${M[px_${c}_p50]}" 3)
    tp=$(awk -v r="$r" 'BEGIN { print (r >= 0.70) ? "PASS" : "FAIL" }')
    lp=$(awk -v d="$d" 'BEGIN { print (d < 1.0) ? "PASS" : "FAIL" }')
    echo "- $c conn: throughput ratio $r (rounds: ${M[ratio_range_$c]:-n/a}) → **$tp**; added p50 $d ms → **$lp**"
  done
  echo
  echo "The 1-connection row is the unloaded per-request cost; at 32/128 connections both are saturated and p50 mostly" \
       "reflects queueing (≈ connections ÷ throughput)."
  echo
  echo "## Checks"
  echo
  if [[ ${M[gw_non2xx]} -eq 0 && ${M[px_non2xx]} -eq 0 && ${M[gw_sockerr]} -eq 0 && ${M[px_sockerr]} -eq 0 ]]; then
    echo "- wrk: no non-2xx responses and no socket errors in any run."
  else
    echo "- wrk: **errors seen** — gateway non-2xx ${M[gw_non2xx]}, socket errors ${M[gw_sockerr]};" \
         "proxy_pass non-2xx ${M[px_non2xx]}, socket errors ${M[px_sockerr]} (see error logs below)."
  fi
  echo "- CPU in use before the run started: $BUSY_BEFORE cores."
  echo "- CPU used by processes other than this benchmark's during the wrk runs: ${M[foreign_avg]} cores on average," \
       "${M[foreign_max]} in the busiest run$(awk -v m="${M[foreign_max]}" 'BEGIN { if (m > 0.25) print " — **the machine was not idle; treat the numbers as noisy**" }')."
  echo "- usage ledger in redis for bench-vendor (gateway only, includes warm-up, sanity and stream requests): \`$USAGE_LINE\`"
  for kind in gateway proxy; do
    f="$TMP/$kind/error.log"
    n=$(grep -cE '\[(warn|error|crit|alert|emerg)\]' "$f" 2>/dev/null || true)
    echo "- $kind error.log: ${n:-0} warn-or-worse line(s)"
    if [[ ${n:-0} -gt 0 ]]; then
      echo
      echo '```'
      grep -E '\[(warn|error|crit|alert|emerg)\]' "$f" | head -n 20
      [[ $n -gt 20 ]] && echo "... ($((n - 20)) more)"
      echo '```'
    fi
  done
  for kind in gateway proxy; do
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
} >"$REPORT"

mkdir -p "$(dirname "$OUT")"
cp "$REPORT" "$OUT"
cat "$REPORT"
log "wrote $OUT"
