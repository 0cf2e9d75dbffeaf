"""Databases and poolers that PostgreSQL operators create from their custom resources, and
PgBouncer configured by a ConfigMap's `pgbouncer.ini`.

Defaults, from each operator's documented CRD fields:
  PostgreSQL itself: max_connections 100, superuser_reserved_connections 3 (postgresql.conf),
      reserved_connections where the parameters set it (16+); the major version from
      CloudNativePG's spec.imageName tag, Zalando's spec.postgresql.version, Crunchy's
      spec.postgresVersion. An operator's database is not RDS: no rds_superuser slots.
  CloudNativePG `Cluster` (postgresql.cnpg.io/v1): spec.postgresql.parameters; its Services are
      `<name>-rw`, `<name>-ro` and `<name>-r`. `Pooler`: spec.instances (default 1),
      spec.type rw|ro (default rw), spec.pgbouncer.poolMode (default session) and
      spec.pgbouncer.parameters; a Service named after the Pooler; one `*` database entry
      pointing at the cluster's `-rw` or `-ro` Service.
  Zalando `postgresql` (acid.zalan.do/v1): spec.postgresql.parameters; Services `<name>` and
      `<name>-repl`. With enableConnectionPooler, the Service `<name>-pooler`; connectionPooler
      numberOfInstances (default 2), mode (default transaction), maxDBConnections (default 60,
      shared over the instances: docs/reference/operator_parameters.md,
      connection_pooler_max_db_connections).
  Crunchy `PostgresCluster` (postgres-operator.crunchydata.com): spec.patroni.
      dynamicConfiguration.postgresql.parameters; Services `<name>-primary` and
      `<name>-replicas`; proxy.pgBouncer.replicas (default 1) and config.global (PgBouncer
      settings, PgBouncer's defaults otherwise), Service `<name>-pgbouncer`, one `*` entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connbudget.errors import InputError
from connbudget.frontends.kubernetes.model import KubernetesInputs
from connbudget.frontends.kubernetes.safeyaml import LList, LMap, as_map, insertion, scalar_text
from connbudget.frontends.pgbouncer.ini import check_setting, read_entry
from connbudget.frontends.pgbouncer.model import PgBouncerConfig, release
from connbudget.model import (
    Database,
    Insert,
    Location,
    Origin,
    PgBouncer,
    Pooler,
    Value,
    count,
    unknown,
)
from connbudget.providers.context import BuildContext
from connbudget.providers.kubernetes.names import hosts
from connbudget.providers.pgbouncer.poolers import during_deploy, pooler_from_config
from connbudget.providers.postgresql import server as postgresql
from connbudget.providers.surge import by_extra

ZALANDO_POOLER_INSTANCES = 2
ZALANDO_POOLER_MODE = "transaction"
ZALANDO_POOLER_MAX_DB = 60
_PLATFORMS = {"Cluster": "cloudnative-pg", "postgresql": "zalando", "PostgresCluster": "crunchy"}


_map = as_map


def _dig(document: LMap, *keys: str) -> tuple[Any, int]:
    """A nested value and the line of its key (the nearest enclosing line when absent)."""
    node: Any = document
    line = document.line
    for key in keys:
        if not isinstance(node, LMap) or key not in node:
            return None, line
        line = node.lines.get(key, node.line)
        node = node[key]
    return node, line


def _span(document: LMap, keys: Sequence[str]) -> tuple[int, int, int, int] | None:
    """Where the scalar at `keys` is written."""
    parent, _ = _dig(document, *keys[:-1])
    return parent.spans.get(keys[-1]) if isinstance(parent, LMap) else None


def _number(document: LMap, keys: Sequence[str], address: str, file: str, default: int,
            why: str) -> Value:
    raw, line = _dig(document, *keys)
    what = f"{address} {'.'.join(keys)}"
    if raw is None:
        return Value(default, Origin(f"default: {keys[-1]} {default} ({why})"), assumed=True)
    number = count(raw)
    if number is None:
        return unknown(f"{what} is not a whole number", file, line)
    return Value(number, Origin.spanning(what, file, _span(document, keys), line))


def _address(kind: str, document: LMap) -> tuple[str, str, str | None]:
    metadata = _map(document.get("metadata"))
    name = scalar_text(metadata.get("name"))
    namespace = metadata.get("namespace")
    space = scalar_text(namespace) if namespace is not None else None
    return (f"{kind}/{space}/{name}" if space else f"{kind}/{name}"), name, space


def _version(document: LMap, keys: Sequence[str], address: str, file: str) -> Value | None:
    """The major version an operator's field names (a version, or an image whose tag does)."""
    raw, line = _dig(document, *keys)
    if raw is None:
        return None
    written = scalar_text(raw)
    tag = written.rpartition(":")[2] if keys[-1] == "imageName" else written
    return postgresql.major_version(tag, Origin(f"{address} {'.'.join(keys)} {written}", file,
                                                line))


