#!/usr/bin/env bash
# Prepare a Debian host to build and run the connector images without Docker Hub: install podman (rootful, runc) and
# debootstrap, then build the local stand-in for Airbyte's Python connector base image. Idempotent: every step is
# skipped when its result is already there, so CI can call it on every run.
#
#   bash tests/containers/setup_host.sh            # as root (CI runs as root)
#
# The local base image (localhost/airbyte-python-connector-base-local:bookworm) mirrors what the connector Dockerfiles
# expect of Airbyte's docker.io/airbyte/python-connector-base:4.x: Debian bookworm, Python 3.11 as `python` with pip
# allowed to install into the system, UTC time zone, a non-root `airbyte` user (uid 1000) and /airbyte/integration_code.
set -euo pipefail

BASE_TAG="${LOCAL_BASE_IMAGE:-localhost/airbyte-python-connector-base-local:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "setup_host: a Docker engine answers; build_images.sh will use it with Airbyte's own base image."
  exit 0
fi

need=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup_host: installing ${need[*]} (and podman's helpers) from Debian"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends podman runc debootstrap uidmap fuse-overlayfs \
    slirp4netns containernetworking-plugins iptables ca-certificates >/dev/null
fi

# Inside an unprivileged sandbox podman cannot raise RLIMIT_NOFILE for its containers: ask it not to try.
conf=/etc/containers/containers.conf
$SUDO mkdir -p /etc/containers
if ! grep -q '^default_ulimits *= *\[\]' "$conf" 2>/dev/null; then
  if grep -q '^\[containers\]' "$conf" 2>/dev/null; then
    $SUDO sed -i '/^\[containers\]/a default_ulimits = []' "$conf"
  else
    printf '[containers]\ndefault_ulimits = []\n' | $SUDO tee -a "$conf" >/dev/null
  fi
fi

if $SUDO podman --runtime runc image exists "$BASE_TAG"; then
  echo "setup_host: $BASE_TAG already built"
  exit 0
fi

rootfs="$(mktemp -d /var/tmp/airbyte-base-rootfs.XXXXXX)"
trap '$SUDO rm -rf "$rootfs"' EXIT
echo "setup_host: debootstrap bookworm into $rootfs"
$SUDO debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates,tzdata \
  bookworm "$rootfs" "$MIRROR" >/dev/null
# Airbyte's base image lets pip install into the system interpreter (it is the only Python there); Debian marks its
# Python as externally managed, so remove that marker to keep the connector Dockerfiles identical for both bases.
$SUDO rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
$SUDO ln -snf /usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"
$SUDO chroot "$rootfs" sh -c 'useradd --uid 1000 --create-home --shell /bin/bash airbyte \
  && mkdir -p /airbyte/integration_code && chown -R airbyte:airbyte /airbyte'
$SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
echo "setup_host: importing $BASE_TAG"
$SUDO tar -C "$rootfs" -c . | $SUDO podman --runtime runc import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PIP_DISABLE_PIP_VERSION_CHECK=1' \
  --change 'WORKDIR /airbyte/integration_code' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE_TAG" >/dev/null
echo "setup_host: done"
