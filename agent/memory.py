"""The lessons memory: self-critiques become lessons by task family and by tool, deduplicated, with their runs.

memory/MEMORY.md is Markdown that people and the agent read, in sections:

    ## family: tabular
    - worked: Gradient boosting beat the linear model on every table. (runs: r1, r2)
    ## tool: run_python
    - failed: A script over 10 minutes was killed at the tool's limit. (runs: r3; families: image)
    ## general
    - note: Validate before submitting. (runs: r4)

A critique's bullets ("### What worked / What failed / What to try next") become lessons of kind worked,
failed and next; a bullet naming a tool goes under that tool, the rest under the task's family. A lesson
seen again (the same words up to numbers, casing and punctuation, or nearly so) gains a run instead of a
second line. The first prompt of an attempt gets the lessons relevant to its task (`lessons_for`): its
family's, the tools', then the general ones, the best supported first, within a character budget.
Files in the older dated-entry format are read too and rewritten as lessons on the next write.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from common import paths

HEADER = ("# evoforge memory\n\nLessons from earlier attempts, by task family and by tool; each names the runs "
          "it came from\n(a lesson seen again gains a run instead of a second line).\n")
KINDS = ("worked", "failed", "next", "note")
HEADINGS = {"what worked": "worked", "what failed": "failed", "what to try next": "next"}
GENERAL = "general"
MAX_LESSON_CHARS = 400
SIMILAR = 0.75            # token overlap (Jaccard) at which two lessons are the same lesson
TOOL_NAMES = ("bash", "run_python", "read_file", "write_file", "edit_file", "list_files", "search_files",
              "validate_submission", "submit", "read_training_log", "read_memory", "append_memory")
_LINE = re.compile(r"^- (?P<kind>[a-z]+): (?P<text>.*?)(?: \((?P<tail>runs: [^()]*)\))?\s*$")
_LEGACY = re.compile(r"^## (?P<stamp>\d{4}-\d\d-\d\d[^—]*)— (?P<title>.*)$")
_MARKER = re.compile(r"<!-- run: (\S+) -->")


@dataclass
class Lesson:
    """One lesson: what kind, its words, where it is filed, and the runs (and, for tools, families) behind it."""

    kind: str
    text: str
    scope: str                                        # "family: X", "tool: Y" or "general"
    runs: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)   # tool lessons: the families they were seen in

    def line(self) -> str:
        """The lesson as its Markdown line."""
        tail = []
        if self.runs:
            tail.append("runs: " + ", ".join(self.runs))
        if self.families and self.scope.startswith("tool: "):
            tail.append("families: " + ", ".join(self.families))
        return f"- {self.kind}: {self.text}" + (f" ({'; '.join(tail)})" if tail else "")


def memory_path() -> Path:
    """The memory file the agent reads and appends to."""
    return paths.memory_file()


def family_of(task_id: str) -> str:
    """A competition's task family (its modality), or "general" when it is not known here."""
    try:
        from tasks.mle_lite.registry import get_competition

        return str(get_competition(task_id).config.modality or GENERAL)
    except Exception:  # noqa: BLE001 - an unknown or broken task only loses the filing
        return GENERAL


# -- reading and writing the file ---------------------------------------------------------------------
def read_memory(max_chars: int | None = None, path: Path | None = None) -> str:
    """The memory text (its tail when longer than max_chars); '' when there is none."""
    p = path or memory_path()
    try:
        text = p.read_text()
    except FileNotFoundError:
        return ""
    if max_chars is not None and len(text) > max_chars:
        cut = text[-max_chars:]
        nl = cut.find("\n## ")
        return "[… earlier entries cut …]\n" + (cut[nl + 1 :] if nl >= 0 else cut)
    return text


def _tail(text: str) -> tuple[list[str], list[str]]:
    runs, families = [], []
    for part in text.split(";"):
        key, _, value = part.strip().partition(":")
        items = [v.strip() for v in value.split(",") if v.strip()]
        if key.strip() == "runs":
            runs = items
        elif key.strip() == "families":
            families = items
    return runs, families


