"""Fixes' pending edits made into line edits: the rules say which value on which line changes
(`capacity.fixes.Pending`); this reads that line and writes it out whole, changed, so that a
reviewer (or a test) can apply it as printed. Of a fix's alternatives, the first whose edits
all resolve is kept. An edit whose value cannot be found is dropped rather than guessed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from connbudget.capacity.fixes import Fix, Pending
from connbudget.report import Edit, Finding

_NEAR_LINES = 80  # how far below its line a value named by `near` is looked for
# a line that may hold a secret is never echoed: a URL with a password, a password setting
_SECRET = re.compile(r"://[^/\s:@]*:[^@\s]*@|passw|secret|token|private_key", re.IGNORECASE)


# the lines of a file a front end read (None when it cannot be edited: a plan is generated from
# the .tf files, which are what to change)
Sources = Callable[[str], "list[str] | None"]


def _lines(path: str, cache: dict[str, list[str] | None], sources: Sources,
           ) -> list[str] | None:
    if path not in cache:
        cache[path] = sources(path)
    return cache[path]


def _replaced(text: str, old: str, new: str) -> str | None:
    """`text` with the last `old` that stands alone (not part of a longer word or number)
    replaced by `new`; None when there is none."""
    found = list(re.finditer(rf"(?<![\w.]){re.escape(old)}(?![\w.])", text))
    if not found:
        return None
    last = found[-1]
    return text[:last.start()] + new + text[last.end():]


def _candidates(edit: Pending, lines: list[str]) -> list[int]:
    """The lines the value may be on: its own, the next (YAML's `value:` after `- name:`),
    and, given a name, the first line below that names it and the one after."""
    numbers = [edit.line]
    if edit.line < len(lines) and edit.file.endswith((".yaml", ".yml")):
        numbers.append(edit.line + 1)
    if edit.near:
        for number in range(edit.line, min(edit.line + _NEAR_LINES, len(lines)) + 1):
            if re.search(rf"(?<!\w){re.escape(edit.near)}(?!\w)", lines[number - 1]):
                numbers += [number, number + 1] if number < len(lines) else [number]
                break
    return numbers


def _resolve(edit: Pending, cache: dict[str, list[str] | None], sources: Sources,
             ) -> Edit | None:
    found = _located(edit, cache, sources)
    if found is None or _SECRET.search(found.old) or _SECRET.search(found.new):
        return None
    return found


def _document(lines: list[str], line: int) -> tuple[int, int]:
    """The first and past-the-last line numbers of the YAML document holding `line`."""
    start = next((n + 1 for n in range(line - 1, 0, -1) if lines[n - 1].startswith("---")), 1)
    end = next((n for n in range(line + 1, len(lines) + 1) if lines[n - 1].startswith("---")),
               len(lines) + 1)
    return start, end


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _child(lines: list[str], lo: int, hi: int, parent: int, key: str) -> tuple[int | None, int]:
    """The line of `key` among the children of a mapping (indented past `parent`) in lines
    lo..hi, and the children's indentation (-1 when it has none)."""
    indent = -1
    for number in range(lo, hi):
        text = lines[number - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if _indent(text) <= parent:
            break
        indent = _indent(text) if indent < 0 else indent
        if _indent(text) == indent and re.match(rf"{re.escape(key)}\s*:(\s|$)", text.strip()):
            return number, indent
    return None, indent


def _yaml_set(edit: Pending, lines: list[str]) -> Edit | None:
    """YAML `path` set to `new` in the document holding `line`: its value replaced when it
    is written, else the missing keys added under the deepest key that is."""
    lo, hi = _document(lines, edit.line)
    parent, parent_line = -1, 0
    for depth, key in enumerate(edit.path):
        found, indent = _child(lines, lo, hi, parent, key)
        if found is None:
            if not parent_line or lines[parent_line - 1].split(":", 1)[1].strip():
                return None  # a flow value ({} or a scalar) or the top level: not placed
            base = indent if indent >= 0 else parent + 2
            rest = edit.path[depth:]
            added = [f"{' ' * (base + 2 * n)}{name}:" for n, name in enumerate(rest[:-1])]
            added.append(f"{' ' * (base + 2 * (len(rest) - 1))}{rest[-1]}: {edit.new}")
            old = lines[parent_line - 1]
            return Edit(edit.file, parent_line, old, "\n".join([old, *added]))
        parent, parent_line, lo = indent, found, found + 1
    old = lines[parent_line - 1]
    written = re.match(r"(\s*[^:#]+:\s*)([^#]*?)(\s+#.*)?$", old)
    if written is None or not written.group(2):
        return None  # a mapping, not a value
    return Edit(edit.file, parent_line, old, written.group(1) + edit.new + (written.group(3) or ""))


def _spanned(edit: Pending, text: str) -> Edit | None:
    """The value at its recorded span replaced: the span must lie on the line."""
    start, end = edit.column - 1, (edit.end_column or edit.column) - 1
    if not 0 <= start <= end <= len(text):
        return None
    # a value written in quotes keeps them: the span may cover them or not
    value = text[start:end]
    new = edit.new
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" and new[:1] != value[0]:
        new = value[0] + new + value[0]
    return Edit(edit.file, edit.line, text, text[:start] + new + text[end:])


def _located(edit: Pending, cache: dict[str, list[str] | None], sources: Sources,
             ) -> Edit | None:
    lines = _lines(edit.file, cache, sources)
    if lines is None or not 0 < edit.line <= len(lines):
        return None
    text = lines[edit.line - 1]
    if edit.column:
        return _spanned(edit, text)
    if edit.indent is not None:
        added = "\n".join(" " * edit.indent + line for line in edit.new.splitlines())
        return Edit(edit.file, edit.line, text, f"{text}\n{added}")
    if edit.path:
        return _yaml_set(edit, lines)
    if not edit.old:
        if text.lstrip().startswith("- "):
            return None  # an item of a YAML list: the added line would need its shape
        indent = text[:len(text) - len(text.lstrip())]
        if text.rstrip().endswith(("{", ":")):  # the first line inside an HCL or YAML block
            indent += "  "
        added = "\n".join(indent + line for line in edit.new.splitlines())
        return Edit(edit.file, edit.line, text, f"{text}\n{added}")
    for number in _candidates(edit, lines):
        changed = _replaced(lines[number - 1], edit.old, edit.new)
        if changed is not None:
            return Edit(edit.file, number, lines[number - 1], changed)
    return None


def _chosen(edits: tuple[Edit, ...], cache: dict[str, list[str] | None], sources: Sources,
            ) -> tuple[Edit, ...]:
    # whole edits too only where the file can be edited (not a plan, not an installed module)
    plain = tuple(e for e in edits if not isinstance(e, Pending)
                  and _lines(e.file, cache, sources) is not None)
    choices: dict[int, list[Pending]] = {}
    for edit in edits:
        if isinstance(edit, Pending):
            choices.setdefault(edit.choice, []).append(edit)
    for _, pending in sorted(choices.items()):
        resolved = [_resolve(edit, cache, sources) for edit in pending]
        if all(r is not None for r in resolved):
            return plain + tuple(r for r in resolved if r is not None)
    return plain


def resolve(findings: list[Finding], sources: Sources) -> list[Finding]:
    cache: dict[str, list[str] | None] = {}
    return [replace(f, edits=_chosen(f.edits, cache, sources)) if f.edits else f
            for f in findings]


def resolve_fix(fix: Fix, sources: Sources) -> tuple[str, tuple[Edit, ...]]:
    """A fix's text and its edits made into line edits."""
    return fix.text, _chosen(fix.edits, {}, sources)
