"""A run's events as a timeline of turns, read from events.jsonl alone and followed as it grows.

`EventTail` reads only the bytes appended since its last read (complete lines; a torn last line waits for
its end), and starts over when the file is replaced (a resume drops uncommitted events by rewriting it).
`Timeline` holds the events in seq order, grouped into turns: turn 0 is what comes before the first model
turn, turn k starts at the k-th `model_turn` event and runs to the next one (the last turn also holds the
grading and the end). Both work on a copied run folder: no sandbox, no model, no checkpoint.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

Event = dict[str, Any]


class EventTail:
    """The events appended to one events.jsonl since the last `read_new` (from the start on the first)."""

    max_read: int | None = None          # bytes taken in per call (None: all that was appended)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self._inode: int | None = None
        self._partial = b""

    @contextmanager
    def _open(self) -> Iterator[int]:
        """A read descriptor of the file (FileNotFoundError while there is none)."""
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)

    def read_new(self) -> list[Event]:
        """The complete events written since the last call; after the file was replaced, all of them again."""
        try:
            with self._open() as fd:
                st = os.fstat(fd)
                if st.st_ino != self._inode or st.st_size < self.offset:   # replaced or truncated: read it anew
                    self._inode, self.offset, self._partial = st.st_ino, 0, b""
                if st.st_size == self.offset:
                    return []
                want = st.st_size - self.offset
                data = os.pread(fd, want if self.max_read is None else min(want, self.max_read), self.offset)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if self.max_read is not None and len(self._partial) > self.max_read:   # a line without end: dropped
            self._partial = b""
        events = []
        for line in lines:
            try:
                ev = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(ev, dict):
                events.append(ev)
        return events


class Timeline:
    """Events in seq order, grouped into turns, with search; `add` takes what an EventTail reads."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.turn_starts: list[int] = [0]     # index of the first event of each turn (turn 0 starts at 0)
        self._texts: list[str] = []           # lower-cased values of each event, made on the first search

    @classmethod
    def load(cls, path: Path) -> Timeline:
        """The timeline of a complete events.jsonl."""
        tl = cls()
        tl.add(EventTail(path).read_new())
        return tl

    @property
    def n_turns(self) -> int:
        """Model turns recorded so far (turn numbers run 1..n_turns; 0 is the start)."""
        return len(self.turn_starts) - 1

    def add(self, events: list[Event]) -> int | None:
        """Append events; returns the index from which earlier ones were replaced (a rewritten record), else None.

        An event already held (same seq, ts and type) is skipped, so a file read again from its start adds
        only what is new."""
        rewound: int | None = None
        for ev in events:
            seq = ev.get("seq")
            i = seq if isinstance(seq, int) and 0 <= seq <= len(self.events) else len(self.events)
            if i < len(self.events):
                held = self.events[i]
                if held.get("ts") == ev.get("ts") and held.get("type") == ev.get("type"):
                    continue
                self._truncate(i)
                rewound = i if rewound is None else min(rewound, i)
            if ev.get("type") == "model_turn" and i > 0:
                self.turn_starts.append(i)
            self.events.append(ev)
            if self._texts:
                self._texts.append(_text(ev))
        return rewound

    def _truncate(self, i: int) -> None:
        del self.events[i:]
        del self._texts[i:]
        while len(self.turn_starts) > 1 and self.turn_starts[-1] >= i:
            self.turn_starts.pop()

    def turn_of(self, index: int) -> int:
        """The turn an event index belongs to."""
        return bisect_right(self.turn_starts, index) - 1

    def turn_range(self, turn: int) -> range:
        """Indexes of the events of one turn."""
        turn = max(0, min(turn, self.n_turns))
        end = self.turn_starts[turn + 1] if turn + 1 < len(self.turn_starts) else len(self.events)
        return range(self.turn_starts[turn], end)

    def find_all(self, text: str) -> list[int]:
        """Indexes of every event with a value that contains `text`, case-insensitive."""
        needle = text.lower().strip()
        return [i for i, t in enumerate(self._search_texts()) if needle in t] if needle else []

    def _search_texts(self) -> list[str]:
        if len(self._texts) != len(self.events):
            self._texts = [_text(e) for e in self.events]
        return self._texts

    def search(self, text: str, after: int = -1, backwards: bool = False) -> int | None:
        """Index of the next event (or previous, backwards) with a value containing `text`, case-insensitive; wraps."""
        needle = text.lower().strip()
        if not needle or not self.events:
            return None
        self._search_texts()
        n = len(self.events)
        order = ([(after - k) % n for k in range(1, n + 1)] if backwards
                 else [(after + k) % n for k in range(1, n + 1)])
        return next((i for i in order if needle in self._texts[i]), None)

    def last(self, type_: str) -> Event | None:
        """The latest event of a type."""
        return next((e for e in reversed(self.events) if e.get("type") == type_), None)


def _text(ev: Event) -> str:
    """The event's values (nested ones too; not its keys, which every event shares), lower-cased."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            parts.append(str(value))

    walk(ev)
    return "\n".join(parts).lower()


def score_points(root: Path) -> list[tuple[datetime, float]]:
    """When and what each grading of a run scored (one point a grading; a fork's or a resume's add theirs)."""
    points = []
    for ev in EventTail(Path(root) / "events.jsonl").read_new():
        if ev.get("type") == "grading" and isinstance(ev.get("score"), int | float):
            try:
                points.append((datetime.fromisoformat(str(ev.get("ts"))), float(ev["score"])))
            except ValueError:
                continue
    return points
