"""The `evoforge` command line: one entry point, subcommands registered from small modules.

User and environment errors (UserError, OSError) become one `error:` line on stderr and exit status 2
in every command (`--debug` shows the traceback instead); exit statuses are listed in `--help`.
"""

from __future__ import annotations

import errno
import importlib
import logging
import subprocess
import sys
from importlib import metadata

import typer
from rich.markup import escape
from typer.core import TyperGroup

from agent.cli_output import EXIT_CODES_HELP, ExitCode, err
from common import paths
from common.errors import UserError

_DEBUG = {"on": False}

FIXES = {errno.ENOSPC: "free some disk space", errno.EDQUOT: "free some disk space",
         errno.EACCES: "check the permissions", errno.EPERM: "check the permissions",
         errno.EROFS: "the file system is read-only: use a writable place (EVOFORGE_RUNS, EVOFORGE_MEMORY, …)",
         errno.ENOTDIR: "a file stands where a folder should be", errno.EISDIR: "a folder stands where a file should be"}


def describe_os_error(exc: OSError) -> str:
    """One line for an environment error: what failed, on which path, and what to do."""
    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    fix = FIXES.get(exc.errno or 0)
    return f"{what}{where}" + (f" ({fix})" if fix else "")


class _Root(TyperGroup):
    """The root group: a user or environment error in any command is one line, not a traceback."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            if _DEBUG["on"]:
                raise
            err.print(escape(f"error: {exc}"))
            raise typer.Exit(ExitCode.USAGE) from None
        except OSError as exc:
            if _DEBUG["on"]:
                raise
            err.print(escape(f"error: {describe_os_error(exc)}"))
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(ExitCode.INTERRUPTED) from None


app = typer.Typer(
    cls=_Root,
    help="evoforge: an autonomous ML engineer that improves itself.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def version() -> str:
    """The installed version, with the checkout's git commit where there is one."""
    try:
        v = metadata.version("evoforge")
    except metadata.PackageNotFoundError:
        v = "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(paths.ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"evoforge {v}" + (f" ({commit})" if commit else "")


def _show_version(value: bool) -> None:
    if value:
        print(version())
        raise typer.Exit()


@app.callback()
def evoforge(
    show_version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                      help="Print the version and exit."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, show_default=False,
                                help="More log output (-v info, -vv debug)."),
    debug: bool = typer.Option(False, "--debug", help="Debug logs, and tracebacks instead of one-line errors."),
) -> None:
    """evoforge: an autonomous ML engineer that improves itself."""
    _DEBUG["on"] = debug
    _log_to_stderr(logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose else None)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test runner swaps it per command)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _log_to_stderr(level: int | None) -> None:
    """Log at `level` to stderr (None: warnings only, as Python prints them by default)."""
    root = logging.getLogger()
    for h in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(h)
        root.setLevel(logging.WARNING)
    if level is not None:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(level)


# Each entry: (module, attribute, name, kind). A module exposes a typer.Typer (a group) or a register function.
_SUBCOMMANDS: list[tuple[str, str, str, str]] = [
    ("agent.cli_tasks", "app", "tasks", "group"),
    ("agent.cli_sandbox", "app", "sandbox", "group"),
    ("agent.cli_run", "register", "", "register"),
    ("agent.cli_control", "register", "", "register"),
    ("agent.cli_doctor", "register", "", "register"),
    ("agent.cli_train", "register", "", "register"),
    ("agent.cli_evolve", "app", "evolve", "group"),
    ("agent.cli_campaign", "app", "campaign", "group"),
    ("agent.cli_tui", "register", "", "register"),
]


def _register() -> None:
    for module_name, attr, name, kind in _SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that part is not built yet
            raise
        obj = getattr(module, attr)
        if kind == "group":
            app.add_typer(obj, name=name)
        else:
            obj(app)


_register()


def main() -> None:
    """Run the CLI (errors raised outside any command still become one line)."""
    try:
        app(prog_name="evoforge")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(ExitCode.USAGE)


if __name__ == "__main__":
    main()
