"""The heuristic policy for the rl_runs tasks: a no-model RL engineer that debugs a training set-up by rules.

It copies the task's config into the workspace, trains it once as a probe (launch_training), waits for it
(training_status wait_s), reads the anomalies of its metrics (read_training_log mode=anomalies), maps each anomaly to
the settings that usually cause it and changes the one that is off (`propose_fix`), trains the fixed config once to
check it, then validates and submits it as a candidate whose validation score is the check run's greedy accuracy
after RL, and finishes. Without a lead it submits the config unchanged (scored by the probe) and finishes; a fix that
breaks a rule is registered (invalid) and the original config after it. Like the competition
heuristic, every decision is read from the message history, so a resumed run continues where it stopped (a job
that was running is re-attached by the sandbox and watched again).
"""

from __future__ import annotations

import copy
import json
import re

import yaml

from agent.graph.policies.heuristic import history
from agent.graph.stops import PolicyStop
from agent.llm.types import AssistantTurn, ToolCall

PROBE, CHECK, WORK = "probe", "check", "probe.yaml"
SUBMISSION = "submission.yaml"
WAIT_S = 600
_EVAL = re.compile(r"eval after (sft|rl): greedy_accuracy=([0-9.]+)")
_KINDS = re.compile(r"^([a-z_]+) from step (\d+):", re.M)


def _get(cfg: dict, key: str, default=None):
    section, name = key.split(".")
    return (cfg.get(section) or {}).get(name, default)


def _set(cfg: dict, key: str, value) -> None:
    section, name = key.split(".")
    cfg.setdefault(section, {})[name] = value


def propose_fix(cfg: dict, kinds: set[str], evals: dict[str, float]) -> tuple[dict, list[str]]:
    """The config with the settings responsible for the anomalies changed, and one reason per change."""
    out, why = copy.deepcopy(cfg), []

    def change(key: str, value, reason: str) -> None:
        if _get(out, key) != value:
            why.append(f"{key}: {_get(out, key)!r} -> {value!r} ({reason})")
            _set(out, key, value)

    sft_lr, rl_lr = float(_get(cfg, "sft.lr", 3e-3)), float(_get(cfg, "rl.lr", 1e-4))
    sft_steps = int(_get(cfg, "sft.steps", 200))
    sft_acc = evals.get("sft")
    starved = "no_reward" in kinds or (sft_acc is not None and sft_acc < 0.05)   # RL never sees a reward
    if "non_finite" in kinds:
        if int(_get(cfg, "debug.nan_at_step", -1)) >= 0:
            change("debug.nan_at_step", -1, "the NaN is injected on purpose")
        elif sft_lr > 0.01:
            change("sft.lr", 3e-3, "non-finite loss at a high SFT learning rate")
    if kinds & {"loss_spike", "exploding_grad_norm"} or (starved and sft_lr > 0.01):
        if sft_lr > 0.01:
            change("sft.lr", 3e-3, "an unstable warm-up")
        if float(_get(cfg, "optim.grad_clip", 1.0)) <= 0:
            change("optim.grad_clip", 1.0, "gradients are not clipped")
    if kinds & {"reward_collapse", "entropy_collapse", "kl_spike"} and rl_lr > 3e-4:
        change("rl.lr", 1e-4, "policy collapse at a high RL learning rate")
    if "expert_imbalance" in kinds:
        change("model.balance", "aux_free", "routing collapses without load balancing")
        (out.get("model") or {}).pop("aux_loss_coef", None)
    if starved:
        if 0 < int(_get(cfg, "rl.max_new_tokens", 0)) <= 3:
            change("rl.max_new_tokens", 0, "answers are cut before their end")
        if int(_get(cfg, "optim.warmup_steps", 5)) > sft_steps // 2:
            change("optim.warmup_steps", 5, "the warm-up outlasts the run, so the learning rate stays ~0")
        if sft_steps < 100:
            change("sft.steps", 200, "too short a supervised warm-up for any reward")
        if sft_lr < 1e-4:
            change("sft.lr", 3e-3, "too small an SFT learning rate")
    rl_acc = evals.get("rl")
    if not why and sft_acc is not None and rl_acc is not None and rl_acc <= sft_acc + 0.02 and rl_lr < 1e-5:
        change("rl.lr", 1e-4, "RL adds nothing: its learning rate is too small to move the policy")
    return out, why


def _config_of(result: str) -> dict:
    """The YAML mapping printed by `cat` (the tool's [exit code] line removed)."""
    text = re.sub(r"\n\[exit code -?\d+\]\s*$", "", result or "")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


