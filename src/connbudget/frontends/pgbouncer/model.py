"""PgBouncer settings as read, each with the file and line it came from, and the defaults of the
release that reads them (the behaviours table, `providers/pgbouncer/data/behaviours.csv`, with the
source line of each). Passwords are never kept.

Which sections and keys a release accepts comes from its source (data/pgbouncer_keys.json, see
data/SOURCES.md): PgBouncer refuses to start on any other, and matches names case-sensitively.
Which release applies: a pin in [tool.connbudget.poolers], else the release the image tag names
(the images table), else the newest release connbudget has read.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.providers.pgbouncer.tables import ABSENT, behaviour, image_release
from connbudget.resources import data_dir

T = TypeVar("T")


POOL_MODES = ("session", "transaction", "statement")


DEFAULTS: dict[str, int | str] = {
    "default_pool_size": 20,
    "min_pool_size": 0,
    "reserve_pool_size": 0,
    "max_client_conn": 100,
    "max_db_connections": 0,
    "max_user_connections": 0,
    "max_db_client_connections": 0,
    "max_user_client_connections": 0,
    "listen_port": 6432,
    "so_reuseport": 0,
    "pool_mode": "session",
}


# [pgbouncer] integers are read with strtol(value, base 0) and refused unless wholly a number
# (libusual cf_set_int); connect-string integers with atoi(): "10abc" is 10, "ten" is 0.
_INT_KEYS = {
    "pgbouncer": {"default_pool_size", "min_pool_size", "reserve_pool_size", "max_client_conn",
                  "max_db_connections", "max_user_connections", "max_db_client_connections",
                  "max_user_client_connections", "listen_port", "max_prepared_statements",
                  "peer_id", "so_reuseport"},
    "databases": {"port", "pool_size", "min_pool_size", "reserve_pool", "reserve_pool_size",
                  "max_db_connections", "max_db_client_connections"},
    "users": {"pool_size", "reserve_pool_size", "max_user_connections",
              "max_user_client_connections"},
    "peers": {"port", "pool_size"},
}


# The release assumed when neither an image tag nor a pin names one: the newest in the table.
DEFAULT_VERSION_SOURCE = "assumed: the newest release connbudget knows"
PINNED = "pinned in [tool.connbudget.poolers]"


@functools.cache
def _releases() -> dict[str, dict[str, list[str]]]:
    with open(data_dir() / "pgbouncer_keys.json", encoding="utf-8") as handle:
        data: dict[str, dict[str, list[str]]] = json.load(handle)
    return data


def _release_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def known_versions() -> list[str]:
    return sorted(_releases(), key=_release_key)


def release(version: str | None) -> str:
    """The table entry for a version such as "1.18.0" or "v1.22.1-p0": the same minor release,
    else the nearest one the table holds; None: the newest."""
    versions = known_versions()
    found = re.search(r"(\d+)\.(\d+)", version or "")
    if found is None:
        return versions[-1]
    wanted = (int(found.group(1)), int(found.group(2)))
    below = [v for v in versions if _release_key(v) <= wanted]
    return below[-1] if below else versions[0]


def chosen_release(pin: str | None = None, image: str = "", pinned: str = PINNED,
                   ) -> tuple[str, str]:
    """The release series whose keys and semantics apply, and in words which release and why
    ("PgBouncer 1.24.1 (image edoburu/pgbouncer:v1.24.1-p1)"): a pin, else the release an image
    tag names (the images table), else the newest series connbudget has read. A release it has
    not read is said so, with the series assumed in its place."""
    newest = known_versions()[-1]
    if pin:
        series = release(pin)
        found = re.fullmatch(r"v?(\d+\.\d+)(?:\.\d+)?", pin.strip())
        if found is not None and found.group(1) == series:
            return series, f"PgBouncer {pin} ({pinned})"
        return series, (f"PgBouncer {series} (assumed: {pin}, {pinned}, is not a release "
                        f"connbudget has read; {series} is the nearest it knows)")
    if image:
        tagged = image_release(image)
        if tagged is not None:
            return release(tagged.value), f"PgBouncer {tagged.value} (image {image})"
        return newest, (f"PgBouncer {newest} (assumed: image {image} names no release "
                        f"connbudget knows; {newest} is the newest it has read)")
    return newest, f"PgBouncer {newest} ({DEFAULT_VERSION_SOURCE})"


def accepted_sections(version: str) -> list[str]:
    return _releases()[version]["sections"]


def accepted_keys(version: str, section: str) -> list[str]:
    return _releases()[version].get(section, [])


_SECRET_KEYS = {"password"}


REDACTED = "<redacted>"


DEFAULT_SOURCE = "PgBouncer default (doc/config.md)"


def release_default(key: str, version: str) -> Resolved[int] | None:
    """A [pgbouncer] integer's default in `version`, from the behaviours table with its source
    line; None when the table does not hold the key for that release."""
    found = behaviour(key, version)
    if found is None or found.value == ABSENT or not found.value.lstrip("-").isdigit():
        return None
    return Resolved(key, int(found.value), f"PgBouncer {version} default ({found.cite.source})",
                    is_default=True)


@dataclass(frozen=True)
class Setting:
    key: str
    value: str  # as written; REDACTED for passwords
    file: str
    line: int
    unknown: str = ""  # why the value is not known (template placeholder), else empty
    invalid: bool = False  # reported as an InputError
    # where the value is written on its line (1-based columns, end exclusive; 0: not known)
    column: int = 0
    end_column: int = 0
    # a value no file sets, given by the platform that runs PgBouncer: where it comes from
    source: str = ""


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A setting's effective value. `value` None: unknown (see `unknown`)."""

    key: str
    value: T | None
    source: str  # "pgbouncer.ini:12", "PgBouncer default (doc/config.md)", "env POOL_MODE (...)"
    file: str = ""
    line: int = 0
    is_default: bool = False
    unknown: str = ""


