"""psql variables and Flyway placeholders: replaced by markers that parse, and mapped back.

`:name`, `:'name'`, `:"name"` (psql), `${name}` (Flyway; also `#[name]`, a prefix and
suffix Flyway projects configure), `{{ .name }}` (Jinja, Helm, Go templates) and `%s`/`%[1]s`
(Go's fmt) are not SQL; template tags (`{% if %}`, `{# #}`) are blanked out. Before parsing, each
one outside quotes becomes a marker of the kind its place needs: a quoted identifier, a string
literal (after PASSWORD or VALID UNTIL) or a number (after CONNECTION LIMIT or SYSID). After
parsing, markers turn back into the placeholder text, so a role named by a variable is reported
as `:dbuser` or `${app_user}`, and a password given by one is classified as a parameter.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<string>[Ee]'(?:[^'\\]|\\.|'')*'?|'(?:[^']|'')*'?)
      | (?P<ident>"(?:[^"]|"")*"?)
      | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?(?:\$(?P=tag)\$|\Z))
      | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
      | (?P<control>\{%[^\n]*?%\}|\{\#[^\n]*?\#\})
      | (?P<flyway>(?:[A-Za-z0-9_]*(?:\$\{[^}\n]*\}|\#\[[A-Za-z0-9_.]+\]|\{\{[^\n]*?\}\}
                                    |%(?:\[\d+\])?[sdvq]))+[A-Za-z0-9_]*)
      | (?P<psql>:'[A-Za-z_][A-Za-z0-9_]*'|:"[A-Za-z_][A-Za-z0-9_]*"
                 |(?<![:\w]):[A-Za-z_][A-Za-z0-9_]*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
_STRING_AFTER = {"PASSWORD", "UNTIL"}
_NUMBER_AFTER = {"LIMIT", "SYSID"}
_MARK = re.compile(r"__cbph(\d+)__")
# Numbers stand for placeholders in numeric places; far from any real connection limit.
NUMBER_BASE = 1_987_650_000


@dataclass
class Placeholders:
    """The placeholders of one run; markers are numbered across statements."""

    originals: list[str] = field(default_factory=list)
    # each placeholder as the file writes it, where that differs (psql's :"v" for :v)
    written: dict[int, str] = field(default_factory=dict)

    def mark(self, original: str, written: str | None = None) -> int:
        self.originals.append(original)
        index = len(self.originals) - 1
        if written is not None and written != original:
            self.written[index] = written
        return index

    def as_written(self, text: str | None) -> str | None:
        """`text` with every marker turned back into the placeholder as the file writes it;
        None when `text` holds no marker."""
        if text is None or "__cbph" not in text:
            return None
        return _MARK.sub(lambda m: self.written.get(int(m.group(1)),
                                                    self.originals[int(m.group(1))]), text)

    def restore(self, text: str | None) -> str:
        """`text` with every marker turned back into its placeholder."""
        if text is None or "__cbph" not in text:
            return text or ""
        return _MARK.sub(lambda m: self.originals[int(m.group(1))], text)

    def has_marker(self, text: str) -> bool:
        return _MARK.search(text) is not None

    def number(self, value: int | None) -> str | None:
        """The placeholder a numeric marker stands for, or None for a real number."""
        index = (value or 0) - NUMBER_BASE
        if 0 <= index < len(self.originals):
            return self.originals[index]
        return None


@dataclass
class Substituted:
    text: str
    # (new_start, new_end, old_start, old_end) of each replacement, in order.
    edits: list[tuple[int, int, int, int]]

    def original_offset(self, offset: int) -> int:
        index = bisect_right([edit[0] for edit in self.edits], offset) - 1
        if index < 0:
            return offset
        new_start, new_end, old_start, old_end = self.edits[index]
        if offset < new_end:
            return old_start
        return old_end + offset - new_end


def may_hold_placeholders(text: str) -> bool:
    return ":" in text or has_flyway(text)


def has_flyway(text: str) -> bool:
    """Whether the text may hold a placeholder a tool fills in before the SQL runs: Flyway's
    `${x}`/`#[x]`, Jinja/Helm/Go templates' `{{ x }}` and `{% ... %}`, Go fmt's `%s`/`%[1]s`."""
    return "${" in text or "#[" in text or "{{" in text or "{%" in text or "%" in text


def substitute(text: str, placeholders: Placeholders, psql: bool = True) -> Substituted:
    """Replace placeholders outside quotes; `psql=False` leaves psql variables (inside a
    dollar-quoted body psql substitutes nothing, while Flyway substitutes everywhere)."""
    out: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    length = 0
    previous_word = ""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        piece = match.group()
        if kind == "control":  # a template's control tag ({% if %}) or comment: no value of its own
            piece = "".join(char if char == "\n" else " " for char in piece)
        elif kind == "flyway" or (kind == "psql" and psql):
            # :v, :'v' and :"v" name one variable; the role it names is reported as :v
            index = placeholders.mark(piece if kind == "flyway" else ":" + piece.strip(":'\""),
                                      piece)
            if piece.startswith(":'") or previous_word in _STRING_AFTER:
                replacement = f"'__cbph{index}__'"
            elif previous_word in _NUMBER_AFTER and not piece.startswith(':"'):
                replacement = str(NUMBER_BASE + index)
            else:
                replacement = f'"__cbph{index}__"'
            edits.append((length, length + len(replacement), match.start(), match.end()))
            piece = replacement
            previous_word = ""
        elif kind == "word":
            previous_word = piece.upper()
        elif kind not in ("comment",) and not piece.isspace():
            previous_word = ""
        out.append(piece)
        length += len(piece)
    return Substituted("".join(out), edits)
