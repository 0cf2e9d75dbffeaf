"""One bounded, read-only connection whose password never shows.

libpq reads the DSN (a URL or `key=value` string), the PG* environment variables, service
files and .pgpass, and uses the password from any of them; connbudget never prints one. What it
shows of a DSN leaves out every secret key, and an error from libpq or psycopg is reduced to
one line that holds no secret: a DSN libpq cannot parse is quoted in its message, so every
quoted piece of such a message but a keyword name is dropped, and a message that still holds a
known secret is not shown at all.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from connbudget.errors import UsageError
from connbudget.live.facts import Endpoint

if TYPE_CHECKING:
    from psycopg import Connection

T = TypeVar("T")

CONNECT_TIMEOUT = 10  # seconds, unless the DSN's connect_timeout or PGCONNECT_TIMEOUT says
STATEMENT_TIMEOUT = "10s"
APPLICATION_NAME = "connbudget live"
# On top of the connect timeouts: the whole read, however the server behaves once connected
# (a process that accepts and then never answers, a network that drops the replies).
READ_BUDGET = 30
_SECRET_KEYS = frozenset({"password", "sslpassword", "scram_client_key", "scram_server_key",
                          "oauth_client_secret"})
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
# What a session of connbudget runs before it reads: nothing it runs can write or wait long.
_SESSION = (
    f"SET statement_timeout = '{STATEMENT_TIMEOUT}'",
    "SET lock_timeout = '2s'",
    "SET default_transaction_read_only = on",
    "SET TimeZone = 'UTC'",
)
_HINTS = (
    ("too many clients already", "every slot is taken: connect as a superuser, which may use "
     "the reserved slots"),
    ("remaining connection slots are reserved", "only the reserved slots are left: connect as "
     "a role that may use them (a superuser; on PostgreSQL 16+ a member of "
     "pg_use_reserved_connections)"),
    ("too many connections for role", "the role's CONNECTION LIMIT is reached: connect as "
     "another role"),
    ("invalid response to SSL negotiation", "what answers there is not PostgreSQL or PgBouncer"),
    ("expected authentication request", "what answers there is not PostgreSQL or PgBouncer"),
    ("database \"pgbouncer\" does not exist", "this is PostgreSQL itself, not PgBouncer's "
     "admin console"),
)


class LiveError(UsageError):
    """A server that cannot be read: one line on stderr, exit 2. The text holds no secret."""


def is_secret(key: str) -> bool:
    return key in _SECRET_KEYS or "password" in key or "secret" in key


def _keywords() -> frozenset[str]:
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _parse_problem(message: str) -> str:
    """libpq's complaint about a DSN, without the pieces of the DSN it quotes (but a keyword)."""
    keywords = _keywords()

    def keep(match: re.Match[str]) -> str:
        inner = match.group()[1:-1]
        kept = inner in keywords or re.fullmatch(r"[^\w\s]", inner)
        return match.group() if kept else "\"...\""

    return _one_line(_QUOTED.sub(keep, message))


def parse(dsn: str, option: str) -> dict[str, str]:
    """The DSN's parameters, as libpq reads them."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        raise LiveError(f"{option} is not a connection string or URL libpq can read: "
                        f"{_parse_problem(str(exc))}") from None
    return {key: str(value) for key, value in params.items() if value is not None}


def secrets(params: dict[str, str]) -> list[str]:
    """Every secret connbudget was given: the DSN's and PGPASSWORD."""
    found = [value for key, value in params.items() if is_secret(key) and value]
    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return found


def _one_line(message: str) -> str:
    """The line of a libpq/psycopg message that says what failed, its hints dropped."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "no reason given"
    if lines[0].startswith("Multiple connection attempts failed") and len(lines) > 1:
        lines = ["; ".join(line.removeprefix("- ") for line in lines[1:]
                           if not line.startswith(("HINT", "DETAIL")))]
    text = re.sub(r"^connection (?:failed|is bad): ", "", lines[0])
    return re.sub(r"\s+", " ", text)


def safe_message(message: str, known: Iterable[str]) -> str:
    """One line of an error that holds none of the `known` secrets."""
    text = _one_line(message)
    secret = [value for value in known if value]
    if not secret:
        return text
    text = _QUOTED.sub(lambda m: "\"...\"" if any(s in m.group() for s in secret)
                       else m.group(), text)
    if any(s in text for s in secret):
        return "(the message is not shown: it would show the password)"
    return text


def _hint(message: str) -> str:
    return "".join(f"; {hint}" for needle, hint in _HINTS if needle in message)


def _connect_timeout(params: dict[str, str]) -> int | None:
    """The connect_timeout to pass: None when the DSN or PGCONNECT_TIMEOUT sets one."""
    if params.get("connect_timeout") or os.environ.get("PGCONNECT_TIMEOUT"):
        return None
    return CONNECT_TIMEOUT


def connect_seconds(params: dict[str, str]) -> int:
    """How long a connection attempt may take, as libpq will bound it."""
    given = params.get("connect_timeout") or os.environ.get("PGCONNECT_TIMEOUT", "")
    try:
        return max(int(given), 2) if given else CONNECT_TIMEOUT
    except ValueError:
        return CONNECT_TIMEOUT


def connect(dsn: str, option: str, what: str, session: bool = True) -> Connection[Any]:
    """Connect with `dsn` (given as `option`); `session`: set the read-only, bounded session
    up (a PgBouncer admin console takes no SET)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    params = parse(dsn, option)
    extra: dict[str, str | int] = {"application_name": APPLICATION_NAME}
    timeout = _connect_timeout(params)
    if timeout is not None:
        extra["connect_timeout"] = timeout
    try:
        connection = psycopg.connect(make_conninfo(dsn, **extra), autocommit=True)
    except psycopg.Error as exc:
        text = safe_message(str(exc), secrets(params))
        raise LiveError(f"cannot connect to {what} ({option}): {text}{_hint(text)}") from None
    if session:
        try:
            for statement in _SESSION:
                connection.execute(statement)
        except psycopg.Error as exc:
            connection.close()
            text = safe_message(str(exc), secrets(params))
            raise LiveError(f"{what} ({option}) refused a session setting: {text}") from None
    return connection


def describe(connection: Connection[Any]) -> Endpoint:
    """Where an open connection went (psycopg's ConnectionInfo never gives the password)."""
    info = connection.info
    return Endpoint(info.user, info.host, str(info.port), info.dbname)


def bounded(read: Callable[[], T], seconds: float, what: str) -> T:
    """`read()` in a thread of its own, given up after `seconds`: a server that accepts and
    then never answers cannot hold the command. The thread is left to the process's exit."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(read())
        except BaseException as exc:  # handed to the caller's thread as is
            failure.append(exc)

    worker = threading.Thread(target=run, name="connbudget-live", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise LiveError(f"{what} did not answer within {seconds:.0f} s")
    if failure:
        raise failure[0]
    return outcome[0]
