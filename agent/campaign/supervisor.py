"""The supervisor: runs a campaign's queue N attempts at a time until every attempt has finished.

One supervisor per campaign (a lock that dies with it). It launches workers through an executor, notices
when they end, and reads each attempt's result from its run record. Whatever is killed — the supervisor,
a worker, the machine — the queue and the records say where everything was: the next supervisor adopts
workers still alive, resumes the others from their checkpoints, and takes finished attempts as they are.
An attempt never runs twice once finished and is counted once (one row per competition × seed).

    python -m agent.campaign.supervisor CAMPAIGN_DIR      (what `campaign start --detach` runs)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from agent.campaign import exits
from agent.campaign.executors import GONE, Executor, make_executor, worker_env
from agent.campaign.results import attempt_result
from agent.campaign.store import CampaignStore, FileLock, lock_holder
from agent.campaign.watchdog import KILL_GRACE_S, hung_reason
from agent.runstore import RunStore, now_iso
from common.errors import UserError
from common.procs import process_start

MAX_STALLS = 3            # a worker that ends this many times in a row without progress fails its attempt
ENDPOINT_RETRY_S = (15.0, 300.0)   # wait before retrying an attempt whose endpoint was down at start (doubles)
STOP_GRACE_S = 90.0       # how long stopped workers get to save their state before they are killed
SAVE_EVERY_S = 5.0        # how often the supervisor's own time spent is saved
WATCH_EVERY_S = 30.0      # how often live attempts are checked for a hang (agent/campaign/watchdog.py)
Notify = Callable[[dict], None]


def supervisor_info(store: CampaignStore) -> dict[str, Any] | None:
    """The live supervisor of a campaign ({pid, pid_start, since}), or None when none runs."""
    return lock_holder(store.root / "supervisor.lock")


def progress_of(store: CampaignStore, run_id: str) -> int:
    """How far an attempt's record has got (its highest event seq + 1; 0 without a record)."""
    events = RunStore(store.record_dir(run_id)).read_events()
    return max((int(e.get("seq", 0)) for e in events), default=-1) + 1


