"""PgBouncer configuration: pgbouncer.ini (with %include) or container environment variables.

Every value keeps the file and line it came from; defaults are those of PgBouncer's
doc/config.md. Values a template fills in later (`{{ ... }}`, `$VAR`, `MAX_CLIENT_CONN`-style
placeholders) are unknown, not errors. Passwords are never kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote, urlsplit

from connbudget.report import InputError

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
    "pool_mode": "session",
}
_INT_KEYS = {
    "pgbouncer": {"default_pool_size", "min_pool_size", "reserve_pool_size", "max_client_conn",
                  "max_db_connections", "max_user_connections", "max_db_client_connections",
                  "max_user_client_connections", "listen_port", "max_prepared_statements",
                  "peer_id"},
    "databases": {"port", "pool_size", "min_pool_size", "reserve_pool", "reserve_pool_size",
                  "max_db_connections", "max_db_client_connections"},
    "users": {"pool_size", "reserve_pool_size", "max_user_connections",
              "max_user_client_connections"},
}
_SECRET_KEYS = {"password"}
REDACTED = "<redacted>"
_MAX_INCLUDE_DEPTH = 10
_MAX_FILE_BYTES = 5 * 1024 * 1024
_PLACEHOLDER = re.compile(r"\$\{?\w+\}?|[A-Z][A-Z0-9_]*")
_INTEGER = re.compile(r"[+-]?\d+")
DEFAULT_SOURCE = "PgBouncer default (doc/config.md)"
# Names used in a WorstCase when the caller names no client users / databases.
ANY_CLIENT_USER = "<client user>"
ANY_DATABASE = "<any database>"


@dataclass(frozen=True)
class Setting:
    key: str
    value: str  # as written; REDACTED for passwords
    file: str
    line: int
    unknown: str = ""  # why the value is not known (template placeholder), else empty
    invalid: bool = False  # reported as an InputError


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
class Unknown:
    file: str
    line: int
    what: str  # e.g. "default_pool_size", "%include /etc/pgbouncer/extra.ini"
    reason: str


@dataclass
class PgBouncerConfig:
    origin: str  # the main file, or where the environment was read
    settings: dict[str, Setting] = field(default_factory=dict)  # [pgbouncer]
    databases: dict[str, Entry] = field(default_factory=dict)  # [databases], "*" included
    users: dict[str, Entry] = field(default_factory=dict)  # [users]
    errors: list[InputError] = field(default_factory=list)
    unknowns: list[Unknown] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, includes too

    def integer(self, key: str) -> Resolved[int]:
        """A [pgbouncer] integer setting, or PgBouncer's default."""
        return _resolve_int(key, self.settings.get(key))

    def pool_mode(self) -> Resolved[str]:
        return _resolve_mode(self.settings.get("pool_mode"))

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

    def listen_port(self) -> Resolved[int]:
        return self.integer("listen_port")

    def fallback(self) -> Entry | None:
        """The `*` database: the connect string used for any database not listed."""
        return self.databases.get("*")


@dataclass(frozen=True)
class Pool:
    """The effective settings of one (database, user) pool, with where each came from."""

    database: str
    user: str
    pool_size: Resolved[int]
    reserve_pool_size: Resolved[int]
    pool_mode: Resolved[str]


@dataclass(frozen=True)
class DatabaseTerm:
    database: str  # the PgBouncer database name clients use
    entry: str  # the [databases] entry that defines it ("*" for the fallback)
    host: str | None
    port: str | None
    dbname: str | None
    forced_user: str | None
    pools: tuple[Pool, ...]
    pools_total: int | None  # sum of pool_size + reserve_pool_size over the pools
    max_db_connections: Resolved[int]  # 0 = no cap
    total: int | None  # min(max_db_connections or infinity, pools_total)
    file: str
    line: int


@dataclass(frozen=True)
class WorstCase:
    """Worst-case server connections of ONE PgBouncer process (multiply by processes/replicas)."""

    total: int | None  # None when a term is unknown
    databases: tuple[DatabaseTerm, ...]
    user_caps: tuple[Resolved[int], ...]  # max_user_connections that lowered the total
    assumptions: tuple[str, ...]
    unknown: tuple[str, ...]  # why `total` is None

    def formula(self) -> str:
        """The math as one line: `app: min(50, 20+5) + ... = 25`."""
        parts = []
        for term in self.databases:
            pools = " + ".join(_pool_text(pool) for pool in term.pools) or "0"
            cap = term.max_db_connections.value
            parts.append(f"{term.database}: min({cap}, {pools})" if cap else
                         f"{term.database}: {pools}")
        total = "unknown" if self.total is None else str(self.total)
        return " + ".join(parts) + f" = {total}"