@dataclass
class Entry:
    """A [databases] or [users] line: `name = key=value key=value ...`."""

    name: str
    params: dict[str, Setting]
    file: str
    line: int

    def text(self, key: str) -> str | None:
        found = self.params.get(key)
        return found.value if found and not found.unknown and not found.invalid else None


@dataclass(frozen=True)
class UnknownSetting:
    file: str
    line: int
    what: str  # e.g. "default_pool_size", "%include /etc/pgbouncer/extra.ini"
    reason: str


@dataclass
class PgBouncerConfig:
    origin: str  # the main file, or where the environment was read
    version: str = ""  # the release whose keys and semantics apply, e.g. "1.18"
    version_source: str = ""  # which release and why, in words (see chosen_release)
    settings: dict[str, Setting] = field(default_factory=dict)  # [pgbouncer]
    databases: dict[str, Entry] = field(default_factory=dict)  # [databases], "*" included
    users: dict[str, Entry] = field(default_factory=dict)  # [users]
    peers: dict[str, Entry] = field(default_factory=dict)  # [peers], from 1.19
    errors: list[InputError] = field(default_factory=list)
    unknowns: list[UnknownSetting] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, includes too
    comments: dict[str, list[Comment]] = field(default_factory=dict)  # per file read
    # configured by a container's environment: the variable each [pgbouncer] key was read from
    env_names: dict[str, str] = field(default_factory=dict)
    # the user names of its auth_file, when that file is in the reviewed tree (never passwords)
    userlist: frozenset[str] | None = None

    @property
    def release_words(self) -> str:
        """Which release reads it and why: "PgBouncer 1.24.1 (image ...)"."""
        return self.version_source or f"PgBouncer {self.version} ({DEFAULT_VERSION_SOURCE})"

    def integer(self, key: str) -> Resolved[int]:
        """A [pgbouncer] integer setting, or the default of the release that reads it."""
        setting = self.settings.get(key)
        if setting is None and self.version:
            found = release_default(key, self.version)
            if found is not None:
                return found
        return resolve_int(key, setting)

    def pool_mode(self) -> Resolved[str]:
        setting = self.settings.get("pool_mode")
        found = behaviour("pool_mode", self.version) if self.version else None
        if setting is None and found is not None:
            return Resolved("pool_mode", found.value,
                            f"PgBouncer {self.version} default ({found.cite.source})",
                            is_default=True)
        return resolve_mode(setting)

    def default_pool_size(self) -> Resolved[int]:
        return self.integer("default_pool_size")

    def reserve_pool_size(self) -> Resolved[int]:
        return self.integer("reserve_pool_size")

    def max_client_conn(self) -> Resolved[int]:
        return self.integer("max_client_conn")

    def max_db_connections(self) -> Resolved[int]:
        return self.integer("max_db_connections")

    def max_user_connections(self) -> Resolved[int]:
        return self.integer("max_user_connections")

    def text(self, key: str) -> str | None:
        """A [pgbouncer] text setting as written (None: not set or not known)."""
        found = self.settings.get(key)
        return found.value if found and not found.unknown and not found.invalid else None

    def fallback(self) -> Entry | None:
        """The `*` database: the connect string used for any database not listed."""
        return self.databases.get("*")


def _where(setting: Setting) -> str:
    return setting.source or f"{setting.file}:{setting.line}"


def resolve_int(key: str, setting: Setting | None) -> Resolved[int]:
    if setting is None:
        default = DEFAULTS.get(key)
        if isinstance(default, int):
            return Resolved(key, default, DEFAULT_SOURCE, is_default=True)
        return Resolved(key, None, "not set", unknown=f"{key} is not set")
    if setting.unknown or setting.invalid:
        reason = setting.unknown or f"invalid value for {key}"
        return Resolved(key, None, _where(setting), setting.file, setting.line, unknown=reason)
    return Resolved(key, int(setting.value), _where(setting), setting.file, setting.line)


def resolve_mode(setting: Setting | None) -> Resolved[str]:
    if setting is None:
        return Resolved("pool_mode", "session", DEFAULT_SOURCE, is_default=True)
    if setting.unknown or setting.invalid:
        reason = setting.unknown or "invalid pool_mode"
        return Resolved("pool_mode", None, _where(setting), setting.file, setting.line,
                        unknown=reason)
    return Resolved("pool_mode", setting.value.lower(), _where(setting), setting.file,
                    setting.line)


def first_set(candidates: Sequence[tuple[str, Setting | None]]) -> tuple[str, Setting] | None:
    for key, setting in candidates:
        if setting is not None:
            return key, setting
    return None
