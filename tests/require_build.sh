# Sourced by the suite runners: sets LINGMO_BUILD_DIR (default <repo>/build) and stops with a clear
# message when the module or lingmo-admin has not been built; defines require_controld and
# require_commands for the rest of a runner's checks. Expects $repo and $suite to be set.
export LINGMO_BUILD_DIR="${LINGMO_BUILD_DIR:-$repo/build}"
for f in "$LINGMO_BUILD_DIR/ngx_module/ngx_http_lingmo_module.so" "$LINGMO_BUILD_DIR/controlplane/lingmo-admin"; do
  if [[ ! -f "$f" ]]; then
    echo "$suite: $f is missing; build first (cmake -S $repo -B $LINGMO_BUILD_DIR && cmake --build $LINGMO_BUILD_DIR)" >&2
    exit 2
  fi
done

# The suites that start the daemon call this too.
require_controld() {
  if [[ ! -x "$LINGMO_BUILD_DIR/controlplane/lingmo-controld" ]]; then
    echo "$suite: $LINGMO_BUILD_DIR/controlplane/lingmo-controld is missing; build first (cmake --build $LINGMO_BUILD_DIR)" >&2
    exit 2
  fi
}

# require_commands BIN...: stops with a clear message when one is not on the PATH.
require_commands() {
  local bin
  for bin in "$@"; do
    command -v "$bin" >/dev/null 2>&1 || { echo "$suite: $bin not found" >&2; exit 2; }
  done
}
