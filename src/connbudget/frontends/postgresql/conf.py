"""postgresql.conf as PostgreSQL reads it (src/backend/utils/misc/guc-file.l): one setting a line,
`name = value` or `name value`, names case-insensitive, `#` to the end of a line a comment,
values quoted with single quotes where they are not a plain word or number, the last setting of
a name winning. `include`, `include_if_exists` and `include_dir` read other files at their place:
a file of the reviewed tree is read (relative to the including file), one that is not (an
absolute path on the server, a path in a container) is not, and every setting it could change
is unknown from there on.

Each setting keeps the file, the line and the column span of its value, so that a fix replaces
exactly the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace

from connbudget import confine
from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.errors import InputError
from connbudget.kinds import Read, ReadContext

MAX_FILE_BYTES = 1024 * 1024
_MAX_DEPTH = 10
_LINE = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#']+)?\s*(#.*)?$")
_INCLUDES = ("include", "include_if_exists", "include_dir")


@dataclass(frozen=True)
class ConfSetting:
    name: str  # lower case, as PostgreSQL compares names
    value: str  # unquoted
    file: str
    line: int
    column: int  # of the value as written, 1-based; end exclusive
    end_column: int
    # why the value may not be the one the server runs with ("" when it is)
    unknown: str = ""
    order: int = 0  # its place among the lines read, includes followed


@dataclass
class PostgresConf:
    """The settings of one postgresql.conf and the files it includes, in force at its end."""

    file: str
    settings: dict[str, ConfSetting] = field(default_factory=dict)
    # an include that was not read: (order, file, line, what), after which any setting may
    # change
    unread: list[tuple[int, str, int, str]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    lines_read: int = 0

    def get(self, name: str) -> ConfSetting | None:
        """The setting in force for `name`: unknown when an include that was not read comes
        after it (or when it is not set and such an include could set it)."""
        found = self.settings.get(name)
        later = [u for u in self.unread if found is None or u[0] > found.order]
        if not later:
            return found
        _, file, line, what = later[-1]
        why = f"{what} ({file}:{line}) is not read and may set it"
        if found is None:
            return ConfSetting(name, "", file, line, 0, 0, why)
        return ConfSetting(found.name, found.value, found.file, found.line, found.column,
                           found.end_column, why)


def _unquote(text: str) -> str:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", text[1:-1])
    return text


def parse_text(conf: PostgresConf, text: str, file: str, first_line: int = 1,
               in_tree: bool = True, depth: int = 0) -> None:
    """Read the lines of `text` (from `file`, numbered from `first_line`) into `conf`;
    `in_tree` False: the text is held in another file (a ConfigMap) and its includes name
    files in the container."""
    for number, raw in enumerate(text.split("\n"), start=first_line):
        conf.lines_read += 1
        line = raw.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = _LINE.match(line)
        if found is None or found.group(2) is None:
            conf.errors.append(InputError(file, number, "PostgreSQL refuses to start: syntax "
                                          "error in the configuration file"))
            continue
        name, value = found.group(1).lower(), found.group(2)
        if name in _INCLUDES:
            _include(conf, name, _unquote(value), file, number, in_tree, depth)
            continue
        start = found.start(2)
        conf.settings[name] = ConfSetting(name, _unquote(value), file, number, start + 1,
                                          start + len(value) + 1, order=conf.lines_read)


def _include(conf: PostgresConf, directive: str, target: str, file: str, line: int,
             in_tree: bool, depth: int) -> None:
    what = f"{directive} '{target[:80]}'"
    path = os.path.join(os.path.dirname(file), target)
    if not in_tree or os.path.isabs(target) or depth >= _MAX_DEPTH \
            or confine.outside(path, (os.path.dirname(conf.file) or ".",)) is not None:
        conf.unread.append((conf.lines_read, file, line, what))
        return
    if directive == "include_dir":
        try:
            names = sorted(n for n in os.listdir(path) if n.endswith(".conf")
                           and not n.startswith("."))
        except OSError:
            conf.unread.append((conf.lines_read, file, line, what))
            return
        for name in names:
            _read(conf, os.path.join(path, name), depth + 1, (file, line))
        return
    if not os.path.isfile(path):
        if directive == "include":
            conf.errors.append(InputError(file, line, f"PostgreSQL refuses to start: {what} "
                                          "cannot be read"))
        return
    _read(conf, path, depth + 1, (file, line))


def _read(conf: PostgresConf, path: str, depth: int, by: tuple[str, int] | None) -> bool:
    """Read one file into `conf`; `by`: the include that names it (None for the file itself,
    which is checked against the scanned tree as well)."""
    problem = confine.check(path, (os.path.dirname(conf.file) or ".",))
    if problem is not None:
        conf.errors.append(InputError(*(by or (path, 0)), f"{os.path.basename(path)[:80]}: "
                                      f"{problem}"))
        return False
    try:
        raw = confine.read_regular(path, MAX_FILE_BYTES + 1)
    except OSError as error:
        if by is None:
            conf.errors.append(InputError(path, 0, f"cannot read: {error.strerror or error}"))
        return False
    if len(raw) > MAX_FILE_BYTES:
        conf.errors.append(InputError(path, 0, f"larger than {MAX_FILE_BYTES // 1024} KiB"))
        return False
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    conf.files.append(path)
    conf.comments[path] = whole_line_comments(path, text, ("#",)) if may_suppress(text) else []
    parse_text(conf, text, path, depth=depth)
    return True


def load_conf(path: str) -> PostgresConf:
    conf = PostgresConf(path)
    _read(conf, path, 0, None)
    return conf


def conf_from_text(text: str, file: str, first_line: int, columns: bool = False,
                   ) -> PostgresConf:
    """A postgresql.conf held in another file (a ConfigMap's key): its includes name files in
    the container, not read. `columns`: the text is the file's own, not indented inside
    another, so the values' columns are the file's."""
    conf = PostgresConf(file, files=[file])
    parse_text(conf, text, file, first_line, in_tree=False)
    if not columns:
        conf.settings = {name: replace(setting, column=0, end_column=0)
                         for name, setting in conf.settings.items()}
    return conf


def read(paths: list[str], context: ReadContext) -> Read:
    """The `postgresql-conf` input kind: each file with the files it includes (a file another
    one includes reports its errors through that one)."""
    confs = [load_conf(path) for path in paths]
    included = {file for conf in confs for file in conf.files[1:]}
    errors = [error for conf in confs if conf.file not in included for error in conf.errors]
    comments = {file: found for conf in confs for file, found in conf.comments.items()}
    return Read(confs, errors, comments)
