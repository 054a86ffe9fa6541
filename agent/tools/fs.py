"""File tools: read, write, edit (exact replace), list and search, on the sandbox's view of paths.

They run on the host, so every path goes through agent.tools.confine (no links followed, nothing
outside the workspace and the public data).
"""

from __future__ import annotations

import re
from fnmatch import fnmatch

from agent.tools import confine
from agent.tools.base import ToolContext, ToolError, ToolResult, require

MAX_READ_BYTES = 2_000_000
MAX_SEARCH_FILE_BYTES = 20_000_000


def _missing(given: str) -> ToolError:
    return ToolError(f"{given}: no such file")


def read_file(ctx: ToolContext, args: dict) -> ToolResult:
    """Read a text file, optionally lines start..end (1-based, inclusive)."""
    given = require(args, "path")
    try:
        text = confine.read_text(ctx, given, MAX_READ_BYTES)
    except FileNotFoundError:
        raise _missing(given) from None
    start = require(args, "start_line", int, None)
    end = require(args, "end_line", int, None)
    if start is not None or end is not None:
        lines = text.splitlines()
        s = max(1, start or 1)
        e = min(len(lines), end or len(lines))
        text = "\n".join(f"{i}\t{lines[i - 1]}" for i in range(s, e + 1))
    return ToolResult(text if text else "(empty file)")


def write_file(ctx: ToolContext, args: dict) -> ToolResult:
    """Create or overwrite a workspace file."""
    content = require(args, "content")
    t = confine.write_bytes(ctx, require(args, "path"), content.encode())
    return ToolResult(f"wrote {len(content.encode())} bytes to {t.view}")


def edit_file(ctx: ToolContext, args: dict) -> ToolResult:
    """Replace one exact occurrence of old_string with new_string."""
    given = require(args, "path")
    old, new = require(args, "old_string"), require(args, "new_string")
    confine.locate(ctx, given, write=True)
    if not old:
        raise ToolError("old_string must not be empty")
    try:
        text = confine.read_bytes(ctx, given).decode()
    except FileNotFoundError:
        raise _missing(given) from None
    except UnicodeDecodeError as exc:
        raise ToolError(f"{given}: not UTF-8 text ({exc.reason} at byte {exc.start}); edit it with bash") from None
    n = text.count(old)
    if n == 0:
        raise ToolError(f"old_string not found in {given}; read the file and copy the text exactly")
    if n > 1:
        raise ToolError(f"old_string occurs {n} times in {given}; include more context to make it unique")
    t = confine.write_bytes(ctx, given, text.replace(old, new, 1).encode())
    return ToolResult(f"edited {t.view}: replaced 1 occurrence")


def list_files(ctx: ToolContext, args: dict) -> ToolResult:
    """List files under a folder, recursively to max_depth, with sizes (links shown, not followed)."""
    given = require(args, "path", str, ".")
    depth = require(args, "max_depth", int, 2)
    if not confine.is_dir(ctx, given):
        raise ToolError(f"{given}: not a folder")
    rows: list[str] = []
    for e in confine.walk(ctx, given, max_depth=max(0, depth) + 1):
        if e.is_dir or any(p.startswith(".") or p == "__pycache__" for p in e.rel.split("/")[:-1]):
            continue
        rows.append(f"{'link':>12}  {e.rel} (symbolic link, not followed)" if e.is_link else f"{e.size:>12}  {e.rel}")
        if len(rows) > 2000:
            rows.append("[… listing cut at 2000 entries …]")
            break
    view = confine.locate(ctx, given).view
    return ToolResult(f"{view}:\n" + ("\n".join(rows) if rows else "(no files)"))


def search_files(ctx: ToolContext, args: dict) -> ToolResult:
    """grep -rn: lines matching a regular expression under a folder (or in one file); links are skipped."""
    pattern = require(args, "pattern")
    given = require(args, "path", str, ".")
    glob = require(args, "glob", str, "*")
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from exc
    base = confine.locate(ctx, given)
    if confine.is_dir(ctx, given):
        names = [e.rel for e in confine.walk(ctx, given) if not e.is_dir and not e.is_link
                 and e.size <= MAX_SEARCH_FILE_BYTES and _glob_match(e.rel, glob)]
        files = [(base.view.rstrip("/") + "/" + rel) for rel in names]
    else:
        files = [base.view]
    hits: list[str] = []
    for view in files:
        try:
            text = confine.read_text(ctx, view, MAX_SEARCH_FILE_BYTES)
        except FileNotFoundError:
            if len(files) == 1:
                raise _missing(given) from None
            continue
        except (OSError, confine.PathRefused) as exc:
            if len(files) == 1:
                raise
            hits.append(f"[skipped: {exc}]")
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if rx.search(line):
                hits.append(f"{view}:{i}:{line[:400]}")
                if len(hits) >= 500:
                    break
        if len(hits) >= 500:
            hits.append("[… stopped at 500 matches …]")
            break
    found = any(not h.startswith("[skipped") for h in hits)
    return ToolResult("\n".join(hits) if hits else "no matches", exit_code=0 if found else 1)


def _glob_match(rel: str, glob: str) -> bool:
    return fnmatch(rel if "/" in glob else rel.rsplit("/", 1)[-1], glob)