def _pool_text(pool: Pool) -> str:
    size = "?" if pool.pool_size.value is None else str(pool.pool_size.value)
    reserve = pool.reserve_pool_size.value
    if reserve == 0:
        return size
    return f"{size}+{'?' if reserve is None else reserve}"


# ---------------------------------------------------------------- value resolution


def _where(setting: Setting) -> str:
    return f"{setting.file}:{setting.line}"


def _resolve_int(key: str, setting: Setting | None) -> Resolved[int]:
    if setting is None:
        default = DEFAULTS.get(key)
        if isinstance(default, int):
            return Resolved(key, default, DEFAULT_SOURCE, is_default=True)
        return Resolved(key, None, "not set", unknown=f"{key} is not set")
    if setting.unknown or setting.invalid:
        reason = setting.unknown or f"invalid value for {key}"
        return Resolved(key, None, _where(setting), setting.file, setting.line, unknown=reason)
    return Resolved(key, int(setting.value), _where(setting), setting.file, setting.line)


def _resolve_mode(setting: Setting | None) -> Resolved[str]:
    if setting is None:
        return Resolved("pool_mode", "session", DEFAULT_SOURCE, is_default=True)
    if setting.unknown or setting.invalid:
        reason = setting.unknown or "invalid pool_mode"
        return Resolved("pool_mode", None, _where(setting), setting.file, setting.line,
                        unknown=reason)
    return Resolved("pool_mode", setting.value.lower(), _where(setting), setting.file,
                    setting.line)


def _first_set(candidates: Sequence[tuple[str, Setting | None]]) -> tuple[str, Setting] | None:
    for key, setting in candidates:
        if setting is not None:
            return key, setting
    return None


def effective_pool(config: PgBouncerConfig, entry: Entry, database: str, user: str) -> Pool:
    """pool_size, reserve and pool_mode of one pool: [users] over [databases] over [pgbouncer]."""
    user_entry = config.users.get(user)
    user_params = user_entry.params if user_entry else {}
    size = _first_set([("pool_size", user_params.get("pool_size")),
                       ("pool_size", entry.params.get("pool_size"))])
    pool_size = (_resolve_int("pool_size", size[1]) if size
                 else config.default_pool_size())
    reserve = _first_set([("reserve_pool_size", user_params.get("reserve_pool_size")),
                          ("reserve_pool_size", entry.params.get("reserve_pool_size")),
                          ("reserve_pool", entry.params.get("reserve_pool"))])
    reserve_pool_size = (_resolve_int(reserve[0], reserve[1]) if reserve
                         else config.reserve_pool_size())
    mode = _first_set([("pool_mode", user_params.get("pool_mode")),
                       ("pool_mode", entry.params.get("pool_mode"))])
    pool_mode = _resolve_mode(mode[1]) if mode else config.pool_mode()
    return Pool(database, user, pool_size, reserve_pool_size, pool_mode)


def _database_cap(config: PgBouncerConfig, entry: Entry) -> Resolved[int]:
    own = entry.params.get("max_db_connections")
    if own is not None:
        return _resolve_int("max_db_connections", own)
    return config.max_db_connections()


def _user_cap(config: PgBouncerConfig, user: str) -> Resolved[int]:
    user_entry = config.users.get(user)
    own = user_entry.params.get("max_user_connections") if user_entry else None
    if own is not None:
        return _resolve_int("max_user_connections", own)
    return config.max_user_connections()


def _sum(values: Sequence[int | None]) -> int | None:
    return None if any(value is None for value in values) else sum(v or 0 for v in values)


def _database_term(config: PgBouncerConfig, name: str, entry: Entry,
                   users: Sequence[str]) -> DatabaseTerm:
    forced = entry.text("user")
    pool_users = [forced] if forced else list(users)
    pools = tuple(effective_pool(config, entry, name, user) for user in pool_users)
    pools_total = _sum([_add(p.pool_size.value, p.reserve_pool_size.value) for p in pools])
    cap = _database_cap(config, entry)
    total: int | None
    if cap.value is not None and cap.value > 0:
        total = cap.value if pools_total is None else min(cap.value, pools_total)
    else:
        total = None if cap.value is None else pools_total
    return DatabaseTerm(database=name, entry=entry.name, host=entry.text("host"),
                        port=entry.text("port"),
                        dbname=entry.text("dbname") or (None if name == ANY_DATABASE else name),
                        forced_user=forced, pools=pools,
                        pools_total=pools_total, max_db_connections=cap, total=total,
                        file=entry.file, line=entry.line)


