"""pgbouncer.ini as PgBouncer reads it (libusual cfparser, src/loader.c): sections, `%include`,
connect strings. Values a template fills in later (`{{ ... }}`, `$VAR`, `MAX_CLIENT_CONN`-style
placeholders) are unknown, not errors.

What PgBouncer refuses to start with is an error that says so, located: an unknown section or
key (names are case-sensitive), a line that is not `key = value`, a `[pgbouncer]` integer that
is not wholly a number, an invalid pool_mode, a broken connect string. Connect-string integers
are read as atoi() reads them ("10abc" is 10). Every `[pgbouncer]` header resets that section's
settings to their defaults, as PgBouncer does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace

from connbudget import confine
from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.model import (
    _INT_KEYS,
    _SECRET_KEYS,
    PINNED,
    POOL_MODES,
    REDACTED,
    Entry,
    PgBouncerConfig,
    Setting,
    UnknownSetting,
    accepted_keys,
    accepted_sections,
    chosen_release,
)
from connbudget.kinds import Read, ReadContext
from connbudget.settings import canonical

_MAX_INCLUDES = 256  # files one configuration may %include, counted at every %include
_MAX_INCLUDE_DEPTH = 10


_MAX_FILE_BYTES = 5 * 1024 * 1024


_PLACEHOLDER = re.compile(r"\$\{?\w+\}?|[A-Z][A-Z0-9_]*")


# strtol(value, &end, 0) consuming the whole value: decimal, 0x hex, 0 octal
_STRTOL = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


_ATOI = re.compile(r"\s*([+-]?\d*)")


_KEY = re.compile(r"[A-Za-z0-9_.\-*]+")


_SECTION = re.compile(r"\s*\[[^\]]+\]\s*$")


def comments(file: str, text: str) -> list[Comment]:
    """Lines whose first non-blank character is `;` or `#`: the lines PgBouncer skips as
    comments (a `#` after a value is part of the value). A comment's scope is its [section]:
    an ignore anywhere in a section covers it."""
    spans = _sections(text)
    return [replace(comment, scope=next((s for s in spans if s[0] <= comment.line <= s[1]), None))
            for comment in whole_line_comments(file, text, (";", "#"))]


def _sections(text: str) -> list[tuple[int, int]]:
    """The first and last line of each `[section]`: its header up to the next header."""
    lines = text.split("\n")
    starts = [n for n, line in enumerate(lines, start=1) if _SECTION.match(line)]
    return list(zip(starts, [s - 1 for s in starts[1:]] + [len(lines)], strict=True))


def refusal(version: str, what: str) -> str:
    return f"PgBouncer {version} refuses to start: {what}"


def _unknown_reason(value: str) -> str:
    if "{{" in value or "{%" in value:
        return "template expression, filled in when the template is rendered"
    if _PLACEHOLDER.fullmatch(value):
        return f"placeholder '{value}', substituted when the container starts"
    return ""


def _strtol(value: str) -> int:
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("+-")
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0") and len(digits) > 1:
        return sign * int(digits[1:], 8)
    return sign * int(digits)


def atoi(value: str) -> int:
    found = _ATOI.match(value)
    digits = found.group(1) if found else ""
    return int(digits) if digits.lstrip("+-") else 0


def check_setting(section: str, key: str, value: str, file: str, line: int,
                  errors: list[InputError], what: str, version: str) -> Setting:
    """A setting as PgBouncer reads it: [pgbouncer] integers with strtol (refused unless whole),
    connect-string integers with atoi, pool_mode case-insensitively."""
    if key in _SECRET_KEYS:
        return Setting(key, REDACTED, file, line)
    unknown = _unknown_reason(value)
    if "{{" in value or (unknown and (key in _INT_KEYS.get(section, ()) or key == "pool_mode")):
        return Setting(key, value, file, line, unknown=unknown)
    if key == "pool_mode":
        if value.lower() in POOL_MODES:
            return Setting(key, value.lower(), file, line)
        errors.append(InputError(file, line, refusal(version, f"{what}pool_mode: the value is "
                                                     f"not one of {', '.join(POOL_MODES)}")))
        return Setting(key, value, file, line, invalid=True)
    if key not in _INT_KEYS.get(section, ()):
        return Setting(key, value, file, line)
    if sum(char.isdigit() for char in value) > 18:  # past any C int PgBouncer keeps
        errors.append(InputError(file, line, f"{what}{key}: the value is too large"))
        return Setting(key, value, file, line, invalid=True)
    if section != "pgbouncer":
        number = atoi(value)
        if key == "port" and number == 0:
            errors.append(InputError(file, line, refusal(version, f"{what}port: the value is "
                                                         "not a port number")))
            return Setting(key, value, file, line, invalid=True)
        return Setting(key, str(number), file, line)
    if not _STRTOL.fullmatch(value):
        errors.append(InputError(file, line, refusal(version, f"{what}{key}: the value is not "
                                                     "an integer")))
        return Setting(key, value, file, line, invalid=True)
    return Setting(key, str(_strtol(value)), file, line)


def parse_connect_string(text: str) -> list[tuple[str, str, int, int]] | str:
    """`key=value key='quoted value'` pairs as PgBouncer reads them (src/loader.c cstr_get_pair:
    only spaces separate, names are kept as written), each with where its value is written in
    `text` (start and end index, quotes included), or an error message."""
    pairs: list[tuple[str, str, int, int]] = []
    position = 0
    length = len(text)
    while True:
        while position < length and text[position] == " ":
            position += 1
        if position >= length:
            return pairs
        end = position
        while end < length and text[end] not in "= ":
            end += 1
        key = text[position:end]
        equals = end
        while equals < length and text[equals] == " ":
            equals += 1
        if not key or equals >= length or text[equals] != "=":
            return f"expected key=value at character {position + 1}"
        position = equals + 1
        while position < length and text[position] == " ":
            position += 1
        start = position
        if position < length and text[position] == "'":
            value, position = _quoted(text, position + 1)
            if position < 0:
                return f"unterminated quote in the value of {key}"
        else:
            end = position
            while end < length and text[end] != " ":
                # a template expression `{{ x }}` is one value, spaces included
                close = text.find("}}", end) if text.startswith("{{", end) else -1
                end = close + 2 if close >= 0 else end + 1
            value, position = text[position:end], end
        if not value:
            return f"empty value for {key}"
        pairs.append((key, value, start, position))


def _quoted(text: str, position: int) -> tuple[str, int]:
    chars: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "'":
            if text[position + 1:position + 2] == "'":
                chars.append("'")
                position += 2
                continue
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    return "", -1


def read_entry(section: str, name: str, value: str, file: str, line: int,
               errors: list[InputError], version: str, column: int = 0) -> Entry:
    """A [databases], [users] or [peers] entry; `column` is where `value` starts on its line
    (1-based, 0 when not known), so each parameter records where its value is written."""
    label = {"databases": "database", "users": "user", "peers": "peer"}[section]
    params: dict[str, Setting] = {}
    # PgBouncer reads the '*' connect string when a client first asks for a database it does
    # not list: a mistake there refuses those clients, not the start.
    when = (f"PgBouncer {version} refuses every client of a database it reaches through '*': "
            if name == "*" else refusal(version, ""))
    if section == "databases" and name == "pgbouncer":
        errors.append(InputError(file, line, refusal(version, "database name 'pgbouncer' is "
                                                     "reserved for the admin console")))
        return Entry(name, params, file, line)
    pairs = parse_connect_string(value)
    if isinstance(pairs, str):
        # The message may quote the text: never let a password through.
        message = pairs if "password" not in value.lower() else "syntax error"
        errors.append(InputError(file, line, f"{when}{label} '{name}': {message}"))
        return Entry(name, params, file, line)
    accepted = accepted_keys(version, section)
    for key, text, start, end in pairs:
        if key not in accepted:
            close = [k for k in accepted if k == key.lower()]
            hint = f" (names are case-sensitive: '{close[0]}')" if close else ""
            errors.append(InputError(file, line, f"{when}{label} '{name}': unrecognized "
                                     f"parameter '{key}'{hint}"))
            continue
        found = check_setting(section, key, text, file, line, errors, f"{label} '{name}': ",
                              version)
        params[key] = replace(found, column=column + start, end_column=column + end) \
            if column else found
    return Entry(name, params, file, line)


def note_unknown(config: PgBouncerConfig, setting: Setting) -> None:
    if setting.unknown:
        config.unknowns.append(UnknownSetting(setting.file, setting.line, setting.key,
                                              setting.unknown))


@dataclass
class _Reader:
    config: PgBouncerConfig
    section: str = ""
    seen_main: bool = False
    stack: list[str] = field(default_factory=list)
    root: str = "."  # where the configuration was found: the scan roots outside a scan
    included: int = 0  # files read by %include, in the whole configuration

    @property
    def version(self) -> str:
        return self.config.version

    def refuse(self, file: str, line: int, what: str) -> None:
        self.config.errors.append(InputError(file, line, refusal(self.version, what)))

    def read(self, path: str, include_file: str = "", include_line: int = 0) -> bool:
        real = os.path.realpath(path)
        where = (include_file or path, include_line)
        # PgBouncer stops loading, and so refuses to start, at an include it cannot read
        prefix = refusal(self.version, "") if include_file else ""
        if real in self.stack:
            self.config.errors.append(InputError(*where, f"{prefix}%include cycle: {path}"))
            return False
        if len(self.stack) >= _MAX_INCLUDE_DEPTH:
            self.config.errors.append(InputError(*where, f"{prefix}%include nested deeper "
                                                 f"than {_MAX_INCLUDE_DEPTH} files: {path}"))
            return False
        try:
            text = confine.read_regular(path, _MAX_FILE_BYTES).decode("utf-8", "replace")
            text = text.removeprefix("\ufeff")
        except OSError as error:
            self.config.errors.append(InputError(*where, f"{prefix}cannot read {path}: "
                                                 f"{error.strerror or error}"))
            return False
        self.config.files.append(path)
        self.config.comments[path] = comments(path, text) if may_suppress(text) else []
        self.stack.append(real)
        # PgBouncer breaks lines at \n only; str.splitlines() would also break at \v, \f, U+2028...
        for number, raw in enumerate(text.split("\n"), start=1):
            self.line(path, number, raw.removesuffix("\r"))
        self.stack.pop()
        return True

    def line(self, file: str, number: int, raw: str) -> None:
        text = raw.strip()
        if not text or text[0] in ";#" or text.startswith(("{%", "{#")):
            return
        if text.startswith("{{"):
            self.config.unknowns.append(UnknownSetting(
                file, number, text[:60],
                "template expression line, filled in when the template is rendered"))
            return
        if text.startswith("%include") and text[8:9] in (" ", "\t"):
            self.include(file, number, text[len("%include"):].strip())
            return
        if text.startswith("["):
            self.header(file, number, text)
            return
        key_match = _KEY.match(text)
        rest = text[key_match.end():].lstrip(" \t") if key_match else text
        if key_match is None or not rest.startswith("="):
            self.refuse(file, number, "syntax error: expected 'key = value'")
            return
        key, value = key_match.group(0), rest[1:].strip()
        after = raw.index("=", len(raw) - len(raw.lstrip()) + key_match.end()) + 1
        column = after + len(raw[after:]) - len(raw[after:].lstrip()) + 1
        self.setting(file, number, key, value, column)

    def header(self, file: str, number: int, text: str) -> None:
        close = text.find("]")
        if close < 0:
            self.refuse(file, number, "syntax error: unclosed section header")
            return
        name = text[1:close]
        if "{{" in name:
            self.config.unknowns.append(UnknownSetting(file, number, text[:60],
                                                       "template expression in a section header"))
            self.section = ""
            return
        sections = accepted_sections(self.version)
        if name not in sections:
            close_names = [s for s in sections if s == name.strip().lower()]
            hint = f" (names are case-sensitive: [{close_names[0]}])" if close_names else ""
            self.refuse(file, number, f"invalid section [{name}]{hint}")
            self.section = "?"
            return
        self.section = name
        if name == "pgbouncer":
            # every [pgbouncer] header sets that section's keys back to their defaults
            self.config.settings.clear()
            self.seen_main = True

    def setting(self, file: str, number: int, key: str, value: str, column: int = 0) -> None:
        if self.section == "pgbouncer":
            if key not in accepted_keys(self.version, "pgbouncer"):
                close = [k for k in accepted_keys(self.version, "pgbouncer") if k == key.lower()]
                hint = f" (names are case-sensitive: '{close[0]}')" if close else ""
                self.refuse(file, number, f"unknown key '{key}' in [pgbouncer]{hint}")
                return
            found = check_setting("pgbouncer", key, value, file, number, self.config.errors, "",
                                  self.version)
            self.config.settings[key] = replace(
                found, column=column, end_column=column + len(value)) if column else found
            note_unknown(self.config, self.config.settings[key])
        elif self.section in ("databases", "users", "peers"):
            entry = read_entry(self.section, key, value, file, number, self.config.errors,
                               self.version, column)
            {"databases": self.config.databases, "users": self.config.users,
             "peers": self.config.peers}[self.section][key] = entry
            for setting in entry.params.values():
                note_unknown(self.config, setting)
        elif not self.section:
            self.refuse(file, number, "syntax error: a setting outside any section")

    def include(self, file: str, number: int, target: str) -> None:
        if not target:
            self.config.errors.append(InputError(file, number, "%include without a file name"))
            return
        if "\0" in target:
            self.config.errors.append(InputError(file, number, "%include file name holds a NUL "
                                                 "byte"))
            return
        if "{{" in target:
            self.config.unknowns.append(UnknownSetting(file, number, f"%include {target}",
                                                       "template expression in the file name"))
            return
        if os.path.isabs(target):
            # A path on the machine PgBouncer runs on, not in the reviewed tree.
            self.config.unknowns.append(UnknownSetting(file, number, f"%include {target}",
                                                       "absolute path on the PgBouncer host: its "
                                                       "settings are not known"))
            return
        # PgBouncer opens a relative name from its working directory; the reviewed tree keeps
        # the included file beside the one that includes it.
        path = os.path.join(os.path.dirname(file), target)
        problem = confine.outside(path, (self.root,))
        if problem is not None:
            self.config.errors.append(InputError(file, number, f"%include names a file that is "
                                                 f"{problem}"))
            return
        self.included += 1
        if self.included > _MAX_INCLUDES:
            if self.included == _MAX_INCLUDES + 1:  # told once; every later %include is skipped
                message = (f"more than {_MAX_INCLUDES} files %included in one configuration: "
                           "this one and the later ones are not read")
                self.config.errors.append(InputError(file, number, message))
                self.config.unknowns.append(UnknownSetting(
                    file, number, f"%include {target[:60]}", "files past the limit of %include "
                    "files are not read: their settings are not known"))
            return
        self.read(path, file, number)


def load_pgbouncer(path: str, version: str | None = None,
                   version_source: str = "named") -> PgBouncerConfig:
    """Parse a pgbouncer.ini (or .ini.j2 template) and the files it %includes, as PgBouncer
    `version` (default: the newest release in the table) reads them; `version_source` says who
    named the version."""
    chosen, source = chosen_release(version, pinned=version_source)
    config = PgBouncerConfig(origin=path, version=chosen, version_source=source)
    reader = _Reader(config, root=os.path.dirname(path) or ".")
    if reader.read(path) and not reader.seen_main and not path.endswith(".j2"):
        config.errors.append(InputError(path, 1, refusal(chosen, "the [pgbouncer] section is "
                                                         "missing")))
    config.userlist = _userlist(path, config)
    return config


_USERLIST_BYTES = 1024 * 1024


def _userlist(ini: str, config: PgBouncerConfig) -> frozenset[str] | None:
    """The user names of the auth_file when it sits in the reviewed tree beside the ini (a
    relative path inside the ini's directory), read through the confined reader; the
    passwords are never kept."""
    name = config.text("auth_file")
    if not name or os.path.isabs(name) or "{{" in name or "\0" in name:
        return None
    base = os.path.realpath(os.path.dirname(ini) or ".")
    path = os.path.realpath(os.path.join(base, name))
    if not path.startswith(base + os.sep):
        return None
    try:
        lines = confine.read_regular(path, _USERLIST_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    names = set()
    for line in lines.splitlines():
        text = line.strip()
        if text.startswith('"'):
            end = text.find('"', 1)
            while end > 0 and text[end + 1:end + 2] == '"':
                end = text.find('"', end + 2)
            if end > 0:
                names.add(text[1:end].replace('""', '"'))
    return frozenset(names)


class _TextReader(_Reader):
    def include(self, file: str, number: int, target: str) -> None:
        # A path inside the pod that mounts the text, not a file of the reviewed tree.
        self.config.unknowns.append(UnknownSetting(file, number, f"%include {target[:60]}",
                                                   "a file inside the container: its settings are "
                                                   "not known"))


def load_pgbouncer_text(text: str, file: str, first_line: int = 1,
                        release: tuple[str, str] | None = None) -> PgBouncerConfig:
    """A pgbouncer.ini held in another file (a ConfigMap's `pgbouncer.ini` key): its lines are
    numbered from `first_line` of `file`; `%include` names a file in the container, unknown.
    `release` is the series and why (`chosen_release`): the image of the PgBouncer that mounts
    it; the newest release connbudget knows when none is given."""
    version, source = release or chosen_release()
    config = PgBouncerConfig(origin=f"{file}:{first_line}", version=version,
                             version_source=source, files=[file])
    reader = _TextReader(config)
    for number, raw in enumerate(text.split("\n"), start=first_line):
        reader.line(file, number, raw.removesuffix("\r"))
    return config


def read(paths: list[str], context: ReadContext) -> Read:
    """The `pgbouncer` input kind: each ini file as the release pinned for it (else the
    newest) reads it, with the files it %includes."""
    configs = [load_pgbouncer(path, context.pgbouncer_versions.get(canonical(path)), PINNED)
               for path in paths]
    included = {file for config in configs for file in config.files[1:]}
    errors = [error for config in configs if config.files[:1] and config.files[0]
              not in included for error in config.errors]
    comments = {file: found for config in configs for file, found in config.comments.items()}
    return Read(configs, errors, comments)
