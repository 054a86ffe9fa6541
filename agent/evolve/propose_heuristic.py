"""The heuristic proposer: no model; one mutation of the recipe books or the loop policy per round.

Candidates are every single-value change the files allow: a recipe moved to the front (the draft), a recipe
dropped, a time share, hyperparameter, feature knob, CV or blend setting doubled or halved (a switch
flipped), and the loop policy's numbers. Each is weighed by what the lineage and the head's dev results say:

- families where the head scores lowest get the most attention (room to climb);
- where attempts ran out of time, changes that make recipes cheaper weigh double;
- where attempts ended with most of their budget unused (the book planned no recipe it had time for),
  changes that give recipes more time (less reserve, a lower minimum, a larger share) weigh four times;
- a change already tried is never tried again; a place (file, setting, direction) where changes failed
  weighs less each time, and one where a change was kept weighs more (keep going that way).

The pick is drawn from these weights with a seed made of the run's name, the round and the head, so a
resumed round proposes the same edit. Edits keep the files' comments and layout (agent.evolve.yamledit).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.evolve import yamledit
from agent.evolve.proposal import Context, Proposal, family_means

SKIP_KEYS = {"seed", "name", "family", "kind", "modalities", "column", "group_column"}
FRACTIONS = {"time_share", "max_features", "crop", "max_df", "compact_at_fraction"}   # stay within (0, 1]
COST_KEYS = {"folds", "max_iter", "n_estimators", "max_train_rows", "max_features", "size", "ngram_max", "frames",
             "bands", "n_fft", "steps", "top_k", "max_turns", "budget_s"}
ROOMIER_DOWN, ROOMIER_UP = {"reserve_s", "min_recipe_s"}, {"time_share", "budget_s"}
UNUSED_SHARE = 0.25       # an attempt that used less than this share of its time budget left most of it unused
LOOP_FILE = "policy.yaml"
LOOP_KEYS = ("max_turns",)          # top-level loop numbers; every number under a `loop:` section is also a knob
KIND_WEIGHT = {"order": 3.0, "drop": 1.5, "share": 1.0, "knob": 1.0, "cv": 1.0, "ensemble": 1.0, "book": 0.5,
               "loop": 0.7}


@dataclass(frozen=True)
class Mutation:
    """One change to one scaffold file."""

    file: str                 # relative to scaffold/
    op: str                   # set | move | drop
    path: tuple
    value: Any = None         # set: the new value; move: the new index
    old: Any = None
    family: str = "loop"      # the family the book serves ("loop" for the loop policy)
    kind: str = "knob"
    label: str = ""
    cheaper: bool = False
    roomier: bool = False     # gives recipes more of the attempt's time

    @property
    def key(self) -> str:
        """What exactly it changes (never tried twice)."""
        return f"{self.file}:{_dotted(self.path)}:{self.op}:{self.value}"

    @property
    def site(self) -> str:
        """Where and which way it changes (failures here make the next change here less likely)."""
        way = ""
        if self.op == "set" and isinstance(self.value, int | float) and not isinstance(self.value, bool):
            way = ":up" if self.value > (self.old or 0) else ":down"
        return f"{self.file}:{_dotted(self.path)}:{self.op}{way}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the key and site."""
        return {"file": self.file, "op": self.op, "path": list(self.path), "value": self.value, "old": self.old,
                "family": self.family, "kind": self.kind, "label": self.label, "key": self.key, "site": self.site}


def _dotted(path: tuple) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path)


def _scaled(key: str, value: Any) -> list[Any]:
    """The values a knob can move to: a switch flipped, a number doubled and halved (fractions kept <= 1)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [v for v in (value * 2, max(1, value // 2)) if v != value]
    if isinstance(value, float):
        factor = 1.5 if key in FRACTIONS else 2.0
        ups = [round(value * factor, 6)]
        if key in FRACTIONS:
            ups = [min(1.0, u) for u in ups]
        return [v for v in ups + [round(value / factor, 6)] if v != value and v > 0]
    return []


def _knobs(data: Any, path: tuple, kind: str) -> list[tuple[tuple, str, Any, str]]:
    """(path, key, value, kind) for every number or switch under data."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in SKIP_KEYS:
                continue
            if isinstance(v, dict | list):
                out += _knobs(v, path + (k,), kind)
            elif isinstance(v, bool | int | float) and v is not None:
                out.append((path + (k,), str(k), v, kind))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if isinstance(v, dict):
                out += _knobs(v, path + (i,), kind)
    return out


