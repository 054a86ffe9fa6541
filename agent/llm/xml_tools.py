"""MiniMax-M2's native tool-call markup in plain content, for servers that run the model without a tool parser.

The model writes, after its thinking and any visible text:

    <minimax:tool_call>
    <invoke name="TOOL">
    <parameter name="ARG">VALUE</parameter>
    ...
    </invoke>
    ...                                  (several invokes per block)
    </minimax:tool_call>

Values are raw text (no XML escaping); a parameter whose schema type is not a string holds JSON.
`extract_markup_calls` turns the blocks into tool-call slots and returns the content without them;
`MarkupStream` splits streamed content into text and markup for the live display.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.llm.thinking import partial_suffix

OPEN, CLOSE = "<minimax:tool_call>", "</minimax:tool_call>"
FORMAT = "minimax_xml"
_INVOKE = re.compile(r"<invoke\b([^>]*)>(.*?)</invoke>", re.S)
_PARAM = re.compile(r"<parameter\b([^>]*)>(.*?)</parameter>", re.S)
_NAME = re.compile(r"""^\s*name\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))\s*$""")
ERROR_PREFIX = "malformed <minimax:tool_call> markup"


def has_markup(text: str) -> bool:
    """Whether text holds the opening tag of a tool-call block."""
    return OPEN in text


def _attr_name(attrs: str) -> str | None:
    m = _NAME.match(attrs)
    if not m:
        return None
    name = next(g for g in m.groups() if g is not None).strip()
    return name or None


def _trim(value: str) -> str:
    """The value between the tags, less one newline on each side (the layout, not the value)."""
    if value.startswith("\r\n"):
        value = value[2:]
    elif value.startswith("\n"):
        value = value[1:]
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    return value


def _types(schema: Any) -> set[str]:
    """The JSON types a property schema allows (type, a list of types, anyOf/oneOf); empty when unknown."""
    if not isinstance(schema, dict):
        return set()
    t = schema.get("type")
    out = {t} if isinstance(t, str) else {x for x in t if isinstance(x, str)} if isinstance(t, list) else set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            out |= _types(sub)
    if not out and "enum" in schema:
        out = {_json_type(v) for v in schema["enum"]}
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, types: set[str]) -> bool:
    kind = _json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def convert_value(text: str, schema: Any) -> Any:
    """A parameter's raw text as the type its JSON schema names; the text itself when it does not parse.

    A string-only (or unknown) parameter keeps its text as is; other types are read as JSON
    (`True`/`False`/`None` spellings too). A value that fits no allowed type stays a string, so the
    tool's own argument check reports it to the model.
    """
    types = _types(schema)
    if not types or types == {"string"}:
        return text
    s = text.strip()
    candidates = [s]
    if s in ("True", "False", "None", "NULL", "Null"):
        candidates.append({"True": "true", "False": "false"}.get(s, "null"))
    for cand in candidates:
        try:
            value = json.loads(cand)
        except (json.JSONDecodeError, ValueError):
            continue
        if _fits(value, types):
            return value
    return text


def _properties(tools: list[dict] | None, name: str) -> dict:
    for t in tools or []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and fn.get("name") == name:
            params = fn.get("parameters")
            props = params.get("properties") if isinstance(params, dict) else None
            return props if isinstance(props, dict) else {}
    return {}


def _invoke_slot(attrs: str, body: str, raw: str, tools: list[dict] | None) -> dict:
    """One invoke as a slot {"name", "arguments", "error"}; error set when its markup is malformed."""
    name = _attr_name(attrs)
    if name is None:
        return {"name": "", "arguments": raw, "error": f"{ERROR_PREFIX}: <invoke> without a name=\"TOOL\" attribute"}
    props = _properties(tools, name)
    args: dict[str, Any] = {}
    problems = []
    for m in _PARAM.finditer(body):
        pname = _attr_name(m.group(1))
        if pname is None:
            problems.append("a <parameter> without a name=\"ARG\" attribute")
            continue
        args[pname] = convert_value(_trim(m.group(2)), props.get(pname))
    rest = _PARAM.sub("", body)
    if "<parameter" in rest:
        problems.append("a <parameter> that is never closed with </parameter>")
    elif rest.strip():
        problems.append(f"text outside <parameter> tags: {rest.strip()[:80]!r}")
    if problems:
        return {"name": name, "arguments": raw, "error": f"{ERROR_PREFIX} in the call of {name!r}: {'; '.join(problems)}"}
    return {"name": name, "arguments": json.dumps(args, ensure_ascii=False), "error": None}


def _block_slots(body: str, closed: bool, tools: list[dict] | None) -> list[dict]:
    slots = [_invoke_slot(m.group(1), m.group(2), m.group(0), tools) for m in _INVOKE.finditer(body)]
    rest = _INVOKE.sub("", body).strip()
    if rest:
        what = ("an <invoke> that is never closed with </invoke>" if "<invoke" in rest
                else f"text outside <invoke> tags: {rest[:80]!r}")
        if not closed:
            what += " (the output may have been cut off)"
        open_name = re.search(r"<invoke\b([^>]*)>", rest)
        name = _attr_name(open_name.group(1)) if open_name else None
        slots.append({"name": name or "", "arguments": rest, "error": f"{ERROR_PREFIX}: {what}"})
    elif not slots:
        slots.append({"name": "", "arguments": body, "error": f"{ERROR_PREFIX}: a block with no <invoke> in it"})
    return slots


def extract_markup_calls(content: str, tools: list[dict] | None) -> tuple[str, list[dict]]:
    """(content without the tool-call blocks, one slot per invoke) from visible content.

    A slot is {"name", "arguments" (JSON text, or the raw markup when malformed), "error"}. A block
    left open at the end (output cut off) is parsed up to the end; its unfinished part is an error slot.
    """
    if OPEN not in content:
        return content, []
    slots: list[dict] = []
    kept: list[str] = []
    pos = 0
    while True:
        start = content.find(OPEN, pos)
        if start == -1:
            kept.append(content[pos:])
            break
        kept.append(content[pos:start])
        body_at = start + len(OPEN)
        end = content.find(CLOSE, body_at)
        closed = end != -1
        body = content[body_at:end] if closed else content[body_at:]
        slots += _block_slots(body, closed, tools)
        if not closed:
            break
        pos = end + len(CLOSE)
    visible = "".join(kept)
    return (visible.strip() if slots else visible), slots


class MarkupStream:
    """Splits streamed visible content into ("content", text) and ("tool", markup) pieces as it arrives."""

    def __init__(self) -> None:
        self.buf = ""
        self.inside = False

    def feed(self, text: str) -> list[tuple[str, str]]:
        """Pieces that can be shown now; holds back what might be the start of a tag."""
        self.buf += text
        out: list[tuple[str, str]] = []
        while self.buf:
            tag = CLOSE if self.inside else OPEN
            idx = self.buf.find(tag)
            if idx == -1:
                keep = partial_suffix(self.buf, tag)
                emit, self.buf = self.buf[: len(self.buf) - keep], self.buf[len(self.buf) - keep:]
                if emit:
                    out.append(("tool" if self.inside else "content", emit))
                return out
            cut = idx + len(tag) if self.inside else idx
            if self.inside:
                out.append(("tool", self.buf[:cut]))
            elif cut:
                out.append(("content", self.buf[:cut]))
            self.buf = self.buf[cut:]
            if not self.inside:
                out.append(("tool", OPEN))
                self.buf = self.buf[len(OPEN):]
            self.inside = not self.inside
        return out

    def finish(self) -> list[tuple[str, str]]:
        """Whatever was held back at the end of the stream."""
        rest, self.buf = self.buf, ""
        return [("tool" if self.inside else "content", rest)] if rest else []
