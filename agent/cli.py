"""The `evoforge` command line: one entry point, subcommands registered from small modules."""

from __future__ import annotations

import importlib
import sys

import typer

from common.errors import UserError

app = typer.Typer(
    help="evoforge: an autonomous ML engineer that improves itself.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each entry: (module, attribute, name). A module exposes a typer.Typer (a group) or a function (a command).
_SUBCOMMANDS: list[tuple[str, str, str, str]] = [
    ("agent.cli_tasks", "app", "tasks", "group"),
    ("agent.cli_sandbox", "app", "sandbox", "group"),
    ("agent.cli_run", "register", "", "register"),
    ("agent.cli_train", "register", "", "register"),
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
    """Run the CLI; user mistakes become one clear line on stderr and exit code 2."""
    try:
        app()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
