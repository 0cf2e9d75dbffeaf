"""Azure Container Apps as clients: the replicas of a revision, and the revisions a rollout runs.

A revision scales up to `template.max_replicas` (Terraform; ARM
`properties.template.scale.maxReplicas`), 10 when unset. In single revision mode the old
revision stays active until the new one is ready, each up to its maximum: a rollout runs two
revisions, 2 x max_replicas replicas at most. In multiple revision mode the team activates
revisions itself: how many run at once is not in the files (unknown). Each replica runs the
revision's containers; their environment gives the pool and the processes, as for any
container, and a variable from a Container App secret is never read (the host and port of a
postgres:// URL in it are, to tie the app to its server, never the password).
"""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Client, Location, Model, Origin, Value, count, unknown
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, PoolSettings, dsn_hosts, merge, pool_settings
from connbudget.providers.azure import tables
from connbudget.providers.tfvalues import blocks, located_at, location, refs, text
from connbudget.settings import Settings

TYPE = "azurerm_container_app"
PLATFORM = "container-apps"
SINGLE = "single"


def secret_refs(value: Any) -> tuple[str, ...]:
    """What a secret's value names (addresses, the hosts and ports of a postgres:// URL): its
    text itself is never kept."""
    written = value.partial if isinstance(value, Unknown) else value
    hosts: set[str] = set()
    if isinstance(written, str):
        for part in written.split():
            if "://" in part:
                hosts |= dsn_hosts(part)
    return tuple(sorted(refs(value) | hosts))


def default_max_replicas(arm: bool = False) -> Value:
    found = (tables.number("container_apps.arm_max_replicas_default") if arm
             else tables.container_apps_max_replicas_default())
    assert found is not None
    key = "properties.template.scale.maxReplicas" if arm else "max_replicas"
    return Value(found.value, Origin(f"default: {key} {found.value} (Container Apps, "
                                     f"{found.cite})"))


def rollout(replicas: Value, mode: str | None, where: Origin) -> Value:
    """Replicas while a new revision starts beside the old one."""
    if (mode or SINGLE).lower() != SINGLE:
        cite = tables.cite("container_apps.multiple_revision_rollout")
        return unknown(f"revisions during a rollout unknown: in multiple revision mode the "
                       f"team activates revisions ({cite})", where.file, where.line)
    if not replicas.known:
        return unknown(f"replicas during a rollout unknown: {replicas.origin}")
    found = tables.number("container_apps.single_revision_rollout")
    assert found is not None and replicas.value is not None
    return Value(replicas.value * found.value, Origin(
        f"{found.value} revisions x {replicas.value} replicas: single revision mode keeps the "
        f"old revision until the new one is ready ({found.cite})", where.file, where.line))


def client(where: Location, task: PoolSettings, replicas: Value, deploy: Value,
           settings: tuple[str, str], style: str) -> Client:
    """A Container App; `settings`: what caps its replicas, what sets its revision mode."""
    return Client(PLATFORM, where, replicas, deploy, task.processes, task.pool,
                  task.pool_setting, settings[0], autoscaled=True, refs=task.refs,
                  user=task.user, database=task.database, notes=task.notes, env_style=style,
                  deploy_setting=settings[1])


def _secrets(res: Resource) -> dict[str, Any]:
    return {s["name"]: s.get("value") for s in blocks(res.attrs, "secret")
            if isinstance(s.get("name"), str)}


def _env(res: Resource, container: dict[str, Any], index: int,
         secrets: dict[str, Any]) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    for number, entry in enumerate(blocks(container, "env")):
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        secret = entry.get("secret_name")
        if secret is not None:
            # a secret's name the loader kept from view may be any of the app's secrets
            named = [secrets[secret]] if isinstance(secret, str) and secret in secrets \
                else list(secrets.values())
            env[name] = EnvVar(name, None, tuple(sorted({ref for value in named
                                                        for ref in secret_refs(value)})),
                               secret=True, source="a Container App secret")
            continue
        origin = located_at(res, (("template", 0), ("container", index), ("env", number)), "value",
                         name)
        value = entry.get("value")
        file, line = (origin.file, origin.line) if origin.line != res.line else ("", 0)
        if isinstance(value, Unknown):
            partial = value.partial if value.partial and "${" in value.partial else None
            env[name] = EnvVar(name, partial, tuple(sorted(refs(value))), file=file, line=line)
        else:
            env[name] = EnvVar(name, None if value is None else str(value), file=file,
                               line=line)
    return env


def _replicas(res: Resource, template: dict[str, Any]) -> Value:
    raw = template.get("max_replicas")
    if raw is None:
        return default_max_replicas()
    origin = located_at(res, (("template", 0),), "max_replicas",
                     f"{res.address} template.max_replicas")
    found = None if isinstance(raw, Unknown) else count(raw)
    if found is None:
        return unknown(f"{origin.text} is unresolved or not a whole number", origin.file,
                       origin.line)
    return Value(found, origin)


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    for res in model.by_type(TYPE):
        template = blocks(res.attrs, "template")
        if not template:
            continue
        secrets = _secrets(res)
        found = []
        for index, container in enumerate(blocks(template[0], "container")):
            origin = Origin(f"{res.address} container {container.get('name') or index}",
                            res.file, res.line)
            item = pool_settings(_env(res, container, index, secrets), origin,
                                 settings.default_pool_sizes)
            apply_command(item, [*words(container.get("command")),
                                 *words(container.get("args"))], origin)
            found.append(item)
        task = merge(found)
        if task is None:
            continue
        replicas = _replicas(res, template[0])
        mode = located_at(res, (), "revision_mode", f"{res.address} revision_mode")
        deploy = rollout(replicas, text(res.attrs.get("revision_mode")), mode)
        out.clients.append(client(location(res), task, replicas, deploy,
                                  ("template.max_replicas", "revision_mode"), "hcl-block"))
