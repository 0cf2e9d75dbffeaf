"""The Azure adapter for ARM templates: `Microsoft.DBforPostgreSQL/flexibleServers` (with their
`configurations`, child or top-level) and `Microsoft.App/containerApps`, read as the Terraform
resources are (`flexible`, `containerapps`). An ARM sku is `{name: Standard_<product>, tier:
GeneralPurpose}`: the sku_name of the documentation's table is `GP_Standard_<product>`.
A value a template does not evaluate (`reference(...)`) still names the servers its
`resourceId(...)` calls name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from connbudget.frontends.arm import ArmInputs
from connbudget.frontends.arm.jsonpos import Node
from connbudget.frontends.arm.template import Located, Resource, Unresolved
from connbudget.model import Location, Origin, Value, count, unknown
from connbudget.providers.apps.env import EnvVar, dsn_hosts, merge, pool_settings
from connbudget.providers.azure import tables
from connbudget.providers.azure.containerapps import client, default_max_replicas, rollout
from connbudget.providers.azure.flexible import HOST_SUFFIX, Parameter, Server
from connbudget.providers.azure.terraform import read_servers
from connbudget.providers.context import BuildContext

SERVERS = "microsoft.dbforpostgresql/flexibleservers"
CONFIGURATIONS = SERVERS + "/configurations"
APPS = "microsoft.app/containerapps"
STYLE = "json-object"  # an env entry: {"name": ..., "value": ...}


def origin_of(found: Located, text: str) -> Origin:
    """Where a value stands, with its columns when it is one literal on one line (inside the
    quotes of a string)."""
    node = found.node
    if node.line != node.end_line or isinstance(node.value, (dict, list)):
        return Origin(text, found.file, node.line)
    quoted = isinstance(node.value, str)
    return Origin(text, found.file, node.line, node.column + quoted, node.end_column - quoted)


def _name(resource: Resource) -> str:
    name = resource.name
    return name.value if isinstance(name, Located) and isinstance(name.value, str) \
        else (name.expression if isinstance(name, Unresolved) else "?")


def _where(resource: Resource) -> Location:
    node = resource.node
    return Location(f"{resource.type}/{_name(resource)}", resource.template.file, node.line,
                    node.end_line)


def _text(found: Located | Unresolved | None) -> str | None:
    if isinstance(found, Located) and isinstance(found.value, (str, int)) \
            and not isinstance(found.value, bool):
        return str(found.value)
    return None


def _parameters(server: str, all_resources: list[Resource]) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    for resource in all_resources:
        full = _name(resource)
        if resource.type.lower() != CONFIGURATIONS or "/" not in full:
            continue
        owner, key = full.split("/", 1)
        if owner != server:
            continue
        value = resource.get("properties", "value")
        where = _where(resource)
        if isinstance(value, Located):
            found[key] = Parameter(_text(value), origin_of(value, f"{where.address} value"))
        else:
            why = value.reason if isinstance(value, Unresolved) else "sets no value"
            found[key] = Parameter(None, Origin(f"{where.address} value", where.file,
                                                where.line), why)
    return found


def _writes(server: str) -> Callable[[str, str], str]:
    def write(name: str, value: str) -> str:
        return json.dumps({"type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
                           "name": f"{server}/{name}",
                           "properties": {"value": value, "source": "user-override"}},
                          indent=2)
    return write


def _sku(resource: Resource) -> tuple[str | None, Origin | None]:
    name, tier = _text(resource.get("sku", "name")), _text(resource.get("sku", "tier"))
    prefix = tables.arm_tier(tier) if tier else None
    node = resource.get("sku", "name")
    origin = origin_of(node, f"{_where(resource).address} sku.name") \
        if isinstance(node, Located) else None
    return (f"{prefix}_{name}" if prefix and name else None), origin


def servers(inputs: ArmInputs) -> list[Server]:
    found = []
    for resource in inputs.resources:
        if resource.type.lower() != SERVERS:
            continue
        name = _text(resource.name)
        sku, sku_origin = _sku(resource)
        version = _text(resource.get("properties", "version"))
        found.append(Server(_where(resource), name, sku, sku_origin,
                            int(version) if version and version.isdigit() else None,
                            _parameters(name, inputs.resources) if name else {},
                            _writes(name or "<server>")))
    return found


def _refs(value: Located | Unresolved | None) -> tuple[str, ...]:
    """The server hosts an expression names through resourceId(...), with PgBouncer's port
    where the expression writes it after the host."""
    if not isinstance(value, Unresolved):
        return ()
    port = str(tables.builtin_pgbouncer().port.value)
    pooled = re.search(rf":{port}\b", value.expression) is not None
    return tuple(f"{name.lower()}{HOST_SUFFIX}" + (f":{port}" if pooled else "")
                 for kind, name in value.resources if kind.lower() == SERVERS)


def _secrets(resource: Resource) -> dict[str, Located | Unresolved]:
    found: dict[str, Located | Unresolved] = {}
    node = resource.node_at("properties", "configuration", "secrets")
    for entry in node.value if node is not None and isinstance(node.value, list) else ():
        name, value = entry.get("name"), entry.get("value")
        if name is not None and isinstance(name.value, str) and value is not None:
            found[name.value] = resource.template.evaluate(value)
    return found


def _secret_refs(value: Located | Unresolved | None) -> tuple[str, ...]:
    """What a secret names (the hosts and ports of a postgres:// URL), never its text."""
    if isinstance(value, Located) and isinstance(value.value, str):
        return tuple(sorted(h for part in value.value.split() if "://" in part
                            for h in dsn_hosts(part)))
    return _refs(value)


def _env(resource: Resource, container: Node, secrets: dict[str, Any]) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    entries = container.get("env")
    for entry in entries.value if entries is not None and isinstance(entries.value, list) else ():
        name = entry.get("name")
        if name is None or not isinstance(name.value, str):
            continue
        secret = entry.get("secretRef")
        if secret is not None and isinstance(secret.value, str):
            env[name.value] = EnvVar(name.value, None, _secret_refs(secrets.get(secret.value)),
                                     secret=True, source=f"Container App secret {secret.value}")
            continue
        node = entry.get("value")
        value = resource.template.evaluate(node) if node is not None else None
        text = _text(value)
        if isinstance(value, Located):
            at = origin_of(value, name.value)
            env[name.value] = EnvVar(name.value, text, file=at.file, line=at.line)
        else:
            env[name.value] = EnvVar(name.value, None, _refs(value))
    return env


def _replicas(resource: Resource) -> Value:
    found = resource.get("properties", "template", "scale", "maxReplicas")
    where = _where(resource)
    if found is None:
        return default_max_replicas(arm=True)
    text = f"{where.address} properties.template.scale.maxReplicas"
    if isinstance(found, Unresolved):
        return unknown(f"{text} = {found.expression} is not evaluated ({found.reason})",
                       where.file, where.line)
    number = count(found.value)
    at = origin_of(found, text)
    if number is None:
        return unknown(f"{text} is not a whole number", at.file, at.line)
    return Value(number, at)


def _apps(inputs: ArmInputs, context: BuildContext) -> None:
    for resource in inputs.resources:
        if resource.type.lower() != APPS:
            continue
        containers = resource.node_at("properties", "template", "containers")
        secrets = _secrets(resource)
        where = _where(resource)
        found = []
        for container in containers.value if containers is not None \
                and isinstance(containers.value, list) else ():
            origin = Origin(f"{where.address} container", where.file, container.line)
            found.append(pool_settings(_env(resource, container, secrets), origin,
                                       context.settings.default_pool_sizes))
        task = merge(found)
        if task is None:
            continue
        replicas = _replicas(resource)
        mode = resource.get("properties", "configuration", "activeRevisionsMode")
        deploy = rollout(replicas, _text(mode), Origin(
            f"{where.address} activeRevisionsMode", where.file,
            mode.node.line if isinstance(mode, Located) else where.line))
        context.model.clients.append(client(
            where, task, replicas, deploy, ("properties.template.scale.maxReplicas",
                                            "properties.configuration.activeRevisionsMode"),
            STYLE))


def build(parsed: dict[str, ArmInputs], context: BuildContext) -> None:
    inputs = parsed["arm"]
    read_servers(servers(inputs), context.model)
    _apps(inputs, context)
