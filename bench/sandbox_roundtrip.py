"""Tool-call round trip of every sandbox kind side by side: `sb.exec("true")` in the local (bubblewrap),
docker and unsafe-local sandboxes against a bare `subprocess.run(["true"])`, all in the same run, calls
interleaved round-robin so that load on a shared machine hits every row alike (aim: local median <= 30 ms).

    DOCKER_HOST=... .venv/bin/python bench/sandbox_roundtrip.py [--n 200] [--warmup 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.sandbox import Limits, docker_available, local_available, make_sandbox  # noqa: E402


def summary(xs: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    xs = sorted(xs)
    return statistics.median(xs) * 1e3, xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1e3


def ok(r) -> None:
    """Fail loudly if the round trip did not run the command."""
    assert r.exit_code == 0, r


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    a = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    root = Path(tempfile.mkdtemp(prefix="evoforge-bench-"))
    (root / "public").mkdir()
    lim = Limits(memory_mb=2048, cpus=1.0, pids=256)
    rows: list[tuple[str, Callable[[], None]]] = [("bare subprocess.run(['true'])",
                                                   lambda: subprocess.run(["true"], check=True))]
    boxes, notes = [], []
    ok_local, why_local = local_available()
    if ok_local:
        local = make_sandbox("local", root / "ws-local", root / "public", limits=lim)
        boxes.append(local)
        rows.append(("local (bubblewrap) exec('true')", lambda: ok(local.exec("true"))))
        notes.append(f"local: {local.isolation}; cgroup: {sorted(local.cgroup.controllers) if local.cgroup else 'none'}")
    else:
        notes.append(f"local: not measured ({why_local})")
    ok_docker, why_docker = docker_available()
    if ok_docker:
        t0 = time.perf_counter()
        dock = make_sandbox("docker", root / "ws-docker", root / "public", limits=lim)
        notes.append(f"docker container start {(time.perf_counter() - t0) * 1e3:.0f} ms")
        boxes.append(dock)
        rows.append(("docker exec('true')", lambda: ok(dock.exec("true"))))
    else:
        notes.append(f"docker: not measured ({why_docker})")
    unsafe = make_sandbox("unsafe-local", root / "ws-unsafe", root / "public", limits=lim)
    boxes.append(unsafe)
    rows.append(("unsafe-local exec('true')", lambda: ok(unsafe.exec("true"))))
    times: dict[str, list[float]] = {name: [] for name, _ in rows}
    for i in range(a.warmup + a.n):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            if i >= a.warmup:
                times[name].append(time.perf_counter() - t0)
    for sb in boxes:
        sb.close()
    base = summary(times[rows[0][0]])[0]
    load = os.getloadavg()[0]
    print(f"# {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
          f"python {platform.python_version()} · uid {os.getuid()} · n={a.n} after {a.warmup} warm-up calls, "
          f"interleaved · load average {load:.1f}")
    print(f"{'what':34s} {'median ms':>10s} {'p95 ms':>9s} {'x bare':>8s}")
    for name, _ in rows:
        med, p95 = summary(times[name])
        print(f"{name:34s} {med:10.2f} {p95:9.2f} {med / base:8.1f}")
    for n in notes:
        print(n)
    if ok_local:
        med = summary(times[rows[1][0]])[0]
        print(f"local round trip aim <= 30 ms: {'met' if med <= 30 else 'NOT met'} (median {med:.1f} ms)")


if __name__ == "__main__":
    main()
