"""PostgreSQL's own facts, whatever platform runs it: its major version, its defaults and the
slots it reserves, from the settings a server is given (a parameter group, `-c` options, a
postgresql.conf).

The defaults per version are the PostgreSQL tables (`data/settings.csv`: `max_connections` 100
and `superuser_reserved_connections` 3 in every version 12-18, `reserved_connections` 0 from 16);
when the version is not known, a default all versions agree on applies. A platform adds its own
reservations to these (RDS: `rds.rds_superuser_reserved_connections`).

Usable slots for an ordinary role are `max_connections - superuser_reserved_connections -
reserved_connections` (16+): `reserved_connections` is kept for roles with the privileges of
`pg_use_reserved_connections`, and a server before 16 refuses to start with the setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from connbudget.errors import InputError
from connbudget.model import Origin, Reservation, Value, unknown
from connbudget.providers.postgresql.tables import (
    MAX_CONNECTIONS,
    RESERVED,
    SUPERUSER_RESERVED,
    has_setting,
    setting_default,
)

_DOCS = "PostgreSQL documentation, connection settings"
_MAJORS = range(12, 19)
SLOT_SETTINGS = (MAX_CONNECTIONS, SUPERUSER_RESERVED, RESERVED)
_VERSION = re.compile(r"(?<![\d.])(\d{1,2})(?:\.\d+)*(?![\d])")


def _default(name: str, major: int | None) -> int | None:
    """The compiled-in default in `major`, or the one every version the tables hold agrees on
    when the version is not known; None when neither is known."""
    if major is not None:
        found = setting_default(major, name)
        return found.value if found is not None else None
    values = {found.value for m in _MAJORS if (found := setting_default(m, name)) is not None}
    return values.pop() if len(values) == 1 else None


def _version_text(major: int | None) -> str:
    return f"PostgreSQL {major} default" if major is not None else "PostgreSQL default"


def default_max_connections(what: str, major: int | None = None) -> Value:
    """PostgreSQL's default, stated as an assumption: `what` says who sets none."""
    value = _default(MAX_CONNECTIONS, major)
    if value is None:
        return unknown(f"max_connections unknown: PostgreSQL {major} is not in the tables "
                       f"({what})")
    return Value(value, Origin(f"default: max_connections {value} ({_version_text(major)}; "
                               f"{what})"), assumed=True)


def reservation(name: str, setting: Value | None, default: int, source: str) -> Reservation:
    """One reserved-slot parameter: the value a configuration sets, else its default."""
    if setting is not None:
        return Reservation(name, setting)
    return Reservation(name, Value(default, Origin(f"default: {name} {default} ({source})")))


def superuser_reserved(setting: Value | None = None, major: int | None = None) -> Reservation:
    default = _default(SUPERUSER_RESERVED, major)
    if setting is None and default is None:
        return Reservation(SUPERUSER_RESERVED, unknown(
            f"{SUPERUSER_RESERVED} unknown: PostgreSQL {major} is not in the tables"))
    return reservation(SUPERUSER_RESERVED, setting, default or 0, _DOCS)


def reservations(settings: Mapping[str, Value], major: Value | None = None) -> list[Reservation]:
    """The slots PostgreSQL itself keeps from ordinary roles, from a server's settings (a
    parameter, a `-c` option, postgresql.conf) where they set them, else the defaults of its
    version. `reserved_connections` counts where it is set, unless the version is known to
    have no such setting (`refusals` says so)."""
    version = major.value if major is not None and major.known else None
    found = [superuser_reserved(settings.get(SUPERUSER_RESERVED), version)]
    reserved = settings.get(RESERVED)
    exists = has_setting(version, RESERVED) if version is not None else None
    if reserved is not None and (exists is None or exists.value):
        found.append(Reservation(RESERVED, reserved))
    return found


def refusals(settings: Mapping[str, Value], major: Value | None, what: str) -> list[InputError]:
    """Settings the server's version refuses to start with: `reserved_connections` before 16."""
    reserved = settings.get(RESERVED)
    version = major.value if major is not None and major.known else None
    exists = has_setting(version, RESERVED) if version is not None else None
    if reserved is None or exists is None or exists.value or major is None:
        return []
    origin = reserved.origin
    return [InputError(origin.file or major.origin.file, origin.line or major.origin.line,
                       f"{what} is PostgreSQL {version} ({major.origin.text}), which refuses to "
                       f"start with {RESERVED}: the setting exists from PostgreSQL 16 "
                       f"({exists.cite.source})")]


def total_reserved(reserved: list[Reservation]) -> Value:
    """The reservations summed, each with its origin; unknown when any part is."""
    if not all(r.value.known for r in reserved):
        return unknown("reserved slots unknown: " + "; ".join(str(r.value.origin)
                                                              for r in reserved))
    total = sum(r.value.value or 0 for r in reserved)
    return Value(total, Origin(" + ".join(f"{r.value.value} ({r.value.origin})"
                                          for r in reserved)))


def major_version(text: str, origin: Origin) -> Value | None:
    """The major version a version string, an engine version ("16.3"), a parameter group family
    ("postgres16", "aurora-postgresql15") or an image tag ("16-alpine", "16.2.0-debian-12-r5",
    "pg16", "16-3.4" of postgis) names; None when it names none (`latest`, a digest)."""
    lowered = text.strip().lower()
    found = re.search(r"pg(\d{2})(?!\d)", lowered) or re.search(r"postgres(?:ql)?(\d{1,2})",
                                                                  lowered)
    if found is None:
        found = _VERSION.match(lowered)
    if found is None:
        return None
    major = int(found.group(1))
    return Value(major, origin) if 9 <= major <= 99 else None
