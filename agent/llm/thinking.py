"""Thinking in its three forms: <think> tags inside content, reasoning_content, and reasoning_details."""

from __future__ import annotations

import re

OPEN, CLOSE = "<think>", "</think>"
_BLOCK = re.compile(r"<think>(.*?)</think>", re.S)


def split_think_tags(raw: str) -> tuple[str, str]:
    """(thinking, visible content) of a complete content string that may hold <think> blocks.

    Handles a content that starts inside thinking with no opening tag (the server's chat
    template opened it) and a thinking block cut off before its closing tag.
    """
    if CLOSE in raw and OPEN not in raw.split(CLOSE, 1)[0]:
        head, raw = raw.split(CLOSE, 1)
        parts = [head]
    else:
        parts = []
    parts += [m.group(1) for m in _BLOCK.finditer(raw)]
    rest = _BLOCK.sub("", raw)
    if OPEN in rest:                       # unclosed block: everything after it is thinking
        rest, tail = rest.split(OPEN, 1)
        parts.append(tail)
    thinking = "\n".join(p.strip("\n") for p in parts if p.strip())
    return thinking, rest.lstrip() if parts else rest


def partial_suffix(buf: str, tag: str) -> int:
    """Length of the longest suffix of buf that is a proper prefix of tag."""
    for n in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:n]):
            return n
    return 0


class ThinkTagStream:
    """Splits streamed content into ("thinking", text) and ("content", text) pieces as it arrives.

    Only for live display: a stream that starts inside thinking without an opening tag is shown as
    content until its closing tag arrives, unless `start_inside` says the server's template opens the
    tag. The final split uses split_think_tags on the whole text.
    """

    def __init__(self, start_inside: bool = False) -> None:
        self.buf = ""
        self.inside = False
        self.started = False
        self.start_inside = start_inside
        self.saw_open = False          # an opening tag arrived (False + a closing tag: the template opened it)
        self.saw_close = False

    def feed(self, text: str) -> list[tuple[str, str]]:
        """Pieces that can be shown now; holds back what might be the start of a tag."""
        self.buf += text
        out: list[tuple[str, str]] = []
        while self.buf:
            if not self.started:
                stripped = self.buf.lstrip()
                if not stripped or OPEN.startswith(stripped):
                    return out        # could still become an opening tag
                self.started = True
                if stripped.startswith(OPEN):
                    self.inside, self.buf, self.saw_open = True, stripped[len(OPEN):], True
                    continue
                self.inside = self.start_inside
            tag = CLOSE if self.inside else OPEN
            idx = self.buf.find(tag)
            other = -1 if self.inside else self.buf.find(CLOSE)
            if other != -1 and (idx == -1 or other < idx):   # closing tag with no opening one
                if self.buf[:other]:
                    out.append(("thinking", self.buf[:other]))
                self.buf = self.buf[other + len(CLOSE):]
                self.saw_close = True
                continue
            if idx == -1:
                keep = max(partial_suffix(self.buf, tag), 0 if self.inside else partial_suffix(self.buf, CLOSE))
                emit, self.buf = self.buf[: len(self.buf) - keep], self.buf[len(self.buf) - keep:]
                if emit:
                    out.append(("thinking" if self.inside else "content", emit))
                return out
            if self.buf[:idx]:
                out.append(("thinking" if self.inside else "content", self.buf[:idx]))
            self.buf = self.buf[idx + len(tag):]
            self.saw_open = self.saw_open or tag == OPEN
            self.saw_close = self.saw_close or tag == CLOSE
            self.inside = not self.inside
        return out

    def finish(self) -> list[tuple[str, str]]:
        """Whatever was held back at the end of the stream."""
        rest, self.buf = self.buf, ""
        return [("thinking" if self.inside else "content", rest)] if rest else []


def merge_reasoning_details(acc: list[dict], delta: list) -> list[str]:
    """Fold a streamed reasoning_details delta into acc; return the new thinking text it added.

    MiniMax sends each entry's text cumulatively; other servers send increments. Both are handled:
    a text that starts with what is already held replaces it, any other text is appended.
    """
    added: list[str] = []
    for item in delta or []:
        d = dict(item) if isinstance(item, dict) else dict(getattr(item, "__dict__", {}) or {})
        key = (d.get("index"), d.get("id"))
        cur = next((a for a in acc if (a.get("index"), a.get("id")) == key), None)
        text = d.get("text")
        if cur is None:
            acc.append(d)
            if isinstance(text, str) and text:
                added.append(text)
            continue
        for k, v in d.items():
            if k != "text" and v is not None:
                cur[k] = v
        if isinstance(text, str) and text:
            old = cur.get("text") or ""
            if text.startswith(old):
                new = text[len(old):]
                cur["text"] = text
            else:
                new = text
                cur["text"] = old + text
            if new:
                added.append(new)
    return added


def details_text(details: list[dict] | None) -> str:
    """The thinking text held in a reasoning_details list."""
    return "\n".join(d["text"] for d in details or [] if isinstance(d.get("text"), str) and d["text"])
