"""What the CLI and the evolve loop call: make or extend a campaign, run it (here or detached), stop it,
and read where it stands — all from the campaign's folder, so any process can ask at any time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.campaign.results import attempt_result
from agent.campaign.spec import CampaignSpec
from agent.campaign.store import FINAL, CampaignStore, is_campaign, lock_holder
from agent.campaign.supervisor import Notify, Supervisor, supervisor_info, write_info
from agent.campaign.watchdog import age_s, hung_reason
from agent.runstore import LIVE, RunStore, now_iso
from common import paths
from common.errors import UserError
from common.procs import pid_alive

FIXED = ("policy", "model", "base_url", "config_file", "sandbox", "sandbox_limits", "budgets", "scaffold_dir",
         "memory_file", "executor", "ray_address")      # what decides results: never changed once made


def _scaffold_commit(spec: CampaignSpec) -> str:
    from agent.scaffold import scaffold_commit

    root = spec.scaffold_path()
    if not root.is_dir():
        raise UserError(f"scaffold folder not found: {root} (check --scaffold or EVOFORGE_SCAFFOLD)")
    return scaffold_commit(root)


def prepare_spec(spec: CampaignSpec) -> CampaignSpec:
    """The spec as it is recorded: validated, with the scaffold and memory resolved to absolute paths."""
    spec = replace(spec, scaffold_dir=str(spec.scaffold_path().resolve()),
                   memory_file=str(spec.memory_path().resolve()), created=spec.created or now_iso())
    spec.validate()
    from agent.graph.runner import check_memory_file

    check_memory_file(spec.memory_path())
    return spec


def ensure_campaign(spec: CampaignSpec, base: Path | None = None) -> CampaignStore:
    """Make the campaign, or (same name) check its settings match and queue the attempts it lacks.

    Idempotent: calling it again with the same spec changes nothing; with more tasks or seeds it adds
    only the new attempts (finished ones are kept, never run again).
    """
    base = base or paths.runs_dir()
    spec = prepare_spec(spec)
    root = base / spec.name
    if not is_campaign(root):
        return CampaignStore.create(spec, _scaffold_commit(spec), base)
    store = CampaignStore(root)
    old = store.spec()
    new_d, old_d = spec.to_dict(), old.to_dict()
    changed = [k for k in FIXED if new_d.get(k) != old_d.get(k)]
    if changed:
        raise UserError(f"campaign {spec.name} exists with other settings ({', '.join(changed)}): pick another "
                        f"--name, or resume it as it is")
    commit = _scaffold_commit(spec)
    if commit != store.plan().get("scaffold_commit"):
        raise UserError(f"campaign {spec.name} was made on scaffold {store.plan().get('scaffold_commit')}, the "
                        f"scaffold is now at {commit}: pick another --name for the changed scaffold")
    tasks = tuple(dict.fromkeys(old.tasks + spec.tasks))
    seeds = tuple(dict.fromkeys(old.seeds + spec.seeds))
    store.update_spec(tasks=list(tasks), seeds=list(seeds), parallel=spec.parallel, total_hours=spec.total_hours)
    added = store.add_attempts(spec.attempts())
    if added:
        store.log("attempts_added", attempts=added)
    return store


def run_campaign(spec: CampaignSpec, *, base: Path | None = None, notify: Notify | None = None) -> list[dict]:
    """Run a campaign to its end in this process (making or extending it first) and return its results:
    one dict per attempt (task, seed, state, score, medal, valid, percentile, seconds, …). Idempotent and
    resumable: finished attempts are taken as they are, unfinished ones resume from their checkpoints."""
    store = ensure_campaign(spec, base)
    supervise(store, notify=notify)
    return results(store)


def supervise(store: CampaignStore, notify: Notify | None = None) -> dict[str, Any]:
    """Run the supervisor of an existing campaign in this process until it is done, stopped or out of budget."""
    write_info(store)
    return Supervisor(store, notify=notify).run()


def start_detached(store: CampaignStore) -> int:
    """Start the campaign's supervisor in its own session (it outlives this terminal), logging to
    supervisor.log; returns its pid once it holds the campaign's lock."""
    if supervisor_info(store):
        raise UserError(f"campaign {store.name} is already running (pid {supervisor_info(store).get('pid')})")
    log = open(store.root / "supervisor.log", "ab")
    with log:
        proc = subprocess.Popen([sys.executable, "-m", "agent.campaign.supervisor", str(store.root)],
                                cwd=paths.ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if supervisor_info(store):
            return proc.pid
        if proc.poll() is not None:
            tail = (store.root / "supervisor.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise UserError(f"the supervisor exited at once: {tail[0] if tail else proc.returncode}")
        time.sleep(0.1)
    return proc.pid


def stop_campaign(store: CampaignStore, wait_s: float = 120.0) -> str:
    """Ask the campaign to stop: its supervisor stops the workers (they save their state), or, with no
    supervisor alive, the workers left running are stopped directly. Returns what was done."""
    store.set_counter("stop_requested", True)
    sup = supervisor_info(store)
    if sup and sup.get("pid"):
        try:
            os.kill(int(sup["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while supervisor_info(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        return "stopped" if not supervisor_info(store) else "stopping"
    stopped = 0
    for row in store.rows():
        holder = lock_holder(store.lock_path(row["run_id"]))
        if holder and pid_alive(holder.get("pid"), holder.get("pid_start")):
            os.kill(int(holder["pid"]), signal.SIGTERM)
            stopped += 1
    return f"no supervisor was running; {stopped} attempt process(es) stopped"


def attempt_status(store: CampaignStore, row: dict) -> dict[str, Any]:
    """One attempt as status shows it: its queue state, its record's progress and liveness, its result."""
    rec = RunStore(store.record_dir(row["run_id"]))
    meta: dict[str, Any] = {}
    try:
        meta = rec.read_meta()
    except UserError:
        pass
    res = row.get("result") or {}
    out: dict[str, Any] = {"task": row["task"], "seed": row["seed"], "run_id": row["run_id"], "state": row["state"],
                           "tries": row["tries"], "note": row["note"]}
    if row["state"] in FINAL:
        out.update({k: res.get(k) for k in ("status", "score", "medal", "valid", "above_median", "percentile",
                                            "seconds", "wall_s", "turns", "tokens", "cost_usd")})
        out["status"] = res.get("status") or row["state"]
        return out
    events = rec.read_events()
    last = events[-1] if events else {}
    holder = lock_holder(store.lock_path(row["run_id"]))
    alive = holder is not None
    quiet = age_s(last.get("ts"))
    beat = age_s(meta.get("heartbeat"))
    status = str(meta.get("status") or ("starting" if alive else "queued"))
    if status in LIVE and not alive:
        status = "killed"
    if row["state"] == "pending" and status not in ("killed",):
        status = "waiting" if row["not_before"] > time.time() else ("queued" if not meta else "interrupted")
    out.update(status=status, alive=alive, turns=meta.get("turns"), tokens=meta.get("tokens"),
               cost_usd=meta.get("cost_usd"), seconds=meta.get("elapsed_s"), last_event=last.get("type"),
               quiet_s=round(quiet, 1) if quiet is not None else None,
               heartbeat_s=round(beat, 1) if beat is not None else None)
    out["hung"] = hung_reason(meta, last, store.spec().budgets.seconds, row["launched"]) if alive else None
    out["stuck"] = out["hung"] is not None
    return out


def campaign_state(store: CampaignStore) -> str:
    """running (a supervisor works it), finished (every attempt final), stopped, or interrupted."""
    if supervisor_info(store):
        return "running"
    rows = store.rows()
    if rows and all(r["state"] in FINAL for r in rows):
        return "finished"
    if store.counter("stop_requested", False):
        return "stopped"
    last = next((e for e in reversed(store.events()) if e["type"] == "supervisor_stopped"), None)
    if last and last.get("outcome") == "budget_spent":
        return "budget_spent"
    return "interrupted" if any(r["tries"] for r in rows) else "not started"


def campaign_status(store: CampaignStore) -> dict[str, Any]:
    """The whole campaign as `status --json` prints it: state, counts, budget, supervisor, every attempt."""
    spec = store.spec()
    rows = store.rows()
    attempts = [attempt_status(store, r) for r in rows]
    counts = {s: sum(1 for r in rows if r["state"] == s) for s in ("pending", "running", "done", "failed")}
    sup = supervisor_info(store)
    return {"name": store.name, "state": campaign_state(store), "record": str(store.root), "counts": counts,
            "attempts_total": len(rows), "parallel": spec.parallel, "executor": spec.executor,
            "policy": spec.policy, "model": spec.model, "budgets": spec.budgets.to_dict(),
            "total_hours": spec.total_hours, "spent_hours": round(float(store.counter("active_s", 0.0)) / 3600, 4),
            "scaffold_commit": store.plan().get("scaffold_commit"), "supervisor": sup,
            "stuck": [a["run_id"] for a in attempts if a.get("stuck")], "attempts": attempts}


def results(store: CampaignStore) -> list[dict[str, Any]]:
    """One dict per attempt of the plan: its queue state and, once final, its result from the run record."""
    out = []
    for row in store.rows():
        res = (attempt_result(store.record_dir(row["run_id"]), row["seed"]) if row["state"] in FINAL else None)
        res = res or row.get("result") or {}
        out.append({**res, "task": row["task"], "seed": row["seed"], "run_id": row["run_id"], "state": row["state"],
                    "status": res.get("status") or row["state"]})
    return out


def cached_result(scaffold_commit: str, task: str, seed: int, budget_key: str,
                  base: Path | None = None) -> dict[str, Any] | None:
    """A finished attempt of any campaign in the runs folder made on this scaffold commit, with the same
    budgets and policy (`CampaignSpec.budget_key`), on this task and seed; None when there is none."""
    from agent.campaign.store import list_campaigns

    for store in list_campaigns(base):
        if store.plan().get("scaffold_commit") != scaffold_commit or store.spec().budget_key() != budget_key:
            continue
        for row in store.rows():
            if row["task"] == task and row["seed"] == seed and row["state"] in FINAL:
                return {**(row.get("result") or {}), "campaign": store.name, "state": row["state"]}
    return None
