#!/usr/bin/env bash
# Build the evoforge sandbox from Debian packages, with no registry: one Debian root filesystem,
#   debootstrap --variant=minbase --include=<agent/sandbox/image-packages.txt> bookworm ROOTFS
# kept at ~/.cache/evoforge/rootfs/<tag> (EVOFORGE_ROOTFS overrides) for the bubblewrap sandbox, which
# binds it read-only as /, and imported into Docker as the image of the docker sandbox:
#   tar -C ROOTFS -c . | docker import - evoforge-sandbox:<version>-<hash of the package list>
# So both sandboxes run the same Python stack. Idempotent: what exists is kept; a missing rootfs is
# exported from an existing image (seconds) before debootstrap is tried; without a Docker engine only
# the rootfs is built. Needs root for debootstrap.
# Usage: scripts/build-sandbox-image.sh [--tag] [--rootfs] [--force]
#   --tag     print the image tag and exit
#   --rootfs  print the rootfs folder and exit
#   --force   rebuild both even when they exist
# Env: EVOFORGE_DEBIAN_MIRROR (default http://deb.debian.org/debian), EVOFORGE_DEBIAN_SUITE (default bookworm),
#      EVOFORGE_ROOTFS (where the rootfs is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
PKG_FILE=agent/sandbox/image-packages.txt
VERSION=2   # keep in step with IMAGE_VERSION in agent/sandbox/image.py
HASH=$(sha256sum "$PKG_FILE" | cut -c1-12)
TAG="${EVOFORGE_SANDBOX_IMAGE:-evoforge-sandbox:${VERSION}-${HASH}}"
ROOTFS="${EVOFORGE_ROOTFS:-$HOME/.cache/evoforge/rootfs/${TAG//:/-}}"
force=0
for arg in "$@"; do
  case "$arg" in
    --tag) echo "$TAG"; exit 0 ;;
    --rootfs) echo "$ROOTFS"; exit 0 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--tag] [--rootfs] [--force]" >&2; exit 2 ;;
  esac
done
log() { echo "build-sandbox-image: $*" >&2; }

engine=0
if command -v docker >/dev/null && docker version >/dev/null 2>&1; then
  engine=1
else
  log "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default}); building only the rootfs (run scripts/docker-engine.sh for the image)"
fi
have_image() { [ "$engine" = 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; }
have_rootfs() { [ -f "$ROOTFS/etc/evoforge-sandbox-image" ] && [ "$(cat "$ROOTFS/etc/evoforge-sandbox-image")" = "$TAG" ]; }
import_image() {
  tar --numeric-owner -C "$ROOTFS" -c . | docker import \
    --change 'WORKDIR /workspace' --change 'ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1' \
    --change "LABEL org.evoforge.sandbox=$TAG" - "$TAG" >/dev/null
  log "imported $TAG from $ROOTFS ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
}
if [ "$force" = 0 ] && have_rootfs && { [ "$engine" = 0 ] || have_image; }; then
  log "$TAG and its rootfs $ROOTFS already exist"
  exit 0
fi
if [ "$force" = 0 ] && ! have_rootfs && have_image; then   # an image built before rootfs were kept: export it
  mkdir -p "$(dirname "$ROOTFS")"
  tmp=$(mktemp -d "$ROOTFS.tmp.XXXXXX") && chmod 755 "$tmp"
  cid=$(docker create "$TAG" true)
  docker export "$cid" | tar --numeric-owner -C "$tmp" -x
  docker rm "$cid" >/dev/null
  echo "$TAG" >"$tmp/etc/evoforge-sandbox-image"
  rm -rf "$ROOTFS" && mv "$tmp" "$ROOTFS"
  log "exported the rootfs of $TAG to $ROOTFS"
  exit 0
fi
if [ "$force" = 0 ] && have_rootfs; then
  import_image
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "debootstrap needs root; run as root (or sudo) to build $TAG"
  exit 1
fi
command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }

packages=$(grep -v '^\s*#' "$PKG_FILE" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
mirror=${EVOFORGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${EVOFORGE_DEBIAN_SUITE:-bookworm}
work=$(mktemp -d /var/tmp/evoforge-sandbox-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
cache_args=()
if [ -d /var/cache/apt/archives ] && [ -w /var/cache/apt/archives ]; then
  cache_args=(--cache-dir=/var/cache/apt/archives)   # reuse debs apt already downloaded
fi
start=$(date +%s)
log "debootstrap $suite into $root with: $packages"
debootstrap --variant=minbase "${cache_args[@]}" --include="$packages" "$suite" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }

# Lean it: scipy's build-time chain (pythran -> gcc, g++, boost headers) and other -dev packages are
# not needed to run Python; drop them (dpkg --force-depends) and check the ML stack still imports.
strip_re='-dev$|^(gcc|g\+\+|cpp)(-12)?$|^binutils|^lib(asan|tsan|lsan|ubsan|hwasan|itm|cc1|gcc-12-dev)[0-9-]*$'
strip_re+='|^python3-(pythran|beniget|gast)$|^(dpkg-dev|libdpkg-perl|make|patch|perl|perl-modules-5.36|libperl5.36)$'
strip=$(chroot "$root" dpkg-query -W -f '${Package}\n' | grep -E -e "$strip_re" || true)
if [ -n "$strip" ]; then
  # shellcheck disable=SC2086
  chroot "$root" dpkg --purge --force-depends $strip >>"$work/debootstrap.log" 2>&1
fi
chroot "$root" python3 -c 'import numpy, pandas, scipy.optimize, scipy.sparse, sklearn.ensemble, PIL, yaml, tqdm' \
  || { log "the ML stack does not import in the built tree"; exit 1; }
# Package caches, docs, man pages and locales are not needed inside the sandbox.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/debootstrap
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'C*' -exec rm -rf {} + 2>/dev/null || true
# An unprivileged user for hosts that run the sandbox as uid 1000; mount points for the sandbox.
grep -q '^sandbox:' "$root/etc/passwd" || {
  echo 'sandbox:x:1000:1000:evoforge sandbox:/workspace:/bin/bash' >>"$root/etc/passwd"
  echo 'sandbox:x:1000:' >>"$root/etc/group"
}
mkdir -p "$root/workspace" "$root/data"
echo "$TAG" >"$root/etc/evoforge-sandbox-image"
mkdir -p "$(dirname "$ROOTFS")"
rm -rf "$ROOTFS" && mv "$root" "$ROOTFS"
log "built the rootfs $ROOTFS in $(( $(date +%s) - start ))s"
if [ "$engine" = 1 ]; then
  import_image
fi
