"""Edit YAML text in place, keeping its comments and layout: replace a scalar, move or drop a list item.

PyYAML's composer gives every node its start and end position in the text; an edit replaces exactly that
span, so a one-value change is a one-line diff. Paths are tuples of mapping keys and list indices.
"""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[Any, ...]


def node_at(root: yaml.Node, path: Path_) -> yaml.Node:
    """The node at a path (KeyError when there is none)."""
    node = root
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            raise KeyError(f"no {step!r} in {'.'.join(map(str, path))}")
    return node


def scalar_text(value: Any) -> str:
    """A value written as a YAML flow scalar (a number, true/false, null or a string)."""
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip().removesuffix("...").strip()


def replace_scalar(text: str, path: Path_, value: Any) -> str:
    """text with the scalar at path replaced by value."""
    node = node_at(yaml.compose(text), path)
    if not isinstance(node, yaml.ScalarNode):
        raise KeyError(f"{'.'.join(map(str, path))} is not a single value")
    return text[: node.start_mark.index] + scalar_text(value) + text[node.end_mark.index:]


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection's end mark runs on over trailing comments)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark.index
    children = [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max((_content_end(c) for c in children), default=node.end_mark.index)


def _item_spans(text: str, seq: yaml.SequenceNode) -> list[tuple[int, int]]:
    """Each block-list item's span: from the start of its `- ` line to the start of the next item's line."""
    if seq.flow_style:
        raise KeyError("only block lists (one `- item` per line) can be reordered")
    starts = [text.rfind("\n", 0, item.start_mark.index) + 1 for item in seq.value]
    last = text.find("\n", _content_end(seq.value[-1]))
    return list(zip(starts, starts[1:] + [last + 1 if last >= 0 else len(text)], strict=True))


def move_item(text: str, path: Path_, src: int, dst: int) -> str:
    """text with item `src` of the list at path moved to position `dst`."""
    seq = node_at(yaml.compose(text), path)
    if not isinstance(seq, yaml.SequenceNode):
        raise KeyError(f"{'.'.join(map(str, path))} is not a list")
    spans = _item_spans(text, seq)
    chunks = [text[a:b] for a, b in spans]
    chunks = [c if c.endswith("\n") else c + "\n" for c in chunks]
    chunk = chunks.pop(src)
    chunks.insert(dst, chunk)
    return text[: spans[0][0]] + "".join(chunks) + text[spans[-1][1]:]


def remove_item(text: str, path: Path_, index: int) -> str:
    """text without item `index` of the list at path."""
    seq = node_at(yaml.compose(text), path)
    if not isinstance(seq, yaml.SequenceNode):
        raise KeyError(f"{'.'.join(map(str, path))} is not a list")
    a, b = _item_spans(text, seq)[index]
    return text[:a] + text[b:]
