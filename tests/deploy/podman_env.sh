# Sourced by the container tests (images, fresh_quickstart, systemd .test.sh): Debian's podman set
# up to run here, and the debian:12 base image.
# Podman runs with a private configuration under $LINGMO_IMAGES_DIR (default
# /var/tmp/lingmo-images): vfs storage, runc with cgroupfs, chroot isolation for RUN steps, file
# limits within the caller's — so that it works inside containers and sandboxes (crun refuses
# hybrid cgroup hierarchies; raising RLIMIT_NPROC is not allowed there), and leaves the machine's
# own podman set-up alone. The base image debian:12 is pulled when a registry answers, else made
# with debootstrap from the Debian mirror (the same packages as the official image's).
# Needs root (apt-get, podman with runc). Defines WORK; exports the CONTAINERS_* variables.
WORK=${LINGMO_IMAGES_DIR:-/var/tmp/lingmo-images}
[ "$(id -u)" = 0 ] || { echo "container tests: need root (apt-get, podman with runc)" >&2; exit 1; }

pkgs=()
# netavark + aardvark-dns: compose's service names (redis:6379) resolve on the project network.
for p in podman podman-compose buildah runc netavark aardvark-dns iptables debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "==> installing: ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# Private podman configuration.
mkdir -p "$WORK"
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
# No layer cache: vfs stores every layer as a full copy (30 GB for the three images with it,
# a few GB without).
export CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_CONF=$WORK/containers.conf BUILDAH_ISOLATION=chroot
export BUILDAH_LAYERS=${BUILDAH_LAYERS:-false}
# Everything this test stored goes at its end, unless LINGMO_IMAGES_KEEP=1 (to look at the images).
podman_env_cleanup() { [ "${LINGMO_IMAGES_KEEP:-0}" = 1 ] || podman system reset --force >/dev/null 2>&1 || true; }

if ! podman image exists docker.io/library/debian:12; then
  if ! timeout 60 podman pull -q docker.io/library/debian:12 >/dev/null 2>&1; then
    echo "==> no registry: making debian:12 with debootstrap"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
      { tail -5 "$WORK/debootstrap.log"; echo "container tests: debootstrap failed" >&2; exit 1; }
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
      >"$WORK/rootfs/etc/apt/sources.list"
    rm -f "$WORK/rootfs"/var/cache/apt/archives/*.deb
    # As the official image (debuerreotype) does: apt does not start services in a container.
    printf '#!/bin/sh\nexit 101\n' >"$WORK/rootfs/usr/sbin/policy-rc.d" && chmod 0755 "$WORK/rootfs/usr/sbin/policy-rc.d"
    # This machine's own certificate authorities (/usr/local/share/ca-certificates: e.g. the CA of
    # a TLS-inspecting egress proxy, without which npm ci in the web stage fails with
    # SELF_SIGNED_CERT_IN_CHAIN), so that the builds reach what this machine reaches. Debian's
    # ca-certificates, once a stage installs it, adds them to the system bundle; Node reads them
    # from NODE_EXTRA_CA_CERTS. None of this is in the Dockerfile: the images stay as shipped.
    change=()
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
      mkdir -p "$WORK/rootfs/usr/local/share/ca-certificates"
      cp /usr/local/share/ca-certificates/*.crt "$WORK/rootfs/usr/local/share/ca-certificates/"
      cat /usr/local/share/ca-certificates/*.crt >"$WORK/rootfs/usr/local/share/ca-certificates/host-cas.pem"
      change=(--change "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-cas.pem")
    fi
    tar -C "$WORK/rootfs" -c . | podman import -q "${change[@]}" - docker.io/library/debian:12 >/dev/null
    rm -rf "$WORK/rootfs"
  fi
fi

