"""Safe YAML loading with a line for every mapping key and sequence item, and bounded work
(size, depth, aliases, expanded nodes). Helm templates are recognised, not parsed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from connbudget.errors import InputError

MAX_FILE_BYTES = 10 * 1024 * 1024


MAX_FLOW_DEPTH = 100


MAX_DEPTH = 200


MAX_ALIASES = 10_000


MAX_EXPANDED_NODES = 1_000_000


HELM_HINT = ("Helm template: render it first, e.g. helm template . > rendered.yaml && "
             "connbudget capacity rendered.yaml")


_HELM = re.compile(r"\{\{-?\s*(?:\.|\$|include\b|template\b|if\b|else\b|end\b|range\b|with\b|"
                   r"define\b|toYaml\b|tpl\b|printf\b|default\b|required\b|quote\b|-)")


_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


# where a scalar value is written: (line, column, end line, end column), 1-based, end exclusive
Span = tuple[int, int, int, int]


class LMap(dict[str, Any]):
    """A YAML mapping with the line of the mapping and of each key (1-based), the span of each
    scalar value, and the column its keys start at (their indentation, 0-based; -1 when it has
    none)."""

    line: int
    lines: dict[str, int]
    spans: dict[str, Span]
    indent: int


class LList(list[Any]):
    """A YAML sequence with the line of the sequence and of each item (1-based), and the span
    of each scalar item."""

    line: int
    lines: list[int]
    spans: dict[int, Span]


@dataclass(frozen=True)
class Insert:
    """Where the keys of a path not written yet go: after line `after`, the first missing key at
    column `indent` (0-based), each further one two columns deeper."""

    after: int
    indent: int
    keys: tuple[str, ...]


def insertion(document: LMap, path: tuple[str, ...]) -> Insert | None:
    """Where to write `path` (keys from the document's top) when its last key is missing: as
    the first keys of the deepest mapping of the path that is written in block style (after the
    line of the key it is the value of). None when the path is written (edit its value instead)
    or cannot be added (a flow mapping, a scalar on the way, nothing below the top level)."""
    node, key_line = document, 0
    for depth, key in enumerate(path):
        if key not in node:
            if not key_line or node.line == key_line or node.indent < 0:
                return None  # the top level, or `{...}` written on the key's own line
            return Insert(key_line, node.indent, path[depth:])
        inner = node[key]
        if not isinstance(inner, LMap):
            return None
        node, key_line = inner, node.lines.get(key, 0)
    return None


def as_map(value: Any) -> LMap:
    """`value` when it is a mapping, else an empty one (at line 0)."""
    if isinstance(value, LMap):
        return value
    empty = LMap()
    empty.line, empty.lines, empty.spans, empty.indent = 0, {}, {}, -1
    return empty


def as_list(value: Any) -> LList:
    """`value` when it is a sequence, else an empty one (at line 0)."""
    if isinstance(value, LList):
        return value
    empty = LList()
    empty.line, empty.lines, empty.spans = 0, [], {}
    return empty


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


_RESOLVER = yaml.resolver.Resolver()


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(event: yaml.ScalarEvent) -> Any:
    implicit = event.implicit[0] if event.implicit else False
    tag = event.tag if event.tag and event.tag != "!" else _RESOLVER.resolve(  # type: ignore[no-untyped-call]
        yaml.ScalarNode, event.value, (implicit, False))
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
               "tag:yaml.org,2002:float"):
        node = yaml.ScalarNode(tag, event.value)
        try:
            return _CONSTRUCTOR.construct_object(node)
        except (yaml.YAMLError, ValueError):
            return event.value
    return event.value


def flow_depth(text: str) -> int:
    """An upper bound of flow-collection nesting; libyaml is quadratic in it."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


class _LineIndex:
    """Line numbers as editors count them: YAML also breaks lines at a lone \r, files do not."""

    def __init__(self, text: str) -> None:
        self.breaks = [match.start() for match in re.finditer("\n", text)]

    def line(self, mark: Any) -> int:
        return bisect.bisect_left(self.breaks, mark.index) + 1

    def position(self, mark: Any) -> tuple[int, int]:
        """(line, column) of a mark, 1-based."""
        line = bisect.bisect_left(self.breaks, mark.index)
        start = self.breaks[line - 1] + 1 if line else 0
        return line + 1, mark.index - start + 1

    def span(self, event: Any) -> Span:
        start, end = self.position(event.start_mark), self.position(event.end_mark)
        return (*start, *end)


def _compose(text: str, lines: _LineIndex) -> Iterator[Any]:
    """Documents of a YAML stream as LMap / LList / scalars; aliases share one object."""
    stack: list[_Open] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    aliases = 0
    expanded = 0  # nodes the current document would have with every alias expanded
    for event in yaml.parse(text, Loader=_Parser):
        line = lines.line(event.start_mark) if event.start_mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            anchors.clear()
            expanded = 0
            continue
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(line, f"YAML nested deeper than {MAX_DEPTH} levels")
            expanded = _grow(expanded, 1, line)
            stack.append(_Open(LMap() if isinstance(event, yaml.MappingStartEvent) else LList(),
                               line, event.anchor))
            if event.anchor:
                open_anchors.add(event.anchor)
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = stack.pop()
            value = done.finish()
            if done.anchor:
                open_anchors.discard(done.anchor)
                anchors[done.anchor] = (value, done.size)
            size, line = done.size, value.line
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(line, f"more than {MAX_ALIASES} YAML aliases")
            if event.anchor in open_anchors:
                raise _Refused(line, f"recursive YAML alias *{event.anchor}")
            if event.anchor not in anchors:
                raise _Refused(line, f"undefined YAML alias *{event.anchor}")
            value, size = anchors[event.anchor]
            expanded = _grow(expanded, size, line)
        elif isinstance(event, yaml.ScalarEvent):
            value, size = _scalar(event), 1
            if event.anchor:
                anchors[event.anchor] = (value, size)
            expanded = _grow(expanded, size, line)
            if stack:
                stack[-1].add(value, size, line, lines.span(event),
                              lines.position(event.start_mark)[1] - 1)
                continue
        else:
            continue
        if stack:
            stack[-1].add(value, size, line)
        else:
            yield value


def _grow(expanded: int, size: int, line: int) -> int:
    expanded += size
    if expanded > MAX_EXPANDED_NODES:
        raise _Refused(line, f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes")
    return expanded


class _Open:
    """A mapping or sequence being composed."""

    def __init__(self, value: LMap | LList, line: int, anchor: str | None) -> None:
        self.value = value
        value.line = line
        value.spans = {}
        if isinstance(value, LMap):
            value.lines = {}
            value.indent = -1
        else:
            value.lines = []
        self.anchor = anchor
        self.size = 1
        self.key: tuple[Any, int] | None = None

    def add(self, item: Any, size: int, line: int, span: Span | None = None,
            column: int = -1) -> None:
        self.size += size
        if isinstance(self.value, LList):
            if span is not None:
                self.value.spans[len(self.value)] = span
            self.value.append(item)
            self.value.lines.append(line)
        elif self.key is None:
            self.key = (item, line)
            if self.value.indent < 0 and column >= 0:
                self.value.indent = column
        else:
            key, key_line = self.key
            self.key = None
            name = key if isinstance(key, str) else scalar_text(key)
            if name == "<<" and isinstance(item, (LMap, LList)):
                _merge(self.value, item)
            else:
                self.value[name] = item
                self.value.lines[name] = key_line
                if span is not None:
                    self.value.spans[name] = span

    def finish(self) -> LMap | LList:
        return self.value


def _merge(container: LMap, value: LMap | LList) -> None:
    """YAML merge keys: explicit keys win over merged ones."""
    sources = [value] if isinstance(value, LMap) else [v for v in value if isinstance(v, LMap)]
    for source in sources:
        for key, item in source.items():
            if key not in container:
                container[key] = item
                container.lines[key] = source.lines.get(key, source.line)
                if key in source.spans:
                    container.spans[key] = source.spans[key]


def _helm_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if _HELM.search(line):
            return number
    return 0


# The kinds any reader looks at; a document of another kind (a CustomResourceDefinition of a
# vendored operator bundle, RBAC, webhooks) is blanked before it is composed.
READ_KINDS = frozenset({
    "Deployment", "StatefulSet", "HorizontalPodAutoscaler", "ScaledObject", "ConfigMap",
    "Service", "List", "Cluster", "Pooler", "postgresql", "PostgresCluster", "Kustomization"})
_TOP_KIND = re.compile(r"kind:[ \t]*[\"']?([A-Za-z][\w.-]*)[\"']?[ \t]*(?:#.*)?\r?$",
                       re.MULTILINE)


def _marks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each `---` / `...` document marker line (str.find: no regex scan)."""
    found = []
    for marker in ("\n---", "\n..."):
        at = text.find(marker)
        while at >= 0:
            after = text[at + 4:at + 5]
            if after in ("", " ", "\t", "\r", "\n"):
                end = text.find("\n", at + 1)
                found.append((at + 1, len(text) if end < 0 else end))
            at = text.find(marker, at + 4)
    if text.startswith(("---", "...")) and text[3:4] in ("", " ", "\t", "\r", "\n"):
        end = text.find("\n")
        found.append((0, len(text) if end < 0 else end))
    return sorted(found)


def _top_kind(chunk: str) -> str | None:
    at = 0 if chunk.startswith("kind:") else chunk.find("\nkind:") + 1
    if at == 0 and not chunk.startswith("kind:"):
        return None
    found = _TOP_KIND.match(chunk, at)
    return found.group(1) if found else None


def skip_unread_kinds(text: str) -> tuple[str, bool]:
    """`text` with each document of a kind no reader looks at replaced by its line breaks, so
    that lines keep their numbers and a 40 MB CRD bundle costs a string scan, not a parse;
    and whether anything is left to read."""
    if "CustomResourceDefinition" not in text and len(text) < 262144:
        return text, True
    out: list[str] = []
    start = 0
    kept = False
    for mark_start, mark_end in [*_marks(text), (len(text), len(text))]:
        chunk = text[start:mark_start]
        kind = _top_kind(chunk)
        if kind is not None and kind not in READ_KINDS:
            out.append("\n" * chunk.count("\n"))
        else:
            out.append(chunk)
            kept = kept or bool(chunk.strip())
        out.append(text[mark_start:mark_end])
        start = max(start, mark_end)
    return "".join(out), kept


def read_documents(text: str, file: str) -> tuple[list[Any], list[InputError]]:
    """Every document of a YAML file, or the located reason it cannot be read.

    Helm template syntax in a chart's templates/ directory, or in a file that does not parse,
    is reported as a Helm template; a values.yaml that merely holds `{{ }}` strings is YAML.
    """
    text, left = skip_unread_kinds(text)
    if not left:
        return [], []
    helm = _helm_line(text)
    if helm and "templates" in re.split(r"[\\/]", file):
        return [], [InputError(file, helm, HELM_HINT)]
    if flow_depth(text) > MAX_FLOW_DEPTH:
        return [], [InputError(file, 1, f"YAML flow collections nested deeper than "
                                        f"{MAX_FLOW_DEPTH} levels")]
    documents: list[Any] = []
    lines = _LineIndex(text)
    try:
        for document in _compose(text, lines):
            documents.append(document)
    except _Refused as refused:
        return documents, [InputError(file, refused.line, refused.message)]
    except yaml.MarkedYAMLError as error:
        if helm:
            return documents, [InputError(file, helm, HELM_HINT)]
        mark = error.problem_mark or error.context_mark
        line = lines.line(mark) if mark else 1
        return documents, [InputError(file, line, f"invalid YAML: {error.problem or error}")]
    except yaml.YAMLError as error:
        return documents, [InputError(file, 1, f"invalid YAML: {error}")]
    return documents, []
