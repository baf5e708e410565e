#!/usr/bin/env bash
# Deployment tests (tests/run.sh runs them after the build and the web UI build):
#   install.test.sh          deploy/install.sh into a temp prefix (dry run, install, idempotence, DESTDIR, uninstall)
#   nginx_examples.test.sh   every nginx.conf example in deploy/ through nginx -t with the built module; TLS/HTTP2 for real
#   docker.test.sh           deploy/docker without an engine: COPY sources, runtime libraries, compose config
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in "$DIR"/install.test.sh "$DIR"/nginx_examples.test.sh "$DIR"/docker.test.sh; do
  printf '\n-- %s\n' "${t#"$DIR"/}"
  bash "$t" || rc=1
done
exit $rc
