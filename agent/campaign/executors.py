"""Where attempts run: local processes (the default), or tasks on a Ray cluster (`--executor ray`).

An executor launches the worker (`python -m agent.campaign.worker DIR TASK SEED`) for an attempt, tells
whether it still runs (its exit status once it has ended) and stops it. What an attempt achieved is never
taken from the executor: it is read from the attempt's run record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from agent.campaign.spec import CampaignSpec
from agent.campaign.store import CampaignStore, lock_holder
from common import paths
from common.errors import UserError
from common.procs import pid_alive, process_start

GONE = -1000          # the process ended, but not as our child: its exit status is unknown


def worker_command(store: CampaignStore, task: str, seed: int) -> list[str]:
    """The command line of the process that works one attempt."""
    return [sys.executable, "-m", "agent.campaign.worker", str(store.root), task, str(seed)]


def worker_env(store: CampaignStore, spec: CampaignSpec) -> dict[str, str]:
    """The worker's environment: ours (DOCKER_HOST, the model endpoint, …) with the campaign's runs folder,
    scaffold and memory."""
    env = dict(os.environ)
    env.update(EVOFORGE_RUNS=str(store.attempts_dir), EVOFORGE_SCAFFOLD=str(spec.scaffold_path().resolve()),
               EVOFORGE_MEMORY=str(spec.memory_path().resolve()), PYTHONUNBUFFERED="1")
    return env


class Executor(Protocol):
    """Launches, polls and stops attempt processes."""

    def launch(self, store: CampaignStore, row: dict, env: dict[str, str]) -> dict[str, Any]:
        """Start the attempt's worker; returns what to record about it (pid, pid_start, handle)."""
        ...

    def adopt(self, store: CampaignStore, row: dict) -> bool:
        """Take over an attempt recorded as running by an earlier supervisor; False when nothing works it now."""
        ...

    def poll(self, store: CampaignStore, row: dict) -> int | None:
        """The worker's exit status (GONE when unknown) once it has ended; None while it runs."""
        ...

    def terminate(self, store: CampaignStore, row: dict) -> None:
        """Ask the worker to stop (it saves its state; the attempt resumes later)."""
        ...

    def kill(self, store: CampaignStore, row: dict) -> None:
        """End a worker that did not stop when asked, with everything it started."""
        ...

    def close(self) -> None:
        """Release the executor."""
        ...


