"""pgbouncer.ini as PgBouncer reads it: sections, `%include`, connect strings. Values a template
fills in later (`{{ ... }}`, `$VAR`, `MAX_CLIENT_CONN`-style placeholders) are unknown, not errors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from connbudget import confine
from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.model import (
    _INT_KEYS,
    _SECRET_KEYS,
    POOL_MODES,
    REDACTED,
    Entry,
    PgBouncerConfig,
    Setting,
    Unknown,
)

_MAX_INCLUDE_DEPTH = 10


_MAX_FILE_BYTES = 5 * 1024 * 1024


_PLACEHOLDER = re.compile(r"\$\{?\w+\}?|[A-Z][A-Z0-9_]*")


_INTEGER = re.compile(r"[+-]?\d+")


def _unknown_reason(value: str) -> str:
    if "{{" in value or "{%" in value:
        return "template expression, filled in when the template is rendered"
    if _PLACEHOLDER.fullmatch(value):
        return f"placeholder '{value}', substituted when the container starts"
    return ""


def _check(section: str, key: str, value: str, file: str, line: int,
           errors: list[InputError], what: str) -> Setting:
    if key in _SECRET_KEYS:
        return Setting(key, REDACTED, file, line)
    if key == "pool_mode" and value.lower() in POOL_MODES:
        return Setting(key, value, file, line)
    unknown = _unknown_reason(value)
    if unknown and (key in _INT_KEYS[section] or key == "pool_mode"):
        return Setting(key, value, file, line, unknown=unknown)
    if "{{" in value:
        return Setting(key, value, file, line, unknown=unknown)
    if key in _INT_KEYS[section] and _INTEGER.fullmatch(value) and len(value) > 18:
        errors.append(InputError(file, line, f"{what}{key}: the value is too large"))
        return Setting(key, value, file, line, invalid=True)
    if key in _INT_KEYS[section] and not _INTEGER.fullmatch(value):
        errors.append(InputError(file, line, f"{what}{key}: the value is not an integer"))
        return Setting(key, value, file, line, invalid=True)
    if key == "pool_mode" and value.lower() not in POOL_MODES:
        errors.append(InputError(file, line, f"{what}pool_mode: the value is not one of "
                                 f"{', '.join(POOL_MODES)}"))
        return Setting(key, value, file, line, invalid=True)
    return Setting(key, value, file, line)


def parse_connect_string(text: str) -> list[tuple[str, str]] | str:
    """`key=value key='quoted value'` pairs as PgBouncer reads them, or an error message."""
    pairs: list[tuple[str, str]] = []
    position = 0
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            return pairs
        equals = text.find("=", position)
        if equals < 0:
            return f"expected key=value at character {position + 1}"
        key = text[position:equals].strip()
        if not key or " " in key:
            return f"expected key=value at character {position + 1}"
        position = equals + 1
        while position < length and text[position] == " ":
            position += 1
        if position < length and text[position] == "'":
            value, position = _quoted(text, position + 1)
            if position < 0:
                return f"unterminated quote in the value of {key}"
        else:
            end = position
            while end < length and not text[end].isspace():
                # a template expression `{{ x }}` is one value, spaces included
                close = text.find("}}", end) if text.startswith("{{", end) else -1
                end = close + 2 if close >= 0 else end + 1
            value, position = text[position:end], end
        if not value:
            return f"empty value for {key}"
        pairs.append((key.lower(), value))


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


def _entry(section: str, name: str, value: str, file: str, line: int,
           errors: list[InputError]) -> Entry:
    label = "database" if section == "databases" else "user"
    pairs = parse_connect_string(value)
    params: dict[str, Setting] = {}
    if isinstance(pairs, str):
        # The message may quote the text: never let a password through.
        message = pairs if "password" not in value.lower() else "syntax error"
        errors.append(InputError(file, line, f"{label} '{name}': {message}"))
        return Entry(name, params, file, line)
    for key, text in pairs:
        params[key] = _check(section, key, text, file, line, errors, f"{label} '{name}': ")
    return Entry(name, params, file, line)


def _note_unknown(config: PgBouncerConfig, setting: Setting) -> None:
    if setting.unknown:
        config.unknowns.append(Unknown(setting.file, setting.line, setting.key, setting.unknown))


@dataclass
class _Reader:
    config: PgBouncerConfig
    section: str = ""
    stack: list[str] = field(default_factory=list)
    root: str = "."  # where the configuration was found: the scan roots outside a scan

    def read(self, path: str, include_file: str = "", include_line: int = 0) -> None:
        real = os.path.realpath(path)
        where = (include_file or path, include_line)
        if real in self.stack:
            self.config.errors.append(InputError(*where, f"%include cycle: {path}"))
            return
        if len(self.stack) >= _MAX_INCLUDE_DEPTH:
            self.config.errors.append(InputError(*where, f"%include nested deeper than "
                                                 f"{_MAX_INCLUDE_DEPTH} files: {path}"))
            return
        try:
            text = confine.read_regular(path, _MAX_FILE_BYTES).decode("utf-8", "replace")
            text = text.removeprefix("\ufeff")
        except OSError as error:
            self.config.errors.append(InputError(*where, f"cannot read {path}: "
                                                 f"{error.strerror or error}"))
            return
        self.config.files.append(path)
        self.stack.append(real)
        # PgBouncer breaks lines at \n only; str.splitlines() would also break at \v, \f, U+2028...
        for number, raw in enumerate(text.split("\n"), start=1):
            self.line(path, number, raw.removesuffix("\r"))
        self.stack.pop()

    def line(self, file: str, number: int, raw: str) -> None:
        text = raw.strip()
        if not text or text[0] in ";#" or text.startswith(("{%", "{#")):
            return
        if text.startswith("{{"):
            self.config.unknowns.append(Unknown(file, number, text[:60], "template expression "
                                                "line, filled in when the template is rendered"))
            return
        if text.lower().startswith("%include"):
            self.include(file, number, text[len("%include"):].strip())
            return
        if text.startswith("["):
            if not text.endswith("]"):
                self.config.errors.append(InputError(file, number, "unclosed section header"))
                return
            self.section = text[1:-1].strip().lower()
            return
        if "=" not in text:
            self.config.errors.append(InputError(file, number, "expected 'key = value'"))
            return
        key, value = (part.strip() for part in text.split("=", 1))
        if not key:
            self.config.errors.append(InputError(file, number, "missing key before '='"))
            return
        self.setting(file, number, key, value)

    def setting(self, file: str, number: int, key: str, value: str) -> None:
        if self.section == "pgbouncer":
            lowered = key.lower()
            self.config.settings[lowered] = _check("pgbouncer", lowered, value, file, number,
                                                   self.config.errors, "")
            _note_unknown(self.config, self.config.settings[lowered])
        elif self.section in ("databases", "users"):
            entry = _entry(self.section, key, value, file, number, self.config.errors)
            target = self.config.databases if self.section == "databases" else self.config.users
            target[key] = entry
            for setting in entry.params.values():
                _note_unknown(self.config, setting)
        elif not self.section:
            self.config.errors.append(InputError(file, number, "a setting outside any section"))

    def include(self, file: str, number: int, target: str) -> None:
        if not target:
            self.config.errors.append(InputError(file, number, "%include without a file name"))
            return
        if "\0" in target:
            self.config.errors.append(InputError(file, number, "%include file name holds a NUL "
                                                 "byte"))
            return
        if "{{" in target:
            self.config.unknowns.append(Unknown(file, number, f"%include {target}",
                                                "template expression in the file name"))
            return
        path = os.path.join(os.path.dirname(file), target)
        problem = None if os.path.isabs(target) else confine.outside(path, (self.root,))
        if problem is not None:
            self.config.errors.append(InputError(file, number, f"%include names a file that is "
                                                 f"{problem}"))
            return
        if os.path.isabs(target):
            # A path on the machine PgBouncer runs on, not in the reviewed tree.
            self.config.unknowns.append(Unknown(file, number, f"%include {target}",
                                                "absolute path on the PgBouncer host: its "
                                                "settings are not known"))
            return
        self.read(path, file, number)


def load_pgbouncer(path: str) -> PgBouncerConfig:
    """Parse a pgbouncer.ini (or .ini.j2 template) and the files it %includes."""
    config = PgBouncerConfig(origin=path)
    _Reader(config, root=os.path.dirname(path) or ".").read(path)
    return config
