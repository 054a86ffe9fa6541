"""The heuristic proposer: no model; one mutation of the recipe books or the loop policy per round.

Candidates are every single-value change the files allow: a recipe moved to the front (the draft), a recipe
dropped, a time share, hyperparameter, feature knob, CV or blend setting doubled or halved (a switch
flipped), and the loop policy's numbers. Each is weighed by what the lineage and the head's dev results say:

- families where the head scores lowest get the most attention (room to climb);
- where attempts ran out of time, changes that make recipes cheaper weigh double;
- where the book left recipes unrun for lack of time (the heuristic's finish reason says which), changes that
  give recipes more time (less reserve, a lower minimum, a larger share) weigh eight times; where attempts
  ended with most of their budget unused, four times;
- a change already tried is never tried again (recipes are named, not numbered, in what identifies a change,
  so reordering a book keeps the record), nor one that undoes a kept change, nor a budget_s or reserve_s
  change the plan's attempt budget makes moot; a place (file, setting, direction) where changes failed weighs
  less each time, and one where a change was kept weighs more (keep going that way).

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
from agent.graph.policies.heuristic import NOT_RUN

SKIP_KEYS = {"seed", "name", "family", "kind", "modalities", "column", "group_column"}
FRACTIONS = {"time_share", "max_features", "crop", "max_df", "compact_at_fraction"}   # stay within (0, 1]
COST_KEYS = {"folds", "max_iter", "n_estimators", "max_train_rows", "max_features", "size", "ngram_max", "frames",
             "bands", "n_fft", "steps", "top_k", "max_turns", "budget_s"}
ROOMIER_DOWN, ROOMIER_UP = {"reserve_s", "min_recipe_s"}, {"time_share", "budget_s"}
STARVED_WEIGHT = 8.0      # roomier changes, where the book left recipes unrun for lack of time
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
    ref: str = ""             # the path with recipes named, not numbered ("" = the path as it is)

    @property
    def key(self) -> str:
        """What exactly it changes (never tried twice): recipes by name, so a reordered book keeps the record."""
        where = self.ref or _dotted(self.path)
        if self.op == "move":
            return f"{self.file}:{where}:move:{self.old}->{self.value}"
        return f"{self.file}:{where}:{self.op}:{self.value}"

    @property
    def site(self) -> str:
        """Where and which way it changes (failures here make the next change here less likely)."""
        way = ""
        if self.op == "set" and isinstance(self.value, int | float) and not isinstance(self.value, bool):
            way = ":up" if self.value > (self.old or 0) else ":down"
        return f"{self.file}:{self.ref or _dotted(self.path)}:{self.op}{way}"

    def undoes(self, kept: dict[str, Any]) -> bool:
        """It sets back a value a kept change replaced (on the same file and setting)."""
        return (self.op == "set" and kept.get("op") == "set" and kept.get("file") == self.file
                and (kept.get("ref") or _dotted(tuple(kept.get("path") or ()))) == (self.ref or _dotted(self.path))
                and kept.get("old") == self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the key and site."""
        return {"file": self.file, "op": self.op, "path": list(self.path), "value": self.value, "old": self.old,
                "family": self.family, "kind": self.kind, "label": self.label, "key": self.key, "site": self.site,
                "ref": self.ref or _dotted(self.path), "roomier": self.roomier, "cheaper": self.cheaper}


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
                            f"draft with recipe {names[i]} first in {file} (was {names[0]})", ref=f"recipes[{names[i]}]"))
    if len(names) > 2:
        for i, name in enumerate(names):
            out.append(Mutation(file, "drop", ("recipes",), i, name, family, "drop",
                                f"drop recipe {name} from {file}", cheaper=True, ref=f"recipes[{name}]"))
    knobs = _knobs({k: v for k, v in data.items() if k in ("budget_s", "reserve_s", "min_recipe_s")}, (), "book")
    knobs += _knobs(data.get("cv"), ("cv",), "cv") + _knobs(data.get("ensemble"), ("ensemble",), "ensemble")
    for i, r in enumerate(recipes):
        if isinstance(r, dict):
            knobs += [(p, k, v, "share" if k == "time_share" else "knob") for p, k, v, _ in _knobs(r, ("recipes", i), "")]
    for path, key, value, kind in knobs:
        where = f"recipe {names[path[1]]}" if path[0] == "recipes" else path[0]
        ref = f"recipes[{names[path[1]]}].{_dotted(path[2:])}" if path[0] == "recipes" else ""
        for new in _scaled(key, value):
            cheaper = key in COST_KEYS and not isinstance(value, bool) and new < value
            roomier = key in ROOMIER_DOWN and new < value or key in ROOMIER_UP and new > value
            out.append(Mutation(file, "set", path, new, value, family, kind,
                                f"{_dotted(path[2:] if path[0] == 'recipes' else path)} {value} -> {new} for {where} "
                                f"in {file}", cheaper, roomier, ref))
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
        weighed, site_score = weigh(ctx)
        if not weighed:
            return None
        rng = random.Random(f"{ctx.plan.name}:{ctx.round}:{ctx.head}")
        pick = rng.choices([m for m, _ in weighed], weights=[w for _, w in weighed], k=1)[0]
        apply(ctx.repo.scaffold_dir, pick)
        return _explain(pick, ctx, family_means(ctx.head_results, ctx.families), _timed_out(ctx),
                        site_score.get(pick.site), _unused(ctx), _starved(ctx))