class LocalExecutor:
    """Each attempt a process of this machine, in its own session (the terminal's Ctrl-C goes to the
    supervisor, which stops them in order). Workers outlive a killed supervisor; the next one adopts them."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}

    def launch(self, store: CampaignStore, row: dict, env: dict[str, str]) -> dict[str, Any]:
        """Start the worker process, its output appended to the attempt's log."""
        log = store.log_path(row["run_id"])
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(worker_command(store, row["task"], row["seed"]), env=env, cwd=paths.ROOT,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.children[row["key"]] = proc
        return {"pid": proc.pid, "pid_start": process_start(proc.pid)}

    def adopt(self, store: CampaignStore, row: dict) -> bool:
        """Whether a live process holds the attempt's lock (then it is watched through that lock)."""
        return lock_holder(store.lock_path(row["run_id"])) is not None or (
            bool(row.get("pid")) and pid_alive(row["pid"], row.get("pid_start")) and row["key"] not in self.children
            and _is_worker(row["pid"]))

    def poll(self, store: CampaignStore, row: dict) -> int | None:
        """The exit status of our child; for an adopted worker, GONE once its lock is free and its pid gone."""
        proc = self.children.get(row["key"])
        if proc is not None:
            code = proc.poll()
            if code is not None:
                del self.children[row["key"]]
            return code
        if self.adopt(store, row):
            return None
        return GONE

    def terminate(self, store: CampaignStore, row: dict) -> None:
        """SIGTERM the worker (it saves its state and exits 130)."""
        for p, _ in _worker_pids(store, row):
            try:
                os.kill(int(p), signal.SIGTERM)
            except ProcessLookupError:
                pass

    def kill(self, store: CampaignStore, row: dict) -> None:
        """SIGKILL the worker's process group (it leads its own session: the sandbox's processes go with it)."""
        for p, _ in _worker_pids(store, row):
            try:
                os.killpg(int(p), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Nothing to release (children keep running if the supervisor goes)."""


def _worker_pids(store: CampaignStore, row: dict) -> list[tuple[int, str | None]]:
    """The live processes that work an attempt: the one launched, and the one holding its lock."""
    holder = lock_holder(store.lock_path(row["run_id"])) or {}
    found = [(p, s) for p, s in ((row.get("pid"), row.get("pid_start")), (holder.get("pid"), holder.get("pid_start")))
             if p and pid_alive(p, s)]
    return list(dict.fromkeys(found))


def _is_worker(pid: int) -> bool:
    try:
        return b"agent.campaign.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _run_on_ray(cmd: list[str], env: dict[str, str], cwd: str, log: str) -> int:
    """Body of the Ray task: run the worker, stopping it (SIGTERM, then SIGKILL) when the task is cancelled."""
    import ctypes

    def die_with_parent() -> None:            # the worker ends if the Ray worker running it is killed
        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
        except OSError:
            pass

    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        try:
            return proc.wait()
        except BaseException:                 # cancelled (KeyboardInterrupt) or the worker is shutting down
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait()


class RayExecutor:
    """Each attempt a Ray task (one CPU) that runs the worker on whichever node Ray picks. The campaign's
    folder must be on storage every node sees at the same path. Tasks die with the supervisor (Ray's
    ownership); the next supervisor resumes their attempts from their checkpoints."""

    def __init__(self, address: str | None) -> None:
        try:
            import ray
        except ModuleNotFoundError:
            raise UserError("--executor ray needs Ray: pip install 'evoforge[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_run_on_ray)
        self.refs: dict[str, Any] = {}

    def launch(self, store: CampaignStore, row: dict, env: dict[str, str]) -> dict[str, Any]:
        """Submit the attempt's task."""
        ref = self.remote.remote(worker_command(store, row["task"], row["seed"]), env, str(paths.ROOT),
                                 str(store.log_path(row["run_id"])))
        self.refs[row["key"]] = ref
        return {"pid": None, "pid_start": None, "handle": ref.hex()}

    def adopt(self, store: CampaignStore, row: dict) -> bool:
        """Tasks of an earlier supervisor died with it; a worker still on this machine is watched by its lock."""
        return lock_holder(store.lock_path(row["run_id"])) is not None

    def poll(self, store: CampaignStore, row: dict) -> int | None:
        """The task's return value (the worker's exit status) once it is done."""
        ref = self.refs.get(row["key"])
        if ref is None:
            return None if self.adopt(store, row) else GONE
        ready, _ = self.ray.wait([ref], timeout=0)
        if not ready:
            return None
        del self.refs[row["key"]]
        try:
            return int(self.ray.get(ref))
        except Exception:  # noqa: BLE001 - a task that died (node lost, worker killed) reads as gone
            return GONE

    def terminate(self, store: CampaignStore, row: dict) -> None:
        """Cancel the task (the worker gets SIGTERM and saves its state)."""
        ref = self.refs.get(row["key"])
        if ref is not None:
            self.ray.cancel(ref, force=False)

    def kill(self, store: CampaignStore, row: dict) -> None:
        """Cancel the task by force (its Ray worker dies; the worker process dies with its parent)."""
        ref = self.refs.get(row["key"])
        if ref is not None:
            self.ray.cancel(ref, force=True)

    def close(self) -> None:
        """Leave the cluster."""
        self.ray.shutdown()


def make_executor(spec: CampaignSpec) -> Executor:
    """The executor the campaign's spec names."""
    if spec.executor == "ray":
        return RayExecutor(spec.ray_address)
    return LocalExecutor()
