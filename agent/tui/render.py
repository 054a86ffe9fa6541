"""What the TUI shows of one event, folded or unfolded, and the small text gauges (budget bars).

The folded form is the live view's line(s) (agent.cli_view.format_event); unfolding adds what those lines
shorten: a model turn's whole thinking, text and call arguments, a tool call's whole output. Nothing here
relies on colour alone: every state is also a word or a sign, so the screens read the same under NO_COLOR.
"""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.text import Text

from agent.cli_view import format_event

Event = dict[str, Any]
FOLDABLE = ("model_turn", "tool_call", "reflection", "context_compacted", "error")
OUTPUT_LINES = 6          # a tool output longer than this is shown folded: its head and tail


def event_text(ev: Event, expanded: bool = False) -> Text:
    """The block for one event: the live view's lines, plus the full text when expanded."""
    kind = ev.get("type")
    if kind == "tool_started":
        args = " ".join(str(ev.get("arguments") or "").split())[:70]
        return Text.from_markup(f"  [yellow]… {escape(str(ev.get('name')))} running[/] [dim]{escape(args)}[/]")
    if kind == "model_turn":
        return _model_turn(ev, expanded)
    if kind == "tool_call":
        return _tool_call(ev, expanded)
    text = Text("\n").join(Text.from_markup(line) for line in format_event(ev) or [escape(f"{kind}")])
    if expanded and kind in ("reflection", "context_compacted", "error"):
        detail = ev.get("text") or ev.get("summary") or ev.get("error") or ""
        if detail:
            text.append("\n" + _indent(str(detail)), style="dim")
    return text


def _model_turn(ev: Event, expanded: bool) -> Text:
    u = ev.get("usage") or {}
    head = Text.from_markup(f"[bold cyan]turn {ev.get('turn')}[/] [dim]({u.get('total_tokens', 0)} tok, "
                            f"{ev.get('latency_s') or 0:.1f}s)[/]")
    parts = [head]
    thinking = str(ev.get("thinking") or "").strip()
    if thinking:
        words = len(thinking.split())
        if expanded:
            parts.append(Text("  ▾ thinking\n", style="italic") + Text(_indent(thinking, 4), style="dim italic"))
        else:
            parts.append(Text(f"  ▸ thinking ({words} words): ", style="italic")
                         + Text(_one_line(thinking, 50), style="dim italic"))
    content = str(ev.get("content") or "").strip()
    if content:
        parts.append(Text(_indent(content) if expanded else "  " + _one_line(content, 74)))
    for call in ev.get("tool_calls") or []:
        args = str(call.get("arguments") or "")
        line = Text("  → ", style="yellow") + Text(str(call.get("name")), style="bold yellow")
        line.append("\n" + _pretty_args(args) if expanded else " " + _one_line(args, 60), style="dim")
        parts.append(line)
    return Text("\n").join(parts)


def _tool_call(ev: Event, expanded: bool) -> Text:
    code = ev.get("exit_code")
    ok = code == 0
    mark = "✓" if ok else "✗"
    head = Text(f"  ← {mark} {ev.get('name')} exit {code}", style="green" if ok else "red")
    head.append(f" {ev.get('duration_s') or 0:.2f}s", style="dim")
    if ev.get("recovered"):
        head.append(f" (recovered: {ev['recovered']})", style="dim")
    lines = [ln for ln in str(ev.get("output") or "").rstrip().splitlines()]
    if not lines:
        return head
    if expanded or len(lines) <= OUTPUT_LINES:
        body = lines
    else:
        half = OUTPUT_LINES // 2
        body = lines[:half] + [f"… {len(lines) - 2 * half} more lines (enter to unfold) …"] + lines[-half:]
    return head + Text("\n") + Text("\n".join("    " + ln[:2000] for ln in body), style="dim")


def _pretty_args(args: str) -> str:
    try:
        value = json.loads(args)
    except (json.JSONDecodeError, TypeError):
        return args
    if isinstance(value, dict) and all(isinstance(v, str | int | float | bool) or v is None for v in value.values()):
        return "\n".join(f"      {k}: " + (str(v) if "\n" not in str(v) else "\n" + _indent(str(v), 8))
                         for k, v in value.items())
    return json.dumps(value, indent=2)


def _one_line(text: str, n: int) -> str:
    s = " ".join(text.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _indent(text: str, n: int = 2) -> str:
    return "\n".join(" " * n + ln for ln in text.splitlines())


def bar(used: float | None, limit: float | None, width: int = 8) -> str:
    """A gauge like `███░░░░░ 37%` (or `-` when there is no limit), readable without colour."""
    if not limit or used is None:
        return "-"
    frac = max(0.0, min(1.0, used / limit))
    full = round(frac * width)
    return "█" * full + "░" * (width - full) + f" {frac:4.0%}"


def human(n: float | None) -> str:
    """1234 → 1.2k, 3_400_000 → 3.4M; None → -."""
    if n is None:
        return "-"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 16) -> str:
    """The last `width` values as a one-line sparkline (▁…█, scaled to their own range)."""
    vals = [v for v in values if isinstance(v, int | float)][-width:]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[round((v - lo) / span * 7)] for v in vals)