def _database(document: LMap, kind: str, file: str, parameters: Sequence[str],
              services: Sequence[str], operator: str, version: Sequence[str],
              errors: list[InputError]) -> Database:
    address, name, namespace = _address(kind, document)
    major = _version(document, version, address, file)
    if _dig(document, *parameters, "max_connections")[0] is None:
        max_connections = postgresql.default_max_connections(
            f"{operator} sets none unless the manifest does",
            major.value if major is not None else None)
    else:
        max_connections = _number(document, [*parameters, "max_connections"], address, file,
                                  0, "")
    settings = {key: _number(document, [*parameters, key], address, file, 0, "")
                for key in postgresql.SLOT_SETTINGS[1:]
                if _dig(document, *parameters, key)[0] is not None}
    errors += postgresql.refusals(settings, major, address)
    aliases = {address, name} | hosts([name, *services], namespace)
    return Database(Location(address, file, document.line), "postgres", _PLATFORMS[kind], None,
                    max_connections, postgresql.reservations(settings, major), aliases=aliases,
                    version=major)


def _pgbouncer_config(settings: LMap | None, defaults: dict[str, str], host: str, file: str,
                      line: int, what: str) -> PgBouncerConfig:
    """The pgbouncer.ini an operator writes: its `*` entry to the cluster and the settings."""
    config = PgBouncerConfig(origin=f"{file}:{line}", version=release(None), files=[file])
    values: dict[str, tuple[str, int]] = {key: (value, line) for key, value in defaults.items()}
    if isinstance(settings, LMap):
        for key, value in settings.items():
            values[str(key)] = (scalar_text(value), settings.lines.get(key, settings.line))
    for key, (value, at) in values.items():
        config.settings[key.lower()] = check_setting(
            "pgbouncer", key.lower(), value.strip(), file, at, config.errors, f"{what} ",
            config.version)
    config.databases["*"] = read_entry("databases", "*", f"host={host}", file, line, config.errors,
                                       config.version)
    return config


def _replicas(document: LMap, keys: Sequence[str], address: str, file: str, default: int,
              why: str) -> Value:
    return _number(document, keys, address, file, default, why)


def _surge(value: Any) -> int | str | None:
    """maxSurge as written (a count or a percentage), None when unset."""
    if value is None or isinstance(value, int):
        return value
    return scalar_text(value)


def _cnpg_pooler(document: LMap, file: str) -> PgBouncer:
    address, name, namespace = _address("Pooler", document)
    spec = _map(document.get("spec"))
    cluster = scalar_text(_map(spec.get("cluster")).get("name"))
    kind = scalar_text(spec.get("type")) or "rw"
    replicas = _replicas(document, ["spec", "instances"], address, file, 1,
                         "CloudNativePG Pooler spec.instances")
    pgbouncer, line = _dig(document, "spec", "pgbouncer")
    mode, mode_line = _dig(document, "spec", "pgbouncer", "poolMode")
    defaults = {"pool_mode": scalar_text(mode) or "session"}
    config = _pgbouncer_config(_dig(document, "spec", "pgbouncer", "parameters")[0], defaults,
                               f"{cluster}-{kind}", file, mode_line if mode else line,
                               f"{address} spec.pgbouncer")
    where = Location(address, file, document.line)
    pooler = pooler_from_config(config, where, {address, name} | hosts([name], namespace),
                                replicas, {f"{cluster}-{kind}"}, "cnpg",
                                deploy_setting="spec.deploymentStrategy.rollingUpdate.maxSurge")
    surge, surge_line = _dig(document, "spec", "deploymentStrategy", "rollingUpdate", "maxSurge")
    during_deploy(pooler, by_extra(replicas, _surge(surge), file, surge_line))
    return pooler