def parse(text: str) -> list[Lesson]:
    """The lessons of a memory file's text (the dated entries of the older format included)."""
    lessons: list[Lesson] = []
    scope: str | None = None
    legacy: list[str] | None = None
    legacy_title = ""

    def flush_legacy() -> None:
        if legacy is not None:
            body = "\n".join(legacy)
            run = _MARKER.search(body)
            task = legacy_title.split(" · ")[0].strip()
            lessons.extend(critique_lessons(body, family_of(task) if task else GENERAL,
                                            run.group(1) if run else ""))

    for raw in text.splitlines():
        line = raw.rstrip()
        m = _LEGACY.match(line)
        if m:
            flush_legacy()
            legacy, legacy_title, scope = [], m.group("title"), None
            continue
        if line.startswith("## "):
            flush_legacy()
            legacy, scope = None, line[3:].strip()
            continue
        if legacy is not None:
            legacy.append(line)
            continue
        m = _LINE.match(line)
        if scope and m and m.group("kind") in KINDS:
            runs, families = _tail(m.group("tail") or "")
            lessons.append(Lesson(m.group("kind"), m.group("text").strip(), scope, runs, families))
    flush_legacy()
    return merge([], lessons)


def render(lessons: list[Lesson]) -> str:
    """The memory file's text for these lessons: family sections, then tools, then general."""
    def order(scope: str) -> tuple[int, str]:
        return (0 if scope.startswith("family: ") else 1 if scope.startswith("tool: ") else 2, scope)

    out = [HEADER]
    for scope in sorted({les.scope for les in lessons}, key=order):
        out.append(f"\n## {scope}\n\n" + "\n".join(les.line() for les in lessons if les.scope == scope) + "\n")
    return "".join(out)


def load(path: Path | None = None) -> list[Lesson]:
    """The lessons in the memory file (none when it does not exist)."""
    return parse(read_memory(path=path))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold a lock on the memory file's folder (attempts running side by side share one file; no lock file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def add(new: Iterable[Lesson], path: Path | None = None) -> list[Lesson]:
    """Merge lessons into the memory file (deduplicated; written atomically under a lock); returns the new ones."""
    p = path or memory_path()
    new = list(new)
    with _locked(p):
        old = load(p)
        merged = merge(old, new)
        added = [les for les in merged if not any(_same(les, o) for o in old)]
        if merged != old or not p.exists():
            _write(p, render(merged))
    return added


# -- lessons from critiques -----------------------------------------------------------------------
def _words(text: str) -> set[str]:
    norm = re.sub(r"\d+(?:\.\d+)?(?:e-?\d+)?", " # ", text.lower())
    return set(re.findall(r"[a-z_]+|#", norm))


def _same(a: Lesson, b: Lesson) -> bool:
    if a.scope != b.scope or a.kind != b.kind:
        return False
    wa, wb = _words(a.text), _words(b.text)
    if not wa or not wb:
        return a.text == b.text
    return len(wa & wb) / len(wa | wb) >= SIMILAR


def merge(old: list[Lesson], new: list[Lesson]) -> list[Lesson]:
    """old with new merged in: a lesson like one already there adds its runs and families to it."""
    out = [Lesson(o.kind, o.text, o.scope, list(o.runs), list(o.families)) for o in old]
    for les in new:
        same = next((o for o in out if _same(o, les)), None)
        if same is None:
            out.append(Lesson(les.kind, les.text, les.scope, list(les.runs), list(les.families)))
            continue
        same.runs += [r for r in les.runs if r not in same.runs]
        same.families += [f for f in les.families if f not in same.families]
    return out