def weigh(ctx: Context) -> tuple[list[tuple[Mutation, float]], dict[str, float]]:
    """(every mutation still open with its weight, the score of each site) from the lineage and the head's dev
    results: what was tried, or would undo a kept change, or changes nothing at the plan's attempt budget, is out."""
    families = {ctx.families.get(t, "general") for t in ctx.plan.dev}
    tried, kept, site_score = set(), [], {}
    for n in ctx.nodes:
        m = n.get("mutation")
        if not m:
            continue
        tried.add(m["key"])
        good = n.get("decision") == "kept"
        kept += [m] if good else []
        site_score[m["site"]] = site_score.get(m["site"], 1.0) * (1.5 if good else 0.5)
    open_ = [m for m in all_mutations(ctx.repo.scaffold_dir, families)
             if m.key not in tried and not any(m.undoes(k) for k in kept) and not _no_op(ctx, m)]
    means = family_means(ctx.head_results, ctx.families)
    overall = sum(means.values()) / len(means) if means else 50.0
    timed_out, unused, starved = _timed_out(ctx), _unused(ctx), _starved(ctx)
    out = []
    for m in open_:
        room = max(5.0, 100.0 - means.get(m.family, overall))
        w = room * KIND_WEIGHT.get(m.kind, 1.0) * site_score.get(m.site, 1.0)
        if m.cheaper and timed_out.get(m.family if m.family != "loop" else "all", 0) > 0:
            w *= 2.0
        if m.roomier and starved.get(m.family, 0) > 0:
            w *= STARVED_WEIGHT
        elif m.roomier and unused.get(m.family, 0) > 0:
            w *= 4.0
        out.append((m, w))
    return out, site_score


def _no_op(ctx: Context, m: Mutation) -> bool:
    """A change of a book's budget_s or reserve_s that the plan's attempt budget makes moot: the heuristic plans
    with min(budget_s, the attempt's seconds) and keeps back min(reserve_s, a quarter of that)."""
    limit = ctx.plan.budget.seconds
    if not limit or m.op != "set" or m.path not in (("budget_s",), ("reserve_s",)):
        return False
    if m.path == ("budget_s",):
        return min(m.old, limit) == min(m.value, limit)
    try:
        book = yaml.safe_load((ctx.repo.scaffold_dir / m.file).read_text()) or {}
        planned = min(float(book.get("budget_s", limit)), limit)
    except (OSError, yaml.YAMLError, TypeError, ValueError):
        return False
    return min(m.old, 0.25 * planned) == min(m.value, 0.25 * planned)


def _timed_out(ctx: Context) -> dict[str, int]:
    """Head dev attempts that ended on their time budget, by family (and "all")."""
    out: dict[str, int] = {}
    for r in ctx.head_results:
        if str(r.stop_reason or "").startswith("time budget"):
            fam = ctx.families.get(r.task, "general")
            out[fam] = out.get(fam, 0) + 1
            out["all"] = out.get("all", 0) + 1
    return out


def _starved(ctx: Context) -> dict[str, int]:
    """Head dev attempts whose book left recipes unrun for lack of time (the heuristic says so when it
    finishes, in the run's stop reason), by family."""
    out: dict[str, int] = {}
    for r in ctx.head_results:
        if NOT_RUN in str(r.stop_reason or ""):
            fam = ctx.families.get(r.task, "general")
            out[fam] = out.get(fam, 0) + 1
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
             site: float | None, unused: dict[str, int] | None = None, starved: dict[str, int] | None = None
             ) -> Proposal:
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
    if m.roomier and (starved or {}).get(fam):
        why += f"; {starved[fam]} head attempts there left recipes unrun for lack of time, so giving recipes " \
               f"more of the time should let more of them run"
    elif m.roomier and (unused or {}).get(fam):
        why += f"; {unused[fam]} head attempts there ended with most of their budget unused, so giving recipes " \
               f"more of the time should let one run"
    score = means.get(fam) if fam != "loop" else (sum(means.values()) / len(means) if means else None)
    now = f"the head averages percentile {score:.1f} there" if score is not None else "no dev score there yet"
    evidence = "; ".join(["head dev percentile by family: " + ", ".join(f"{f} {v:.1f}" for f, v in means.items())]
                         + ([f"earlier changes at {m.site} scored x{site:.2f}"] if site else []))
    return Proposal(hypothesis=f"{m.label} should raise the leaderboard percentile on {where}; {now}",
                    rationale=why, evidence=evidence, proposer="heuristic", mutation=m.to_dict())
