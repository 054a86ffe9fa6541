"""`evoforge tasks …`: list, show, prepare, validate, grade and baseline the tasks: the MLE-lite competitions and the
rl_runs family (broken training set-ups of the bundled trainer, graded by retraining the submitted config)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from agent.cli_output import Column, print_table
from common.errors import UserError

app = typer.Typer(help="Tasks (MLE-lite competitions, rl_runs): list, show, prepare, validate, grade, baseline.",
                  no_args_is_help=True, rich_markup_mode=None)
_err = Console(stderr=True)


@app.callback()
def _group(
    ctx: typer.Context,
    mlebench_dir: Path | None = typer.Option(
        None, "--mlebench-dir", envvar="EVOFORGE_MLEBENCH_DIR",
        help="MLE-bench data dir (<dir>/<id>/prepared/{public,private}); adds its competitions as mlebench:<id>."),
) -> None:
    """MLE-lite competitions."""
    if mlebench_dir is not None and not mlebench_dir.is_dir():
        raise UserError(f"--mlebench-dir {mlebench_dir} is not a directory")
    ctx.obj = {"mlebench_dir": mlebench_dir}


def _mdir(ctx: typer.Context) -> Path | None:
    return (ctx.obj or {}).get("mlebench_dir")


FAMILIES = ("mle_lite", "rl_runs")


def _find(ctx: typer.Context, cid: str):
    """An rl_runs task or a competition by id (UserError naming the known ids when neither)."""
    from tasks.registry import get_task

    return get_task(cid, _mdir(ctx))


def _is_rl(task) -> bool:
    return getattr(task, "family", "mle_lite") == "rl_runs"


def _select(ctx: typer.Context, ids: list[str] | None, all_: bool, local_only: bool = False) -> list:
    from tasks.mle_lite.registry import list_competitions
    from tasks.rl_runs.registry import list_tasks

    if all_ and ids:
        raise UserError("give competition ids or --all, not both")
    if all_:
        comps = list_competitions(_mdir(ctx))
        if local_only:
            comps = [c for c in comps if c.source_kind == "mle_lite"]
        else:
            comps = comps + list_tasks()
        if not comps:
            raise UserError("no competitions found")
        return comps
    if not ids:
        raise UserError("give one or more competition ids, or --all (see `evoforge tasks list`)")
    return [_find(ctx, cid) for cid in ids]


TASK_COLUMNS = [Column("id", "id", keep=True), Column("family", "family"), Column("modality", "modality"),
                Column("metric", "metric"),
                Column("better", "better", wide=True), Column("source", "source", wide=True),
                Column("prepared", "prepared", wide=True)]


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    wide: bool = typer.Option(False, "--wide", "-w", help="More columns: better (direction), source, prepared."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
    family: str | None = typer.Option(None, "--family", metavar="|".join(FAMILIES),
                                      help="Only the tasks of one family: mle_lite (competitions) or rl_runs."),
) -> None:
    """List the tasks (id, family, modality, metric). Piped: TSV with a header."""
    from tasks.mle_lite.registry import list_competitions
    from tasks.rl_runs.registry import list_tasks

    if family is not None and family not in FAMILIES:
        raise UserError(f"unknown family {family!r}: use {' or '.join(FAMILIES)}")
    rows = [{**c.summary(), "family": "mle_lite"} for c in list_competitions(_mdir(ctx))] if family != "rl_runs" else []
    rows += [t.summary() for t in list_tasks()] if family != "mle_lite" else []
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        r["better"] = "higher" if r["higher_is_better"] else "lower"
    print_table(rows, TASK_COLUMNS, wide=wide, title=f"{len(rows)} tasks")


def complete_task_id(incomplete: str) -> list[str]:
    """Shell completion: task ids that start with what was typed."""
    from tasks.mle_lite.registry import list_competitions
    from tasks.rl_runs.registry import list_tasks

    try:
        return [c.id for c in [*list_competitions(), *list_tasks()] if c.id.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []


@app.command("show")
def show_cmd(ctx: typer.Context,
             cid: str = typer.Argument(..., metavar="ID", autocompletion=complete_task_id),
             as_json: bool = typer.Option(False, "--json", help="Print the description, paths and spec as JSON.")) -> None:
    """Print a task's description and where its data lives."""
    comp = _find(ctx, cid)
    if _is_rl(comp):
        where = {"public_dir": str(comp.public_dir), "prepared": comp.is_prepared()}
        if as_json:
            print(json.dumps({**comp.summary(), **where, "description": comp.description(),
                              "submission": comp.submission_format()}, indent=1))
            return
        print(comp.description().rstrip())
        print()
        print(f"public data:        {comp.public_dir} ({'prepared' if comp.is_prepared() else 'not prepared'})")
        print(f"submission:         {comp.submission_format()}")
        return
    where = {"competition_folder": str(comp.dir), "public_dir": str(comp.public_dir), "prepared": comp.is_prepared(),
             "sample_submission": str(comp.sample_submission_path), "leaderboard": str(comp.leaderboard_path)}
    if as_json:
        print(json.dumps({**comp.summary(), **where, "description": comp.description()}, indent=1))
        return
    print(comp.description().rstrip())
    print()
    print(f"competition folder: {comp.dir}")
    print(f"public data:        {comp.public_dir} ({'prepared' if comp.is_prepared() else 'not prepared'})")
    print(f"sample submission:  {comp.sample_submission_path}")
    print(f"leaderboard:        {comp.leaderboard_path}")


