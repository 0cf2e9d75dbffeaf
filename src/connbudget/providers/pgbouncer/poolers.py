"""PgBouncer poolers from pgbouncer.ini files and from PgBouncer containers' environment.

A pooler's worst case needs its clients (the users they log in as, the databases they ask
for, and, when every one of them is known, the connections they open), so it is computed once
clients are matched to poolers: `settle`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from connbudget.errors import InputError
from connbudget.frontends.pgbouncer.env import config_from_env
from connbudget.frontends.pgbouncer.model import PgBouncerConfig, Resolved, resolve_int
from connbudget.model import (
    Client,
    Location,
    Model,
    Origin,
    PgBouncer,
    Value,
    ZeroPools,
    unknown,
)
from connbudget.providers.context import BuildContext
from connbudget.providers.pgbouncer.pools import (
    Demand,
    WorstCase,
    one_user_floor,
    worst_case_server_connections,
)
from connbudget.providers.pgbouncer.tables import POOL_SIZE_ZERO, behaviour
from connbudget.settings import PoolerOverride, Settings


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


def _processes(config: PgBouncerConfig, pin: PoolerOverride | None) -> Value:
    """PgBouncer processes behind one address: so_reuseport lets several share the port."""
    if pin is not None and pin.processes is not None:
        return Value(pin.processes, Origin("[tool.connbudget.poolers] processes pin"))
    reuse = config.integer("so_reuseport")
    if reuse.value:
        peers = ""
        if config.peers and config.integer("peer_id").value:
            first = min(entry.line for entry in config.peers.values())
            peers = (f"; its [peers] section ({config.peers[next(iter(config.peers))].file}:"
                     f"{first}) lists {len(config.peers)} peered PgBouncer processes")
        return unknown(f"so_reuseport = {reuse.value} ({reuse.source}) lets several PgBouncer "
                       f"processes share the port, each with its own pools{peers}", reuse.file,
                       reuse.line)
    return Value(1, Origin("1 PgBouncer process (so_reuseport is off)"))


def pooler_from_config(config: PgBouncerConfig, where: Location, aliases: set[str],
                       replicas: Value, refs: set[str], dialect: str = "ini",
                       env_style: str = "", deploy_setting: str = "") -> PgBouncer:
    for entry in config.databases.values():
        host = entry.text("host")
        if host:
            refs = refs | {host.lower()}
    mode = config.pool_mode()
    return PgBouncer(
        where, aliases=aliases, target_refs=refs, replicas=replicas, config=config,
        dialect=dialect, env_style=env_style, deploy_setting=deploy_setting,
        userlist=config.userlist, pool_mode=mode.value,
        pool_mode_origin=Origin(mode.source),
        max_client_conn=_value(config.max_client_conn(), replicas, "max_client_conn"),
        database_names=sorted(name for name in config.databases if name != "*"))


def during_deploy(pooler: PgBouncer, deploy: Value) -> None:
    """Replicas while a rolling deploy runs old and new side by side (applied by `settle`)."""
    pooler.deploy_replicas = deploy


def _client_names(model: Model, pooler: PgBouncer, pin: PoolerOverride | None,
                  ) -> tuple[list[str] | None, list[str] | None]:
    """The users and databases its clients use; None where any client's is not known."""
    behind = [c for c in model.clients if c.target == pooler.where.key]
    users = pin.users if pin is not None and pin.users else None
    databases = pin.databases if pin is not None and pin.databases else None
    if users is None and behind and all(c.user for c in behind):
        users = sorted({c.user for c in behind if c.user})
    if databases is None and behind and all(c.database for c in behind):
        databases = sorted({c.database for c in behind if c.database})
    return users, databases


def _multiplier(pooler: PgBouncer) -> tuple[int | None, str]:
    processes, replicas = pooler.processes, pooler.replicas
    parts: list[str] = []
    factor = 1
    for value, unit in ((processes, "processes"), (replicas, "replicas")):
        if value is None:
            continue
        if not value.known:
            return None, value.origin.text
        assert value.value is not None
        factor *= value.value
        if value.value != 1:
            parts.append(f" x {value.value} {unit} ({value.origin})")
    return factor, "".join(parts)


