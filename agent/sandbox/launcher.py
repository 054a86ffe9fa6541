"""A small helper process that starts a sandbox's commands from inside the sandbox's cgroup.

Moving a process into a cgroup costs ~10 ms on cgroup v1 (one migration per hierarchy), and a
Python `preexec_fn` makes every spawn a full fork (~20 ms more). So each local sandbox starts one
helper: it joins the cgroup once, then for every command receives the argv and the descriptors to
use (output pipe, bwrap's --args and --json-status-fd) and the rlimits over a Unix socket, forks
(cheap: the helper is a small process) and execs the command in a new session with those rlimits and
default signal handling; its children inherit the cgroup. It answers the pid, never waits (the
kernel reaps), and exits when evoforge closes the socket or dies.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

ARGS_FD, STATUS_FD = 3, 4   # where the command finds bwrap's --args and --json-status-fd descriptors

_HELPER = r"""
import fcntl, json, os, resource, signal, socket, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket(fileno=int(sys.argv[1]))
while True:
    try:
        msg, fds, _, _ = socket.recv_fds(s, 1 << 20, 3)
    except OSError:
        break
    if not msg:
        break
    req = json.loads(msg)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 20) for fd in fds]
    for fd in fds:
        os.close(fd)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
            for src, dst in ((high[0], 1), (high[0], 2), (high[1], 3), (high[2], 4)):
                os.dup2(src, dst)
            for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            for name, value in req["rlimits"].items():
                resource.setrlimit(getattr(resource, name), (value, value))
            os.execve(req["argv"][0], req["argv"], req["env"])
        finally:
            os._exit(127)
    for fd in high:
        os.close(fd)
    s.send(json.dumps({"pid": pid}).encode())
"""

# On the host: join the cgroup ($1 procs files follow), then become the helper.
_JOIN = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'


class LauncherError(RuntimeError):
    """The helper is gone and could not be started again."""


class Launcher:
    """One helper process (in `procs_files`' cgroup); `spawn` starts a command there and returns its pid."""

    def __init__(self, procs_files: list[str]) -> None:
        self.procs_files = list(procs_files)
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                ["sh", "-c", _JOIN, "sh", str(len(self.procs_files)), *self.procs_files,
                 sys.executable, "-I", "-S", "-c", _HELPER, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, start_new_session=True,
                env={"PATH": "/usr/bin:/bin"})
        finally:
            theirs.close()
        self.sock = ours

    @property
    def pid(self) -> int:
        """The helper's pid (spared when the cgroup is emptied)."""
        return self.proc.pid

    def spawn(self, argv: list[str], env: dict[str, str], rlimits: dict[str, int], stdout: int, args_fd: int,
              status_fd: int) -> int:
        """Start argv (stdin /dev/null, stdout+stderr to `stdout`, the two fds at 3 and 4, `rlimits` as
        {"RLIMIT_AS": bytes, ...}, soft = hard) in a new session; returns its pid."""
        msg = json.dumps({"argv": argv, "env": env, "rlimits": rlimits}).encode()
        with self._lock:
            for attempt in (1, 2):
                try:
                    socket.send_fds(self.sock, [msg], [stdout, args_fd, status_fd])
                    reply = self.sock.recv(65536)
                except OSError:
                    reply = b""
                if reply:
                    break
                if attempt == 2:
                    raise LauncherError("the sandbox's launcher process does not answer")
                self._restart()
        return int(json.loads(reply)["pid"])

    def _restart(self) -> None:
        self.close()
        self._start()

    def close(self) -> None:
        """Stop the helper (closing the socket ends it)."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
