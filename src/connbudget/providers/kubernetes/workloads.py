"""Clients and PgBouncer poolers from Kubernetes Deployments and StatefulSets.

Max replicas: the `maxReplicas` of a HorizontalPodAutoscaler or the `maxReplicaCount` of a KEDA
ScaledObject whose scaleTargetRef names the workload (if spec.replicas is larger, spec.replicas),
else spec.replicas (Kubernetes default 1). A rolling deploy adds
strategy.rollingUpdate.maxSurge pods (default 25 %, a percentage of the replicas rounded up, as
Kubernetes does); StatefulSets replace pods one by one and do not surge.

Environment: `value`s and ConfigMaps (envFrom, configMapKeyRef). Secret values are never read,
so a DATABASE_URL from a Secret names no host: such a client is matched by the config mapping
only, else it is a coverage item of the databases in its scope.

A workload running a PostgreSQL server image is a database connbudget does not model yet: a
coverage item, never a client and never dropped.

A PgBouncer workload (its image names pgbouncer, or its command, args or PGBOUNCER_* variables
configure it) is a pooler whose replicas multiply its server connections. Clients reach it by
the name of a Service selecting its pods (or the workload's own name) as the host of their
DATABASE_URL or host variable: `pgbouncer`, `pgbouncer.shop`, `pgbouncer.shop.svc...`.

A workload running a PostgreSQL image is a self-managed database (`providers.postgresql.
selfmanaged`), reached the same way (and, for a StatefulSet, by its pods' names under its
serviceName): its `-c` options, its environment (bitnami's POSTGRESQL_MAX_CONNECTIONS) and the
postgresql.conf its command names (`-c config_file=...`) when a ConfigMap mounted there holds it,
or, for a ConfigMap the files do not hold, the file of that name beside the manifest.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from typing import Any

from connbudget.errors import InputError
from connbudget.frontends.kubernetes.model import (
    Autoscaler,
    ConfigMap,
    Container,
    Service,
    Workload,
)
from connbudget.frontends.postgresql.conf import PostgresConf, conf_from_text
from connbudget.model import Client, Database, Insert, Location, Origin, PgBouncer, Value, unknown
from connbudget.providers.apps.env import EnvVar, PoolSettings, merge, pool_settings
from connbudget.providers.context import BuildContext, Runs, Unit, enclosing_root
from connbudget.providers.kubernetes.names import hosts, same_namespace, selecting
from connbudget.providers.pgbouncer.poolers import during_deploy, from_env
from connbudget.providers.postgresql.selfmanaged import (
    ServerSpec,
    Word,
    config_file,
    database,
    is_postgres_image,
)
from connbudget.providers.surge import by_extra
from connbudget.settings import Settings

# a container's variable, and what widens a rolling update
STYLE = ("yaml-list", "strategy.rollingUpdate.maxSurge")


def _address(workload: Workload) -> str:
    if workload.namespace:
        return f"{workload.kind}/{workload.namespace}/{workload.name}"
    return f"{workload.kind}/{workload.name}"


def _autoscaler(workload: Workload, autoscalers: list[Autoscaler]) -> Autoscaler | None:
    """The autoscaler of a workload, among those of the same root (see from_kubernetes)."""
    found = [a for a in autoscalers if a.target_name == workload.name
             and a.target_kind == workload.kind
             and same_namespace(a.namespace, workload.namespace)]
    return max(found, key=lambda a: a.max_replicas or 0) if found else None


def _max_key(scaler: Autoscaler) -> str:
    return "maxReplicas" if scaler.kind == "HorizontalPodAutoscaler" else "maxReplicaCount"


def _replicas(workload: Workload, address: str) -> Value:
    if workload.unknown:
        return unknown(f"{address} {'; '.join(workload.unknown)}", workload.file,
                       workload.replicas_line)
    if workload.replicas is None:
        return Value(1, Origin(f"default: spec.replicas 1 (Kubernetes; {address} sets none)"))
    return Value(workload.replicas, Origin.spanning(f"{address} spec.replicas", workload.file,
                                                    workload.replicas_span,
                                                    workload.replicas_line))


def _max_replicas(workload: Workload, address: str, scaler: Autoscaler | None) -> Value:
    replicas = _replicas(workload, address)
    if scaler is None:
        return replicas
    key = _max_key(scaler)
    name = f"{scaler.kind}/{scaler.name}"
    if scaler.max_replicas is None:
        return unknown(f"{name} {key} is not a number", scaler.file, scaler.max_line)
    if scaler.max_is_default:
        maximum = Value(scaler.max_replicas, Origin(
            f"default: KEDA {key} {scaler.max_replicas} ({name} sets none)", scaler.file,
            scaler.line))
    else:
        maximum = Value(scaler.max_replicas, Origin.spanning(f"{name} {key}", scaler.file,
                                                             scaler.max_span, scaler.max_line))
    if workload.replicas is not None and workload.replicas > scaler.max_replicas:
        return replicas
    return maximum


def _deploy_replicas(workload: Workload, maximum: Value) -> Value:
    surge = workload.max_surge
    if surge.value == 0 and surge.note:  # StatefulSets and the Recreate strategy do not surge
        if not maximum.known:
            return unknown(f"deploy pods unknown: {maximum.origin}")
        return Value(maximum.value, Origin(f"{maximum.value} replicas, no surge ({surge.note})",
                                           surge.file, surge.line))
    found = by_extra(maximum, None if surge.is_default else surge.value, surge.file, surge.line)
    if surge.is_default and surge.note != "Kubernetes default" and found.known:
        return Value(found.value, Origin(f"{found.origin.text} ({surge.note})", surge.file,
                                         surge.line))
    return found


def _is_pgbouncer(container: Container) -> bool:
    image = container.image.lower()
    if "exporter" in image:  # pgbouncer-exporter talks to PgBouncer's admin console only
        return False
    words = " ".join((*container.command, *container.args)).lower()
    return "pgbouncer" in image or "pgbouncer" in words or any(
        var.name.startswith("PGBOUNCER_") for var in container.env)


def _env(container: Container) -> dict[str, EnvVar]:
    return {var.name: EnvVar(var.name, var.value, secret=var.secret, file=var.file,
                             line=var.line, source=var.reference, span=var.span)
            for var in container.env if not var.name.endswith("*")}


def _notes(container: Container) -> list[str]:
    notes = [f"envFrom {var.reference}: values never read" for var in container.env
             if var.secret and var.name.endswith("*")]
    notes += [f"{ref} is not in the inputs: its variables are unknown"
              for ref in container.unresolved]
    return notes


def _pod(workload: Workload, address: str, settings: Settings,
         ) -> tuple[PoolSettings | None, list[str], list[PoolSettings], tuple[Runs, ...]]:
    """What one pod opens (its database-facing containers summed), what is unknown, what each
    container's environment says and what each runs."""
    found = []
    notes: list[str] = []
    runs: list[Runs] = []
    for container in workload.containers:
        if _is_pgbouncer(container) or is_postgres_image(container.image):
            continue
        origin = Origin(f"{address} container {container.name}", container.file, container.line)
        env = _env(container)
        item = pool_settings(env, origin, settings.default_pool_sizes)
        from connbudget.providers.apps.commands import apply_command

        apply_command(item, [*container.command, *container.args], origin)
        found.append(item)
        notes += _notes(container)
        runs.append(Runs(container.name, env, (*container.command, *container.args), origin,
                         container.image, env_complete=not _notes(container)))
    task = merge(found)
    return task, (task.notes if task else []) + notes, found, tuple(runs)


