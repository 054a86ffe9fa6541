"""Read a YAML file as a user would want its errors: one line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from common.errors import UserError


def load_yaml(path: Path, what: str = "YAML file") -> Any:
    """The parsed document; UserError (one line) when the file is missing, not text, or not valid YAML."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not a text file (byte {exc.start} is not UTF-8): give a YAML {what}") from None
    if "\x00" in text:
        raise UserError(f"{path} is not a text file (it holds NUL bytes): give a YAML {what}")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise UserError(f"{path}{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
