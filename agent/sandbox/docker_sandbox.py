"""The docker sandbox: one long-lived, locked-down container per attempt, commands run with `docker exec`.

The container has no network, capped memory (no swap), CPUs and process count, a read-only
root filesystem (a small tmpfs at /tmp), no capabilities and no-new-privileges. Only two host
folders are mounted: the public data at /data (read-only) and the workspace at /workspace.
Each command runs in its own session inside the container; a timeout kills that whole tree, and
when a command returns every process of the container but its init and keeper is killed, so
nothing a command started (background jobs, `setsid`, double forks) outlives it. The workspace
disk quota watchdog (agent.sandbox.quota) stops a command that fills the workspace.

A container would outlive a killed evoforge (kill -9, a crash) and the command in it would go on writing
into the workspace; so each sandbox starts a small watchdog process on the host (`_WATCHDOG`) that
removes the container as soon as its owner dies (see `Watchdog`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import DeviceRequest

from agent.sandbox.base import (
    PASSTHROUGH_ENV,
    STOPPED,
    ExecResult,
    Limits,
    OutputBuffer,
    SandboxError,
    check_dirs,
    host_has_nvidia_gpu,
    thread_env,
)
from agent.sandbox.engine import client as engine_client
from agent.sandbox.engine import engine_url
from agent.sandbox.image import TRAINER_MOUNTS, image_tag
from agent.sandbox.jobs import JOB_SHELL, Jobs
from agent.sandbox.quota import DiskWatch
from agent.sandbox.reaper import (
    LABEL,
    OWNER_PID,
    OWNER_STATE,
    is_mine,
    owner_labels,
    owner_state,
    write_owner,
)

log = logging.getLogger(__name__)

DATA = "/data"
WORKSPACE = "/workspace"

# Runs every command: stderr joined to stdout (one pipe keeps the order), a new session (its id
# saved so a timeout can kill the tree), then kill every process the command left behind (all but
# pid 1, the keeper $3, the sessions of live jobs $4 ("sid:start ...", the start time checked so a
# recycled pid is no job) and this shell: stopped first, so none can fork meanwhile), then one marker line
# with the exit code and the cgroup's OOM-kill and pids-limit counters before and after. Only shell
# builtins besides setsid and bash, to stay fast.
_WRAP = r"""
exec 2>&1
t=$1; keep=$3; spare=" ${4:-} "; f=/tmp/.evoforge-$t
job() {   # whether process $1 is in the session of a live job ("sid:start" listed in $4, start checked)
  [ "$spare" = "  " ] && return 1
  read -r l < "/proc/$1/stat" 2>/dev/null || return 1
  set -- ${l##*) }
  case "$spare" in *" $4:"*) ;; *) return 1 ;; esac
  s=$4; read -r l < "/proc/$s/stat" 2>/dev/null || return 1
  set -- ${l##*) }
  case "$spare" in *" $s:${20} "*) return 0 ;; esac
  return 1
}
sweep() {
  for r in 1 2 3 4 5 6 7 8; do
    for d in /proc/[0-9]*; do p=${d#/proc/}; case $p in 1|$$|$keep) ;; *) job "$p" || kill -STOP "$p" 2>/dev/null ;; esac; done
    left=0
    for d in /proc/[0-9]*; do p=${d#/proc/}; case $p in 1|$$|$keep) ;; *) job "$p" || { kill -KILL "$p" 2>/dev/null && left=1; } ;; esac; done
    [ $left = 0 ] && return
  done
}
count() { n=0; [ -r "$1" ] && while read -r k v; do [ "$k" = "$2" ] && n=$v; done < "$1"; }
oomf=/sys/fs/cgroup/memory.events; [ -r $oomf ] || oomf=/sys/fs/cgroup/memory/memory.oom_control
pidf=/sys/fs/cgroup/pids.events; [ -r $pidf ] || pidf=/sys/fs/cgroup/pids/pids.events
count $oomf oom_kill; o0=$n; count $pidf max; p0=$n
setsid -w bash -c 'echo $$ > "$0"; exec bash -c "$1"' "$f" "$2"
rc=$?
sweep
rm -f "$f"
count $oomf oom_kill; o1=$n; count $pidf max
printf '\n\036EVOFORGE-%s %s %s %s %s %s\n' "$t" "$rc" "$o0" "$o1" "$p0" "$n"
exit $rc
"""

# Kills a command's session, group and descendants inside the container (run on timeout and close).
_KILL = r"""
import os, signal, sys, time
root = int(sys.argv[1])
for _ in range(50):
    table = {}
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                s = open("/proc/%s/stat" % n, "rb").read()
            except OSError:
                continue
            f = s[s.rfind(b")") + 2:].split()
            if f[0] != b"Z":
                table[int(n)] = (int(f[1]), int(f[2]), int(f[3]))
    found = {p for p, (pp, g, sid) in table.items() if root in (p, g, sid)}
    grew = True
    while grew:
        new = {p for p, (pp, g, sid) in table.items() if pp in found} - found
        found |= new
        grew = bool(new)
    found.discard(os.getpid())
    if not found:
        break
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for p in found:
            try:
                os.kill(p, sig)
            except OSError:
                pass
    time.sleep(0.02)
"""


# Starts a job (agent.sandbox.jobs): a session of its own whose leader announces its pid in /tmp, then becomes the
# job shell (agent.sandbox.jobs.JOB_SHELL: log, deadline). Arguments: token, job shell, log, seconds, argv.
_JOB = r"""
t=$1; js=$2; shift 2
exec setsid -w bash -c 'echo $$ > "/tmp/.evoforge-job-$0"; exec bash -c "$1" evoforge-job "${@:2}"' "$t" "$js" "$@"
"""
# Prints "<sid> <start time> <wrapper sid> <its start time>" of the job announced under token $0 (waits briefly).
_JOB_FIND = r"""
for i in $(seq 100); do [ -s "/tmp/.evoforge-job-$0" ] && break; sleep 0.05; done
read -r s < "/tmp/.evoforge-job-$0" || exit 1
rm -f "/tmp/.evoforge-job-$0"
st=""; pp=""; if read -r l < "/proc/$s/stat"; then set -- ${l##*) }; st=${20}; pp=$2; fi
ws=""; wst=""   # the session of the exec's own process (setsid -w, waiting for the job): spared too
if [ -n "$pp" ] && read -r l < "/proc/$pp/stat"; then set -- ${l##*) }; ws=$4
  if read -r l < "/proc/$ws/stat"; then set -- ${l##*) }; wst=${20}; fi; fi
echo "$s $st $ws $wst"
"""
# Acts on job process $0 only while it is the one that started at $1 ("": unchecked), so a recycled pid is left
# alone: $2 = alive (exit 0 when it runs) | term (SIGTERM to it) | kill (its whole session: the _KILL script, $3).
_JOB_ACT = r"""
p=$0; want=$1; act=$2
read -r l < "/proc/$p/stat" 2>/dev/null || exit 3
set -- ${l##*) } "$3"
[ "$1" = Z ] && exit 3
[ -z "$want" ] || [ "${20}" = "$want" ] || exit 3
case $act in
  alive) exit 0 ;;
  term) kill -s TERM "$p" ;;
  kill) exec python3 -c "${@: -1}" "$p" ;;
esac
"""


# The watchdog: blocks reading a pipe whose write end only the owner holds. The owner writes a byte when it
# closes the sandbox itself; EOF without it means the owner died, and the container is removed, unless the
# sandbox's job records (folder argv[4]) show a training job still before its deadline: that container is left for
# the resumed run to re-attach (the job ends by its own deadline; the reaper removes the orphan).
_WATCHDOG = r"""
import glob, json, os, sys, time
import docker   # loaded beforehand: when the owner dies, only the removal is left to do
fd, container, url, jobs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def job_running(path):
    try:
        with open(path) as f:
            r = json.load(f)
        return r.get("ended") is None and float(r.get("deadline") or 0) > time.time()
    except Exception:
        return False
try:
    closed = os.read(fd, 1)
except OSError:
    closed = b""
if not closed and not any(job_running(p) for p in glob.glob(os.path.join(jobs, "job-*.json"))):
    try:
        c = docker.DockerClient(base_url=url, timeout=30) if url else docker.from_env(timeout=30)
        c.containers.get(container).remove(force=True)
    except Exception:
        pass
"""


class Watchdog:
    """A host process that removes a container when this process dies (kill -9 included) and runs no job (records
    in `jobs_dir`); `disarm` on close."""

    def __init__(self, container: str, jobs_dir: Path) -> None:
        r, self._w = os.pipe()                 # non-inheritable: no child of ours keeps the write end open
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-c", _WATCHDOG, str(r), container, engine_url() or "",
                                          str(jobs_dir)],
                                         pass_fds=(r,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(r)

    def disarm(self) -> None:
        """Tell the watchdog the container is taken care of, and let it exit."""
        if self._w < 0:
            return
        try:
            os.write(self._w, b"x")
        except OSError:
            pass
        os.close(self._w)
        self._w = -1
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def container_name(name: str) -> str:
    """A valid container name for a sandbox name (evoforge-<name>, odd characters replaced)."""
    clean = re.sub(r"[^a-zA-Z0-9_.-]", "-", name)[:200]
    return clean if clean.startswith("evoforge-") else "evoforge-" + clean


class DockerSandbox:
    """Run commands in a long-lived container, labelled with its owner process (see agent.sandbox.reaper).

    Opening a name this process already holds re-attaches to that container; a container of the
    name left by a process that is gone (a killed run being resumed) is replaced by a fresh one, so
    nothing the killed process started keeps running, and the owner labels stay true.
    """

    kind = "docker"
    data_path = DATA
    workspace_path = WORKSPACE
    isolation = "a Docker container (no network, read-only root, all capabilities dropped)"

    def __init__(
        self,
        workspace: Path,
        public: Path,
        limits: Limits | None = None,
        name: str | None = None,
        gpus: bool | None = None,
        image: str | None = None,
        env: dict[str, str] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.workspace, self.public = check_dirs(workspace, public)
        self.extra_env = dict(env or {})      # the run's own variables (EVOFORGE_SEED); ours below win
        self.limits = limits or Limits()
        self.name = container_name(name) if name else container_name(secrets.token_hex(6))
        self.gpus = self.limits.gpus if gpus is None else gpus
        self.jobs = Jobs(self, self.kind, state_dir, self.limits.jobs)
        self.state_dir = self.jobs.dir.parent
        self.id = ""
        try:
            self.client = engine_client()
            self.api = self.client.api
            self.image = image or self._pick_image()
            self.container = self._attach() or self._create()
            self.keeper = self._keeper_pid()
        except ImageNotFound as exc:
            raise SandboxError(f"image {self.image} is not built; run scripts/build-sandbox-image.sh") from exc
        except DockerException as exc:
            raise SandboxError(f"cannot start the docker sandbox: {exc}") from exc
        self.id = self.container.id
        self._running: set[str] = set()          # tokens of the commands running now
        self._interrupted: set[str] = set()
        self._lock = threading.Lock()
        self.watchdog = Watchdog(self.id, self.jobs.dir)
        write_owner(self.state_dir)
        self.jobs.reattach()

    def _pick_image(self) -> str:
        """The GPU variant where GPUs are passed through and it is built (scripts/build-sandbox-image.sh --gpu),
        else the CPU image."""
        if self.gpus and host_has_nvidia_gpu():
            try:
                self.client.images.get(image_tag(gpu=True))
                return image_tag(gpu=True)
            except ImageNotFound:
                log.warning("GPUs are passed through but the GPU image %s is not built (scripts/build-sandbox-image.sh "
                            "--gpu); using the CPU image, whose torch cannot use them", image_tag(gpu=True))
        return image_tag()

    # -- container life cycle -------------------------------------------------------------------
    def _volumes(self) -> dict[str, dict[str, str]]:
        """The host folders mounted: public data (ro), workspace (rw), the bundled trainer (ro)."""
        vols = {str(self.public): {"bind": DATA, "mode": "ro"}, str(self.workspace): {"bind": WORKSPACE, "mode": "rw"}}
        vols.update({str(src): {"bind": dst, "mode": "ro"} for src, dst in TRAINER_MOUNTS.items() if src.is_dir()})
        return vols

    def _mounts_match(self, attrs: dict) -> bool:
        want = {v["bind"]: (src, v["mode"] == "rw") for src, v in self._volumes().items()}
        have = {m.get("Destination"): (m.get("Source"), bool(m.get("RW"))) for m in attrs.get("Mounts", [])}
        return have == want

    def _attach(self):
        """This process's container of this name, started if stopped; None if there is none (or it was stale)."""
        try:
            c = self.client.containers.get(self.name)
        except NotFound:
            return None
        labels = c.labels or {}
        adopt = False
        if not is_mine(labels, self.state_dir):
            owner = owner_state(labels)
            if owner in ("alive", "other-host"):
                raise SandboxError(f"sandbox container {self.name} belongs to process {labels.get(OWNER_PID)} "
                                   f"({'still running' if owner == 'alive' else 'on another host'}); stop that run, "
                                   "or remove the container with `evoforge sandbox prune --all`")
            adopt = c.status == "running" and labels.get(OWNER_STATE) == str(self.state_dir) and any(
                r.handle.get("container") == c.id for r in self.jobs.records() if r.running)
            if not adopt:
                log.info("replacing sandbox container %s of a process that is gone", self.name)
                c.remove(force=True)
                return None
        if c.attrs.get("Config", {}).get("Image") != self.image or not self._mounts_match(c.attrs):
            log.warning("removing stale sandbox container %s (different image or folders)", self.name)
            c.remove(force=True)
            return None
        if c.status != "running":
            c.start()
            c.reload()
        if adopt:     # a resumed run: keep the container for its live jobs, end what its killed owner left running
            self.container, self.id = c, c.id
            write_owner(self.state_dir)
            self.container.exec_run(["bash", "-c", _WRAP, "evoforge", secrets.token_hex(8), "true",
                                     str(self._keeper_pid()), self._spared()])
            log.info("re-attached to sandbox container %s and its running jobs", self.name)
        else:
            log.info("re-attached to sandbox container %s", self.name)
        return c

    def _keeper_pid(self) -> int:
        """The pid (inside the container) of the `sleep infinity` that keeps the container up."""
        out = self.container.exec_run(["bash", "-c", 'for c in $(cat /proc/1/task/1/children); do '
                                       '[ "$(tr "\\0" " " < /proc/$c/cmdline)" = "sleep infinity " ] && echo $c; done'])
        pids = sorted(int(x) for x in out.output.split() if x.isdigit())
        if not pids:
            raise SandboxError(f"sandbox container {self.name} has no keeper process; remove it and start again")
        return pids[0]

    def _create(self):
        lim = self.limits
        ncpu = self.client.info().get("NCPU") or os.cpu_count() or 1
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ and k != "TZ"}
        env.update(thread_env(lim.cpus))
        env.update(self.extra_env)
        env.update(DATA_DIR=DATA, WORKSPACE=WORKSPACE, HOME=WORKSPACE, PYTHONUNBUFFERED="1",
                   LANG="C.UTF-8", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib")
        device_requests = None
        if self.gpus:
            if host_has_nvidia_gpu():
                device_requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
            else:
                log.warning("gpus=True but this host shows no NVIDIA GPU; the sandbox runs without GPUs")
        mem = f"{int(lim.memory_mb)}m"
        return self.client.containers.run(
            self.image, ["sleep", "infinity"], name=self.name, detach=True, init=True,
            network_mode="none", mem_limit=mem, memswap_limit=mem,
            nano_cpus=int(min(float(lim.cpus), float(ncpu)) * 1e9), pids_limit=int(lim.pids),
            read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={int(lim.tmp_mb)}m,mode=1777"},
            shm_size=f"{int(lim.tmp_mb)}m", volumes=self._volumes(),
            working_dir=WORKSPACE, user=f"{os.getuid()}:{os.getgid()}", environment=env,
            cap_drop=["ALL"], security_opt=["no-new-privileges"], ipc_mode="private",
            labels={LABEL: self.image, OWNER_STATE: str(self.state_dir), **owner_labels()},
            device_requests=device_requests,
        )

    # -- commands -------------------------------------------------------------------------------
    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run `bash -c command` in /workspace inside the container; the whole tree ends with it."""
        timeout = self.limits.command_timeout(timeout)
        token = secrets.token_hex(8)
        buf = OutputBuffer(self.limits.output_limit_bytes + 256)
        t0 = time.monotonic()
        try:
            ex = self.api.exec_create(self.id, ["bash", "-c", _WRAP, "evoforge", token, command, str(self.keeper),
                                                self._spared()], workdir=WORKSPACE, stdout=True, stderr=True)
            stream = self.api.exec_start(ex["Id"], stream=True, demux=False)
        except NotFound as exc:
            raise SandboxError(f"sandbox container {self.name} is gone; start a new attempt") from exc
        except APIError as exc:
            if "is not running" in str(exc):
                self.container = self._attach() or self._create()
                self.id, self.keeper = self.container.id, self._keeper_pid()
                self.watchdog.disarm()
                self.watchdog = Watchdog(self.id)
                return self._note(self.exec(command, timeout), "the sandbox container had stopped and was restarted")
            raise
        done = threading.Event()

        def read() -> None:
            try:
                for chunk in stream:
                    buf.add(chunk)
            except Exception:  # noqa: BLE001 - a closed stream on timeout ends the read
                pass
            finally:
                done.set()

        threading.Thread(target=read, daemon=True).start()
        with self._lock:
            self._running.add(token)
        watch = DiskWatch(self.workspace, self.limits.disk_mb)
        deadline, timed_out, disk_full = t0 + timeout, False, False
        while not done.wait(min(0.25, max(0.0, deadline - time.monotonic()))):
            timed_out = time.monotonic() >= deadline
            disk_full = not timed_out and watch.over()
            if timed_out or disk_full:
                break
        if timed_out or disk_full:
            self._kill_session(token)
            if not done.wait(10):
                stream.close()
                done.wait(2)
        duration = time.monotonic() - t0
        r = self._result(buf, token, ex["Id"], timed_out, duration)
        with self._lock:
            self._running.discard(token)
            if token in self._interrupted:
                self._interrupted.discard(token)
                r.killed_reason = STOPPED
        if disk_full:
            r.output += "\n" + watch.message() + "\n"
            r.killed_reason = "disk limit"
        return r

    def _kill_session(self, token: str) -> None:
        """Kill the session of the command with this token (waits briefly for its pid file)."""
        script = (f'for i in $(seq 50); do [ -s /tmp/.evoforge-{token} ] && break; sleep 0.05; done; '
                  f'sid=$(cat /tmp/.evoforge-{token} 2>/dev/null) && python3 -c "$0" "$sid"')
        try:
            self.container.exec_run(["bash", "-c", script, _KILL])
        except DockerException as exc:
            log.warning("could not kill a timed-out command in %s: %s", self.name, exc)

    def _result(self, buf: OutputBuffer, token: str, exec_id: str, timed_out: bool, duration: float) -> ExecResult:
        text = buf.text()
        marker = f"\n\036EVOFORGE-{token} "
        i = text.rfind(marker)
        rc, oom, pids_hit = None, False, False
        if i >= 0:
            fields = text[i + len(marker):].split()
            text = text[:i]
            try:
                rc, o0, o1, p0, p1 = (int(x) for x in fields[:5])
                oom, pids_hit = o1 > o0, p1 > p0
            except ValueError:
                pass
        if rc is None:
            try:
                rc = self.api.exec_inspect(exec_id).get("ExitCode")
            except DockerException:
                rc = None
            rc = -1 if rc is None else rc
        reason = None
        if timed_out:
            rc, reason = 124, "timeout"
        elif oom:
            reason = "out of memory"
        elif pids_hit:
            reason = "pids limit"
        elif rc == 137 and self._oom_killed():
            reason = "out of memory"
        return ExecResult(int(rc), text, timed_out, duration, reason)

    def _oom_killed(self) -> bool:
        try:
            self.container.reload()
            return bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        except DockerException:
            return False

    @staticmethod
    def _note(r: ExecResult, note: str) -> ExecResult:
        r.output = f"[{note}]\n" + r.output
        return r

    def interrupt(self) -> None:
        """Kill the commands running now (killed_reason "stopped"); later commands run as usual."""
        with self._lock:
            tokens = list(self._running)
            self._interrupted.update(tokens)
        for token in tokens:
            self._kill_session(token)

    # -- jobs (agent.sandbox.jobs): sessions of their own in this container, spared by every command's sweep ------
    def _spared(self) -> str:
        """The sessions the sweep after a command leaves alone: "sid:start" of this container's running jobs."""
        live = [r.handle for r in self.jobs.records() if r.running and r.handle.get("container") == self.id]
        pairs = [(h.get(k), h.get(st, "")) for h in live for k, st in (("sid", "sid_start"), ("wrap_sid", "wrap_start"))]
        return " ".join(f"{sid}:{start}" for sid, start in pairs if sid)

    def job_start(self, job_id: str, argv: list[str], log: str, max_s: float) -> dict:
        """Start argv detached in the container (docker exec), in a session of its own; its sid and start time."""
        token = secrets.token_hex(8)
        ex = self.api.exec_create(self.id, ["bash", "-c", _JOB, "evoforge-job", token, JOB_SHELL, log,
                                            str(int(max_s)), *argv], workdir=WORKSPACE, stdout=False, stderr=False)
        self.api.exec_start(ex["Id"], detach=True)
        found = self.container.exec_run(["bash", "-c", _JOB_FIND, token])
        parts = found.output.decode(errors="replace").split()
        if found.exit_code != 0 or not parts or not parts[0].isdigit():
            raise SandboxError(f"the job {job_id} did not start in {self.name}")
        return {"container": self.id, "exec": ex["Id"], "sid": int(parts[0]),
                "sid_start": parts[1] if len(parts) > 1 else "",
                "wrap_sid": int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None,
                "wrap_start": parts[3] if len(parts) > 3 else ""}

    def _job_act(self, handle: dict, act: str) -> int:
        r = self.container.exec_run(["bash", "-c", _JOB_ACT, str(handle["sid"]), str(handle.get("sid_start", "")),
                                     act, _KILL])
        return r.exit_code

    def job_poll(self, handle: dict) -> tuple[bool, int | None]:
        """(running, exit code): from the exec instance, else (the engine forgot it) from the job's process."""
        if handle.get("container") != self.id:
            return False, None
        try:
            info = self.api.exec_inspect(handle["exec"])
            if not info.get("Running"):
                return False, info.get("ExitCode")
        except (NotFound, APIError):
            return self._job_act(handle, "alive") == 0, None
        return True, None

    def job_signal(self, handle: dict, sig: int) -> None:
        """SIGTERM to the job's main process (the `timeout` that forwards it to the trainer)."""
        if handle.get("container") == self.id and sig == signal.SIGTERM:
            self._job_act(handle, "term")

    def job_kill(self, handle: dict) -> None:
        """Kill the job's session and everything under it."""
        if handle.get("container") == self.id:
            self._job_act(handle, "kill")

    def close(self, keep_jobs: bool = False) -> None:
        """Kill the jobs, stop and remove the container (the workspace on the host stays); with keep_jobs (an
        interrupted attempt) a container with running jobs is left for the resumed attempt to re-attach."""
        if keep_jobs and self.jobs.running():
            self.jobs.close()
            self.watchdog.disarm()
            return
        try:
            self.jobs.end_all("the attempt ended: its sandbox was closed")
        except DockerException as exc:
            log.warning("could not end the jobs of %s: %s", self.name, exc)
        try:
            self.container.remove(force=True)
        except NotFound:
            pass
        except DockerException as exc:
            log.warning("could not remove sandbox container %s: %s", self.name, exc)
        self.jobs.close()
        self.watchdog.disarm()

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
