"""CLI: `evoforge sandbox list|prune`: the Docker sandbox containers on the engine, and removing leftovers."""

from __future__ import annotations

import json

import typer

from agent.cli_output import Column, print_table
from agent.sandbox.reaper import would_remove
from common.errors import UserError

app = typer.Typer(help="Docker sandbox containers: list them, remove those left by killed runs.",
                  no_args_is_help=True, rich_markup_mode=None)

WHY = {"alive": "owner running", "dead": "owner gone", "other-host": "owner on another host",
       "unknown": "owner not recorded"}


def _containers(everything: bool, dry_run: bool) -> list:
    from agent.sandbox import docker_available
    from agent.sandbox.reaper import prune

    ok, why = docker_available(need_image=False)
    if not ok:
        raise UserError(why)
    return prune(everything=everything, dry_run=dry_run)


def _show(rows: list, as_json: bool, title: str, doomed: set[str] | None = None, wide: bool = False) -> None:
    doomed = doomed or set()
    if as_json:
        print(json.dumps([dict(r.to_dict(), **({"would_remove": r.id in doomed} if doomed else {})) for r in rows],
                         indent=2))
        return
    table = [{**r.to_dict(), "owner": WHY.get(r.owner, r.owner),
              "removed": "yes" if r.removed else (f"failed: {r.error}" if r.error else "would be" if r.id in doomed
                                                  else "-")} for r in rows]
    print_table(table, COLUMNS, wide=wide, title=title)


COLUMNS = [Column("name", "container", keep=True), Column("id", "id", wide=True), Column("status", "status"),
           Column("owner_pid", "owner pid"), Column("owner_host", "owner host", wide=True), Column("owner", "owner"),
           Column("removed", "removed")]


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
             wide: bool = typer.Option(False, "--wide", "-w", help="More columns: container id, owner host.")) -> None:
    """List sandbox containers with the state of the process that owns each."""
    rows = _containers(everything=False, dry_run=True)
    _show(rows, as_json, f"{len(rows)} sandbox containers", wide=wide)


@app.command("prune")
def prune_cmd(
    everything: bool = typer.Option(False, "--all", help="Remove every sandbox container, live runs' and other "
                                                         "hosts' included (those runs lose their sandbox)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Remove sandbox containers whose owner process on this host is gone (killed runs); --all: every one."""
    rows = _containers(everything, dry_run)
    doomed = {r.id for r in rows if would_remove(r, everything)} if dry_run else set()
    if dry_run:
        title = f"{len(doomed)} of {len(rows)} sandbox containers would be removed"
    else:
        title = f"{sum(r.removed for r in rows)} of {len(rows)} sandbox containers removed"
    _show(rows, as_json, title, doomed)
    if any(r.error for r in rows):
        raise typer.Exit(1)