def book_mutations(file: str, data: dict, family: str) -> list[Mutation]:
    """Every single change to one recipe book."""
    out: list[Mutation] = []
    recipes = data.get("recipes") or []
    names = [r.get("name", f"#{i}") for i, r in enumerate(recipes) if isinstance(r, dict)]
    for i in range(1, len(names)):
        out.append(Mutation(file, "move", ("recipes",), 0, i, family, "order",
                            f"draft with recipe {names[i]} first in {file} (was {names[0]})"))
    if len(names) > 2:
        for i, name in enumerate(names):
            out.append(Mutation(file, "drop", ("recipes",), i, name, family, "drop",
                                f"drop recipe {name} from {file}", cheaper=True))
    knobs = _knobs({k: v for k, v in data.items() if k in ("budget_s", "reserve_s", "min_recipe_s")}, (), "book")
    knobs += _knobs(data.get("cv"), ("cv",), "cv") + _knobs(data.get("ensemble"), ("ensemble",), "ensemble")
    for i, r in enumerate(recipes):
        if isinstance(r, dict):
            knobs += [(p, k, v, "share" if k == "time_share" else "knob") for p, k, v, _ in _knobs(r, ("recipes", i), "")]
    for path, key, value, kind in knobs:
        where = f"recipe {names[path[1]]}" if path[0] == "recipes" else path[0]
        for new in _scaled(key, value):
            cheaper = key in COST_KEYS and not isinstance(value, bool) and new < value
            roomier = key in ROOMIER_DOWN and new < value or key in ROOMIER_UP and new > value
            out.append(Mutation(file, "set", path, new, value, family, kind,
                                f"{_dotted(path[2:] if path[0] == 'recipes' else path)} {value} -> {new} for {where} "
                                f"in {file}", cheaper, roomier))
    return out


def loop_mutations(data: dict) -> list[Mutation]:
    """Every single change to the loop policy's numbers (never the sandbox limits)."""
    knobs = [((k,), k, data[k], "loop") for k in LOOP_KEYS if isinstance(data.get(k), int | float)]
    knobs += _knobs(data.get("loop"), ("loop",), "loop")
    return [Mutation(LOOP_FILE, "set", path, new, value, "loop", "loop", f"{_dotted(path)} {value} -> {new} in "
                     f"{LOOP_FILE}", key in COST_KEYS and not isinstance(value, bool) and new < value)
            for path, key, value, _ in knobs for new in _scaled(key, value)]


