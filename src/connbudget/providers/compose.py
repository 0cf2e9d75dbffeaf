"""Databases, PgBouncers and clients from compose services.

A PostgreSQL service (image `postgres`, `bitnami/postgresql`, `postgis/postgis`, ...) is a
self-managed database (`providers.postgresql.selfmanaged`): its `-c` options, the bitnami image's
POSTGRESQL_MAX_CONNECTIONS, the postgresql.conf its command names, else PostgreSQL's defaults for
the version of its image; no RDS slots. A PgBouncer service (edoburu, bitnami images) is a
pooler built from its environment, times its replicas. Any other service whose environment
talks to PostgreSQL is a client: replicas x processes x pool; one that depends on a database or
pooler service and shows no connection setting is a coverage item until the application files
it runs are read. Services reach each other by service name, container_name, hostname or
network alias.
"""

from __future__ import annotations

from connbudget.errors import InputError
from connbudget.frontends.compose import ComposeService
from connbudget.model import Client, Database, Location, Origin, Unread, Value, unknown
from connbudget.providers.apps.commands import apply_command
from connbudget.providers.apps.env import EnvVar, pool_settings
from connbudget.providers.context import BuildContext, Runs, Unit
from connbudget.providers.pgbouncer.poolers import from_env
from connbudget.providers.postgresql.selfmanaged import (
    ServerSpec,
    Word,
    database,
    is_postgres_image,
)

_POOLER_HOSTS = ("DB_HOST", "DATABASES_HOST", "POSTGRESQL_HOST", "PGBOUNCER_DATABASE_HOST")


def _address(service: ComposeService) -> str:
    return f"compose/{service.name}"


def _replicas(service: ComposeService) -> Value:
    if not service.replicas_set:
        return Value(1, Origin(f"default: replicas 1 (compose; {service.name} sets none)"))
    if service.replicas is None:
        return unknown(f"{_address(service)} replicas is not a number", service.file,
                       service.replicas_line)
    return Value(service.replicas, Origin(f"{_address(service)} replicas", service.file,
                                          service.replicas_line))


def _database(service: ComposeService) -> tuple[Database, list[InputError]]:
    address = _address(service)
    spec = ServerSpec(
        address, service.image,
        tuple(Word(word, service.file, service.command_line) for word in service.command),
        {var.name: Word(var.value, service.file, var.line) for var in service.env
         if var.value is not None},
        service.file, service.line, service.config,
        f"{address} postgresql.conf" if service.config is not None else "",
        service.config_missing)
    return database(spec, Location(address, service.file, service.line), set(service.hosts))


def _is_server(service: ComposeService) -> bool:
    """A PostgreSQL or PgBouncer service: what a client depends on."""
    return is_postgres_image(service.image) \
        or "pgbouncer" in service.image.lower()


def _unread(service: ComposeService, servers: dict[str, str]) -> list[Unread]:
    """A service that depends on a database or pooler but names no connection setting its
    environment shows: it connects from application files connbudget does not read."""
    reached = [servers[name] for name in service.depends if name in servers]
    if not reached:
        return []
    return [Unread(
        _address(service), f"it depends on {', '.join(reached)} but its environment sets no "
        "connection or pool setting: its database and pool are in application files "
        "connbudget does not read", service.file, service.line,
        "set them in its environment, where the budget reads them: DATABASE_URL (postgres://"
        f"<user>@{reached[0].split('/', 1)[-1]}/<database>) and the pool its library reads "
        "(RAILS_MAX_THREADS, DB_POOL_SIZE, ...)", kind="client")]


def build(parsed: dict[str, list[ComposeService]], context: BuildContext) -> None:
    model, settings = context.model, context.settings
    servers = {service.name: _address(service) for service in parsed["compose"]
               if _is_server(service)}
    for service in parsed["compose"]:
        address = _address(service)
        where = Location(address, service.file, service.line)
        if is_postgres_image(service.image):
            server, refused = _database(service)
            model.databases.append(server)
            model.errors.extend(refused)
            continue
        replicas = _replicas(service)
        if "pgbouncer" in service.image.lower():
            env = {var.name: var.value for var in service.env}
            lines = {var.name: var.line for var in service.env}
            spans = {var.name: var.span for var in service.env if var.span is not None}
            refs = {v.lower() for k, v in env.items() if k in _POOLER_HOSTS and v}
            pooler, found = from_env(env, where, {address} | service.hosts, replicas, refs,
                                     service.image, ("yaml-map", ""), lines, spans)
            model.poolers.append(pooler)
            model.errors.extend(found)
            continue
        origin = Origin(f"{address} environment", service.file, service.line)
        variables = {var.name: EnvVar(var.name, var.value, file=service.file, line=var.line,
                                      span=var.span) for var in service.env}
        item = pool_settings(variables, origin, settings.default_pool_sizes)
        apply_command(item, service.command, origin)
        client = Client(
            "compose", where, replicas, replicas, item.processes, item.pool, item.pool_setting,
            "deploy.replicas", autoscaled=False, refs=item.refs, user=item.user,
            database=item.database, notes=[*item.notes, *service.notes], env_style="yaml-map",
            unknown_host=item.unknown_host, library=item.library,
            statements=item.statements)
        if item.is_client:
            model.clients.append(client)
        else:
            model.unread.extend(_unread(service, servers))
        runs = Runs(service.name, variables, tuple(service.command), origin, service.image,
                    service.directories, env_complete=not service.notes)
        context.units.append(Unit(client, (runs,), item.is_client))