@app.command("prepare")
def prepare_cmd(
    ctx: typer.Context,
    ids: list[str] | None = typer.Argument(None, metavar="ID", help="Competition ids."),
    all_: bool = typer.Option(False, "--all", help="Prepare every competition."),
    force: bool = typer.Option(False, "--force", help="Prepare again even if already prepared."),
) -> None:
    """Prepare public/private data (idempotent: prepared competitions are skipped)."""
    comps = _select(ctx, ids, all_)
    t_all = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=False) as progress:
        task = progress.add_task("preparing", total=len(comps))
        for comp in comps:
            progress.update(task, description=f"preparing {comp.id}")
            t0 = time.perf_counter()
            if not force and comp.is_prepared():
                progress.console.print(f"[dim]{comp.id}: already prepared[/dim]")
            else:
                comp.prepare(force=force)
                progress.console.print(f"{comp.id}: prepared in {time.perf_counter() - t0:.1f}s -> {comp.public_dir}")
            progress.advance(task)
        progress.update(task, description="done")
    _err.print(f"{len(comps)} competition(s) ready in {time.perf_counter() - t_all:.1f}s")


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise UserError(f"submission file not found: {path}")
    if not path.is_file():
        raise UserError(f"not a file: {path}")
    return path


@app.command("validate")
def validate_cmd(ctx: typer.Context, cid: str = typer.Argument(..., metavar="ID"),
                 file: Path = typer.Argument(..., metavar="FILE")) -> None:
    """Check a submission file (for rl_runs: a config): exit 0 and 'valid', or exit 1 and the problem in one line."""
    from tasks.mle_lite.grading import validate_file
    from tasks.rl_runs import grading as rl_grading

    comp = _find(ctx, cid)
    check = rl_grading.validate_file if _is_rl(comp) else validate_file
    error = check(comp, _existing_file(file))
    if error:
        print(f"invalid: {error}")
        raise typer.Exit(1)
    print("valid")


@app.command("grade")
def grade_cmd(ctx: typer.Context, cid: str = typer.Argument(..., metavar="ID"),
              file: Path = typer.Argument(..., metavar="FILE"),
              as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Grade a submission privately: score, medal and above-median (exit 1 when the file is invalid). An rl_runs
    config is retrained by the grader (minutes on a CPU)."""
    from tasks.mle_lite.grading import grade_file
    from tasks.rl_runs import grading as rl_grading

    comp = _find(ctx, cid)
    if _is_rl(comp):
        with _err.status(f"retraining the config for {comp.id}"):
            report = rl_grading.grade_file(comp, _existing_file(file))
    else:
        report = grade_file(comp, _existing_file(file))
    if as_json:
        print(json.dumps(report.to_dict()))
    elif report.valid:
        print(f"score {report.score:.6g} ({comp.config.metric}, {'higher' if comp.higher_is_better else 'lower'} "
              f"is better)  medal: {report.medal or 'none'}  above median: {report.above_median}")
        for note in getattr(report, "details", {}).get("notes", []):
            print(f"note: {note}")
    else:
        print(f"invalid: {report.error}")
    if not report.valid:
        raise typer.Exit(1)


BASELINE_COLUMNS = [Column("id", "id", keep=True), Column("metric_dir", "metric"), Column("result", "score", right=True),
                    Column("medal", "medal"), Column("above_median", "above median"),
                    Column("seconds", "seconds", right=True)]


@app.command("baseline")
def baseline_cmd(
    ctx: typer.Context,
    ids: list[str] | None = typer.Argument(None, metavar="ID", help="Competition ids."),
    all_: bool = typer.Option(False, "--all", help="Every competition."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """Run each competition's reference baseline (seed 0), grade it privately and print a table."""
    from tasks.mle_lite.grading import grade_dataframe

    comps = _select(ctx, ids, all_, local_only=True)
    results = []
    with _err.status("") as status:
        for comp in comps:
            if comp.source_kind != "mle_lite":
                raise UserError(f"{comp.id} has no reference solutions (MLE-bench competitions bring none)")
            status.update(f"preparing {comp.id}")
            comp.prepare()
            status.update(f"running the baseline of {comp.id}")
            t0 = time.perf_counter()
            baseline = comp.solutions.get("baseline")
            if baseline is None:
                raise UserError(f"{comp.dir / 'solutions.py'} has no 'baseline' entry")
            with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the table / JSON
                frame = baseline(comp.public_dir, 0)
            report = grade_dataframe(comp, frame)
            seconds = time.perf_counter() - t0
            results.append({"id": comp.id, "metric": comp.config.metric, "higher_is_better": comp.higher_is_better,
                            **report.to_dict(), "recorded": comp.config.baseline_score, "seconds": round(seconds, 3)})
            if not as_json:
                _err.print(f"{comp.id}: {report.score if report.valid else report.error} ({seconds:.1f}s)")
    if as_json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        r["metric_dir"] = r["metric"] + (" ↑" if r["higher_is_better"] else " ↓")
        r["result"] = r["score"] if r["valid"] else f"invalid: {r['error']}"
    print_table(results, BASELINE_COLUMNS, title="reference baselines (seed 0, private score)")
    if any(not r["valid"] for r in results):
        sys.exit(1)
