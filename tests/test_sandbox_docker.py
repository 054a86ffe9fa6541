"""The docker sandbox against a real engine: isolation settings, mounts, env, re-attach, OOM, the ML stack."""

from __future__ import annotations

import os
import secrets

import pytest

from agent.sandbox import make_sandbox
from tests.test_sandbox_helpers import layout, require_docker, small_limits

pytestmark = pytest.mark.docker


@pytest.fixture
def dock(tmp_path):
    require_docker()
    ws, public, private = layout(tmp_path)
    sb = make_sandbox("docker", ws, public, limits=small_limits(memory_mb=512))
    yield sb, ws, public
    sb.close()


def test_paths_env_and_no_secrets(dock, monkeypatch):
    sb, ws, public = dock
    assert (sb.kind, sb.data_path, sb.workspace_path) == ("docker", "/data", "/workspace")
    r = sb.exec("pwd; env; ls /data")
    assert r.exit_code == 0, r
    lines = r.output.splitlines()
    assert lines[0] == "/workspace" and "train.csv" in lines
    for kv in ("DATA_DIR=/data", "WORKSPACE=/workspace", "HOME=/workspace", "PYTHONUNBUFFERED=1"):
        assert kv in lines
    assert not any(ln.startswith("OPENAI_") for ln in lines)


def test_locked_down(dock):
    sb = dock[0]
    r = sb.exec("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; ls /sys/class/net; id -u")
    assert "CapEff:\t0000000000000000" in r.output and "NoNewPrivs:\t1" in r.output, r.output
    assert r.output.split("\n")[2:3] == ["lo"]          # no interface but loopback
    assert r.output.split()[-1] == str(os.getuid())      # files in the workspace stay the user's
    net = sb.exec("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\"")
    assert net.exit_code != 0 and "Network is unreachable" in net.output
    mounts = sb.exec("awk '$2 ~ /^\\/(data|workspace)$/ {print $2, substr($4, 1, 2)}' /proc/mounts").output.split("\n")
    assert "/data ro" in mounts and "/workspace rw" in mounts


def test_workspace_round_trip_with_host(dock):
    sb, ws, _ = dock
    (ws / "from_host.txt").write_text("hello\n")
    r = sb.exec("cat from_host.txt && echo back > from_box.txt")
    assert r.output == "hello\n" and (ws / "from_box.txt").read_text() == "back\n"
    assert (ws / "from_box.txt").stat().st_uid == os.getuid()


def test_exit_code_order_and_cut_output(dock):
    sb = dock[0]
    r = sb.exec("echo a; echo b >&2; echo c; exit 3")
    assert (r.exit_code, r.output, r.timed_out, r.killed_reason) == (3, "a\nb\nc\n", False, None)
    r = sb.exec("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo END; exit 4")
    assert r.exit_code == 4 and len(r.output) < 21000 and "bytes of output cut" in r.output, r.output[-300:]
    assert r.output.startswith("xxx") and r.output.endswith("END\n") and "EVOFORGE" not in r.output


def test_ml_stack_is_in_the_image(dock):
    r = dock[0].exec("python -c 'import numpy, pandas, sklearn, scipy, PIL, yaml; print(numpy.ones(3).sum())'",
                     timeout=120)
    assert r.exit_code == 0 and r.output.strip() == "3.0", r


def test_oom_kill_is_reported_and_container_survives(dock):
    sb = dock[0]
    r = sb.exec("python3 -c \"b = b'x' * (2000 * 1024 * 1024)\"", timeout=60)
    assert r.exit_code == 137 and r.killed_reason == "out of memory", r
    assert sb.exec("echo ok").output == "ok\n"


def test_reattach_by_name_after_crash(tmp_path):
    require_docker()
    ws, public, _ = layout(tmp_path)
    name = "test-" + secrets.token_hex(4)
    first = make_sandbox("docker", ws, public, limits=small_limits(), name=name)
    try:
        assert first.exec("echo kept > /tmp/state").exit_code == 0
        # the same process opens the name again: same container, /tmp state still there (a new process
        # gets a fresh container: tests/test_sandbox_reaper.py)
        second = make_sandbox("docker", ws, public, limits=small_limits(), name=name)
        assert second.id == first.id and second.exec("cat /tmp/state").output == "kept\n"
        first.container.stop(timeout=1)            # a stopped container is started again on re-attach
        third = make_sandbox("docker", ws, public, limits=small_limits(), name=name)
        assert third.id == first.id and third.exec("echo up").output == "up\n"
    finally:
        first.close()
    fresh = make_sandbox("docker", ws, public, limits=small_limits(), name=name)
    try:
        assert fresh.id != first.id and fresh.exec("cat /tmp/state").exit_code != 0
    finally:
        fresh.close()


def test_gpus_without_gpu_host_is_a_no_op(tmp_path):
    require_docker()
    from agent.sandbox.base import host_has_nvidia_gpu

    if host_has_nvidia_gpu():
        pytest.skip("this host has an NVIDIA GPU; the no-GPU fallback does not apply")
    ws, public, _ = layout(tmp_path)
    sb = make_sandbox("docker", ws, public, limits=small_limits(gpus=True))
    try:
        assert sb.exec("echo ok").output == "ok\n"
    finally:
        sb.close()


def test_engine_script_prints_only_the_export_line():
    require_docker()
    import subprocess

    from agent.sandbox.image import image_tag
    from common.paths import ROOT

    tag = subprocess.run([ROOT / "scripts" / "build-sandbox-image.sh", "--tag"], capture_output=True, text=True)
    assert tag.stdout.strip() == image_tag()
    r = subprocess.run([ROOT / "scripts" / "docker-engine.sh", "--print-env"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("export DOCKER_HOST=unix://"), r.stdout


def test_missing_image_is_a_clear_reason(monkeypatch):
    require_docker()
    from agent.sandbox import docker_available

    monkeypatch.setenv("EVOFORGE_SANDBOX_IMAGE", "evoforge-sandbox:does-not-exist")
    ok, why = docker_available()
    assert not ok and "evoforge-sandbox:does-not-exist is not built" in why and "build-sandbox-image.sh" in why