def _connections(client: Client, during_deploy: bool) -> int | None:
    values = (client.deploy if during_deploy else client.scale, client.processes, client.pool)
    if not all(value.known for value in values):
        return None
    total = 1
    for value in values:
        total *= value.value or 0
    return total


def _demand(model: Model, pooler: PgBouncer, during_deploy: bool) -> Demand | None:
    """The client connections that reach the pooler, when every client that can is known: each
    client matched to it with a known pool, and nothing unread that may reach its database."""
    behind = [c for c in model.clients if c.target == pooler.where.key]
    target = pooler.target
    unread = [u for u in model.unread if (u.databases is None or target in u.databases)
              and (not u.root or u.root == pooler.where.root)]
    if not behind or unread:
        return None
    clients = []
    for client in behind:
        connections = _connections(client, during_deploy)
        if connections is None:
            return None
        clients.append((client.database, client.user, connections))
    return Demand(tuple(clients))


def _zero_pools(config: PgBouncerConfig) -> list[ZeroPools]:
    """The settings that make pools of size 0 ([pgbouncer] default_pool_size, a [databases] or
    [users] pool_size), each with what the release reads 0 as."""
    meaning = behaviour(POOL_SIZE_ZERO, config.version)
    if meaning is None:
        return []
    found = []
    default = config.default_pool_size()
    if default.value == 0:
        found.append((("every pool that sets no pool_size of its own",), default))
    for label, entries in (("database", config.databases), ("user", config.users)):
        for name, entry in entries.items():
            setting = entry.params.get("pool_size")
            size = resolve_int("pool_size", setting) if setting is not None else None
            if size is not None and size.value == 0:
                found.append(((f"{label} {name}",), size))
    return [ZeroPools(pools, Origin(f"{size.key} = 0" if size.file
                                    else f"{size.key} = 0 ({size.source})", size.file,
                                    size.line), meaning.value, meaning.cite.source,
                      config.release_words) for pools, size in found]


def settle(model: Model, settings: Settings) -> None:
    """Every PgBouncer's worst case, from its configuration and the clients matched to it."""
    for pooler in model.poolers:
        config = pooler.config if isinstance(pooler, PgBouncer) else None
        if config is None or not isinstance(pooler, PgBouncer):
            continue
        pin = settings.pooler(pooler.where.address)
        pooler.processes = _processes(config, pin)
        users, databases = _client_names(model, pooler, pin)
        steady = _demand(model, pooler, during_deploy=False)
        worst = worst_case_server_connections(config, users, databases, pooler.userlist,
                                              steady)
        deploy = _demand(model, pooler, during_deploy=True)
        during = worst_case_server_connections(config, users, databases, pooler.userlist,
                                               deploy) if deploy != steady else worst
        _apply(pooler, worst, during)
        pooler.zero_pools = [replace(zero, count=sum(
            1 for term in worst.databases for pool in term.pools
            if pool.pool_size.value == 0 and (pool.pool_size.file, pool.pool_size.line)
            == (zero.setting.file, zero.setting.line))) for zero in _zero_pools(config)]
        if worst.total is None and users is None:
            _apply_floor(pooler, one_user_floor(config, databases, pooler.userlist))


def _apply_floor(pooler: PgBouncer, floor: WorstCase | None) -> None:
    """The least a PgBouncer of unknown client users opens, for CB104 beside its CB103."""
    factor, times = _multiplier(pooler)
    if floor is None or floor.total is None or factor is None:
        return
    where = pooler.where
    pooler.server_connections_floor = Value(floor.total * factor, Origin(
        f"{floor.formula()}{times}", where.file, where.line))


def _deciding(worst: WorstCase) -> list[Origin]:
    """Where each setting the worst case used is written, once each, in the order it counts."""
    found: dict[tuple[str, int], Origin] = {}

    def add(resolved: Resolved[int], what: str) -> None:
        if resolved.file and resolved.line and resolved.value is not None:
            found.setdefault((resolved.file, resolved.line), Origin(
                f"{what} {resolved.key} {resolved.value}", resolved.file, resolved.line))

    for term in worst.databases:
        if term.max_db_connections.value:
            add(term.max_db_connections, f"database {term.database}")
        for pool in term.pools:
            add(pool.pool_size, f"pool {term.database}/{pool.user}")
            add(pool.reserve_pool_size, f"pool {term.database}/{pool.user}")
    for cap in worst.caps:
        add(cap.cap, f"user {cap.user}")
    return list(found.values())


