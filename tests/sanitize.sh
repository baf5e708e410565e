#!/usr/bin/env bash
# Runs the unit tests and the whole integration suite against an ASan+UBSan build of the module,
# loaded into the stock nginx binary (the sanitizer runtimes are preloaded into nginx only), then
# the control-plane suite against the instrumented lingmo-controld.
# Any sanitizer report fails the suite (tests/integration/harness.mjs, nginxEnv/stop).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export LINGMO_BUILD_DIR=$ROOT/build-asan
cmake -S . -B "$LINGMO_BUILD_DIR" -DLINGMO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$LINGMO_BUILD_DIR" -j"$(nproc)"
(cd "$LINGMO_BUILD_DIR" && ctest --output-on-failure)
export LINGMO_NGINX_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
bash tests/integration/run.sh "$@"
# The control-plane daemon of the same build is instrumented too: a sanitizer report (or a leak at
# exit) makes it exit non-zero, which the suite asserts against.
bash tests/controlplane/run.sh
