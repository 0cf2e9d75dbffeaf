"""A PostgreSQL server a stack runs itself (a compose service, a Kubernetes StatefulSet or
Deployment, Terraform's kubernetes_* workloads): one reading for all of them.

Its settings, later ones winning as PostgreSQL applies them: the configuration file it reads
(`-c config_file=PATH`, a file mounted there from the tree or a ConfigMap), the bitnami image's
POSTGRESQL_MAX_CONNECTIONS (written into its postgresql.conf), then the command line: `-c
name=value`, `-cname=value` or `--name=value` in the command and args (the official image runs
`postgres` with args that start with a flag). Its major version is the image tag's. A file the
server reads that the files do not hold makes every setting it could set unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connbudget.errors import InputError
from connbudget.frontends.postgresql.conf import PostgresConf
from connbudget.model import Database, Location, Origin, Value, count, unknown
from connbudget.providers.postgresql import server
from connbudget.providers.postgresql.tables import MAX_CONNECTIONS, bitnami_max_connections_env

_IMAGE = re.compile(r"(?:^|/)(?:postgres|postgresql|postgis|timescaledb[\w-]*|pgvector)(?::|@|$)",
                    re.IGNORECASE)
_OPTION = re.compile(r"^(?:-c\s*|--)([A-Za-z_][\w.-]*)=(.*)$", re.DOTALL)
CONFIG_FILE = "config_file"


@dataclass(frozen=True)
class Word:
    """A word of a command line or an environment value, where it is written."""

    text: str
    file: str
    line: int


@dataclass(frozen=True)
class ServerSpec:
    """What a definition says about a PostgreSQL server."""

    what: str  # its address: "compose/db", "StatefulSet/data/db"
    image: str
    words: tuple[Word, ...]  # its command and args
    env: Mapping[str, Word]  # readable environment values
    file: str
    line: int
    conf: PostgresConf | None = None  # the configuration file it reads, when the files hold it
    conf_label: str = ""  # how that file is named in an origin ("ConfigMap db-config")
    conf_missing: str = ""  # why the configuration file it reads is not known ("" when it is)
    conf_assumed: bool = False  # the file is taken for the one the server reads, not known to be


def is_postgres_image(image: str) -> bool:
    return _IMAGE.search(image.strip()) is not None


def options(words: Sequence[Word]) -> dict[str, tuple[str, Word]]:
    """The run-time parameters a command line sets (name -> value as written, and the word),
    the last one of a name winning; dashes in `--name` read as underscores, as postgres
    reads them."""
    found: dict[str, tuple[str, Word]] = {}
    for index, word in enumerate(words):
        text = word.text.strip()
        if text == "-c" and index + 1 < len(words):
            text, word = "-c" + words[index + 1].text.strip(), words[index + 1]
        match = _OPTION.match(text)
        if match:
            found[match.group(1).replace("-", "_").lower()] = (match.group(2).strip(), word)
    return found


def config_file(words: Sequence[Word]) -> tuple[str, Word] | None:
    """The configuration file a command line names (`-c config_file=...`), if any."""
    return options(words).get(CONFIG_FILE)


def _number(text: str, what: str, origin: Origin) -> Value:
    value = count(text)
    if value is None:
        return unknown(f"{what} is not a whole number", origin.file, origin.line)
    return Value(value, origin)


def _from_conf(spec: ServerSpec) -> dict[str, Value]:
    conf = spec.conf
    found: dict[str, Value] = {}
    for name in server.SLOT_SETTINGS:
        if conf is None:
            if spec.conf_missing:
                found[name] = unknown(f"{name} unknown: {spec.conf_missing}", spec.file,
                                      spec.line)
            continue
        setting = conf.get(name)
        if setting is None:
            continue
        label = f"{spec.conf_label or conf.file} {name}"
        if setting.unknown:
            found[name] = unknown(f"{label}: {setting.unknown}", setting.file, setting.line)
            continue
        value = _number(setting.value, label, Origin(
            label, setting.file, setting.line, setting.column, setting.end_column))
        found[name] = Value(value.value, value.origin, assumed=value.assumed or spec.conf_assumed)
    return found


def settings(spec: ServerSpec) -> dict[str, Value]:
    """The slot settings of the server, each with where it is set."""
    found = _from_conf(spec)
    bitnami = _bitnami_env()
    variable = spec.env.get(bitnami) if bitnami else None
    if variable is not None and variable.text.strip():
        what = f"{spec.what} {bitnami}"
        found[MAX_CONNECTIONS] = _number(variable.text, what,
                                                Origin(what, variable.file, variable.line))
    for name, (text, word) in options(spec.words).items():
        if name in server.SLOT_SETTINGS:
            what = f"{spec.what} -c {name}"
            found[name] = _number(text, what, Origin(what, word.file, word.line))
    return found


def _bitnami_env() -> str:
    """The bitnami image's variable for max_connections (the PostgreSQL facts table)."""
    found = bitnami_max_connections_env()
    return found.value if found is not None else ""


def image_version(spec: ServerSpec) -> Value | None:
    """The major version the image tag names (`postgres:16`, `bitnami/postgresql:16.2.0-...`,
    `postgis/postgis:16-3.4`); None for `latest`, a digest or no tag."""
    reference = spec.image.strip().partition("@")[0]
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag or not tag:
        return None
    return server.major_version(tag, Origin(f"{spec.what} image {spec.image}", spec.file,
                                            spec.line))


def database(spec: ServerSpec, where: Location, aliases: set[str],
             ) -> tuple[Database, list[InputError]]:
    """The database a self-managed server is, and what its version refuses to start with."""
    found = settings(spec)
    version = image_version(spec)
    max_connections = found.get(MAX_CONNECTIONS) or server.default_max_connections(
        f"{spec.what} sets none", version.value if version is not None else None)
    errors = server.refusals(found, version, spec.what)
    return Database(where, "postgres", "self-managed", None, max_connections,
                    server.reservations(found, version), aliases=aliases | {where.address},
                    version=version), errors
