"""The local sandbox (bubblewrap): what a command sees, environment, output, exit codes, limits, lifetime;
the unsafe-local kind; and how `auto` picks a sandbox."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from agent.sandbox import SandboxError, docker_available, local_available, make_sandbox
from agent.sandbox.image import image_tag, rootfs_dir
from tests.test_sandbox_helpers import SECRET, layout, small_limits

pytestmark = pytest.mark.skipif(not local_available()[0], reason=f"bwrap unusable here: {local_available()[1]}")


@pytest.fixture
def local(tmp_path):
    ws, public, private = layout(tmp_path)
    sb = make_sandbox("local", ws, public, limits=small_limits(memory_mb=1024))
    yield sb, ws, public, private
    sb.close()


def test_sees_only_its_mounts_and_a_scrubbed_env(local, monkeypatch, tmp_path):
    sb, ws, public, private = local
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also-secret")
    assert (sb.kind, sb.data_path, sb.workspace_path) == ("local", "/data", "/workspace")
    r = sb.exec("pwd; id -u; env; cat /proc/1/environ /proc/1/cmdline | tr '\\0' '\\n'; ls /data; ls -a /")
    assert r.exit_code == 0, r
    lines = r.output.splitlines()
    assert lines[:2] == ["/workspace", "1000"] and "train.csv" in lines
    for kv in ("DATA_DIR=/data", "WORKSPACE=/workspace", "HOME=/workspace", "PYTHONUNBUFFERED=1", "OMP_NUM_THREADS=1"):
        assert kv in lines
    assert "sk-should-not-leak" not in r.output and "also-secret" not in r.output
    assert str(tmp_path) not in r.output                  # no host path in pid 1's command line or environment
    for host_only in ("home", "root", "work"):
        assert sb.exec(f"ls /{host_only} 2>&1").output.strip() in ("", f"ls: cannot access '/{host_only}': "
                                                                   "No such file or directory")
    r = sb.exec(f"cat {private}/answers.csv; ls {tmp_path}", timeout=30)
    assert r.exit_code != 0 and SECRET not in r.output


def test_runs_on_the_image_rootfs_with_the_ml_stack(local):
    if not (rootfs_dir() / "usr" / "bin").is_dir():
        pytest.skip(f"no sandbox rootfs at {rootfs_dir()} (scripts/build-sandbox-image.sh builds it)")
    sb = local[0]
    assert "Debian rootfs" in sb.isolation
    r = sb.exec("cat /etc/evoforge-sandbox-image; python -c 'import numpy, pandas, sklearn; print(numpy.ones(3).sum())'",
                timeout=120)
    assert r.exit_code == 0 and r.output.splitlines() == [image_tag(), "3.0"], r


def test_without_rootfs_falls_back_to_host_system_folders(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("EVOFORGE_ROOTFS", str(tmp_path / "no-rootfs"))
    ws, public, _ = layout(tmp_path)
    with caplog.at_level(logging.WARNING):
        sb = make_sandbox("local", ws, public, limits=small_limits())
    try:
        assert "host's system folders" in caplog.text and "build-sandbox-image.sh" in caplog.text
        assert "host" in sb.isolation
        r = sb.exec("ls /; python3 -c 'print(1 + 1)'; touch /usr/x 2>&1; touch /x 2>&1")
        assert "2" in r.output.splitlines() and r.output.count("Read-only file system") == 2, r
        assert "root" not in r.output.split() and "home" not in r.output.split()
    finally:
        sb.close()


def test_exit_code_and_interleaved_output(local):
    sb = local[0]
    r = sb.exec("echo a; echo b >&2; echo c; exit 3")
    assert (r.exit_code, r.output, r.timed_out, r.killed_reason) == (3, "a\nb\nc\n", False, None)
    assert r.duration_s > 0
    assert sb.exec("kill -TERM $$").exit_code == 128 + 15


def test_output_is_cut_head_and_tail(local):
    r = local[0].exec("python3 -c \"print('H' + 'a' * 200000 + 'T')\"")
    assert r.exit_code == 0 and len(r.output) < 21000
    assert r.output.startswith("H") and r.output.rstrip().endswith("T") and "bytes of output cut" in r.output


def test_file_size_limit(tmp_path):
    ws, public, _ = layout(tmp_path)
    sb = make_sandbox("local", ws, public, limits=small_limits(file_size_mb=1))
    try:
        r = sb.exec("head -c 5000000 /dev/zero > big.bin")
        assert r.exit_code != 0 and r.killed_reason == "file size limit", r
        assert (ws / "big.bin").stat().st_size <= 1024 * 1024
        assert sb.exec("echo ok").output == "ok\n"
    finally:
        sb.close()


def test_workspace_disk_limit_stops_a_filler_and_rm_still_works(tmp_path):
    ws, public, _ = layout(tmp_path)
    sb = make_sandbox("local", ws, public, limits=small_limits(disk_mb=8))
    try:
        r = sb.exec("i=0; while :; do i=$((i+1)); head -c 1000000 /dev/urandom > f$i; done", timeout=60)
        assert r.killed_reason == "disk limit" and "workspace disk limit" in r.output, r
        used = sum(p.stat().st_blocks * 512 for p in ws.iterdir())
        assert 8 << 20 < used < 400 << 20
        r = sb.exec("rm -f f*; ls | wc -l")
        assert r.exit_code == 0 and r.killed_reason is None and r.output.strip() == "0"
    finally:
        sb.close()


def test_nothing_outlives_its_command_and_tmp_is_fresh(local):
    sb = local[0]
    t0 = time.monotonic()
    r = sb.exec("echo x > /tmp/t; sleep 3019 & (setsid sleep 3019 &); nohup sleep 3019 >/dev/null 2>&1 & echo up",
                timeout=20)
    assert r.exit_code == 0 and r.output == "up\n" and time.monotonic() - t0 < 10
    r = sb.exec("ps -eo args=; cat /tmp/t 2>&1")
    assert "sleep 3019" not in r.output and "No such file" in r.output
    host = subprocess.run(["pgrep", "-f", "sleep 3019"], capture_output=True, text=True)
    assert host.stdout.strip() == ""


def test_close_kills_a_running_command(local):
    sb = local[0]
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", sb.exec("sleep 30; echo late", timeout=60)))
    t.start()
    time.sleep(0.5)
    sb.close()
    t.join(10)
    assert not t.is_alive() and "late" not in out["r"].output and out["r"].exit_code != 0
    with pytest.raises(SandboxError, match="closed"):
        sb.exec("echo again")


def test_process_limit_binds_even_as_root(tmp_path):
    ws, public, _ = layout(tmp_path)
    sb = make_sandbox("local", ws, public, limits=small_limits(pids=20))
    try:
        r = sb.exec("for i in $(seq 60); do sleep 2 & done; wait", timeout=20)
        assert r.killed_reason == "pids limit", r
    finally:
        sb.close()


def test_make_sandbox_choices(tmp_path):
    ws, public, _ = layout(tmp_path)
    ok, _why = docker_available()
    sb = make_sandbox("auto", ws, public)
    try:
        assert sb.kind == ("docker" if ok else "local")
    finally:
        sb.close()
    with pytest.raises(SandboxError, match="unknown sandbox"):
        make_sandbox("vm", ws, public)
    with pytest.raises(SandboxError, match="does not exist"):
        make_sandbox("local", ws, tmp_path / "missing")
    if not ok:
        with pytest.raises(SandboxError, match="docker sandbox unavailable"):
            make_sandbox("docker", ws, public)


def test_auto_without_docker_is_local_and_says_so(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    ok, why = docker_available()
    assert not ok and "no Docker engine answers" in why and "docker-engine.sh" in why
    ws, public, _ = layout(tmp_path)
    with caplog.at_level(logging.WARNING):
        sb = make_sandbox("auto", ws, public, limits=small_limits())
    sb.close()
    assert sb.kind == "local" and "using the local bubblewrap sandbox" in caplog.text


def test_auto_never_falls_back_to_unsafe_local(monkeypatch, tmp_path):
    import agent.sandbox.factory as factory

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setattr(factory, "local_available", lambda: (False, "bubblewrap is not installed"))
    ws, public, _ = layout(tmp_path)
    with pytest.raises(SandboxError) as err:
        make_sandbox("auto", ws, public)
    msg = str(err.value)
    assert "no isolating sandbox" in msg and "bubblewrap" in msg and "docker-engine.sh" in msg
    assert len(msg.splitlines()) == 1


def test_unsafe_local_warns_and_is_not_contained(tmp_path, caplog):
    ws, public, private = layout(tmp_path)
    with caplog.at_level(logging.WARNING):
        sb = make_sandbox("unsafe-local", ws, public, limits=small_limits())
    try:
        assert "WITHOUT ISOLATION" in caplog.text
        assert sb.kind == "unsafe-local" and sb.data_path == str(public.resolve())
        r = sb.exec(f"cat {private}/answers.csv")        # documented: nothing stops it
        assert r.exit_code == 0 and SECRET in r.output
    finally:
        sb.close()


NON_ROOT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from agent.sandbox import Limits, make_sandbox
box = Path(sys.argv[2])
sb = make_sandbox("local", box / "ws", box / "public", Limits(memory_mb=512, pids=40, disk_mb=20))
assert sb.cgroup is None, sb.cgroup
print("limits", " ".join(sb.exec("ulimit -u; ulimit -v").output.split()))
print("bomb", sb.exec(":(){ :|:& };:; sleep 2", timeout=20).killed_reason)
print("hog", sb.exec("python3 -c 'b = bytearray(900 << 20)'").killed_reason)
sb.close()
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists(),
                    reason="needs root (to become another user), setpriv and /usr/bin/python3")
def test_non_root_user_gets_rlimits_that_bind():
    """As a regular user no cgroup is made: RLIMIT_NPROC set inside the user namespace and RLIMIT_AS bind."""
    checkout = Path(__file__).resolve().parent.parent
    home = Path(tempfile.mkdtemp(prefix="evoforge-nonroot-", dir="/tmp"))   # pytest's tmp_path is root-only
    try:
        (home / "box" / "public").mkdir(parents=True)
        for p in (home, home / "box", home / "box" / "public"):
            os.chown(p, 60123, 60123)
        if subprocess.run(["setpriv", "--reuid", "60123", "--regid", "60123", "--clear-groups", "test", "-r",
                           str(checkout / "agent" / "sandbox" / "bwrap.py")]).returncode != 0:
            pytest.skip(f"the checkout {checkout} is not readable by another user")
        r = subprocess.run(["setpriv", "--reuid", "60123", "--regid", "60123", "--clear-groups", "/usr/bin/python3",
                            "-c", NON_ROOT, str(checkout), str(home / "box")], capture_output=True, text=True,
                           timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(home)})
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert lines == {"limits": "40 524288", "bomb": "pids limit", "hog": "out of memory"}, r.stdout
