"""Campaign reports as the field reads them: per competition × seed results, and rates aggregated the way
MLE-bench aggregates its grading reports (experiments/aggregate_grading_reports.py): for each seed, the
percentage of the competitions with a medal (any, gold, silver, bronze), above the median, a valid
submission, a submission at all; then the mean over seeds and its standard error (ddof=1; 0 with one seed).
By default only complete seeds count (every competition of the seed finished); `pad_missing` counts an
unfinished attempt as no submission instead. The mean leaderboard percentile (0 for an invalid attempt) is
averaged the same way. A paired comparison of two campaigns matches attempts by competition and seed.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from typing import Any

from agent.campaign.store import FINAL

RATES = {"any_medal": lambda r: r.get("medal") in ("gold", "silver", "bronze"),
         "gold": lambda r: r.get("medal") == "gold", "silver": lambda r: r.get("medal") == "silver",
         "bronze": lambda r: r.get("medal") == "bronze", "above_median": lambda r: bool(r.get("above_median")),
         "valid_rate": lambda r: bool(r.get("valid")),
         "submission_rate": lambda r: bool(r.get("submission_exists", r.get("valid")))}
COLUMNS = ("task", "seed", "status", "score", "medal", "above_median", "valid", "percentile", "seconds", "turns",
           "tokens", "cost_usd")


def mean_se(values: Sequence[float]) -> dict[str, float]:
    """{mean, se, ci_lower, ci_upper}: the standard error of the mean with ddof=1 (0 for a single value)."""
    if not values:
        return {"mean": float("nan"), "se": float("nan"), "ci_lower": float("nan"), "ci_upper": float("nan")}
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return {"mean": mean, "se": se, "ci_lower": mean - 1.96 * se, "ci_upper": mean + 1.96 * se}


def _final(r: dict) -> bool:
    return r.get("state") in FINAL


def aggregate(results: list[dict], pad_missing: bool = False) -> dict[str, Any]:
    """Rates in percent and the mean leaderboard percentile, as mean ± SE over seeds (MLE-bench's way)."""
    tasks = list(dict.fromkeys(r["task"] for r in results))
    seeds = sorted({r["seed"] for r in results})
    by = {(r["task"], r["seed"]): r for r in results}
    used, incomplete = [], []
    for seed in seeds:
        cells = [by.get((t, seed)) for t in tasks]
        if all(c is not None and _final(c) for c in cells):
            used.append(seed)
        elif pad_missing:
            used.append(seed)
            incomplete.append(seed)
        else:
            incomplete.append(seed)
    per_seed: dict[str, list[float]] = {k: [] for k in (*RATES, "mean_percentile")}
    for seed in used:
        cells = [by.get((t, seed)) or {} for t in tasks]
        cells = [c if _final(c) else {} for c in cells]           # unfinished: no submission
        for name, test in RATES.items():
            per_seed[name].append(100.0 * sum(1 for c in cells if test(c)) / len(tasks))
        pcts = [c.get("percentile") for c in cells]
        known = [p if c.get("valid") else 0.0 for p, c in zip(pcts, cells, strict=True)
                 if p is not None or not c.get("valid")]
        if known:
            per_seed["mean_percentile"].append(statistics.fmean(known))
    finals = [r for r in results if _final(r)]
    totals = {k: round(sum(float(r.get(k) or 0) for r in finals), 4) for k in ("seconds", "turns", "tokens",
                                                                                "cost_usd")}
    out: dict[str, Any] = {name: mean_se(vals) for name, vals in per_seed.items()}
    out.update(unit="percent", seeds_averaged=len(used), seeds=used, incomplete_seeds=incomplete,
               competitions_per_seed=len(tasks), pad_missing=pad_missing, per_seed=per_seed,
               attempts=len(results), finished=len(finals), totals=totals)
    return out


def _sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign test (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def compare(a: list[dict], b: list[dict], resamples: int = 10000, seed: int = 0) -> dict[str, Any]:
    """B against A, paired by (competition, seed) over attempts final in both: the leaderboard percentile's
    difference (B − A; an invalid attempt counts 0), wins/losses/ties, a sign test, a paired bootstrap 95% CI,
    and the medal and valid rates of each on the pairs."""
    amap = {(r["task"], r["seed"]): r for r in a if _final(r)}
    pairs = []
    for r in b:
        key = (r["task"], r["seed"])
        if _final(r) and key in amap:
            ra = amap[key]
            pa = (ra.get("percentile") or 0.0) if ra.get("valid") else 0.0
            pb = (r.get("percentile") or 0.0) if r.get("valid") else 0.0
            pairs.append({"task": key[0], "seed": key[1], "a_percentile": pa, "b_percentile": pb, "delta": pb - pa,
                          "a_score": ra.get("score"), "b_score": r.get("score"), "a_medal": ra.get("medal"),
                          "b_medal": r.get("medal"), "a_valid": bool(ra.get("valid")), "b_valid": bool(r.get("valid"))})
    deltas = [p["delta"] for p in pairs]
    wins = sum(1 for d in deltas if d > 1e-9)
    losses = sum(1 for d in deltas if d < -1e-9)
    rng = random.Random(seed)
    boots = sorted(statistics.fmean(rng.choices(deltas, k=len(deltas))) for _ in range(resamples)) if deltas else []
    ci = (boots[int(0.025 * len(boots))], boots[min(len(boots) - 1, int(0.975 * len(boots)))]) if boots else (None, None)
    per_task: dict[str, list[float]] = {}
    for p in pairs:
        per_task.setdefault(p["task"], []).append(p["delta"])
    medal = RATES["any_medal"]
    rate = (lambda xs: 100.0 * sum(xs) / len(xs)) if pairs else (lambda xs: float("nan"))  # noqa: E731
    return {"pairs": pairs, "n": len(pairs), "delta_percentile": mean_se(deltas), "wins": wins, "losses": losses,
            "ties": len(deltas) - wins - losses, "sign_test_p": _sign_test_p(wins, losses),
            "bootstrap_ci95": list(ci), "per_task": {t: statistics.fmean(v) for t, v in per_task.items()},
            "a_any_medal": rate([medal({"medal": p["a_medal"]}) for p in pairs]),
            "b_any_medal": rate([medal({"medal": p["b_medal"]}) for p in pairs]),
            "a_valid_rate": rate([p["a_valid"] for p in pairs]), "b_valid_rate": rate([p["b_valid"] for p in pairs])}


def attempt_rows(results: list[dict]) -> list[dict[str, Any]]:
    """One row per attempt with the report's columns."""
    return [{k: r.get(k) for k in COLUMNS} | {"state": r.get("state"), "run_id": r.get("run_id")} for r in results]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _pm(m: dict[str, float]) -> str:
    return f"{m['mean']:.1f} ± {m['se']:.1f}" if not math.isnan(m["mean"]) else "–"


def markdown(name: str, status: dict[str, Any], agg: dict[str, Any], results: list[dict],
             comparison: dict[str, Any] | None = None, other: str | None = None, plots: Sequence[str] = ()) -> str:
    """The report as Markdown: settings, aggregate rates (mean ± SE over seeds), every attempt, the comparison."""
    b = status.get("budgets") or {}
    lines = [f"# Campaign {name}", "",
             f"- state: {status.get('state')}; attempts: {agg['finished']} of {agg['attempts']} finished",
             f"- policy: {status.get('policy')}" + (f" ({status.get('model')})" if status.get("model") else ""),
             f"- per attempt: wall {_fmt(b.get('seconds'))} s, turns {_fmt(b.get('max_turns'))}, tokens "
             f"{_fmt(b.get('tokens'))}, ${_fmt(b.get('usd'))}; parallel {status.get('parallel')} "
             f"({status.get('executor')}); scaffold {status.get('scaffold_commit')}",
             f"- seeds averaged: {agg['seeds_averaged']} ({', '.join(map(str, agg['seeds'])) or 'none'}) over "
             f"{agg['competitions_per_seed']} competitions"
             + (f"; incomplete seeds left out: {', '.join(map(str, agg['incomplete_seeds']))}"
                if agg["incomplete_seeds"] and not agg["pad_missing"] else ""), "",
             "| metric | mean ± SE over seeds |", "|---|---|"]
    labels = {"any_medal": "any medal (%)", "gold": "gold (%)", "silver": "silver (%)", "bronze": "bronze (%)",
              "above_median": "above median (%)", "valid_rate": "valid submission (%)",
              "submission_rate": "made a submission (%)", "mean_percentile": "mean leaderboard percentile"}
    lines += [f"| {label} | {_pm(agg[key])} |" for key, label in labels.items()]
    t = agg["totals"]
    lines += ["", f"Totals over finished attempts: {t['seconds']:.0f} s of attempt time, {t['turns']:.0f} turns, "
              f"{t['tokens']:.0f} tokens, ${t['cost_usd']:.4f}.", "", "## Attempts", "",
              "| competition | seed | status | score | medal | above median | valid | percentile | time (s) | turns "
              "| tokens | cost ($) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in attempt_rows(results):
        lines.append("| " + " | ".join(_fmt(r[k]) for k in COLUMNS) + " |")
    if comparison is not None:
        c, a = comparison, other or "A"
        lo, hi = c["bootstrap_ci95"]
        lines += ["", f"## {name} against {a}, paired by competition and seed", "",
                  f"{c['n']} pairs. Leaderboard percentile, {name} − {a}: {_pm(c['delta_percentile'])} "
                  f"(bootstrap 95% CI {_fmt(lo, 3)} to {_fmt(hi, 3)}); {name} better in {c['wins']}, worse "
                  f"in {c['losses']}, tied in {c['ties']} (sign test p = {c['sign_test_p']:.3g}). Any medal on the "
                  f"pairs: {_fmt(c['a_any_medal'], 3)}% ({a}) → {_fmt(c['b_any_medal'], 3)}% ({name}); valid: "
                  f"{_fmt(c['a_valid_rate'], 3)}% → {_fmt(c['b_valid_rate'], 3)}%.", "",
                  "| competition | mean percentile change |", "|---|---|"]
        lines += [f"| {t} | {d:+.1f} |" for t, d in sorted(c["per_task"].items())]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def build(store: Any, other: Any = None, pad_missing: bool = False) -> dict[str, Any]:
    """The report of a campaign (and its comparison with `other`, a campaign store) as `report --json` prints
    it: the campaign's state, one entry per attempt, the aggregates, and the comparison."""
    from agent.campaign.control import campaign_status, results

    status = campaign_status(store)
    res = results(store)
    doc: dict[str, Any] = {"name": store.name, "state": status["state"], "policy": status["policy"],
                           "model": status["model"], "budgets": status["budgets"], "parallel": status["parallel"],
                           "executor": status["executor"], "scaffold_commit": status["scaffold_commit"],
                           "attempts": attempt_rows(res), "aggregate": aggregate(res, pad_missing)}
    if other is not None:
        doc["compared_with"] = other.name
        doc["comparison"] = compare(results(other), res)
    return doc


def write(store: Any, other: Any = None, pad_missing: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Write report.md, report.json and the plots into the campaign's report/ folder; returns (the report,
    notes about what was skipped)."""
    import json

    from agent import plots
    from agent.campaign.control import campaign_status, results
    from agent.campaign.results import score_timeline

    doc = build(store, other, pad_missing)
    out = store.report_dir
    out.mkdir(parents=True, exist_ok=True)
    notes, drawn = [], []
    if plots.available():
        series: dict[str, dict[int, list]] = {}
        for r in results(store):
            points = score_timeline(store.record_dir(r["run_id"]))
            if points:
                series.setdefault(r["task"], {})[r["seed"]] = points
        if series:
            drawn.append(plots.campaign_score_panels(series, out / "score_over_time.png", f"campaign {store.name}").name)
        aggs = {store.name: doc["aggregate"]}
        if other is not None:
            aggs = {other.name: aggregate(results(other), pad_missing), **aggs}
        if any(a["seeds_averaged"] for a in aggs.values()):
            drawn.append(plots.medal_rates(aggs, out / "medal_rates.png").name)
        if other is not None and doc["comparison"]["n"]:
            drawn.append(plots.paired_comparison(doc["comparison"], out / "paired.png", other.name, store.name).name)
    else:
        notes.append("plots skipped: matplotlib is not installed (pip install 'evoforge[plots]')")
    doc["plots"] = [str(out / p) for p in drawn]
    (out / "report.json").write_text(json.dumps(doc, indent=2, default=str))
    text = markdown(store.name, campaign_status(store), doc["aggregate"], results(store), doc.get("comparison"),
                    other.name if other is not None else None, drawn)
    (out / "report.md").write_text(text)
    return doc, notes
