#!/usr/bin/env bash
# The fuzz targets (tests/fuzz/*.cpp: libFuzzer + ASan + UBSan) for a longer budget than the
# 20 s each that tests/run.sh gives them. Builds them like tests/run.sh does (clang, module off),
# then runs each target for LINGMO_FUZZ_SECONDS, one after the other, on the checked-in seeds plus
# a scratch corpus in the build tree that grows from run to run.
#
#   LINGMO_FUZZ_SECONDS=3600 bash tests/resilience/fuzz_long.sh          # an hour per target
#   LINGMO_FUZZ_SECONDS=600 LINGMO_FUZZ_JOBS=2 bash tests/resilience/fuzz_long.sh
#
# Env: LINGMO_FUZZ_SECONDS (default 600) budget per target; LINGMO_FUZZ_MAX_LEN (default 65536)
# the largest input libFuzzer makes (its own default, 4096, never reaches deep nesting or long
# streams); LINGMO_FUZZ_JOBS (default 1) parallel fuzzing processes per target (each gets the
# whole budget); LINGMO_FUZZ_BUILD_DIR (default <repo>/build-fuzz, the one tests/run.sh uses);
# LINGMO_FUZZ_TARGETS (default "fuzz_chat_request fuzz_translate"). A finding stops the script
# with a non-zero status; the input that triggered it is in <build>/tests/fuzz/<target>/artifacts/
# (reproduce: <build>/tests/<target> <that file>).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LINGMO_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
secs="${LINGMO_FUZZ_SECONDS:-600}"
max_len="${LINGMO_FUZZ_MAX_LEN:-65536}"
jobs="${LINGMO_FUZZ_JOBS:-1}"
targets="${LINGMO_FUZZ_TARGETS:-fuzz_chat_request fuzz_translate}"
declare -A seeds=([fuzz_chat_request]=corpus [fuzz_translate]=corpus_translate)

command -v clang++ >/dev/null || { echo "fuzz_long: clang++ not found (deploy/install-deps.sh with LINGMO_WITH_FUZZ=1)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -DLINGMO_BUILD_MODULE=OFF -DLINGMO_BUILD_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets

for t in $targets; do
  work="$build/tests/fuzz/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  echo "==== $t: ${secs} s, max_len ${max_len}, ${jobs} job(s) ===="
  args=(-max_total_time="$secs" -max_len="$max_len" -artifact_prefix="$work/artifacts/" -print_final_stats=1)
  if (( jobs > 1 )); then args+=(-jobs="$jobs" -workers="$jobs"); fi
  (cd "$work" && "$build/tests/$t" "${args[@]}" "$work/corpus" "$repo/tests/fuzz/${seeds[$t]}")
done
echo "fuzz_long: no finding in ${secs} s per target"
