"""The configuration a PgBouncer container image builds from its environment (edoburu, bitnami).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import unquote, urlsplit

from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.ini import check_setting, note_unknown
from connbudget.frontends.pgbouncer.model import Entry, PgBouncerConfig, Setting, chosen_release

Span = tuple[int, int, int, int]  # (line, column, end line, end column) of a value

# Variables the edoburu/pgbouncer and bitnami/pgbouncer images turn into [pgbouncer] settings;
# bitnami prefixes them with PGBOUNCER_ (PGBOUNCER_PORT is its listen_port). Both write
# max_prepared_statements (edoburu/docker-pgbouncer@91a581b7e9ea0c6b3e9001db39d67efa8b05dfb2:
# entrypoint.sh:138; bitnami libpgbouncer.sh, PGBOUNCER_MAX_PREPARED_STATEMENTS).
_ENV_SETTINGS = ("pool_mode", "default_pool_size", "min_pool_size", "reserve_pool_size",
                 "max_client_conn", "max_db_connections", "max_user_connections",
                 "max_db_client_connections", "max_user_client_connections", "listen_port",
                 "auth_user", "auth_type", "so_reuseport", "max_prepared_statements")


def _env_setting(env: Mapping[str, str | None], names: Sequence[str], key: str, file: str,
                 lines: Mapping[str, int], line: int, errors: list[InputError],
                 version: str, spans: Mapping[str, Span]) -> Setting | None:
    for name in names:
        if name not in env:
            continue
        value = env[name]
        where = lines.get(name, line)
        if value is None:
            return Setting(key, "", file, where, unknown=f"env {name} comes from a secret "
                           "or another resource")
        found = check_setting("pgbouncer", key, value.strip(), file, where, errors,
                              f"env {name}: ", version)
        span = spans.get(name)
        if span is not None and span[0] == span[2]:  # the value's own span: a fix edits it
            return replace(found, line=span[0], column=span[1], end_column=span[3])
        return found
    return None


def config_from_env(env: Mapping[str, str | None], file: str, line: int,
                    lines: Mapping[str, int] | None = None, image: str = "",
                    version: str | None = None,
                    spans: Mapping[str, Span] | None = None) -> PgBouncerConfig:
    """The configuration a PgBouncer container builds from its environment.

    `env` maps variable names to values (None: not readable, e.g. from a Secret); `lines` gives
    each variable's line in `file` where known, `spans` where its value is written. `image`
    selects image defaults: edoburu/pgbouncer listens on 5432 unless LISTEN_PORT is set; its tag
    names the release (the images table) unless `version` (a pin) does.
    """
    at = lines or {}
    chosen, source = chosen_release(version, image)
    config = PgBouncerConfig(origin=f"{file}:{line}", files=[file], version=chosen,
                             version_source=source)
    for key in _ENV_SETTINGS:
        names = [key.upper(), f"PGBOUNCER_{key.upper()}"]
        if key == "listen_port":
            names.append("PGBOUNCER_PORT")
        found = _env_setting(env, names, key, file, at, line, config.errors, config.version,
                             spans or {})
        if found is not None:
            config.settings[key] = found
            config.env_names[key] = next(name for name in names if name in env)
            note_unknown(config, found)
    if "listen_port" not in config.settings and "edoburu" in image:
        config.settings["listen_port"] = Setting("listen_port", "5432", file, line)
    # edoburu/pgbouncer writes DB_USER into the auth_file it generates
    user = env.get("DB_USER")
    if "edoburu" in image and user:
        config.userlist = frozenset({user.strip()})
    entry = _env_database(env, file, at, line, config.errors, config.version,
                          "edoburu" in image)
    if entry is not None:
        config.databases[entry.name] = entry
    return config


def _env_database(env: Mapping[str, str | None], file: str, lines: Mapping[str, int], line: int,
                  errors: list[InputError], version: str, edoburu: bool) -> Entry | None:
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
            params[key] = check_setting("databases", key, found[0], file, found[1], errors, "",
                                        version)
    if "host" not in params:
        return None
    user = params.pop("user", None)
    # edoburu passes DB_USER as auth_user; bitnami forces it only with PGBOUNCER_SET_DATABASE_USER
    if user is not None and (env.get("PGBOUNCER_SET_DATABASE_USER") or "").lower() == "yes":
        params["user"] = user
    elif user is not None and edoburu:
        params["auth_user"] = Setting("auth_user", user.value, user.file, user.line,
                                      user.unknown, user.invalid)
    alias = text("PGBOUNCER_DATABASE")
    dbname = params.get("dbname")
    if alias:
        name = alias[0]
    elif dbname is not None and not dbname.unknown:
        name = dbname.value
    else:
        name = "postgres" if "POSTGRESQL_HOST" in env else "*"
    return Entry(name, params, file, params["host"].line)
