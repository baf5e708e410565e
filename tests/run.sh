#!/usr/bin/env bash
# The one test command (README): installs what it needs, builds, and runs every suite.
#   unit (Catch2, incl. the usage Lua script against a real redis-server)
#   fuzz smoke (libFuzzer + ASan/UBSan over the request parser, stream relay and translators, 20 s each)
#   integration (real nginx + module, real redis-server, fake vendors)
#   control plane (the lingmo-controld daemon against real Redis, nginx and fake vendors)
#   resilience (faults under load, incl. a Redis Sentinel failover followed by nginx and the daemon)
#   web UI build + browser tests (the admin console in headless chromium, screenshots in tests/artifacts/browser)
#   e2e (the official `openai` and `@anthropic-ai/sdk` npm SDKs as clients, against providers of every dialect)
#   sanitizers (unit + integration + control plane again, built with ASan + UBSan, tests/sanitize.sh)
#   deployment (deploy/install.sh into a temp prefix, every nginx example through nginx -t, docker compose config)
#   quickstart smoke (the README's first command, incl. the console and the admin login)
#   containers (as root; podman): the README's first command on a fresh debian:12, timed;
#     install.sh and the units under a real systemd; the Docker images built from
#     deploy/docker/Dockerfile and compose.yaml run, serving a chat completion
#     (tests/deploy/fresh_quickstart.test.sh, systemd.test.sh, images.test.sh; ~15 min)
# LINGMO_SKIP_FUZZ=1 / LINGMO_SKIP_SANITIZE=1 / LINGMO_SKIP_CONTAINERS=1 skip those (slow) steps.
# Longer runs, not part of this command (tests/resilience/README.md): LINGMO_RESILIENCE_LONG=1
# bash tests/resilience/run.sh; LINGMO_FUZZ_SECONDS=3600 bash tests/resilience/fuzz_long.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export LINGMO_BUILD_DIR=${LINGMO_BUILD_DIR:-$ROOT/build}

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
LINGMO_WITH_FUZZ=1 LINGMO_WITH_BROWSER=1 bash deploy/install-deps.sh

step "build"
cmake -S . -B "$LINGMO_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$LINGMO_BUILD_DIR" -j"$(nproc)"

step "unit tests"
(cd "$LINGMO_BUILD_DIR" && ctest --output-on-failure)

if [ "${LINGMO_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz smoke (clang, libFuzzer, ASan+UBSan)"
  CC=clang CXX=clang++ cmake -S . -B "$ROOT/build-fuzz" -DLINGMO_BUILD_MODULE=OFF -DLINGMO_BUILD_FUZZ=ON >/dev/null
  cmake --build "$ROOT/build-fuzz" -j"$(nproc)" --target fuzz_chat_request fuzz_translate
  (cd "$ROOT/build-fuzz" && ctest --output-on-failure -R fuzz)
fi

step "integration tests (nginx + redis + fake vendors)"
bash tests/integration/run.sh

step "control-plane tests (lingmo-controld + redis + nginx)"
bash tests/controlplane/run.sh

step "resilience tests (faults under load; Redis Sentinel failover)"
bash tests/resilience/run.sh

step "web UI build (controlplane/web: npm ci && npm run build)"
(cd controlplane/web && npm ci --no-audit --no-fund --loglevel=error && npm run build)

step "browser tests (the console in Debian's chromium, against lingmo-controld + redis + nginx)"
bash tests/browser/run.sh

step "end-to-end tests (official openai and Anthropic SDKs)"
bash tests/e2e/run.sh

if [ "${LINGMO_SKIP_SANITIZE:-0}" != 1 ]; then
  step "sanitizers: unit, integration and control-plane suites against an ASan+UBSan build"
  bash tests/sanitize.sh
fi

step "deployment tests (install.sh, nginx examples, docker)"
bash tests/deploy/run.sh

step "quickstart smoke test"
bash tests/smoke_quickstart.sh

if [ "${LINGMO_SKIP_CONTAINERS:-0}" != 1 ]; then
  step "containers: quickstart on a fresh debian:12; install.sh under systemd; the Docker images and compose.yaml (podman)"
  if [ "$(id -u)" = 0 ]; then
    bash tests/deploy/fresh_quickstart.test.sh
    bash tests/deploy/systemd.test.sh
    bash tests/deploy/images.test.sh
  else
    echo "skipped: podman with runc needs root here (sudo bash tests/deploy/images.test.sh)"
  fi
fi

step "all tests passed"
