"""Leftover sandbox containers against a real engine: owner labels, `evoforge sandbox prune`, reaping when
`evoforge run`/`resume` starts, and a resumed run replacing the container its killed process left."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from agent.sandbox import SandboxError, make_sandbox
from agent.sandbox.reaper import LABEL, OWNER_HOST, OWNER_PID, OWNER_START, is_mine, owner_labels, owner_state
from tests.test_sandbox_helpers import layout, require_docker, small_limits

pytestmark = pytest.mark.docker
EVOFORGE = [str(Path(sys.executable).parent / "evoforge")]


def _client():
    from agent.sandbox.engine import client

    return client()


def _dead_owner() -> dict[str, str]:
    """Owner labels of a process that ran (its real pid and start time) and has exited since."""
    p = subprocess.Popen(["sleep", "30"])
    labels = owner_labels(p.pid)
    p.kill()
    p.wait()
    assert owner_state(labels) == "dead"
    return labels


@pytest.fixture
def containers():
    """Start sandbox-image containers with given owner labels; removes whatever is left at the end."""
    require_docker()
    from agent.sandbox.image import image_tag

    client, made = _client(), []

    def start(owner: dict[str, str], name: str | None = None, **kw):
        name = name or "evoforge-test-" + secrets.token_hex(4)
        c = client.containers.run(image_tag(), ["sleep", "infinity"], name=name, detach=True, network_mode="none",
                                  labels={LABEL: image_tag(), **owner}, **kw)
        made.append(c.id)
        return c

    yield start
    for cid in made:
        try:
            client.containers.get(cid).remove(force=True)
        except Exception:  # noqa: BLE001 - already removed by the test
            pass


def _exists(cid: str) -> bool:
    from docker.errors import NotFound

    try:
        _client().containers.get(cid)
        return True
    except NotFound:
        return False


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(EVOFORGE + list(args), capture_output=True, text=True, timeout=120, env=dict(os.environ))


def test_prune_removes_only_containers_whose_owner_is_gone(containers):
    live = subprocess.Popen(["sleep", "120"])
    try:
        dead = containers(_dead_owner())
        alive = containers(owner_labels(live.pid))
        recycled = containers(dict(owner_labels(os.getpid()), **{OWNER_START: "1"}))   # same pid, other process
        elsewhere = containers(dict(owner_labels(live.pid), **{OWNER_HOST: "another-host"}))
        unknown = containers({})                                                       # made before owner labels
        ours = {c.name: c for c in (dead, alive, recycled, elsewhere, unknown)}

        listed = {r["name"]: r for r in json.loads(_cli("sandbox", "prune", "--dry-run", "--json").stdout)}
        assert {n: listed[n]["owner"] for n in ours} == {
            dead.name: "dead", alive.name: "alive", recycled.name: "dead", elsewhere.name: "other-host",
            unknown.name: "unknown"}
        assert all(_exists(c.id) for c in ours.values())                               # a dry run removes nothing
        assert {n for n in ours if listed[n]["would_remove"]} == {dead.name, recycled.name}

        r = _cli("sandbox", "prune", "--json")
        assert r.returncode == 0, r.stderr
        rows = {x["name"]: x for x in json.loads(r.stdout)}
        assert {n for n in ours if rows[n]["removed"]} == {dead.name, recycled.name}
        assert not _exists(dead.id) and not _exists(recycled.id)
        assert _exists(alive.id) and _exists(elsewhere.id) and _exists(unknown.id)

        everything = {x["name"]: x for x in json.loads(_cli("sandbox", "prune", "--all", "--dry-run", "--json").stdout)}
        assert all(everything[n]["would_remove"] for n in (alive.name, elsewhere.name, unknown.name))
    finally:
        live.kill()
        live.wait()


def test_run_and_resume_reap_leftovers_when_they_start(containers, tmp_path):
    dead = containers(_dead_owner())
    mine = containers(owner_labels(os.getpid()))
    env = dict(os.environ, EVOFORGE_RUNS=str(tmp_path / "runs"))
    r = subprocess.run(EVOFORGE + ["resume", "no-such-run"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "no run 'no-such-run'" in r.stderr            # it still fails as before …
    assert "leftover sandbox container" in r.stderr and dead.name in r.stderr  # … after reaping the leftover
    assert not _exists(dead.id) and _exists(mine.id)


def test_a_new_process_replaces_the_container_a_killed_one_left(containers, tmp_path):
    ws, public, _ = layout(tmp_path)
    name = "evoforge-test-" + secrets.token_hex(4)
    mounts = {"volumes": {str(public.resolve()): {"bind": "/data", "mode": "ro"},
                          str(ws.resolve()): {"bind": "/workspace", "mode": "rw"}}}
    ws.mkdir(exist_ok=True)
    left = containers(_dead_owner(), name=name, **mounts)
    sb = make_sandbox("docker", ws, public, limits=small_limits(), name=name)
    try:
        assert sb.id != left.id and not _exists(left.id)
        sb.container.reload()
        assert is_mine(sb.container.labels) and sb.container.labels[OWNER_PID] == str(os.getpid())
        assert sb.exec("echo fresh").output == "fresh\n"
    finally:
        sb.close()


def test_a_container_of_a_live_process_is_never_taken_over(containers, tmp_path):
    ws, public, _ = layout(tmp_path)
    ws.mkdir(exist_ok=True)
    live = subprocess.Popen(["sleep", "120"])
    try:
        name = "evoforge-test-" + secrets.token_hex(4)
        held = containers(owner_labels(live.pid), name=name)
        with pytest.raises(SandboxError, match="still running"):
            make_sandbox("docker", ws, public, limits=small_limits(), name=name)
        assert _exists(held.id)
    finally:
        live.kill()
        live.wait()
