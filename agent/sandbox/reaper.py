"""Leftover sandbox containers: who owns each one, and removing those whose owner process is gone.

Every sandbox container carries labels naming the process that created it: host name, pid, the
pid's start time (so a recycled pid is not taken for the owner) and the boot id. A container is an
orphan when its owner is on this host and that process no longer runs; `prune` removes orphans
(`everything=True`: every sandbox container, live runs' too). Containers of other hosts, and
containers made before owners were recorded, are left alone unless `everything` is set.

A container that runs training jobs also names its sandbox's state folder (OWNER_STATE); the process that opens
that state folder last (a resumed run) records itself there (`write_owner`) and so owns the container too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox import engine
from common.procs import process_start

log = logging.getLogger(__name__)

LABEL = "org.evoforge.sandbox"            # on every sandbox container (value: the image tag)
OWNER_HOST = "org.evoforge.owner.host"
OWNER_PID = "org.evoforge.owner.pid"
OWNER_START = "org.evoforge.owner.start"   # the pid's start time in clock ticks since boot (/proc/PID/stat)
OWNER_BOOT = "org.evoforge.owner.boot"     # /proc/sys/kernel/random/boot_id
OWNER_STATE = "org.evoforge.sandbox.state"  # the sandbox's state folder on the host (its jobs' records)
STATE_OWNER = "owner.json"                  # in that folder: the owner labels of the process that opened it last


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def owner_labels(pid: int | None = None) -> dict[str, str]:
    """The owner labels for a container made by process `pid` (this process by default)."""
    pid = os.getpid() if pid is None else int(pid)
    return {OWNER_HOST: socket.gethostname(), OWNER_PID: str(pid), OWNER_START: process_start(pid) or "",
            OWNER_BOOT: _boot_id()}


def write_owner(state_dir: Path) -> None:
    """Record this process as the owner of a sandbox state folder (and so of its container)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{STATE_OWNER}.tmp"
    tmp.write_text(json.dumps(owner_labels()))
    os.replace(tmp, state_dir / STATE_OWNER)


def _state_owner(labels: dict[str, str]) -> dict[str, str]:
    """The owner labels recorded in the container's state folder ({} when none)."""
    state = labels.get(OWNER_STATE)
    if not state:
        return {}
    try:
        data = json.loads((Path(state) / STATE_OWNER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_mine(labels: dict[str, str], state_dir: Path | None = None) -> bool:
    """Whether the labels (or, for the container of `state_dir`, its state folder) name this very process."""
    mine = owner_labels()
    if all(labels.get(k) == v for k, v in mine.items()):
        return True
    if state_dir is None or labels.get(OWNER_STATE) != str(state_dir):
        return False
    recorded = _state_owner(labels)
    return all(recorded.get(k) == v for k, v in mine.items())


def owner_state(labels: dict[str, str]) -> str:
    """"alive", "dead" (owner on this host, process gone), "other-host" or "unknown" (no owner labels). A container
    whose state folder names a live later owner (a resumed run) is "alive"."""
    later = _state_owner(labels)
    if later and later.get(OWNER_PID) != labels.get(OWNER_PID) and _own_state(later) == "alive":
        return "alive"
    return _own_state(labels)


def _own_state(labels: dict[str, str]) -> str:
    pid = labels.get(OWNER_PID)
    if not pid or not labels.get(OWNER_HOST):
        return "unknown"
    if labels[OWNER_HOST] != socket.gethostname():
        return "other-host"
    boot = labels.get(OWNER_BOOT)
    if boot and _boot_id() and boot != _boot_id():
        return "dead"                   # made before the last reboot
    try:
        start = process_start(int(pid))
    except ValueError:
        return "unknown"
    if start is None:
        return "dead"
    if labels.get(OWNER_START) and start and start != labels[OWNER_START]:
        return "dead"                   # the pid now belongs to another process
    return "alive"


@dataclass
class SandboxContainer:
    """One sandbox container as prune sees it."""

    name: str
    id: str
    status: str
    owner_pid: str
    owner_host: str
    owner: str                           # owner_state(...)
    removed: bool = False
    error: str = ""

    def to_dict(self) -> dict:
        """JSON-able form."""
        return dict(self.__dict__)


def _client(timeout: int = 30):
    c = engine.client()
    c.api.timeout = timeout
    return c


def list_containers(client=None) -> list[SandboxContainer]:
    """Every sandbox container on the engine (running or not), with its owner's state."""
    client = client or _client()
    out = []
    for c in client.containers.list(all=True, filters={"label": LABEL}):
        labels = c.labels or {}
        out.append(SandboxContainer(name=c.name, id=c.short_id, status=c.status, owner_pid=labels.get(OWNER_PID, ""),
                                    owner_host=labels.get(OWNER_HOST, ""), owner=owner_state(labels)))
    return out


def would_remove(c: SandboxContainer, everything: bool = False) -> bool:
    """Whether prune removes this container: its owner is gone (or `everything`)."""
    return everything or c.owner == "dead"


def prune(everything: bool = False, dry_run: bool = False, client=None) -> list[SandboxContainer]:
    """Remove orphaned sandbox containers (all of them with `everything`); returns every one seen, marked."""
    from docker.errors import DockerException, NotFound

    client = client or _client()
    seen = list_containers(client)
    for c in seen:
        if dry_run or not would_remove(c, everything):
            continue
        try:
            client.containers.get(c.id).remove(force=True)
            c.removed = True
        except NotFound:
            c.removed = True            # gone meanwhile
        except DockerException as exc:
            c.error = str(exc)
    return seen


def reap_orphans() -> list[SandboxContainer]:
    """prune() of orphans at the start of a run; never raises (no engine, no docker package: nothing done)."""
    if not engine.engine_configured():   # reaping is tried only where an engine is set up
        return []
    try:
        removed = [c for c in prune(client=_client(timeout=10)) if c.removed]
    except Exception as exc:  # noqa: BLE001 - housekeeping must never stop a run
        log.info("could not check for leftover sandbox containers: %s", exc)
        return []
    for c in removed:
        log.info("removed leftover sandbox container %s (owner pid %s is gone)", c.name, c.owner_pid)
    return removed