def last_log_line(store: CampaignStore, run_id: str) -> str:
    """The last line a worker printed (the reason it ended, where it said one)."""
    try:
        lines = [ln for ln in store.log_path(run_id).read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


class Supervisor:
    """Drives one campaign's queue; `run()` returns when every attempt is final, the total budget is spent,
    or a stop was asked for."""

    def __init__(self, store: CampaignStore, executor: Executor | None = None, notify: Notify | None = None,
                 poll_s: float = 0.25) -> None:
        self.store, self.notify, self.poll_s = store, notify, poll_s
        self.spec = store.spec()
        self.executor = executor or make_executor(self.spec)
        self.env = worker_env(store, self.spec)
        self.stopping = False
        self.lock = FileLock(store.root / "supervisor.lock")
        self.hung: dict[str, float] = {}      # attempts stopped as hung -> when they were asked to stop
        self.watched = 0.0

    # -- bookkeeping ------------------------------------------------------------------------------------
    def _log(self, type: str, **fields: Any) -> None:
        event = self.store.log(type, **fields)
        if self.notify is not None:
            try:
                self.notify(event)
            except Exception:  # noqa: BLE001 - a display error must never stop the campaign
                pass

    def _rows(self, state: str) -> list[dict]:
        return [r for r in self.store.rows() if r["state"] == state]

    def _request_stop(self, signum=None, frame=None) -> None:  # noqa: ARG002
        self.stopping = True

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Supervise until done; returns {"state": finished|stopped|budget_spent, counts…}."""
        if not self.lock.acquire():
            holder = supervisor_info(self.store) or {}
            raise UserError(f"campaign {self.store.name} is already supervised (pid {holder.get('pid')}); "
                            f"see `evoforge campaign status {self.store.name}`")
        old = {s: signal.signal(s, self._request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.store.set_counter("stop_requested", False)
            self._log("supervisor_started", pid=os.getpid(), parallel=self.spec.parallel,
                      executor=self.spec.executor)
            self._reconcile()
            outcome = self._loop()
            self._log("supervisor_stopped", outcome=outcome)
            return {"state": outcome, **self.counts()}
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self.executor.close()
            self.lock.release()

    def counts(self) -> dict[str, int]:
        """How many attempts are in each state."""
        rows = self.store.rows()
        return {s: sum(1 for r in rows if r["state"] == s) for s in ("pending", "running", "done", "failed")}

    def _reconcile(self) -> None:
        """Attempts an earlier supervisor left running: adopt those still worked, take back the others."""
        for row in self._rows("running"):
            if self.executor.adopt(self.store, row):
                self._log("attempt_adopted", key=row["key"], run_id=row["run_id"])
            else:
                self._ended(row, GONE)

    def _loop(self) -> str:
        spent = float(self.store.counter("active_s", 0.0))
        budget = self.spec.total_hours * 3600 if self.spec.total_hours else None
        last, saved = time.monotonic(), time.monotonic()
        budget_noted = False
        while True:
            now = time.monotonic()
            spent += now - last
            last = now
            if now - saved >= SAVE_EVERY_S:
                self.store.set_counter("active_s", spent)
                saved = now
            if self.stopping or self.store.counter("stop_requested", False):
                self.store.set_counter("active_s", spent)
                self._stop_all()
                return "stopped"
            running = self._rows("running")
            for row in running:
                code = self.executor.poll(self.store, row)
                if code is not None:
                    self._ended(row, code)
            running = self._rows("running")
            if time.monotonic() - self.watched >= WATCH_EVERY_S or self.hung:
                self._watch(running, full=time.monotonic() - self.watched >= WATCH_EVERY_S)
            over = budget is not None and spent >= budget
            if over and not budget_noted:
                self._log("budget_spent", hours=self.spec.total_hours)
                budget_noted = True
            pending = self._rows("pending")
            if not over:
                ready = [r for r in pending if r["not_before"] <= time.time()]
                for row in ready[: max(0, self.spec.parallel - len(running))]:
                    self._launch(row)
                    running.append(row)
            if not running and (not pending or over):
                self.store.set_counter("active_s", spent)
                return "budget_spent" if over and pending else "finished"
            time.sleep(self.poll_s)

    def _watch(self, running: list[dict], full: bool = True) -> None:
        """Stop the live attempts that are hung (they resume from their checkpoint); kill those that ignore it.
        `full`: check every live attempt (else only those already asked to stop)."""
        if full:
            self.watched = time.monotonic()
        for row in running:
            key = row["key"]
            if key in self.hung:
                if time.time() - self.hung[key] > KILL_GRACE_S:
                    self._log("attempt_killed", key=key, run_id=row["run_id"], reason="did not stop when asked")
                    self.executor.kill(self.store, row)
                    self.hung[key] = float("inf")
                continue
            if not full or lock_holder(self.store.lock_path(row["run_id"])) is None:
                continue                           # not started yet, or just ended: poll tells
            record = RunStore(self.store.record_dir(row["run_id"]))
            try:
                meta = record.read_meta()
            except UserError:
                continue
            events = record.read_events()
            why = hung_reason(meta, events[-1] if events else {}, self.spec.budgets.seconds, row["launched"])
            if why:
                self._log("attempt_hung", key=key, run_id=row["run_id"], reason=why)
                self.executor.terminate(self.store, row)
                self.hung[key] = time.time()

    def _launch(self, row: dict) -> None:
        resume = (self.store.record_dir(row["run_id"]) / "meta.json").is_file()
        now = time.time()
        self.store.update(row["key"], state="running", tries=row["tries"] + 1, launched=now,
                          first_launched=row["first_launched"] or now, pid=None, pid_start=None, note=None)
        info = self.executor.launch(self.store, row, self.env)
        self.store.update(row["key"], pid=info.get("pid"), pid_start=info.get("pid_start"),
                          handle=info.get("handle"))
        self._log("attempt_launched", key=row["key"], run_id=row["run_id"], task=row["task"], seed=row["seed"],
                  resume=resume, pid=info.get("pid"), try_=row["tries"] + 1)

    def _ended(self, row: dict, code: int) -> None:
        """A worker is gone: finish the attempt from its record, or queue it again with the reason."""
        key, run_id = row["key"], row["run_id"]
        hung = self.hung.pop(key, None) is not None
        result = attempt_result(self.store.record_dir(run_id), row["seed"])
        now = time.time()
        if result is not None:
            state = "failed" if result.get("status") == "failed" else "done"
            self.store.update(key, state=state, result=result, finished=now, pid=None, pid_start=None,
                              note=result.get("stop_reason"))
            self._log("attempt_finished", key=key, run_id=run_id, state=state, exit=code,
                      **{k: result.get(k) for k in ("score", "medal", "valid", "percentile", "seconds")})
            return
        if code == exits.BUSY:
            holder = lock_holder(self.store.lock_path(run_id)) or {}
            self.store.update(key, pid=holder.get("pid"), pid_start=holder.get("pid_start"))
            return
        if code == exits.ENDPOINT_DOWN:
            n = row.get("endpoint_waits", 0)
            wait = min(ENDPOINT_RETRY_S[1], ENDPOINT_RETRY_S[0] * 2 ** min(row["tries"] - 1, 10))
            self.store.update(key, state="pending", pid=None, pid_start=None, not_before=now + wait,
                              note=f"model endpoint down at start; trying again in {wait:.0f}s")
            self._log("attempt_waiting", key=key, run_id=run_id, wait_s=wait, reason="endpoint down", n=n)
            return
        progress = progress_of(self.store, run_id)
        stalls = (row["stalls"] + 1 if hung or not (progress > row["progress"] or code == exits.INTERRUPTED)
                  else 0)                        # hanging again after a resume counts, whatever it wrote
        why = "hung (see attempt_hung in events.jsonl)" if hung else last_log_line(self.store, run_id)
        if stalls >= MAX_STALLS:
            self.store.update(key, state="failed", stalls=stalls, progress=progress, finished=now, pid=None,
                              pid_start=None, note=f"ended {stalls} times without progress: {why}",
                              result={"task": row["task"], "seed": row["seed"], "run_id": run_id,
                                      "status": "failed", "valid": False, "error": why})
            self._log("attempt_failed", key=key, run_id=run_id, exit=code, reason=why)
            return
        said = {exits.INTERRUPTED: "stopped", GONE: "its process is gone"}.get(code, f"its process exited {code}")
        said = f"hung and {said}" if hung else said
        self.store.update(key, state="pending", stalls=stalls, progress=progress, pid=None, pid_start=None,
                          note=f"{said} before the attempt finished; it resumes from its checkpoint")
        self._log("attempt_requeued", key=key, run_id=run_id, exit=code, stalls=stalls, reason=said)

    def _stop_all(self) -> None:
        """Stop every worker (they save their state), wait for them, and queue their attempts again."""
        running = self._rows("running")
        for row in running:
            self.executor.terminate(self.store, row)
        deadline = time.monotonic() + STOP_GRACE_S
        while running and time.monotonic() < deadline:
            for row in list(running):
                code = self.executor.poll(self.store, row)
                if code is not None:
                    self._ended(row, code)
                    running.remove(row)
            time.sleep(self.poll_s)
        for row in running:                      # still there after the grace: the attempt resumes later
            self._log("attempt_left_running", key=row["key"], run_id=row["run_id"])


def write_info(store: CampaignStore) -> None:
    """supervisor.json: who supervises, since when (for status after the fact)."""
    info = {"pid": os.getpid(), "pid_start": process_start(os.getpid()), "started": now_iso(),
            "host": os.uname().nodename}
    (store.root / "supervisor.json").write_text(json.dumps(info))


def main(argv: list[str] | None = None) -> int:
    """Entry point of a detached supervisor: CAMPAIGN_DIR."""
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agent.campaign.supervisor CAMPAIGN_DIR", file=sys.stderr)
        return 2
    store = CampaignStore(Path(args[0]))
    try:
        write_info(store)
        outcome = Supervisor(store, notify=lambda e: print(json.dumps(e), flush=True)).run()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
