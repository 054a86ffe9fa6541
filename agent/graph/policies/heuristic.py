"""The heuristic policy: a no-model engineer that drives the same graph and tools by rules.

It looks at the data, writes the recipe engine and the modality's recipe book (scaffold/recipes/) into the
workspace, then iterates until its budget: draft (the first recipe) -> debug (a recipe killed for time or
memory is retried on half the rows; when the draft fails the simple fallback recipe secures a candidate)
-> improve (the next recipes that fit the time left, a recipe whose share does not fit skipped rather than
ending the book; then a blend of the best when CV says it helps). Every candidate the engine
keeps is registered with the run as it comes (`submit` with its CV score as the validation score, in the
same turn as the next engine call), so the run's own rule grades the best by CV (agent/graph/candidates.py),
also when the budget ends the attempt early. Out of recipes or budget, it finishes (`finish`). When even the
engine cannot run, the sample submission is copied, registered without a score, and the attempt finishes.

Every decision is read from the message history (the tool calls and their results), never from state
kept in this object, so a resumed run continues where it stopped. A call cut by a kill is issued again.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from agent.graph.policies.heuristic_files import ENTRY, fallback_source, workspace_files
from agent.graph.recovery import INTERRUPTED_PREFIX
from agent.graph.stops import PolicyStop
from agent.llm.types import AssistantTurn, ToolCall

TAG = re.compile(r"^(PLAN|CANDIDATE|FAILED|SKIPPED|NO_GAIN|BEST) (\{.*\})\s*$", re.M)
NOT_RUN = "not run for lack of time"   # in the finish reason, before the recipes the budget did not reach
FINISH_TURNS = 4          # the last registrations + finish, and the fallback's write, run, validate if needed
PEEK = ('cd "$DATA_DIR" && find . -maxdepth 2 -type d | head -20 && '
        'for f in $(find . -maxdepth 2 -name "*.csv" | head -8); do '
        'echo "== $f ($(wc -l < "$f") lines)"; head -c 600 "$f" | head -n 3; done')


@dataclass
class Step:
    """One tool call of the history and its result (None while it has none)."""

    turn: int
    id: str
    name: str
    args: dict
    result: str | None

    @property
    def interrupted(self) -> bool:
        """The call was cut by a kill of the agent's process (its effects are unknown)."""
        return (self.result or "").startswith(INTERRUPTED_PREFIX)

    @property
    def exit_code(self) -> int | None:
        """The exit code a command reported, if any."""
        m = re.search(r"\[exit code (-?\d+)\]\s*$", self.result or "")
        return int(m.group(1)) if m else None

    def tag(self, name: str) -> dict | None:
        """The payload of the last engine line with this tag (PLAN, CANDIDATE, ...), if any."""
        found = [json.loads(m.group(2)) for m in TAG.finditer(self.result or "") if m.group(1) == name]
        return found[-1] if found else None

    @property
    def engine(self) -> list[str]:
        """The engine command line of a run_python call of engine.py ([] for other calls)."""
        if self.name != "run_python" or self.args.get("path") != ENTRY:
            return []
        return [str(a) for a in self.args.get("args", [])]


def history(messages: list[dict]) -> list[Step]:
    """Every tool call in the history, in order, with its result."""
    results = {m.get("tool_call_id"): str(m.get("content") or "") for m in messages if m.get("role") == "tool"}
    steps, turn = [], 0
    for m in messages:
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        turn += 1
        for c in m["tool_calls"]:
            try:
                args = json.loads(c["function"].get("arguments") or "{}")
            except json.JSONDecodeError:
                args = {}
            steps.append(Step(turn, c["id"], c["function"]["name"], args if isinstance(args, dict) else {},
                              results.get(c["id"])))
    return steps


