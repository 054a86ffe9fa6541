"""The TUI's tables (home's runs, a campaign's attempts) kept up to date in place: cells change, rows are only
rebuilt when the set or the order of rows changes, and the cursor stays on its row."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable

Rows = dict[str, dict[str, str]]


def cursor_key(table: DataTable, order: list[str]) -> str | None:
    """The key of the row under the cursor (None for an empty table)."""
    return order[table.cursor_row] if order and 0 <= table.cursor_row < len(order) else None


def sync(table: DataTable, columns: Sequence[str], shown: Rows, shown_order: list[str], rows: Rows,
         order: list[str]) -> None:
    """Bring `table` from `shown` (in `shown_order`) to `rows` (in `order`), changing as little as it can."""
    if order != shown_order:
        keep = cursor_key(table, shown_order)
        table.clear()
        for key in order:
            table.add_row(*(rows[key][c] for c in columns), key=key)
        if keep in rows:
            table.move_cursor(row=order.index(keep))
        return
    for key, cells in rows.items():
        old = shown.get(key, {})
        for c in columns:
            if old.get(c) != cells[c]:
                table.update_cell(key, c, cells[c])
