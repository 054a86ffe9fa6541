#!/usr/bin/env bash
# Build the evoforge sandbox from Debian packages and pip wheels, with no image registry: one root filesystem,
#   debootstrap --variant=minbase --include=<agent/sandbox/image-packages.txt> bookworm ROOTFS
#   + pip install -r <agent/sandbox/image-python.txt> (torch, TensorBoard) into its /usr/local
# kept at ~/.cache/evoforge/rootfs/<tag> (EVOFORGE_ROOTFS overrides) for the bubblewrap sandbox, which
# binds it read-only as /, and imported into Docker as the image of the docker sandbox:
#   tar -C ROOTFS -c . | docker import - evoforge-sandbox:<version>-<hash of both lists>
# So both sandboxes run the same Python stack. The bundled trainer is not copied in: the sandboxes bind the
# checkout's trainer/ and common/ read-only at /opt/evoforge (a .pth file puts it on sys.path), so the tag
# does not change when the trainer does, and nothing else of the checkout (tasks/, graders) is ever inside.
# Idempotent: what exists is kept; a missing rootfs is exported from an existing image (seconds); the Debian
# layer of another rootfs built from the same package list is reused (copied) before debootstrap is tried;
# without a Docker engine only the rootfs is built. Needs root (debootstrap, chroot).
# Usage: scripts/build-sandbox-image.sh [--gpu] [--tag] [--rootfs] [--force]
#   --gpu     the GPU variant (torch's CUDA build, agent/sandbox/image-python-gpu.txt; tag suffix -gpu), used
#             by the sandboxes where GPUs are passed through
#   --tag     print the image tag and exit
#   --rootfs  print the rootfs folder and exit
#   --force   rebuild both even when they exist
# Env: EVOFORGE_DEBIAN_MIRROR (default http://deb.debian.org/debian), EVOFORGE_DEBIAN_SUITE (default bookworm),
#      EVOFORGE_ROOTFS (where the rootfs is kept), EVOFORGE_TORCH_INDEX (CPU variant: an extra pip index for
#      torch's CPU build; default "auto": https://download.pytorch.org/whl/cpu when it answers within 5 s, else
#      none; empty: none), EVOFORGE_PIP_PYTHON (the host Python whose pip downloads the wheels, default python3).
# The wheels come from the HOST's pip, with its own configuration (indexes, find-links, proxy, certificates):
# torch is fetched the way `pip install torch` on this host would fetch it (from PyPI on a machine with internet,
# from a local wheel or mirror where pip is configured so); the image's pip only installs that folder, offline
# (--no-index), so nothing is downloaded from inside the image.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG_FILE=agent/sandbox/image-packages.txt
PY_FILE=agent/sandbox/image-python.txt
VERSION=3   # keep in step with IMAGE_VERSION in agent/sandbox/image.py
variant=cpu; print=""; force=0
for arg in "$@"; do
  case "$arg" in
    --gpu) variant=gpu ;;
    --tag) print=tag ;;
    --rootfs) print=rootfs ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--gpu] [--tag] [--rootfs] [--force]" >&2; exit 2 ;;
  esac
done
suffix=""
if [ "$variant" = gpu ]; then
  PY_FILE=agent/sandbox/image-python-gpu.txt; suffix=-gpu
fi
DEB_HASH=$(sha256sum "$PKG_FILE" | cut -c1-12)
HASH=$(cat "$PKG_FILE" "$PY_FILE" | sha256sum | cut -c1-12)
if [ "$variant" = gpu ]; then
  TAG="${EVOFORGE_SANDBOX_IMAGE_GPU:-evoforge-sandbox:${VERSION}-${HASH}${suffix}}"
else
  TAG="${EVOFORGE_SANDBOX_IMAGE:-evoforge-sandbox:${VERSION}-${HASH}}"
fi
ROOTS="$HOME/.cache/evoforge/rootfs"
if [ "$variant" = gpu ]; then
  ROOTFS="${EVOFORGE_ROOTFS_GPU:-$ROOTS/${TAG//:/-}}"
else
  ROOTFS="${EVOFORGE_ROOTFS:-$ROOTS/${TAG//:/-}}"
fi
case "$print" in
  tag) echo "$TAG"; exit 0 ;;
  rootfs) echo "$ROOTFS"; exit 0 ;;
esac
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
  log "building $TAG needs root (debootstrap, chroot); run as root (or sudo)"
  exit 1
fi