class HeuristicPolicy:
    """Rule-based decisions from the history alone, driven by the scaffold's recipe book for the modality."""

    name = "heuristic"

    def __init__(self, task, scaffold=None, budgets=None) -> None:
        if scaffold is None:
            from agent.scaffold import load_scaffold

            scaffold = load_scaffold()
        self.task = task
        self.book = scaffold.recipes.for_modality(task.config.modality).data
        self.files = workspace_files(task, self.book)
        self.max_turns = scaffold.policy.max_turns
        self.budget_s = float(self.book["budget_s"])
        if budgets is not None:
            if budgets.max_turns:
                self.max_turns = min(self.max_turns, budgets.max_turns)
            if budgets.seconds:
                self.budget_s = min(self.budget_s, float(budgets.seconds))

    # ---- turns -------------------------------------------------------------------------------------------
    def _turn(self, n: int, why: str, *calls: tuple[str, dict]) -> AssistantTurn:
        made = [ToolCall(f"h{n}-{i}-{name}", name, json.dumps(args), args) for i, (name, args) in enumerate(calls)]
        return AssistantTurn(thinking=why, tool_calls=made, finish_reason="tool_calls", model=self.name)

    @staticmethod
    def _engine_call(args: list[str], limit: float | None = None) -> tuple[str, dict]:
        call: dict = {"path": ENTRY, "args": args}
        if limit is not None:
            call["timeout_s"] = round(limit, 1)
        return ("run_python", call)

    def _engine(self, n: int, why: str, args: list[str], limit: float | None = None) -> AssistantTurn:
        return self._turn(n, why, self._engine_call(args, limit))

    def __call__(self, state: dict) -> AssistantTurn:
        """The next action, decided from the history and the budget left."""
        n = state.get("turns", 0) + 1
        steps = history(state["messages"])
        if not steps:
            return self._turn(n, "Start by listing the public data.", ("list_files", {"path": "/data", "max_depth": 2}))
        last_turn = [s for s in steps if s.turn == steps[-1].turn]
        cut = [s for s in last_turn if s.interrupted]
        if cut:   # the process was killed while these ran: their effects are unknown, so do them again
            return self._turn(n, "The last call was interrupted by a restart; run it again.",
                              *[(s.name, s.args) for s in cut])
        last = steps[-1]
        if last.name == "finish":
            raise PolicyStop("finished")
        if last.name == "list_files":
            return self._turn(n, "Look at the folders and the CSV headers.", ("bash", {"command": PEEK}))
        if last.name == "bash":
            return self._turn(n, f"Write the recipe engine and the {self.task.config.modality} recipe book "
                                 f"({len(self.book['recipes'])} recipes, {self.book['cv']['folds']}-fold CV).",
                              *[("write_file", {"path": p, "content": c}) for p, c in self.files.items()])
        if last.name == "write_file" and last.args.get("path") == "fallback.py":
            return self._turn(n, "Run the fallback.", ("run_python", {"path": "fallback.py"}))
        if last.name == "write_file":
            if any((s.result or "").startswith("error") for s in last_turn):
                return self._fallback(n, "Writing the engine failed; fall back to the sample submission.")
            why = ("Put the sample submission in place as submission.csv, so that the attempt has a valid submission "
                   "even if no recipe finishes within the budget; inspect the data: layout, task, which recipes apply.")
            return self._turn(n, why, ("run_python", {"path": "fallback.py"}), self._engine_call(["inspect"], 300))
        if last.name == "validate_submission":
            done = ("submit", {"path": "submission.csv", "note": "the sample submission (fallback)"})
            end = ("finish", {"reason": "fallback: the sample submission"})
            if (last.result or "").startswith("valid"):
                return self._turn(n, "The fallback is a valid submission; register it and finish.", done, end)
            return self._turn(n, "Still invalid; register it anyway so that its error is recorded, and finish.",
                              done, end)
        if last.name == "run_python" and last.args.get("path") == "fallback.py":
            return self._turn(n, "Validate the fallback submission.", ("validate_submission", {}))
        turn = self._iterate(n, state, steps)
        new = self._unregistered(steps)
        if not new or turn.tool_calls[0].name == "write_file":      # nothing new, or the fallback
            return turn
        why = f"Register {len(new)} new candidate(s) with their CV scores; then: {turn.thinking}"
        return self._turn(n, why, *new, *[(c.name, c.args) for c in turn.tool_calls])

    @staticmethod
    def _unregistered(steps: list[Step]) -> list[tuple[str, dict]]:
        """`submit` calls for the engine's candidates (CANDIDATE lines) not yet registered with the run."""
        done = {(s.args.get("path"), s.args.get("validation_score")) for s in steps
                if s.name == "submit" and not s.interrupted and s.result is not None}
        calls: list[tuple[str, dict]] = []
        for s in steps:
            if s.engine[:1] not in (["run"], ["ensemble"]):
                continue
            for m in TAG.finditer(s.result or ""):
                c = json.loads(m.group(2))
                if m.group(1) != "CANDIDATE" or not c.get("file"):
                    continue
                args = {"path": c["file"], "note": f"recipe {c['name']} (CV)"}
                if isinstance(c.get("cv"), int | float) and math.isfinite(c["cv"]):
                    args["validation_score"] = c["cv"]     # the metric's own value: the run ranks it by its direction
                else:
                    args["note"] = f"recipe {c['name']} (no finite CV score)"
                if (args["path"], args.get("validation_score")) not in done and ("submit", args) not in calls:
                    calls.append(("submit", args))
        return calls

    # ---- the search: draft, debug, improve, then finish -------------------------------------------------
    def _iterate(self, n: int, state: dict, steps: list[Step]) -> AssistantTurn:
        inspects = [i for i, s in enumerate(steps) if s.engine[:1] == ["inspect"]]
        plan = steps[inspects[-1]].tag("PLAN") if inspects else None
        if plan is None:
            if inspects and steps[inspects[-1]].exit_code not in (None, 0) or len(inspects) >= 2:
                return self._fallback(n, "The engine could not read the data; fall back to the sample submission.")
            return self._engine(n, "Inspect the data again (the plan is not in the history).", ["inspect"], 300)
        runs = [s for s in steps[inspects[-1] + 1:] if s.engine[:1] == ["run"]]
        outcome = {name: "candidate" for name in plan["done"]}
        for s in runs:
            outcome[s.engine[1]] = self._outcome(s)
        ok = [name for name, o in outcome.items() if o == "candidate"]
        reserve = self._reserve()
        left_s = self.budget_s - state.get("elapsed_s", 0.0) - reserve
        left_turns = self.max_turns - state.get("turns", 0)
        room = left_turns > FINISH_TURNS
        last = runs[-1] if runs else None
        if room and last is not None and outcome[last.engine[1]] == "killed" and "--scale" not in last.engine:
            limit = self._limit(last.engine[1], left_s)
            if limit is not None:
                return self._engine(n, f"{last.engine[1]} was killed (time or memory); retry it on half the rows.",
                                    ["run", last.engine[1], "--time-limit", f"{limit:.0f}", "--scale", "0.5"],
                                    self._timeout(limit, left_s))
        fallback = plan["fallback"]
        if room and not ok and fallback not in outcome and (runs or not plan["recipes"]):
            limit = max(self.book["min_recipe_s"], min(left_s, 120.0))
            why = f"The draft failed ({runs[-1].engine[1]})" if runs else "No recipe applies to this data"
            return self._engine(n, f"{why}; secure a candidate with the simple fallback recipe {fallback}.",
                                ["run", fallback, "--time-limit", f"{limit:.0f}"], self._timeout(limit, left_s))
        todo = [r for r in plan["recipes"] if r not in outcome]
        if room and todo:
            name, note = self._next_recipe(todo, drafted=bool(outcome))
            limit = self._limit(name, left_s)
            if limit is not None:
                stage = "Draft" if not outcome else "Improve"
                why = f"{stage}: cross-validate recipe {name} ({len(todo) - 1} more to try"
                why += f"; best so far: {self._best(runs, plan)})" if ok else ")"
                why += f"; {note}" if note else ""
                return self._engine(n, why + ".", ["run", name, "--time-limit", f"{limit:.0f}"],
                                    self._timeout(limit, left_s))
        blended = any(s.engine[:1] == ["ensemble"] for s in steps[inspects[-1] + 1:])
        kept = [name for name in ok if name != fallback]
        if self.book["ensemble"]["enabled"] and len(kept) >= 2 and not blended and left_turns > FINISH_TURNS - 1 \
                and left_s + reserve > 30:
            return self._engine(n, f"Blend the best of {len(kept)} candidates if CV says it helps.",
                                ["ensemble"], max(30.0, min(600.0, left_s + 0.5 * reserve)))
        if not ok and not any(s.name == "submit" for s in steps):
            return self._fallback(n, "No candidate was kept; fall back to the sample submission.")
        reason = f"recipes done; best by CV: {self._best(runs, plan)}"
        if todo:        # recorded in the run's stop reason: the evolve proposer reads it as a starved book
            reason += f"; {NOT_RUN}: {', '.join(todo)}"
        return self._turn(n, "Out of recipes or budget: finish; the run grades the best candidate by CV.",
                          ("finish", {"reason": reason[:300]}))

    @staticmethod
    def _outcome(step: Step) -> str:
        if step.tag("CANDIDATE"):
            return "candidate"
        if step.tag("SKIPPED"):
            return "skipped"
        if re.search(r"\[command (timed out|killed)", step.result or ""):
            return "killed"       # by its time limit or for memory: worth a retry on fewer rows
        return "failed"

    @staticmethod
    def _best(runs: list[Step], plan: dict) -> str:
        scores = [(s.tag("CANDIDATE")["best"], s.tag("CANDIDATE")["best_cv"]) for s in runs if s.tag("CANDIDATE")]
        if scores:
            return f"{scores[-1][0]} {scores[-1][1]:.5f}"
        return ", ".join(f"{k} {v:.5f}" for k, v in plan["done"].items()) or "none"

    def _share(self, name: str) -> float:
        return next((r["time_share"] for r in self.book["recipes"] if r["name"] == name), 0.2)

    def _next_recipe(self, todo: list[str], drafted: bool) -> tuple[str, str]:
        """(the recipe to run next, a note on the ones passed over): the draft is the book's first recipe; after
        it, the first in book order whose share of the budget fits min_recipe_s, else (none fits) the cheapest,
        i.e. the smallest time share, book order on ties. A recipe that does not fit is skipped, not the end."""
        if not drafted:
            return todo[0], ""
        fits = [r for r in todo if self._share(r) * self.budget_s >= self.book["min_recipe_s"]]
        if fits:
            skipped = todo[:todo.index(fits[0])]
            return fits[0], (f"skipped for now, their share under min_recipe_s: {', '.join(skipped)}" if skipped
                             else "")
        name = min(todo, key=self._share)
        return name, "no share fits min_recipe_s at this budget: the cheapest recipe (smallest share) first"

    def _limit(self, name: str, left_s: float) -> float | None:
        """This recipe's time: its share of the budget, at least min_recipe_s, within what is left (all of it
        when less than min_recipe_s would remain, which no recipe could use); None when less than min_recipe_s
        is left."""
        least = float(self.book["min_recipe_s"])
        if left_s < least:
            return None
        limit = min(max(self._share(name) * self.budget_s, least), left_s)
        return left_s if left_s - limit < least else limit

    def _timeout(self, limit: float, left_s: float) -> float:
        """The tool's timeout: the recipe's limit plus room for its last fold, within the first half of the
        budget's reserve (the second half is for the turn that registers the candidate and finishes)."""
        return max(30.0, min(limit + max(60.0, 0.5 * limit), left_s + 0.5 * self._reserve()))

    def _reserve(self) -> float:
        """Seconds kept back for blending, selection and submission: the book's, at most a quarter of the budget."""
        return min(float(self.book["reserve_s"]), 0.25 * self.budget_s)

    def _fallback(self, n: int, why: str) -> AssistantTurn:
        return self._turn(n, why, ("write_file", {"path": "fallback.py", "content": fallback_source(self.task)}))