def _pgbouncers(workload: Workload, address: str, replicas: Value, deploy: Value,
                services: list[Service]) -> tuple[list[PgBouncer], list[InputError]]:
    poolers: list[PgBouncer] = []
    errors: list[InputError] = []
    names = selecting(services, workload.pod_labels, workload.namespace)
    for container in workload.containers:
        if not _is_pgbouncer(container):
            continue
        env = {var.name: var.value for var in container.env if not var.name.endswith("*")}
        lines = {var.name: var.line for var in container.env if var.file == container.file}
        spans = {var.name: var.span for var in container.env
                 if var.file == container.file and var.span is not None}
        where = Location(address, container.file, container.line, None)
        pooler, found = from_env(env, where, {address, workload.name} | names, replicas, set(),
                                 container.image, STYLE, lines, spans)
        during_deploy(pooler, deploy)
        poolers.append(pooler)
        errors.extend(found)
    return poolers, errors


def _words(container: Container) -> tuple[Word, ...]:
    lines = (*container.command_lines, *container.args_lines)
    return tuple(Word(text, container.file, line or container.line)
                 for text, line in zip((*container.command, *container.args),
                                       lines or [0] * (len(container.command)
                                                       + len(container.args)), strict=True))


def _mounted(container: Container, workload: Workload, target: str,
             ) -> tuple[str, str] | None:
    """The ConfigMap and key whose file a container sees at `target`, if a ConfigMap volume
    is mounted there."""
    volumes = {volume.name: volume for volume in workload.volumes}
    for mount in container.mounts:
        volume = volumes.get(mount.volume)
        if volume is None:
            continue
        if mount.sub_path and posixpath.normpath(mount.path) == posixpath.normpath(target):
            name = mount.sub_path
        elif not mount.sub_path and posixpath.dirname(posixpath.normpath(target)) \
                == posixpath.normpath(mount.path):
            name = posixpath.basename(target)
        else:
            continue
        items = dict((path, key) for key, path in volume.items)
        return volume.config_map, items.get(name, name) if volume.items else name
    return None