def _zalando_pooler(document: LMap, file: str, database: Database) -> PgBouncer:
    address, name, namespace = _address("postgresql", document)
    pooler_address = f"{address}/pooler"
    replicas = _replicas(document, ["spec", "connectionPooler", "numberOfInstances"], address,
                         file, ZALANDO_POOLER_INSTANCES, "Zalando connectionPooler")
    cap = _number(document, ["spec", "connectionPooler", "maxDBConnections"], address, file,
                  ZALANDO_POOLER_MAX_DB, "Zalando connection_pooler_max_db_connections, shared "
                  "over the pooler instances")
    mode, mode_line = _dig(document, "spec", "connectionPooler", "mode")
    server = cap
    if cap.known:
        server = Value(cap.value, Origin(f"{pooler_address}: maxDBConnections {cap.value} over "
                                         f"all instances ({cap.origin})", file,
                                         cap.origin.line or document.line, cap.origin.column,
                                         cap.origin.end_column),
                       assumed=cap.assumed)
    deploy = None
    if cap.known and replicas.known and replicas.value:
        assert cap.value is not None
        # each instance gets maxDBConnections / instances; its Deployment surges 25 %
        pods = by_extra(replicas, None, file, document.line)
        per = cap.value // replicas.value
        if pods.value is not None and pods.value != replicas.value:
            deploy = Value(per * pods.value, Origin(
                f"{pooler_address}: {per} per instance x {pods.value} pods during a rolling "
                f"deploy ({pods.origin.text})", file, document.line), assumed=cap.assumed)
    path = ("spec", "connectionPooler", "maxDBConnections")
    missing = insertion(document, path)
    return PgBouncer(
        Location(pooler_address, file, document.line), dialect="zalando",
        cap_insert=Insert(file, missing.after, missing.indent, missing.keys)
        if missing is not None else None,
        server_connections_deploy=deploy,
        aliases={pooler_address} | hosts([f"{name}-pooler", f"{name}-pooler-repl"], namespace),
        target_refs={database.where.address}, server_connections=server,
        pool_mode=scalar_text(mode) or ZALANDO_POOLER_MODE,
        pool_mode_origin=Origin(f"{address} spec.connectionPooler.mode" if mode else
                                f"default: {ZALANDO_POOLER_MODE} (Zalando connectionPooler)",
                                file, mode_line),
        replicas=replicas)


def _crunchy_pooler(document: LMap, file: str) -> PgBouncer:
    address, name, namespace = _address("PostgresCluster", document)
    pooler_address = f"{address}/pgbouncer"
    replicas = _replicas(document, ["spec", "proxy", "pgBouncer", "replicas"], address, file, 1,
                         "Crunchy proxy.pgBouncer.replicas")
    settings, line = _dig(document, "spec", "proxy", "pgBouncer", "config", "global")
    config = _pgbouncer_config(settings, {}, f"{name}-primary", file, line,
                               f"{address} proxy.pgBouncer.config.global")
    where = Location(pooler_address, file, line)
    return pooler_from_config(config, where, {pooler_address} | hosts([f"{name}-pgbouncer"],
                                                                       namespace),
                              replicas, {f"{name}-primary"}, dialect="crunchy")


