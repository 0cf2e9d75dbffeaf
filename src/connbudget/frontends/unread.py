"""Files connbudget recognises but does not read (a Helm chart, a Render blueprint, a Pulumi
project, a CloudFormation or SAM template, Bicep, ...): only their heads, for their
names and the comments that can suppress the finding about them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.confine import read_head
from connbudget.kinds import Read, ReadContext

_CHART_NAME = re.compile(r"^name:[ \t]*[\"']?([\w.-]+)", re.MULTILINE)
_HEAD_BYTES = 65536
# how a whole-line comment starts, by file ending (YAML's are lexed as YAML)
_MARKERS = {".bicep": ("//",)}


@dataclass(frozen=True)
class Unread:
    """One input recognised but not read: where its note stands, what it is, its name."""

    path: str  # the file the note is on (a chart's Chart.yaml)
    name: str
    source: str  # the path discovery found (a chart's directory)


def _head(path: str) -> str:
    return read_head(path, _HEAD_BYTES).decode("utf-8", "replace")


def _comments(path: str, text: str) -> list[Comment]:
    """The comments of a file's head: its note's ignore stands on the first line."""
    if not may_suppress(text):
        return []
    if path.lower().endswith((".yaml", ".yml")):
        from connbudget.frontends.kubernetes.comments import comments as yaml_comments

        return yaml_comments(path, text)
    return whole_line_comments(path, text, _MARKERS.get(os.path.splitext(path)[1].lower(), ("#",)))


def _chart(chart: str) -> tuple[str, str, str]:
    """The chart's Chart.yaml, the chart's name and the head of that file."""
    for name in ("Chart.yaml", "Chart.yml"):
        path = os.path.join(chart, name)
        if os.path.isfile(path):
            text = _head(path)
            found = _CHART_NAME.search(text)
            return path, found.group(1) if found else os.path.basename(os.path.abspath(chart)), text
    return os.path.join(chart, "Chart.yaml"), os.path.basename(os.path.abspath(chart)), ""


def read(paths: list[str], context: ReadContext) -> Read:
    """Each input's name and the comments of its head (a Helm chart, named by its directory,
    by its Chart.yaml)."""
    found: list[Unread] = []
    comments: dict[str, list[Comment]] = {}
    for source in paths:
        if os.path.isdir(source):
            path, name, text = _chart(source)
        else:
            path, name, text = source, os.path.basename(source), _head(source)
        comments[path] = _comments(path, text)
        found.append(Unread(path, name, source))
    return Read(found, [], comments)