def _bullets(body: str) -> Iterator[tuple[str, str]]:
    """(kind, text) for each bullet of a critique under its heading; a text with no headings is one note."""
    kind, current, found = None, [], False

    def done() -> Iterator[tuple[str, str]]:
        if kind and current:
            yield kind, " ".join(" ".join(current).split())

    for raw in body.splitlines():
        line = raw.strip()
        head = re.match(r"^#+\s*(.*?)\s*:?\s*$", line)
        if head:
            yield from done()
            current, kind = [], HEADINGS.get(head.group(1).lower())
            found = found or kind is not None
            continue
        bullet = re.match(r"^(?:[-*•]|\d+[.)])\s+(.*)$", line)
        if bullet and kind:
            yield from done()
            current = [bullet.group(1)]
        elif line and kind and current:
            current.append(line)
        elif line and kind:
            current = [line]
    yield from done()
    if not found:
        text = " ".join(_MARKER.sub("", body).split())
        if text:
            yield "note", text


def _tool_named(text: str) -> str | None:
    for name in TOOL_NAMES:
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            return name
    return None


def critique_lessons(body: str, family: str, run_id: str, kind: str | None = None) -> list[Lesson]:
    """The lessons in a self-critique (or a note, with `kind`), filed by tool or by the task's family."""
    found = [(kind, " ".join(body.split()))] if kind else list(_bullets(body))
    out = []
    for k, text in found:
        text = text[:MAX_LESSON_CHARS].strip()
        if not text or text.lower() in ("(nothing notable)", "none", "n/a"):
            continue
        tool = _tool_named(text)
        scope = f"tool: {tool}" if tool else (f"family: {family}" if family and family != GENERAL else GENERAL)
        out.append(Lesson(k, text, scope, [run_id] if run_id else [], [family] if tool and family else []))
    return merge([], out)


def record_reflection(text: str, task_id: str, run_id: str, path: Path | None = None,
                      family: str | None = None) -> list[Lesson]:
    """File an attempt's self-critique as lessons (idempotent per run: a run already recorded adds nothing)."""
    p = path or memory_path()
    if run_id and run_id in recorded_runs(p):
        return []
    return add(critique_lessons(text, family or family_of(task_id), run_id), p)


def add_note(note: str, family: str | None, run_id: str = "", path: Path | None = None) -> list[Lesson]:
    """File a note the agent wrote (the append_memory tool) under its tool or the task's family."""
    return add(critique_lessons(note, family or GENERAL, run_id, kind="note"), path)


def recorded_runs(path: Path | None = None) -> set[str]:
    """Every run id some lesson names."""
    return {r for les in load(path) for r in les.runs}


def lessons_for(family: str | None, max_chars: int, path: Path | None = None) -> str:
    """The lessons relevant to a task of this family, best supported first, within max_chars ('' if none)."""
    lessons = load(path)
    if not lessons or max_chars <= 0:
        return ""
    fam = f"family: {family}" if family else None

    def rank(les: Lesson, i: int) -> tuple:
        return (-len(les.runs), -i)

    groups = [
        (f"For {family} tasks" if family else "For this family", [x for x in lessons if x.scope == fam]),
        ("About tools", [x for x in lessons if x.scope.startswith("tool: ") and (not family or family in x.families
                                                                              or not x.families)]),
        ("About tools (seen on other families)", [x for x in lessons if x.scope.startswith("tool: ") and family
                                                 and x.families and family not in x.families]),
        ("General", [x for x in lessons if x.scope == GENERAL]),
    ]
    out, used = [], 0
    for title, group in groups:
        ordered = [les for _, les in sorted(((rank(les, i), les) for i, les in enumerate(group)),
                                            key=lambda t: t[0])]
        lines = []
        for les in ordered:
            where = f"{les.scope[6:]} · " if les.scope.startswith("tool: ") else ""
            line = f"- {where}{les.kind}: {les.text} ({len(les.runs)} run{'s' if len(les.runs) != 1 else ''})"
            if used + len(line) + len(title) + 8 > max_chars:
                break
            lines.append(line)
            used += len(line) + 1
        if lines:
            out.append(f"{title}:\n" + "\n".join(lines))
            used += len(title) + 3
    return "\n\n".join(out)

