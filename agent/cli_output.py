"""What every command prints through: exit codes, tables that fit 80 columns (TSV when piped), JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)               # stdout: results
err = Console(highlight=False, soft_wrap=True, stderr=True)  # stderr: progress, notes, errors


class ExitCode(IntEnum):
    """evoforge's exit statuses (listed in `evoforge --help`)."""

    OK = 0                 # done; for a run: a valid submission was graded
    NO_VALID_SUBMISSION = 1  # the run ended without a valid graded submission (train: stopped by a fault)
    USAGE = 2              # bad arguments, configuration or environment: the message says what to fix
    RUN_FAILED = 3         # the run failed: the model endpoint is unusable or kept failing
    INTERRUPTED = 130      # stopped by Ctrl-C or SIGTERM; runs can be resumed


EXIT_CODES_HELP = ("Exit status: 0 done (a run: a valid submission was graded); 1 no result (a run: no valid "
                   "submission; train: stopped by a fault); 2 bad arguments, configuration or environment; 3 run "
                   "failed (the model endpoint is unusable or kept failing); 130 interrupted (resumable).")


@dataclass(frozen=True)
class Column:
    """One table column: the row key, its header, and whether only `--wide` shows it."""

    key: str
    header: str
    wide: bool = False
    keep: bool = False      # never shortened (ids: they are copied into other commands)
    right: bool = False


def is_terminal() -> bool:
    """Whether stdout is a terminal (else tables are printed as TSV for other programs)."""
    return out.is_terminal


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, wide: bool = False,
                title: str | None = None) -> None:
    """Rows as a table on a terminal (narrow columns shortened, ids whole), or as TSV with a header when piped."""
    cols = [c for c in columns if wide or not c.wide]
    cells = [[_cell(r.get(c.key)) for c in cols] for r in rows]
    if not is_terminal():
        print("\t".join(c.header for c in cols))
        for line in cells:
            print("\t".join(v.replace("\t", " ").replace("\n", " ") for v in line))
        return
    table = Table(title=title, box=None, pad_edge=False, header_style="bold", title_justify="left")
    for c, width in zip(cols, _widths(cols, cells), strict=True):
        table.add_column(c.header, no_wrap=True, overflow="fold" if c.keep else "ellipsis",
                         min_width=width if c.keep else len(c.header), justify="right" if c.right else "left")
    for line in cells:
        table.add_row(*line)
    out.print(table)


def _widths(cols: Sequence[Column], cells: list[list[str]]) -> list[int]:
    return [max([len(c.header)] + [len(line[i]) for line in cells]) for i, c in enumerate(cols)]


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.5g}"
    return " ".join(str(value).split())


def print_json(value: Any) -> None:
    """Pretty JSON on stdout (nothing else goes to stdout with --json)."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()