def _apply(pooler: PgBouncer, worst: WorstCase, during: WorstCase) -> None:
    """The pooler's worst case, and `during` (its clients' rolling deploy) with its own."""
    where = pooler.where
    factor, times = _multiplier(pooler)
    pooler.deciding = _deciding(worst)
    pooler.assumptions = list(worst.assumptions)
    pooler.bound_by = worst.bound_by
    if worst.databases:
        pooler.database_names = sorted(term.database for term in worst.databases)
    if worst.total is None or factor is None:
        why = "; ".join(worst.unknown) if worst.total is None else times
        pooler.assumptions.append(why)
        pooler.server_connections = unknown(
            f"{where.address}: server connections {'unbounded' if worst.unbounded else 'unknown'}"
            f" ({why})", where.file, where.line)
        return
    text = f"{where.address}: {worst.formula()}{times}"
    pooler.server_connections = Value(worst.total * factor, Origin(text, where.file, where.line),
                                      assumed=bool(worst.assumptions))
    pooler.role_needs = {
        role: Value(total * factor, Origin(
            f"PgBouncer pools that log in as {role}, with every cap{times}", where.file,
            where.line))
        for role, total in worst.roles.items() if total}
    deploy, replicas = pooler.deploy_replicas, pooler.replicas
    peak = during.total if during.total is not None else worst.total
    if deploy is None or replicas is None or not (deploy.known and replicas.known) \
            or not replicas.value:
        if peak != worst.total:
            pooler.server_connections_deploy = Value(peak * factor, Origin(
                f"{where.address}: {during.formula()}{times} while its clients deploy",
                where.file, where.line), assumed=bool(worst.assumptions))
        return
    assert deploy.value is not None
    if deploy.value == replicas.value and peak == worst.total:
        return
    per = peak * factor // replicas.value
    pooler.server_connections_deploy = Value(per * deploy.value, Origin(
        f"{where.address}: {per} per replica x {deploy.value} replicas during a rolling "
        f"deploy ({deploy.origin})" + (f" with its clients deploying ({during.formula()})"
                                       if peak != worst.total else ""),
        where.file, where.line), assumed=bool(worst.assumptions))


def _deciding_line(config: PgBouncerConfig, path: str) -> int:
    """Where an ini's pooler is located: the setting that bounds its server connections, else
    its first [databases] entry, else its first setting (never merely `listen_port`)."""
    for key in ("max_db_connections", "default_pool_size"):
        setting = config.settings.get(key)
        if setting is not None and setting.file == path:
            return setting.line
    entries = [entry.line for entry in config.databases.values() if entry.file == path]
    if entries:
        return min(entries)
    return min((s.line for s in config.settings.values() if s.file == path), default=1)


def build(parsed: dict[str, list[PgBouncerConfig]], context: BuildContext) -> None:
    """The pooler of each ini file; a file read through another one's %include is not a
    pooler of its own (its errors are reported through the file that includes it)."""
    configs = parsed["pgbouncer"]
    included = {f for config in configs for f in config.files[1:]}
    one = Value(1, Origin("1 PgBouncer (an ini file)"))
    for config in configs:
        path = config.files[0] if config.files else ""
        if path in included:
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        where = Location(path, path, _deciding_line(config, path))
        context.model.poolers.append(pooler_from_config(
            config, where, {path, stem, "pgbouncer"}, one, set()))


def from_env(env: Mapping[str, str | None], where: Location, aliases: set[str], replicas: Value,
             refs: set[str], image: str, style: tuple[str, str],
             lines: Mapping[str, int] | None = None,
             spans: Mapping[str, tuple[int, int, int, int]] | None = None,
             ) -> tuple[PgBouncer, list[InputError]]:
    """A PgBouncer container configured by its environment; `style` is how its file writes a
    variable and what widens its rolling deploy (see `PgBouncer`); `lines` and `spans` where
    each variable and its value are written."""
    config = config_from_env(env, where.file, where.line, lines, image=image, spans=spans)
    return pooler_from_config(config, where, aliases | {"pgbouncer"}, replicas, refs,
                              "env", *style), config.errors
