"""PgBouncer poolers from pgbouncer.ini files and from PgBouncer containers' environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from connbudget.capacity.model import Location, Origin, Pooler, Value, unknown
from connbudget.capacity.pgbouncer_pools import worst_case_server_connections
from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.env import config_from_env
from connbudget.frontends.pgbouncer.ini import load_pgbouncer
from connbudget.frontends.pgbouncer.model import PgBouncerConfig, Resolved

_ANY_USER = "<client user>"


def _value(resolved: Resolved[int], replicas: Value, what: str) -> Value:
    # A value read from a file is located by file and line; a default names its source.
    text = f"{what} {resolved.value}"
    if not resolved.file:
        text += f" ({resolved.source})"
    origin = Origin(text, resolved.file, resolved.line)
    if resolved.value is None or not replicas.known:
        return unknown(f"{what} unknown: {resolved.unknown or replicas.origin.text}",
                       resolved.file, resolved.line)
    assert replicas.value is not None
    if replicas.value != 1:
        origin = Origin(f"{origin.text} x {replicas.value} replicas ({replicas.origin})",
                        resolved.file, resolved.line)
    return Value(resolved.value * replicas.value, origin, assumed=resolved.is_default)


def pooler_from_config(config: PgBouncerConfig, where: Location, aliases: set[str],
                       replicas: Value, refs: set[str]) -> Pooler:
    worst = worst_case_server_connections(config)
    if worst.total is None or not replicas.known:
        server = unknown(f"{where.address}: server connections unknown ("
                         + "; ".join(worst.unknown or (replicas.origin.text,)) + ")",
                         where.file, where.line)
    else:
        assert replicas.value is not None
        text = f"{where.address}: {worst.formula()}"
        if replicas.value != 1:
            text += f" x {replicas.value} replicas ({replicas.origin})"
        server = Value(worst.total * replicas.value, Origin(text, where.file, where.line),
                       assumed=bool(worst.assumptions))
    needs: dict[str, int] = {}
    for term in worst.databases:
        for pool in term.pools:
            size, reserve = pool.pool_size.value, pool.reserve_pool_size.value
            if pool.user != _ANY_USER and size is not None and reserve is not None:
                needs[pool.user] = needs.get(pool.user, 0) + size + reserve
        if term.host:
            refs = refs | {term.host.lower()}
    mode = config.pool_mode()
    role_needs = {
        user: Value(total * (replicas.value or 1), Origin(
            f"pool_size + reserve_pool for {user} over the [databases] entries"
            + (f" x {replicas.value} replicas" if (replicas.value or 1) != 1 else ""),
            where.file, where.line))
        for user, total in needs.items()}
    return Pooler(
        "pgbouncer", where, aliases=aliases, target_refs=refs, server_connections=server,
        pool_mode=mode.value, pool_mode_origin=Origin(mode.source),
        max_client_conn=_value(config.max_client_conn(), replicas, "max_client_conn"),
        replicas=replicas, role_needs=role_needs,
        database_names=sorted(name for name in config.databases if name != "*"))


def during_deploy(pooler: Pooler, deploy: Value) -> None:
    """Server connections while a rolling deploy runs old and new replicas side by side."""
    server, replicas = pooler.server_connections, pooler.replicas
    if server is None or replicas is None or not (server.known and replicas.known
                                                  and deploy.known):
        return
    assert server.value is not None and replicas.value and deploy.value is not None
    if deploy.value == replicas.value:
        return
    per = server.value // replicas.value
    pooler.deploy_replicas = deploy
    pooler.server_connections_deploy = Value(per * deploy.value, Origin(
        f"{pooler.where.address}: {per} per replica x {deploy.value} replicas during a rolling "
        f"deploy ({deploy.origin})", server.origin.file, server.origin.line),
        assumed=server.assumed)


def from_ini_files(paths: list[str]) -> tuple[list[Pooler], list[InputError]]:
    configs = [load_pgbouncer(path) for path in paths]
    included = {f for config in configs for f in config.files[1:]}
    poolers: list[Pooler] = []
    errors: list[InputError] = []
    one = Value(1, Origin("1 PgBouncer process (an ini file)"))
    for path, config in zip(paths, configs, strict=True):
        errors.extend(config.errors)
        if path in included:
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        line = min((s.line for s in config.settings.values()), default=1)
        where = Location(path, path, line)
        poolers.append(pooler_from_config(config, where, {path, stem, "pgbouncer"}, one, set()))
    return poolers, errors


def from_env(env: Mapping[str, str | None], where: Location, aliases: set[str], replicas: Value,
             refs: set[str], image: str, lines: Mapping[str, int] | None = None,
             ) -> tuple[Pooler, list[InputError]]:
    config = config_from_env(env, where.file, where.line, lines, image=image)
    return pooler_from_config(config, where, aliases | {"pgbouncer"}, replicas, refs), \
        config.errors
