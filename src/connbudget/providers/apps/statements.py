"""Which client libraries prepare named statements on the server, from a client's environment.

A connection string says which library reads it when it carries that library's own settings:
`jdbc:postgresql:` URLs (pgjdbc, `prepareThreshold`), pgx's `pool_max_conns`,
`default_query_exec_mode` or `statement_cache_capacity`, SQLAlchemy's `postgresql+asyncpg://`
(asyncpg), and Prisma's `pgbouncer`, `connection_limit`, `pool_timeout`, `socket_timeout` or
`statement_cache_size`. A plain `postgres://` URL names no library: nothing is said about it.
The defaults and the settings that turn prepared statements off are `data/prepared_statements.csv`,
each with its source. `library_use` gives the same facts to a reader of an application's own
configuration that knows the library and the setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from connbudget.model import Origin, PreparedStatements
from connbudget.providers.tables import Row, fact

if TYPE_CHECKING:
    from connbudget.providers.apps.env import EnvVar

_PACKAGE = __name__.rpartition(".")[0]
_TABLE = "prepared_statements.csv"
_URL = re.compile(r"(?:jdbc:)?postgres(?:ql)?(?:\+\w+)?://[^\s\"']+", re.IGNORECASE)
_PAIR = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
_PGX = ("pool_max_conns", "pool_min_conns", "default_query_exec_mode", "statement_cache_capacity",
        "description_cache_capacity")
_PRISMA = ("pgbouncer", "connection_limit", "pool_timeout", "socket_timeout",
           "statement_cache_size")
_LABEL = {"pgx": "pgx", "asyncpg": "asyncpg", "pgjdbc": "JDBC (pgjdbc)", "prisma": "Prisma"}


def _row(key: str) -> Row:
    return fact(_PACKAGE, key, _TABLE)


def _default(library: str) -> str:
    row = _row(f"{library}.default")
    return f"{row['value']}, the default ({row.cite.source})"


def library_use(library: str, setting: str | None, value: str | None, origin: Origin,
                where: str) -> PreparedStatements:
    """What `library` ("pgx", "asyncpg", "pgjdbc", "prisma") does, given the value of its
    deciding setting (None: not set, its default applies) written at `origin`; `where` names
    the place a client-side fix goes (an environment variable, a file)."""
    off = _row(f"{library}.off")["value"]
    label = _LABEL[library]
    if library == "pgx":
        mode = (value or "").lower()
        named = value is None or mode not in _row("pgx.unnamed_modes")["value"].split()
        text = f"default_query_exec_mode {value}" if value else (
            f"default_query_exec_mode {_default('pgx')}")
        fix = f"default_query_exec_mode={off} in {where}"
    elif library == "pgjdbc":
        threshold = _integer(value)
        named = threshold is None or threshold != 0
        text = f"prepareThreshold={value}" if value is not None else (
            f"prepareThreshold {_default('pgjdbc')}")
        fix = f"{off} in {where}"
    elif library == "asyncpg":
        named = value is None or _integer(value) != 0
        text = f"statement_cache_size={value}" if value is not None else (
            f"statement_cache_size {_default('asyncpg')}, unless the code that connects passes "
            "another")
        fix = f"{off} where the code connects ({where}; SQLAlchemy: connect_args)"
    else:
        pgbouncer_mode = (value or "").lower() == "true"
        if pgbouncer_mode:
            return PreparedStatements(label, False, Origin(f"{setting}=true", origin.file,
                                                           origin.line),
                                      f"remove pgbouncer=true from {where}", True)
        named = True
        text = f"named prepared statements ({_row('prisma.default').cite.source})"
        fix = f"{off} in {where}"
    return PreparedStatements(label, named, Origin(text, origin.file, origin.line), fix)


def _integer(text: str | None) -> int | None:
    stripped = (text or "").strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else None


def _params(text: str) -> dict[str, str]:
    """The parameters of a URL's query, or of a keyword/value connection string."""
    if "://" in text:
        try:
            query = parse_qs(urlsplit(text.removeprefix("jdbc:")).query)
        except ValueError:
            return {}
        return {key: values[0] for key, values in query.items()}
    return {key: value.strip("'") for key, value in _PAIR.findall(text)}


def _from_text(name: str, text: str, origin: Origin) -> PreparedStatements | None:
    params = _params(text)
    lower = text.lower()
    if lower.startswith("jdbc:postgresql:"):
        threshold = params.get("prepareThreshold")
        if params.get("preferQueryMode", "").lower() == "simple":
            threshold = "0"
        return library_use("pgjdbc", "prepareThreshold", threshold, origin, name)
    if lower.startswith(("postgresql+asyncpg:", "postgres+asyncpg:")):
        return library_use("asyncpg", None, None, origin, name)
    if any(key in params for key in _PGX):
        return library_use("pgx", "default_query_exec_mode",
                           params.get("default_query_exec_mode"), origin, name)
    if any(key in params for key in _PRISMA):
        return library_use("prisma", "pgbouncer", params.get("pgbouncer"), origin, name)
    return None


def from_env(env: Mapping[str, EnvVar], origin: Origin) -> tuple[PreparedStatements, ...]:
    """The libraries the connection strings of one container name, each once."""
    found: dict[str, PreparedStatements] = {}
    for var in env.values():
        if var.value is None:
            continue
        texts = [match.group(0) for match in _URL.finditer(var.value)]
        if not texts and "=" in var.value and any(key in var.value for key in _PGX):
            texts = [var.value]
        where = Origin(origin.text, var.file, var.line) if var.file else origin
        for text in texts:
            use = _from_text(var.name, text, where)
            if use is not None:
                found.setdefault(use.library, use)
    return tuple(found.values())
