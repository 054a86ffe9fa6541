"""The Docker engine the sandbox talks to: where it is (DOCKER_HOST, the default socket, the evoforge
engine) and whether it answers and has the sandbox image. The docker package is imported only when
a client is made, so knowing where an engine would be costs nothing."""

from __future__ import annotations

import os

from agent.sandbox.image import image_tag

EVOFORGE_SOCKET = "/var/run/evoforge-docker.sock"   # where scripts/docker-engine.sh starts an engine


def engine_url() -> str | None:
    """DOCKER_HOST; else None (the default socket); else the engine scripts/docker-engine.sh started."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if not os.path.exists("/var/run/docker.sock") and os.path.exists(EVOFORGE_SOCKET):
        return f"unix://{EVOFORGE_SOCKET}"
    return None


def engine_configured() -> bool:
    """Whether an engine is set up here (DOCKER_HOST, or a local socket)."""
    return bool(os.environ.get("DOCKER_HOST")) or any(
        os.path.exists(p) for p in ("/var/run/docker.sock", EVOFORGE_SOCKET))


def client(timeout: int = 120):
    """A docker.DockerClient for engine_url() (DOCKER_HOST / the default socket / the evoforge engine)."""
    import docker

    url = engine_url()
    if url and not os.environ.get("DOCKER_HOST"):
        return docker.DockerClient(base_url=url, timeout=timeout)
    return docker.from_env(timeout=timeout)


def engine_status(need_image: bool = True) -> tuple[bool, str]:
    """(True, "") where an engine answers (and has the sandbox image); else (False, the reason)."""
    try:
        from docker.errors import DockerException, ImageNotFound
    except ImportError as exc:
        return False, f"the docker Python package is not installed ({exc})"
    try:
        c = client()
        c.ping()
    except DockerException as exc:
        where = engine_url() or "the default socket"
        return False, f"no Docker engine answers at {where} ({type(exc).__name__}); start one with scripts/docker-engine.sh"
    if need_image:
        tag = image_tag()
        try:
            c.images.get(tag)
        except ImageNotFound:
            return False, f"image {tag} is not built; run scripts/build-sandbox-image.sh (or scripts/docker-engine.sh)"
        except DockerException as exc:
            return False, f"cannot inspect image {tag}: {exc}"
    return True, ""
