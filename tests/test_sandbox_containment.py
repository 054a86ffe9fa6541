"""Containment battery run against both isolating sandboxes (local = bubblewrap, docker): each abuse is
contained, reported, and the sandbox goes on. (unsafe-local contains none of this: test_sandbox_local.py.)"""

from __future__ import annotations

import time

import pytest

from tests.test_sandbox_helpers import SECRET, open_sandbox

KINDS = [pytest.param("local", id="local"), pytest.param("docker", id="docker", marks=pytest.mark.docker)]


@pytest.fixture(params=KINDS)
def box(request, tmp_path):
    sb, ws, public, private = open_sandbox(request.param, tmp_path)
    yield sb, ws, public, private
    sb.close()


def still_works(sb) -> None:
    r = sb.exec("echo alive && ls \"$DATA_DIR\"", timeout=30)
    assert r.exit_code == 0 and "alive" in r.output and "train.csv" in r.output, r


def live_marked(sb, marker: str) -> list[str]:
    """Command lines of processes in the sandbox that carry the marker."""
    r = sb.exec("ps -eo args= 2>/dev/null || cat /proc/[0-9]*/cmdline | tr '\\0' ' '", timeout=30)
    return [ln for ln in r.output.splitlines() if marker in ln and "ps -eo" not in ln]


def test_endless_loop_times_out(box):
    sb = box[0]
    t0 = time.monotonic()
    r = sb.exec("while :; do :; done", timeout=1.0)
    assert r.timed_out and r.killed_reason == "timeout" and r.exit_code == 124
    assert time.monotonic() - t0 < 8
    still_works(sb)


def test_timeout_kills_whole_tree_including_background_and_setsid(box):
    sb = box[0]
    r = sb.exec("sleep 3017 & (sleep 3017 &) ; setsid sleep 3017 & echo spawned; sleep 3017", timeout=1.5)
    assert r.timed_out and "spawned" in r.output
    assert live_marked(sb, "sleep 3017") == []
    still_works(sb)


def test_background_child_does_not_outlive_its_command(box):
    sb = box[0]
    t0 = time.monotonic()
    r = sb.exec("sleep 3018 & echo started", timeout=20)
    assert r.exit_code == 0 and "started" in r.output and not r.timed_out
    assert time.monotonic() - t0 < 10      # the held-open output pipe did not block the call
    assert live_marked(sb, "sleep 3018") == []


def test_allocation_past_memory_limit_is_reported(box):
    sb = box[0]
    r = sb.exec("python3 -c \"b = b'x' * (900 * 1024 * 1024); print(len(b))\"", timeout=60)
    assert r.exit_code != 0 and r.killed_reason == "out of memory", r
    assert "943718400" not in r.output
    still_works(sb)


def test_fork_bomb_is_contained(box):
    sb = box[0]
    r = sb.exec(":(){ :|:& };:; sleep 5", timeout=6)
    assert r.timed_out or r.killed_reason == "pids limit", r
    time.sleep(0.5)
    left = sb.exec("ps -e --no-headers | wc -l", timeout=30).output.strip()
    assert int(left) < 10, left           # init (and keeper), the ps pipeline: no bomb leftovers
    still_works(sb)


def test_write_outside_workspace_is_refused(box):
    sb, ws, public, _ = box
    for target in (f"{sb.data_path}/evil.txt", "/etc/evil.txt", "/evil.txt", "/usr/evil.txt"):
        r = sb.exec(f"echo pwned > {target}", timeout=30)
        assert r.exit_code != 0 and "Read-only file system" in r.output, (target, r)
    assert not (public / "evil.txt").exists()
    r = sb.exec(f"echo fine > {sb.workspace_path}/ok.txt && cat ok.txt", timeout=30)
    assert r.exit_code == 0 and (ws / "ok.txt").read_text() == "fine\n"


def test_private_answers_are_unreachable(box):
    sb, _, public, private = box
    for cmd in (f"cat {private}/answers.csv", f"cat {sb.data_path}/../private/answers.csv"):
        r = sb.exec(cmd, timeout=30)
        assert r.exit_code != 0 and SECRET not in r.output, (cmd, r)
    r = sb.exec("grep -rs private-answer /data /workspace /tmp /home /root /mnt /media /srv /opt /run /var", timeout=60)
    assert r.exit_code == 1 and SECRET not in r.output, r          # grep: 1 = searched, nothing found
    r = sb.exec("find / -xdev -name 'answers*' 2>/dev/null; ls -a /data", timeout=60)
    assert "answers" not in r.output and "train.csv" in r.output, r
    still_works(sb)