def _config(container: Container, workload: Workload, maps: Sequence[ConfigMap],
            beside: Sequence[PostgresConf]) -> tuple[PostgresConf | None, str, str, bool]:
    """The postgresql.conf the server reads: (the file, how it is named, why it is not known,
    whether it is assumed), from the ConfigMap mounted where its command says, else a file of
    that name beside the manifest when the files do not hold that ConfigMap."""
    named = config_file(_words(container))
    if named is None:
        return None, "", "", False
    target = named[0].strip("'\"")
    mounted = _mounted(container, workload, target)
    if mounted is None:
        return None, "", f"its command reads {target[:80]}, which no ConfigMap of the files " \
            "is mounted as", False
    name, key = mounted
    for config_map in maps:
        if config_map.name == name and same_namespace(config_map.namespace, workload.namespace) \
                and key in config_map.data:
            text = config_map.data[key]
            return (conf_from_text(text, config_map.file, config_map.lines.get(key, 0) + 1,
                                   config_map.whole_file),
                    f"ConfigMap {name} key {key}", "", False)
    directory = os.path.dirname(os.path.abspath(workload.file))
    for conf in beside:
        if os.path.basename(conf.file) == key \
                and os.path.dirname(os.path.abspath(conf.file)) == directory:
            return (conf, f"{key} beside the manifest (taken for ConfigMap {name}, which the "
                    "files do not hold)", "", True)
    return None, "", (f"its command reads {target[:80]} from ConfigMap {name}, which is not in "
                      "the files read"), False


def _servers(workload: Workload, address: str, services: list[Service],
             maps: Sequence[ConfigMap], beside: Sequence[PostgresConf],
             ) -> tuple[list[Database], list[InputError]]:
    """The PostgreSQL containers of a workload, each a database."""
    found: list[Database] = []
    errors: list[InputError] = []
    names = selecting(services, workload.pod_labels, workload.namespace) | {workload.name}
    if workload.kind == "StatefulSet" and workload.service_name:
        names |= {workload.service_name, f"{workload.name}-0.{workload.service_name}"}
    for container in workload.containers:
        if not is_postgres_image(container.image):
            continue
        conf, label, missing, assumed = _config(container, workload, maps, beside)
        env = {var.name: Word(var.value, var.file, var.line) for var in container.env
               if var.value is not None and not var.secret}
        spec = ServerSpec(address, container.image, _words(container), env, container.file,
                          container.line, conf, label, missing, assumed)
        server, refused = database(spec, Location(address, workload.file, workload.line),
                                   hosts(names, workload.namespace))
        found.append(server)
        errors += refused
    return found, errors


def build(parsed: dict[str, Any], context: BuildContext) -> None:
    """Workloads as clients, poolers and databases. An autoscaler or Service names a workload
    only within one Terraform root (enclosing_root): two roots may each hold a Deployment
    `api`."""
    manifests, out, roots = parsed["kubernetes"], context.model, context.roots
    for workload in manifests.workloads:
        address = _address(workload)
        root = enclosing_root(workload.file, roots)
        scaler = _autoscaler(workload, [a for a in manifests.autoscalers
                                        if enclosing_root(a.file, roots) == root])
        maximum = _max_replicas(workload, address, scaler)
        deploy = _deploy_replicas(workload, maximum)
        root_services = [s for s in manifests.services if enclosing_root(s.file, roots) == root]
        poolers, errors = _pgbouncers(workload, address, maximum, deploy, root_services)
        out.poolers += poolers
        out.errors += errors
        servers, refused = _servers(workload, address, root_services, manifests.config_maps,
                                    parsed.get("postgresql-conf", []))
        out.databases += servers
        out.errors += refused
        task, notes, found, runs = _pod(workload, address, context.settings)
        shown = task or (found[0] if found else None)
        if shown is None:
            continue
        setting = "spec.replicas"
        if scaler is not None:
            setting = f"{scaler.kind}/{scaler.name} {_max_key(scaler)}"
        surge = workload.max_surge
        client = Client(
            "kubernetes", Location(address, workload.file, workload.line), maximum,
            deploy, shown.processes, shown.pool, shown.pool_setting,
            setting, autoscaled=scaler is not None, refs=shown.refs, user=shown.user,
            database=shown.database, notes=notes, env_style=STYLE[0], deploy_setting=STYLE[1],
            unknown_host=shown.unknown_host, library=shown.library, statements=shown.statements,
            deploy_at=Origin.spanning("maxSurge", surge.file, surge.span, surge.line)
            if surge.span is not None else None,
            deploy_insert=Insert(surge.file, surge.insert.after, surge.insert.indent,
                                 surge.insert.keys) if surge.insert is not None else None)
        if task is not None:
            out.clients.append(client)
        context.units.append(Unit(client, runs, task is not None))