work=$(mktemp -d /var/tmp/evoforge-sandbox-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
start=$(date +%s)

# -- the Debian layer: reused from a rootfs of the same package list, else debootstrap --------------------------
base=""
for cand in "$ROOTS"/*; do
  [ -d "$cand/usr/bin" ] && [ "$cand" != "$ROOTFS" ] || continue
  if [ "$(cat "$cand/etc/evoforge-sandbox-debian" 2>/dev/null)" = "$DEB_HASH" ] \
     || [ "$(basename "$cand")" = "evoforge-sandbox-2-$DEB_HASH" ]; then   # version 2 tagged by the Debian list alone
    base=$cand; break
  fi
done
if [ "$force" = 0 ] && [ -n "$base" ]; then
  log "reusing the Debian layer of $base"
  cp -a "$base" "$root"
  rm -rf "$root/usr/local/lib/python3.11/dist-packages"/* "$root/opt/evoforge"
else
  command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
  packages=$(grep -v '^\s*#' "$PKG_FILE" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
  mirror=${EVOFORGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  suite=${EVOFORGE_DEBIAN_SUITE:-bookworm}
  cache_args=()
  if [ -d /var/cache/apt/archives ] && [ -w /var/cache/apt/archives ]; then
    cache_args=(--cache-dir=/var/cache/apt/archives)   # reuse debs apt already downloaded
  fi
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
fi
echo "$DEB_HASH" >"$root/etc/evoforge-sandbox-debian"

# -- the pip layer: wheels fetched by the host's pip, installed by pip run with the image's own Python ----------
# (so pip sees Debian's numpy, Pillow, PyYAML as installed and leaves them alone)
pyhost=${EVOFORGE_PIP_PYTHON:-python3}
"$pyhost" -m pip --version >/dev/null 2>&1 || pyhost=.venv/bin/python
index=""
if [ "$variant" = cpu ]; then
  index=${EVOFORGE_TORCH_INDEX-auto}
  if [ "$index" = auto ]; then             # torch's CPU build where its index answers; else the host's pip alone
    index=https://download.pytorch.org/whl/cpu
    "$pyhost" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)' "$index" \
      >/dev/null 2>&1 || { log "$index does not answer; torch comes from the host's pip configuration"; index=""; }
  fi
fi
index_args=()
[ -n "$index" ] && index_args=(--extra-index-url "$index")
log "pip download -r $PY_FILE (with $pyhost${index:+, extra index $index})"
"$pyhost" -m pip download --quiet --dest "$work/wheels" --only-binary=:all: --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --python-version 3.11 --implementation cp "${index_args[@]}" -r "$PY_FILE" >"$work/pip.log" 2>&1 \
  || { tail -20 "$work/pip.log" >&2; log "pip download failed"; exit 1; }
pipdir=$("$pyhost" -c 'import os, pip; print(os.path.dirname(os.path.dirname(pip.__file__)))')
mkdir -p "$root/tmp/evoforge-build"
cp -a "$pipdir/pip" "$root/tmp/evoforge-build/pip"
cp -a "$work/wheels" "$root/tmp/evoforge-build/wheels"
grep -v '^\s*#' "$PY_FILE" | grep -v '^\s*$' >"$root/tmp/evoforge-build/requirements.txt"
chroot "$root" env PYTHONPATH=/tmp/evoforge-build PIP_CONFIG_FILE=/dev/null python3 -m pip install --quiet \
  --no-index --find-links /tmp/evoforge-build/wheels --no-compile --no-cache-dir --break-system-packages \
  --root-user-action=ignore --disable-pip-version-check -r /tmp/evoforge-build/requirements.txt \
  >>"$work/pip.log" 2>&1 || { tail -20 "$work/pip.log" >&2; log "pip install in the image failed"; exit 1; }
rm -rf "$root/tmp/evoforge-build" "$root/usr/local/bin"/*
# The bundled trainer: bound read-only at /opt/evoforge/{trainer,common} by the sandboxes, importable everywhere.
mkdir -p "$root/opt/evoforge/trainer" "$root/opt/evoforge/common"
echo /opt/evoforge >"$root/usr/local/lib/python3.11/dist-packages/evoforge-trainer.pth"
chroot "$root" python3 -c 'import torch, numpy, pandas, sklearn, yaml; from torch.utils.tensorboard import SummaryWriter; torch.ones(2) @ torch.ones(2)' \
  || { log "torch and the ML stack do not import together in the built tree"; exit 1; }
echo "$TAG" >"$root/etc/evoforge-sandbox-image"
mkdir -p "$(dirname "$ROOTFS")"
rm -rf "$ROOTFS" && mv "$root" "$ROOTFS"
log "built the rootfs $ROOTFS in $(( $(date +%s) - start ))s"
if [ "$engine" = 1 ]; then
  import_image
fi