def _volumes(document: LMap) -> set[str]:
    """ConfigMaps a workload's pods mount."""
    volumes, _ = _dig(document, "spec", "template", "spec", "volumes")
    names = set()
    for volume in volumes if isinstance(volumes, LList) else []:
        config_map = _map(_map(volume).get("configMap"))
        if config_map.get("name"):
            names.add(scalar_text(config_map["name"]))
        for source in _map(_map(volume).get("projected")).get("sources") or []:
            inner = _map(_map(source).get("configMap"))
            if inner.get("name"):
                names.add(scalar_text(inner["name"]))
    return names


def build(parsed: dict[str, KubernetesInputs], context: BuildContext) -> None:
    """Operator resources, and PgBouncer workloads that mount a pgbouncer.ini ConfigMap, from
    the documents the Kubernetes front end parsed (each with its file)."""
    manifests, out = parsed["kubernetes"], context.model
    for document, file in manifests.documents:
        kind = scalar_text(document.get("kind"))
        api = scalar_text(document.get("apiVersion"))
        if kind == "Cluster" and api.startswith("postgresql.cnpg.io/"):
            name = scalar_text(_map(document.get("metadata")).get("name"))
            out.databases.append(_database(
                document, "Cluster", file, ["spec", "postgresql", "parameters"],
                [f"{name}-rw", f"{name}-ro", f"{name}-r"], "CloudNativePG",
                ["spec", "imageName"], out.errors))
        elif kind == "Pooler" and api.startswith("postgresql.cnpg.io/"):
            out.poolers.append(_cnpg_pooler(document, file))
        elif kind == "postgresql" and api.startswith("acid.zalan.do/"):
            name = scalar_text(_map(document.get("metadata")).get("name"))
            database = _database(document, "postgresql", file,
                                 ["spec", "postgresql", "parameters"], [f"{name}-repl"],
                                 "the Zalando operator", ["spec", "postgresql", "version"],
                                 out.errors)
            out.databases.append(database)
            if _dig(document, "spec", "enableConnectionPooler")[0] is True:
                out.poolers.append(_zalando_pooler(document, file, database))
        elif kind == "PostgresCluster" and api.startswith("postgres-operator.crunchydata.com/"):
            name = scalar_text(_map(document.get("metadata")).get("name"))
            out.databases.append(_database(
                document, "PostgresCluster", file,
                ["spec", "patroni", "dynamicConfiguration", "postgresql", "parameters"],
                [f"{name}-primary", f"{name}-replicas", f"{name}-ha"], "Crunchy PGO",
                ["spec", "postgresVersion"], out.errors))
            if isinstance(_dig(document, "spec", "proxy", "pgBouncer")[0], LMap):
                out.poolers.append(_crunchy_pooler(document, file))
    inis = {config_map.name: ini for config_map in manifests.config_maps
            for ini in config_map.pgbouncer.values()}
    mounted: dict[str, PgBouncerConfig] = {}
    for document, _file in manifests.documents:
        kind = scalar_text(document.get("kind"))
        if kind not in ("Deployment", "StatefulSet") or not inis:
            continue
        address, _, _ = _address(kind, document)
        for name in sorted(_volumes(document)):
            if name in inis:
                mounted[address] = inis[name]
    _apply_mounted_ini(out.poolers, mounted)


def _apply_mounted_ini(poolers: list[Pooler], mounted: dict[str, PgBouncerConfig]) -> None:
    """A PgBouncer workload that mounts a pgbouncer.ini reads that file, not its environment."""
    for index, pooler in enumerate(poolers):
        config = mounted.get(pooler.where.address)
        if config is None or pooler.replicas is None or not isinstance(pooler, PgBouncer):
            continue
        where = Location(pooler.where.address, pooler.where.file, pooler.where.line,
                         pooler.where.end_line, pooler.where.root)
        rebuilt = pooler_from_config(config, where, pooler.aliases, pooler.replicas,
                                     pooler.target_refs, deploy_setting=pooler.deploy_setting)
        during_deploy(rebuilt, pooler.deploy_replicas or pooler.replicas)
        poolers[index] = rebuilt
