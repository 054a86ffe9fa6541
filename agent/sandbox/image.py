"""The sandbox image: its name evoforge-sandbox:<version>-<hash of image-packages.txt>, its package list, and
where its root filesystem is kept for the bubblewrap sandbox (all built by scripts/build-sandbox-image.sh)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

IMAGE_VERSION = "2"   # keep in step with VERSION in scripts/build-sandbox-image.sh
PACKAGES_FILE = Path(__file__).with_name("image-packages.txt")
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build-sandbox-image.sh"


def image_tag() -> str:
    """The tag the build script gives the image for the current package list (EVOFORGE_SANDBOX_IMAGE overrides)."""
    override = os.environ.get("EVOFORGE_SANDBOX_IMAGE")
    if override:
        return override
    digest = hashlib.sha256(PACKAGES_FILE.read_bytes()).hexdigest()[:12]
    return f"evoforge-sandbox:{IMAGE_VERSION}-{digest}"


def packages() -> list[str]:
    """The Debian packages listed for the image."""
    lines = PACKAGES_FILE.read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def rootfs_dir() -> Path:
    """Where the image's Debian root filesystem is kept for the bubblewrap sandbox (EVOFORGE_ROOTFS overrides).

    scripts/build-sandbox-image.sh writes it (from debootstrap, or exported from an existing image)
    under ~/.cache/evoforge/rootfs/<image tag>; the local sandbox binds it read-only as `/`.
    """
    override = os.environ.get("EVOFORGE_ROOTFS")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "evoforge" / "rootfs" / image_tag().replace(":", "-")