def _add(left: int | None, right: int | None) -> int | None:
    return None if left is None or right is None else left + right


def worst_case_server_connections(config: PgBouncerConfig, users: Sequence[str] | None = None,
                                  databases: Sequence[str] | None = None) -> WorstCase:
    """Worst-case server connections of one PgBouncer process.

    Sum over databases of min(max_db_connections or infinity, sum over users of pool_size +
    reserve_pool_size), then, where max_user_connections is set, at most the sum over users of
    min(max_user_connections, that user's pools). `users` are the roles clients log in as (a
    database with a forced `user=` has one pool whatever they are); `databases` the names clients
    ask for (any not listed goes through `*`). Unset, every listed database counts and one client
    user is assumed, which is said in `assumptions`.
    """
    assumptions: list[str] = []
    unknown: list[str] = []
    client_users = list(users) if users else []
    if not client_users:
        client_users = [ANY_CLIENT_USER]
        if any(not entry.text("user") for entry in config.databases.values()):
            assumptions.append("one client user per database without a forced user= "
                               "(name the roles clients log in as for more pools)")
    terms: list[DatabaseTerm] = []
    if databases is None:
        for name, entry in config.databases.items():
            if name == "*":
                assumptions.append("one database reached through the '*' fallback entry")
                name = ANY_DATABASE
            terms.append(_database_term(config, name, entry, client_users))
    else:
        fallback = config.fallback()
        for name in dict.fromkeys(databases):
            found = config.databases.get(name, fallback)
            if found is None:
                unknown.append(f"database '{name}' is not in [databases] and there is no '*' entry")
                continue
            terms.append(_database_term(config, name, found, client_users))
    for term in terms:
        if term.total is None:
            unknown.append(f"pool settings of database '{term.database}' are not known")
    total = None if unknown else sum(term.total or 0 for term in terms)
    caps = _apply_user_caps(config, terms)
    if total is not None and caps:
        total = min(total, sum(value for _, value in caps))
    return WorstCase(total=total, databases=tuple(terms),
                     user_caps=tuple(cap for cap, _ in caps if cap.value),
                     assumptions=tuple(dict.fromkeys(assumptions)), unknown=tuple(unknown))


def _apply_user_caps(config: PgBouncerConfig,
                     terms: Sequence[DatabaseTerm]) -> list[tuple[Resolved[int], int]]:
    """Per user: min(max_user_connections, its pools); empty when no user cap bounds anything."""
    per_user: dict[str, int] = {}
    for term in terms:
        for pool in term.pools:
            size = _add(pool.pool_size.value, pool.reserve_pool_size.value)
            if size is None:
                return []
            per_user[pool.user] = per_user.get(pool.user, 0) + size
    bounded: list[tuple[Resolved[int], int]] = []
    for user, size in per_user.items():
        cap = _user_cap(config, user)
        bounded.append((cap, min(cap.value, size) if cap.value else size))
    return bounded if any(cap.value for cap, _ in bounded) else []


