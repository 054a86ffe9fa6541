"""The sandbox image: its name evoforge-sandbox:<version>-<hash of its package lists>[-gpu], its package lists, and
where its root filesystem is kept for the bubblewrap sandbox (all built by scripts/build-sandbox-image.sh).

Two variants: the CPU image (Debian packages + image-python.txt: the CPU build of torch, TensorBoard) and the GPU
image (image-python-gpu.txt: torch's CUDA build), which the sandboxes use where GPUs are passed through and it is
built. The bundled trainer is not in either: the sandboxes bind the checkout's trainer/ and common/ read-only at
/opt/evoforge (TRAINER_MOUNTS), so the image tag follows the package lists only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

IMAGE_VERSION = "3"   # keep in step with VERSION in scripts/build-sandbox-image.sh
HERE = Path(__file__).resolve().parent
PACKAGES_FILE = HERE / "image-packages.txt"
PYTHON_FILES = {False: HERE / "image-python.txt", True: HERE / "image-python-gpu.txt"}
BUILD_SCRIPT = HERE.parents[1] / "scripts" / "build-sandbox-image.sh"
CHECKOUT = HERE.parents[1]
# host folder -> where the sandboxes bind it read-only: the bundled trainer and the bottom layer it imports
TRAINER_MOUNTS = {CHECKOUT / "trainer": "/opt/evoforge/trainer", CHECKOUT / "common": "/opt/evoforge/common"}


def image_tag(gpu: bool = False) -> str:
    """The tag the build script gives the image of the current package lists (EVOFORGE_SANDBOX_IMAGE, or
    EVOFORGE_SANDBOX_IMAGE_GPU for the GPU variant, overrides)."""
    override = os.environ.get("EVOFORGE_SANDBOX_IMAGE_GPU" if gpu else "EVOFORGE_SANDBOX_IMAGE")
    if override:
        return override
    digest = hashlib.sha256(PACKAGES_FILE.read_bytes() + PYTHON_FILES[gpu].read_bytes()).hexdigest()[:12]
    return f"evoforge-sandbox:{IMAGE_VERSION}-{digest}" + ("-gpu" if gpu else "")


def packages() -> list[str]:
    """The Debian packages listed for the image."""
    return _entries(PACKAGES_FILE)


def python_packages(gpu: bool = False) -> list[str]:
    """The pip requirements listed for the image (variant)."""
    return _entries(PYTHON_FILES[gpu])


def _entries(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def rootfs_dir(gpu: bool = False) -> Path:
    """Where the image's root filesystem is kept for the bubblewrap sandbox (EVOFORGE_ROOTFS, or EVOFORGE_ROOTFS_GPU
    for the GPU variant, overrides).

    scripts/build-sandbox-image.sh writes it (from debootstrap and pip, or exported from an existing image)
    under ~/.cache/evoforge/rootfs/<image tag>; the local sandbox binds it read-only as `/`.
    """
    override = os.environ.get("EVOFORGE_ROOTFS_GPU" if gpu else "EVOFORGE_ROOTFS")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "evoforge" / "rootfs" / image_tag(gpu).replace(":", "-")
