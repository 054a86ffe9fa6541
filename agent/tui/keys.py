"""The key line at the bottom of each screen: one Static (cheaper to lay out than Textual's Footer, which
mounts a widget per key), the screen's shown bindings as `key label`; `?` opens Textual's key panel (all keys,
clickable)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

HELP = Binding("question_mark", "app.show_help_panel", "Keys")


class KeyLine(Static):
    """The shown bindings of the screen it is on, on one line."""

    def on_mount(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        for binding in self.screen.BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                key = self.app.get_key_display(Binding(binding.key.split(",")[0], binding.action))
                line.append(f" {key} ", style="reverse").append(f" {binding.description} ")
        self.update(line)