class RLRunsHeuristicPolicy:
    """Probe, read the anomalies, fix the responsible setting, check, submit."""

    name = "heuristic"

    def __init__(self, task, scaffold=None, budgets=None) -> None:
        self.task = task

    def _turn(self, n: int, why: str, *calls: tuple[str, dict]) -> AssistantTurn:
        made = [ToolCall(f"r{n}-{i}-{name}", name, json.dumps(args), args) for i, (name, args) in enumerate(calls)]
        return AssistantTurn(thinking=why, tool_calls=made, finish_reason="tool_calls", model=self.name)

    def __call__(self, state: dict) -> AssistantTurn:
        """The next action, decided from the history."""
        n = state.get("turns", 0) + 1
        steps = history(state["messages"])
        if not steps:
            return self._turn(n, "Copy the training set-up into the workspace and read it.",
                              ("bash", {"command": f"cp /data/config.yaml {WORK} && cat {WORK}"}))
        last = steps[-1]
        if last.result is None or last.interrupted:
            return self._turn(n, "The last call was cut by a restart; run it again.", (last.name, last.args))
        if last.name == "finish":
            raise PolicyStop("finished")
        if last.name == "submit":
            if last.exit_code not in (None, 0) and last.args.get("path") == SUBMISSION:
                return self._submit(n, "The fix breaks a rule; register the original config as well.", WORK,
                                    self._score(steps, PROBE))
            return self._turn(n, "A config is registered; the fix was checked, so nothing more to try: finish.",
                              ("finish", {"reason": f"submitted {last.args.get('path')}"}))
        launches = {s.args.get("name"): s for s in steps if s.name == "launch_training" and s.result}
        jobs = {name: (re.search(r"started (job-\d+)", s.result or "") or [None, None])[1]
                for name, s in launches.items()}
        if last.name == "bash" and not launches:
            if not _config_of(last.result):
                return self._submit(n, "The config cannot be read; submit it unchanged.", WORK)
            return self._turn(n, "Train the set-up as it is, to see what goes wrong.",
                              ("launch_training", {"config": WORK, "name": PROBE}))
        if last.name == "launch_training":
            job = jobs.get(last.args.get("name"))
            if job is None:
                return self._submit(n, f"The run could not start ({(last.result or '')[:200]}); submit the config.",
                                    WORK if last.args.get("name") == PROBE else SUBMISSION)
            return self._turn(n, f"Wait for {job} to finish.", ("training_status", {"job_id": job, "wait_s": WAIT_S}))
        if last.name == "training_status":
            job = last.args.get("job_id")
            if ": running," in (last.result or "").split("\n", 1)[0]:
                return self._turn(n, f"{job} still runs; keep waiting.",
                                  ("training_status", {"job_id": job, "wait_s": WAIT_S}))
            if job == jobs.get(CHECK):
                return self._submit(n, "The fixed config trained; validate and submit it.", SUBMISSION,
                                    self._score(steps, CHECK))
            return self._turn(n, "Read the anomalies of the probe run.",
                              ("read_training_log", {"job_id": job, "mode": "anomalies"}))
        if last.name == "read_training_log":
            cfg = _config_of(next(s.result for s in steps if s.name == "bash"))
            status = next((s.result for s in reversed(steps) if s.name == "training_status"), "") or ""
            evals = {k: float(v) for k, v in _EVAL.findall(status)}
            kinds = {k for k, _ in _KINDS.findall(last.result or "")}
            fixed, why = propose_fix(cfg, kinds, evals)
            if not why:
                return self._submit(n, f"No rule matches (anomalies: {sorted(kinds) or 'none'}, evaluations: "
                                       f"{evals}); submit the config unchanged.", WORK, evals.get("rl"))
            return self._turn(n, "Fix: " + "; ".join(why),
                              ("write_file", {"path": SUBMISSION, "content": yaml.safe_dump(fixed, sort_keys=False)}))
        if last.name == "write_file":
            return self._turn(n, "Train the fixed config to check it.",
                              ("launch_training", {"config": SUBMISSION, "name": CHECK}))
        return self._submit(n, "Submit what there is.", SUBMISSION if CHECK in launches else WORK)

    @staticmethod
    def _score(steps: list, name: str) -> float | None:
        """The greedy accuracy after RL that the last status of run `name` reported (None when it had none)."""
        job = next((re.search(r"started (job-\d+)", s.result or "") for s in steps
                    if s.name == "launch_training" and s.args.get("name") == name and s.result), None)
        status = next((s.result for s in reversed(steps) if s.name == "training_status" and job
                       and s.args.get("job_id") == job[1]), "") or ""
        return {k: float(v) for k, v in _EVAL.findall(status)}.get("rl")

    def _submit(self, n: int, why: str, path: str, score: float | None = None) -> AssistantTurn:
        args = {"path": path, "note": "the original config" if path == WORK else "the fixed config"}
        if score is not None:
            args["validation_score"] = score
        return self._turn(n, why, ("validate_submission", {"path": path}), ("submit", args))
