"""PostgreSQL's own connection facts per major version (12 to 18), each with its source.

Slots a role can open (`usable_slots`), by kind of role:
  ordinary                          max_connections - superuser_reserved - reserved_connections
  pg_use_reserved_connections (16+) max_connections - superuser_reserved
  superuser                         max_connections
A version or combination the server refuses to start with gives None.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connbudget.providers.tables import Sourced, fact, find, text_fact

_PACKAGE = __name__.rpartition(".")[0]
_SETTINGS = "settings.csv"
_REFUSALS = "refusals.csv"

MAX_CONNECTIONS = "max_connections"
SUPERUSER_RESERVED = "superuser_reserved_connections"
RESERVED = "reserved_connections"


class Role(enum.Enum):
    ORDINARY = "ordinary"
    RESERVED = "reserved"  # has the privileges of pg_use_reserved_connections
    SUPERUSER = "superuser"


@dataclass(frozen=True)
class Settings:
    """The three settings that decide the slots; None takes the version's default."""
    max_connections: int | None = None
    superuser_reserved_connections: int | None = None
    reserved_connections: int | None = None


def has_setting(major: int, name: str) -> Sourced[bool] | None:
    """Whether this major version knows the setting; None for an unknown version or setting."""
    for row in find(_PACKAGE, _SETTINGS, major=str(major), setting=name):
        return row.sourced(row["exists"] == "yes")
    return None


def setting_default(major: int, name: str) -> Sourced[int] | None:
    """The compiled-in default; None when the version does not have the setting."""
    for row in find(_PACKAGE, _SETTINGS, major=str(major), setting=name):
        return row.sourced(int(row["default"])) if row["exists"] == "yes" else None
    return None


def _value(major: int, name: str, given: int | None) -> int | None:
    if given is not None:
        return given
    default = setting_default(major, name)
    return default.value if default else None


def usable_slots(major: int, role: Role, settings: Settings = Settings()) -> Sourced[int] | None:
    """Connections a role of this kind can open before PostgreSQL refuses it."""
    known = has_setting(major, RESERVED)
    if known is None:
        return None
    has_reserved = known.value
    if not has_reserved and (settings.reserved_connections or role is Role.RESERVED):
        return None  # no such setting or role: the server does not start / the role cannot be
    total = _value(major, MAX_CONNECTIONS, settings.max_connections)
    superuser = _value(major, SUPERUSER_RESERVED, settings.superuser_reserved_connections)
    reserved = _value(major, RESERVED, settings.reserved_connections) if has_reserved else 0
    if total is None or superuser is None or reserved is None or superuser + reserved >= total:
        return None  # PostgreSQL refuses to start when the reserves take every slot
    slots = {Role.ORDINARY: total - superuser - reserved, Role.RESERVED: total - superuser,
             Role.SUPERUSER: total}[role]
    row = fact(_PACKAGE, f"slots.{role.value}")
    arithmetic = f"{total} - {superuser} - {reserved}" if role is Role.ORDINARY else (
        f"{total} - {superuser}" if role is Role.RESERVED else f"{total}")
    return Sourced(slots, row.cite, f"{row['value']}: {arithmetic}")


def refusal_text(major: int, role: Role) -> Sourced[str] | None:
    """What PostgreSQL answers a role of this kind once its slots are taken."""
    for row in find(_PACKAGE, _REFUSALS, role=role.value):
        if int(row["from_major"]) <= major <= int(row["to_major"]):
            return row.sourced(row["text"])
    return None


def role_limit_text(major: int, role_name: str) -> Sourced[str] | None:
    """The refusal past a role's CONNECTION LIMIT."""
    for row in find(_PACKAGE, _REFUSALS, role="role_limit"):
        if int(row["from_major"]) <= major <= int(row["to_major"]):
            return row.sourced(row["text"].format(role=role_name))
    return None


def official_image_flag_args_run_postgres() -> Sourced[str] | None:
    """The official image runs `postgres` with the container's args when the first is a flag."""
    return text_fact(_PACKAGE, "official_image.flag_args_run_postgres")


def bitnami_max_connections_env() -> Sourced[str] | None:
    """The bitnami image's environment variable that sets max_connections."""
    return text_fact(_PACKAGE, "bitnami_image.max_connections_env")
