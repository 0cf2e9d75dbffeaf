"""YAML with the exact span of every key and value, for configuration files a fix may edit.

Built from libyaml's events (no PyYAML composer or resolver: they cost ten times the parse),
with the same bounds as the project's Kubernetes reader: file size, flow and block depth,
aliases and the nodes they expand to. Scalars stay strings (`plain` says whether they were
unquoted, so `5` and `"5"` can be told apart); merge keys (`<<: *default`) are applied with
explicit keys winning, and each merged entry remembers the anchor it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from connbudget.errors import InputError
from connbudget.frontends.apps.model import Span
from connbudget.frontends.kubernetes.safeyaml import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_FLOW_DEPTH,
    flow_depth,
)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YScalar:
    value: str
    plain: bool
    span: Span
    tag: str | None = None


@dataclass
class YEntry:
    key_span: Span
    value: YNode
    merged_from: str | None = None  # the anchor a `<<` merge brought this entry from


@dataclass
class YMap:
    span: Span
    entries: dict[str, YEntry] = field(default_factory=dict)
    last_line: int = 0  # the last line its own entries occupy
    key_column: int = 0  # the column of its keys (1-based), 0 for an empty or flow mapping
    flow: bool = False


@dataclass
class YSeq:
    span: Span
    items: list[YNode] = field(default_factory=list)


YNode = YScalar | YMap | YSeq


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _span(file: str, start: Any, end: Any) -> Span:
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Composer:
    def __init__(self, file: str) -> None:
        self.file = file
        self.anchors: dict[str, tuple[YNode, int]] = {}
        self.open_anchors: set[str] = set()
        self.aliases = 0
        self.expanded = 0
        # per open collection: node, size, anchor, pending key, pending merges
        self.stack: list[list[Any]] = []

    def grow(self, size: int, line: int) -> None:
        self.expanded += size
        if self.expanded > MAX_EXPANDED_NODES:
            raise _Refused(line, f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes")

    def documents(self, text: str) -> list[YNode]:
        found: list[YNode] = []
        for event in yaml.parse(text, Loader=_Loader):
            done = self.event(event)
            if done is not None:
                found.append(done)
        return found

    def event(self, event: Any) -> YNode | None:
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            self.anchors.clear()
            self.expanded = 0
            return None
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(self.stack) >= MAX_DEPTH:
                raise _Refused(line, f"YAML nested deeper than {MAX_DEPTH} levels")
            self.grow(1, line)
            span = _span(self.file, event.start_mark, event.end_mark)
            node: YNode = (YMap(span, flow=bool(event.flow_style))
                           if isinstance(event, yaml.MappingStartEvent) else YSeq(span))
            if event.anchor:
                self.open_anchors.add(event.anchor)
            self.stack.append([node, 1, event.anchor, None, []])
            return None
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node, size, anchor, _, merges = self.stack.pop()
            end = event.end_mark
            if end is not None:
                node.span = Span(self.file, node.span.line, node.span.column, end.line + 1,
                                 end.column + 1)
            if isinstance(node, YMap):
                _merge(node, merges)
            if anchor:
                self.open_anchors.discard(anchor)
                self.anchors[anchor] = (node, size)
            return self.add(node, size, None)
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(line, f"more than {MAX_ALIASES} YAML aliases")
            if event.anchor in self.open_anchors:
                raise _Refused(line, f"recursive YAML alias *{event.anchor}")
            if event.anchor not in self.anchors:
                raise _Refused(line, f"undefined YAML alias *{event.anchor}")
            node, size = self.anchors[event.anchor]
            self.grow(size, line)
            return self.add(node, size, event.anchor)
        if isinstance(event, yaml.ScalarEvent):
            scalar = YScalar(event.value, bool(event.implicit[0]) and not event.style,
                             _span(self.file, event.start_mark, event.end_mark),
                             event.tag if event.tag and event.tag != "!" else None)
            if event.anchor:
                self.anchors[event.anchor] = (scalar, 1)
            self.grow(1, line)
            return self.add(scalar, 1, None)
        return None

    def add(self, node: YNode, size: int, alias: str | None) -> YNode | None:
        if not self.stack:
            return node
        top = self.stack[-1]
        top[1] += size
        parent = top[0]
        if isinstance(parent, YSeq):
            parent.items.append(node)
        elif top[3] is None:
            top[3] = node
        else:
            key = top[3]
            top[3] = None
            if isinstance(key, YScalar) and key.value == "<<" and key.plain:
                top[4].append((node, alias))
                return None
            name = key.value if isinstance(key, YScalar) else ""
            parent.entries[name] = YEntry(key.span, node)
            parent.last_line = max(parent.last_line, node.span.end_line
                                   - (1 if node.span.end_column == 1 else 0))
            if not parent.key_column and not parent.flow:
                parent.key_column = key.span.column
        return None


def _merge(node: YMap, merges: list[tuple[YNode, str | None]]) -> None:
    """YAML merge keys: explicit keys win, then earlier merged mappings."""
    for value, alias in merges:
        sources = [value] if isinstance(value, YMap) else (
            [item for item in value.items if isinstance(item, YMap)]
            if isinstance(value, YSeq) else [])
        for source in sources:
            for key, entry in source.entries.items():
                if key not in node.entries:
                    node.entries[key] = YEntry(entry.key_span, entry.value,
                                               entry.merged_from or alias)


def load(text: str, file: str) -> tuple[list[YNode], list[InputError]]:
    """The documents of a YAML text, or the located reason it cannot be read."""
    if flow_depth(text) > MAX_FLOW_DEPTH:
        return [], [InputError(file, 1, f"YAML flow collections nested deeper than "
                                        f"{MAX_FLOW_DEPTH} levels")]
    composer = _Composer(file)
    try:
        return composer.documents(text), []
    except _Refused as refused:
        return [], [InputError(file, refused.line, refused.message)]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = f"invalid YAML: {error.problem or 'syntax error'}"
        if mark is None:
            return [], [InputError(file, 1, message)]
        return [], [InputError(file, mark.line + 1, message, mark.column + 1)]
    except yaml.YAMLError:
        return [], [InputError(file, 1, "invalid YAML")]


def get(node: YNode | None, *path: str) -> YEntry | None:
    """The entry at `path` under mapping `node`."""
    entry: YEntry | None = None
    for key in path:
        if not isinstance(node, YMap) or key not in node.entries:
            return None
        entry = node.entries[key]
        node = entry.value
    return entry
