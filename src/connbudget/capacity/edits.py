"""Fixes' token edits made into line edits: the rules say which value on which line changes
(`capacity.fixes.Fix`); this reads that line and writes it out whole, changed, so that a
reviewer (or a test) can apply it as printed. An edit whose value is not on its line (or the
one after, where YAML puts an env var's value) is dropped rather than guessed."""

from __future__ import annotations

import re
from dataclasses import replace

from connbudget import confine
from connbudget.report import Edit, Finding

_MAX_BYTES = 8 * 1024 * 1024


def _lines(path: str, cache: dict[str, list[str] | None]) -> list[str] | None:
    if path not in cache:
        try:
            text = confine.read_regular(path, _MAX_BYTES).decode("utf-8", "replace")
        except OSError:
            cache[path] = None
        else:
            cache[path] = text.splitlines()
    return cache[path]


def _replaced(text: str, old: str, new: str) -> str | None:
    """`text` with the last `old` that stands alone (not part of a longer word or number)
    replaced by `new`; None when there is none."""
    found = list(re.finditer(rf"(?<![\w.]){re.escape(old)}(?![\w.])", text))
    if not found:
        return None
    last = found[-1]
    return text[:last.start()] + new + text[last.end():]


def _resolve(edit: Edit, cache: dict[str, list[str] | None]) -> Edit | None:
    if edit.line == 0:
        return edit
    lines = _lines(edit.file, cache)
    if lines is None or edit.line > len(lines):
        return None
    text = lines[edit.line - 1]
    if not edit.old:
        indent = text[:len(text) - len(text.lstrip())]
        if text.rstrip().endswith(("{", ":")):  # the first line inside an HCL or YAML block
            indent += "  "
        added = "\n".join(indent + line for line in edit.new.splitlines())
        return Edit(edit.file, edit.line, text, f"{text}\n{added}")
    following = edit.line < len(lines) and edit.file.endswith((".yaml", ".yml"))
    for number in (edit.line, edit.line + 1) if following else (edit.line,):
        changed = _replaced(lines[number - 1], edit.old, edit.new)
        if changed is not None:
            return Edit(edit.file, number, lines[number - 1], changed)
    return None


def resolve(findings: list[Finding]) -> list[Finding]:
    cache: dict[str, list[str] | None] = {}
    out = []
    for finding in findings:
        if finding.edits:
            resolved = [_resolve(edit, cache) for edit in finding.edits]
            finding = replace(finding, edits=tuple(e for e in resolved if e is not None))
        out.append(finding)
    return out