def all_mutations(scaffold: Path, families: set[str]) -> list[Mutation]:
    """Every candidate change: the books serving the dev families, then the loop policy."""
    out: list[Mutation] = []
    for path in sorted((scaffold / "recipes").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        mods = [m for m in (data.get("modalities") or []) if isinstance(m, str)]
        served = [m for m in mods if m in families] if families else mods
        if served:
            out += book_mutations(f"recipes/{path.name}", data, served[0])
    policy = scaffold / LOOP_FILE
    if policy.is_file():
        data = yaml.safe_load(policy.read_text()) or {}
        out += loop_mutations(data if isinstance(data, dict) else {})
    return out


def apply(scaffold: Path, m: Mutation) -> None:
    """Make the change in the file, keeping its comments and layout."""
    path = scaffold / m.file
    text = path.read_text()
    if m.op == "set":
        text = yamledit.replace_scalar(text, m.path, m.value)
    elif m.op == "move":
        text = yamledit.move_item(text, m.path, m.old, m.value)
    else:
        text = yamledit.remove_item(text, m.path, m.value)
    path.write_text(text)


class HeuristicProposer:
    """Mutates recipes and the loop policy, steered by the lineage; never retries a change."""

    name = "heuristic"

    def propose(self, ctx: Context) -> Proposal | None:
        """Pick one untried mutation, apply it, and state the hypothesis with its evidence."""
        families = {ctx.families.get(t, "general") for t in ctx.plan.dev}
        tried, site_score = set(), {}
        for n in ctx.nodes:
            m = n.get("mutation")
            if not m:
                continue
            tried.add(m["key"])
            good = n.get("decision") == "kept"
            site_score[m["site"]] = site_score.get(m["site"], 1.0) * (1.5 if good else 0.5)
        candidates = [m for m in all_mutations(ctx.repo.scaffold_dir, families) if m.key not in tried]
        if not candidates:
            return None
        means = family_means(ctx.head_results, ctx.families)
        overall = sum(means.values()) / len(means) if means else 50.0
        timed_out, unused = _timed_out(ctx), _unused(ctx)
        weights = []
        for m in candidates:
            room = max(5.0, 100.0 - means.get(m.family, overall))
            w = room * KIND_WEIGHT.get(m.kind, 1.0) * site_score.get(m.site, 1.0)
            if m.cheaper and timed_out.get(m.family if m.family != "loop" else "all", 0) > 0:
                w *= 2.0
            if m.roomier and unused.get(m.family, 0) > 0:
                w *= 4.0
            weights.append(w)
        rng = random.Random(f"{ctx.plan.name}:{ctx.round}:{ctx.head}")
        pick = rng.choices(candidates, weights=weights, k=1)[0]
        apply(ctx.repo.scaffold_dir, pick)
        return _explain(pick, ctx, means, timed_out, site_score.get(pick.site), unused)


def _timed_out(ctx: Context) -> dict[str, int]:
    """Head dev attempts that ended on their time budget, by family (and "all")."""
    out: dict[str, int] = {}
    for r in ctx.head_results:
        if str(r.stop_reason or "").startswith("time budget"):
            fam = ctx.families.get(r.task, "general")
            out[fam] = out.get(fam, 0) + 1
            out["all"] = out.get("all", 0) + 1
    return out


def _unused(ctx: Context) -> dict[str, int]:
    """Head dev attempts that ended with most of their time budget unused, by family."""
    budget = ctx.plan.budget.seconds
    out: dict[str, int] = {}
    for r in ctx.head_results if budget else []:
        if r.seconds < UNUSED_SHARE * budget:
            fam = ctx.families.get(r.task, "general")
            out[fam] = out.get(fam, 0) + 1
    return out


def _explain(m: Mutation, ctx: Context, means: dict[str, float], timed_out: dict[str, int],
             site: float | None, unused: dict[str, int] | None = None) -> Proposal:
    fam = m.family
    tasks = [t for t in ctx.plan.dev if fam == "loop" or ctx.families.get(t) == fam]
    where = f"{fam} tasks ({', '.join(tasks)})" if fam != "loop" else "every dev task"
    why = {
        "order": "the first recipe is the draft every attempt reaches; under a short budget it often decides the "
                 "submission, so a stronger or cheaper draft should lift the score",
        "drop": "one recipe fewer leaves its time share to the others and to the blend",
        "share": "a different time share changes how far this recipe gets before its limit",
        "cv": "the CV setting trades the trust of the validation score against the time each recipe takes",
        "ensemble": "the blend setting decides whether candidates are combined",
        "book": "the book's time plan decides how many recipes an attempt reaches",
        "loop": "the loop policy bounds every attempt's turns and time",
    }.get(m.kind, "this hyperparameter moves the model's bias/variance trade-off")
    if m.cheaper and timed_out.get(fam if fam != "loop" else "all"):
        why += f"; {timed_out.get(fam if fam != 'loop' else 'all')} head attempts there ended on the time budget, " \
               f"so a cheaper setting should let more candidates finish"
    if m.roomier and (unused or {}).get(fam):
        why += f"; {unused[fam]} head attempts there ended with most of their budget unused, so giving recipes " \
               f"more of the time should let one run"
    score = means.get(fam) if fam != "loop" else (sum(means.values()) / len(means) if means else None)
    now = f"the head averages percentile {score:.1f} there" if score is not None else "no dev score there yet"
    evidence = "; ".join(["head dev percentile by family: " + ", ".join(f"{f} {v:.1f}" for f, v in means.items())]
                         + ([f"earlier changes at {m.site} scored x{site:.2f}"] if site else []))
    return Proposal(hypothesis=f"{m.label} should raise the leaderboard percentile on {where}; {now}",
                    rationale=why, evidence=evidence, proposer="heuristic", mutation=m.to_dict())