# ---------------------------------------------------------------- ini parsing


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
    if key in _INT_KEYS[section] and not _INTEGER.fullmatch(value):
        errors.append(InputError(file, line, f"{what}{key}: '{value}' is not an integer"))
        return Setting(key, value, file, line, invalid=True)
    if key == "pool_mode" and value.lower() not in POOL_MODES:
        errors.append(InputError(file, line, f"{what}pool_mode: '{value}' is not one of "
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
            return f"expected key=value at '{text[position:position + 20]}'"
        key = text[position:equals].strip()
        if not key or " " in key:
            return f"expected key=value at '{text[position:position + 20]}'"
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
            if os.path.getsize(path) > _MAX_FILE_BYTES:
                self.config.errors.append(InputError(*where, f"{path}: larger than "
                                                     f"{_MAX_FILE_BYTES // 1024 // 1024} MiB"))
                return
            with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
                text = handle.read()
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
                self.config.errors.append(InputError(file, number, f"unclosed section header "
                                                     f"'{text[:40]}'"))
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
            self.config.errors.append(InputError(file, number, f"'{key}' is outside any section"))

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
        if os.path.isabs(target):
            # A path on the machine PgBouncer runs on, not in the reviewed tree.
            self.config.unknowns.append(Unknown(file, number, f"%include {target}",
                                                "absolute path on the PgBouncer host: its "
                                                "settings are not known"))
            return
        self.read(os.path.join(os.path.dirname(file), target), file, number)


def load_pgbouncer(path: str) -> PgBouncerConfig:
    """Parse a pgbouncer.ini (or .ini.j2 template) and the files it %includes."""
    config = PgBouncerConfig(origin=path)
    _Reader(config).read(path)
    return config


# ---------------------------------------------------------------- container environment

# Variables the edoburu/pgbouncer and bitnami/pgbouncer images turn into [pgbouncer] settings;
# bitnami prefixes them with PGBOUNCER_ (PGBOUNCER_PORT is its listen_port).
_ENV_SETTINGS = ("pool_mode", "default_pool_size", "min_pool_size", "reserve_pool_size",
                 "max_client_conn", "max_db_connections", "max_user_connections",
                 "max_db_client_connections", "max_user_client_connections", "listen_port")


def _env_setting(env: Mapping[str, str | None], names: Sequence[str], key: str, file: str,
                 lines: Mapping[str, int], line: int, errors: list[InputError],
                 section: str = "pgbouncer") -> Setting | None:
    for name in names:
        if name not in env:
            continue
        value = env[name]
        where = lines.get(name, line)
        if value is None:
            return Setting(key, "", file, where, unknown=f"env {name} comes from a secret "
                           "or another resource")
        return _check(section, key, value.strip(), file, where, errors, f"env {name}: ")
    return None


def config_from_env(env: Mapping[str, str | None], file: str, line: int,
                    lines: Mapping[str, int] | None = None, image: str = "") -> PgBouncerConfig:
    """The configuration a PgBouncer container builds from its environment.

    `env` maps variable names to values (None: not readable, e.g. from a Secret); `lines` gives
    each variable's line in `file` where known. `image` selects image defaults: edoburu/pgbouncer
    listens on 5432 unless LISTEN_PORT is set.
    """
    at = lines or {}
    config = PgBouncerConfig(origin=f"{file}:{line}", files=[file])
    for key in _ENV_SETTINGS:
        names = [key.upper(), f"PGBOUNCER_{key.upper()}"]
        if key == "listen_port":
            names.append("PGBOUNCER_PORT")
        found = _env_setting(env, names, key, file, at, line, config.errors)
        if found is not None:
            config.settings[key] = found
            _note_unknown(config, found)
    if "listen_port" not in config.settings and "edoburu" in image:
        config.settings["listen_port"] = Setting("listen_port", "5432", file, line)
    entry = _env_database(env, file, at, line, config.errors)
    if entry is not None:
        config.databases[entry.name] = entry
    return config


def _env_database(env: Mapping[str, str | None], file: str, lines: Mapping[str, int], line: int,
                  errors: list[InputError]) -> Entry | None:
    def text(*names: str) -> tuple[str, int] | None:
        for name in names:
            value = env.get(name)
            if value:
                return value.strip(), lines.get(name, line)
        return None

    params: dict[str, Setting] = {}
    url = text("DATABASE_URL")
    if url is not None:
        parts = urlsplit(url[0])
        for key, value in (("host", parts.hostname), ("port", str(parts.port or "") or None),
                           ("dbname", unquote(parts.path.lstrip("/")) or None),
                           ("user", unquote(parts.username or "") or None)):
            if value:
                params[key] = Setting(key, value, file, url[1])
    for key, names in (("host", ("DB_HOST", "POSTGRESQL_HOST")),
                       ("port", ("DB_PORT", "POSTGRESQL_PORT")),
                       ("dbname", ("DB_NAME", "POSTGRESQL_DATABASE")),
                       ("user", ("DB_USER", "POSTGRESQL_USERNAME"))):
        found = text(*names)
        if found is not None:
            params[key] = _check("databases", key, found[0], file, found[1], errors, "")
    if "host" not in params:
        return None
    user = params.pop("user", None)
    # edoburu passes DB_USER as auth_user; bitnami forces it only with PGBOUNCER_SET_DATABASE_USER
    if user is not None and (env.get("PGBOUNCER_SET_DATABASE_USER") or "").lower() == "yes":
        params["user"] = user
    alias = text("PGBOUNCER_DATABASE")
    dbname = params.get("dbname")
    if alias:
        name = alias[0]
    elif dbname is not None and not dbname.unknown:
        name = dbname.value
    else:
        name = "postgres" if "POSTGRESQL_HOST" in env else "*"
    return Entry(name, params, file, params["host"].line)
