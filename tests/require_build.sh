# Sourced by the suite runners: sets LINGMO_BUILD_DIR (default <repo>/build) and stops with a clear
# message when the module or lingmo-admin has not been built. Expects $repo and $suite to be set.
export LINGMO_BUILD_DIR="${LINGMO_BUILD_DIR:-$repo/build}"
for f in "$LINGMO_BUILD_DIR/ngx_module/ngx_http_lingmo_module.so" "$LINGMO_BUILD_DIR/controlplane/lingmo-admin"; do
  if [[ ! -f "$f" ]]; then
    echo "$suite: $f is missing; build first (cmake -S $repo -B $LINGMO_BUILD_DIR && cmake --build $LINGMO_BUILD_DIR)" >&2
    exit 2
  fi
done
