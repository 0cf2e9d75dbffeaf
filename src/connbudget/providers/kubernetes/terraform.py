"""Clients and PgBouncers from Terraform's kubernetes provider (hashicorp/kubernetes).

`kubernetes_deployment(_v1)` and `kubernetes_stateful_set(_v1)`: spec.replicas (default 1),
the pod template's containers with `env` blocks, `command` and `args`;
`kubernetes_horizontal_pod_autoscaler(_v1, _v2)`: spec.max_replicas of the workload its
scale_target_ref names; a Deployment's rolling update max_surge (default 25 %). A PgBouncer
container (image naming pgbouncer) is a pooler from its env, and a `kubernetes_config_map(_v1)`
`pgbouncer.ini` mounted by its pods replaces that env. A PostgreSQL container (image `postgres`,
`bitnami/postgresql`, ...) makes the workload a self-managed database
(`providers.postgresql.selfmanaged`): its `-c` options, its env, the postgresql.conf its args
name when a ConfigMap of the root mounted there holds it; `kubernetes_service(_v1)` resources
whose selector picks its pods name it for clients.
"""

from __future__ import annotations

import posixpath
from typing import Any

from connbudget.frontends.pgbouncer.ini import load_pgbouncer_text
from connbudget.frontends.pgbouncer.model import chosen_release
from connbudget.frontends.postgresql.conf import conf_from_text
from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown, line_of
from connbudget.model import Client, Origin, Value, unknown
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, merge, pool_settings
from connbudget.providers.context import BuildContext, Runs, Unit
from connbudget.providers.kubernetes.names import hosts, same_namespace
from connbudget.providers.pgbouncer.poolers import during_deploy, from_env, pooler_from_config
from connbudget.providers.postgresql.selfmanaged import (
    ServerSpec,
    Word,
    config_file,
    database,
    is_postgres_image,
)
from connbudget.providers.surge import by_extra
from connbudget.providers.tfvalues import blocks as _blocks
from connbudget.providers.tfvalues import by_root, where_of
from connbudget.providers.tfvalues import number as _number
from connbudget.providers.tfvalues import refs as _refs
from connbudget.providers.tfvalues import text as _text

_DEPLOYMENTS = ("kubernetes_deployment", "kubernetes_deployment_v1")
_STATEFUL_SETS = ("kubernetes_stateful_set", "kubernetes_stateful_set_v1")
_HPAS = ("kubernetes_horizontal_pod_autoscaler", "kubernetes_horizontal_pod_autoscaler_v1",
         "kubernetes_horizontal_pod_autoscaler_v2")
# a container's env block, and what widens a rolling update
STYLE = ("hcl-block", "strategy.rolling_update.max_surge")
_CONFIG_MAPS = ("kubernetes_config_map", "kubernetes_config_map_v1")
_SERVICES = ("kubernetes_service", "kubernetes_service_v1")


def _first(attrs: Any, *keys: str) -> dict[str, Any]:
    node: Any = attrs
    for key in keys:
        found = _blocks(node, key) if isinstance(node, dict) else []
        node = found[0] if found else {}
    return node if isinstance(node, dict) else {}


def _name(res: Resource) -> str:
    return _text(_first(res.attrs, "metadata").get("name")) or res.name


def _max_replicas(model: TerraformModel, res: Resource, kind: str) -> tuple[Value | None, str]:
    for hpa in [h for t in _HPAS for h in model.by_type(t)]:
        spec = _first(hpa.attrs, "spec")
        target = _first(spec, "scale_target_ref")
        if _text(target.get("name")) == _name(res) and _text(target.get("kind")) == kind:
            return _number(hpa, spec, "max_replicas", None), f"{hpa.address} max_replicas"
    return None, ""


def _deploy(res: Resource, kind: str, maximum: Value) -> Value:
    if kind == "StatefulSet" or not maximum.known:
        return maximum
    rolling = _first(res.attrs, "spec", "strategy", "rolling_update")
    if _text(_first(res.attrs, "spec", "strategy").get("type")) == "Recreate":
        return maximum
    surge = rolling.get("max_surge")
    written = surge if isinstance(surge, (int, str)) and not isinstance(surge, bool) else None
    if surge is not None and written is None:
        return unknown(f"{res.address} max_surge is not a number or percentage", res.file,
                       res.line)
    return by_extra(maximum, written, res.file, line_of(res, "max_surge"))


def _env(container: dict[str, Any], res: Resource) -> dict[str, EnvVar]:
    """The container's variables, each at the line of the resource that names it."""
    env: dict[str, EnvVar] = {}
    for entry in _blocks(container, "env"):
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        value = entry.get("value")
        refs = tuple(sorted(_refs(value)))
        line = line_of(res, name)
        file = res.file if line != res.line else ""
        if isinstance(value, Unknown) or value is None:
            secret = bool(_first(entry, "value_from", "secret_key_ref"))
            env[name] = EnvVar(name, None, refs, secret=secret,
                               source="a Secret" if secret else "", file=file, line=line)
        else:
            env[name] = EnvVar(name, str(value), refs, file=file, line=line)
    return env


def _config_map_inis(model: TerraformModel) -> dict[str, tuple[str, Resource, set[str], int]]:
    """ConfigMap name -> its pgbouncer.ini text (an unresolved `${...}` left in place), the
    resource, the addresses the text refers to (its database hosts), and the line of the
    text's first line (after the `<<-EOT` of a heredoc)."""
    found: dict[str, tuple[str, Resource, set[str], int]] = {}
    for res in [r for t in _CONFIG_MAPS for r in model.by_type(t)]:
        data = res.attrs.get("data")
        if isinstance(data, dict):
            for key, value in data.items():
                text = value.partial if isinstance(value, Unknown) else value
                if key.endswith("pgbouncer.ini") and isinstance(text, str):
                    key_line = line_of(res, key)
                    first = key_line + 1 if key_line != res.line else res.line
                    found[_name(res)] = found[res.address] = (text, res, _refs(value), first)
    return found


def _config_map_texts(model: TerraformModel) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(ConfigMap name or resource address, key) -> (its text, file, the line of its first
    line) of every data key whose value is known text."""
    found: dict[tuple[str, str], tuple[str, str, int]] = {}
    for res in [r for t in _CONFIG_MAPS for r in model.by_type(t)]:
        data = res.attrs.get("data")
        for key, value in (data.items() if isinstance(data, dict) else ()):
            if isinstance(value, str):
                key_line = line_of(res, key)
                text = (value, res.file, key_line + 1 if key_line != res.line else res.line)
                found[(_name(res), key)] = found[(res.address, key)] = text
    return found


def _config_map_name(volume: dict[str, Any]) -> str | None:
    """The ConfigMap a volume projects: its name, or the kubernetes_config_map resource its
    name refers to."""
    name = _first(volume, "config_map").get("name")
    if isinstance(name, Unknown):
        return next((ref for ref in name.references if ref.split(".")[0] in _CONFIG_MAPS),
                    None)
    return _text(name)


def _services(model: TerraformModel, labels: dict[str, Any], namespace: str | None,
              ) -> tuple[set[str], set[str]]:
    """The Services whose selector picks pods with these labels: their names, and their
    addresses (a reference names one)."""
    names, addresses = set(), set()
    for res in [r for t in _SERVICES for r in model.by_type(t)]:
        selector = _first(res.attrs, "spec").get("selector")
        space = _text(_first(res.attrs, "metadata").get("namespace"))
        if isinstance(selector, dict) and selector and selector.items() <= labels.items() \
                and same_namespace(space, namespace):
            names.add(_name(res))
            addresses.add(res.address)
    return names, addresses


def _server(res: Resource, pod: dict[str, Any], container: dict[str, Any],
            texts: dict[tuple[str, str], tuple[str, str, int]]) -> ServerSpec:
    written = tuple(Word(word, res.file, line_of(res, key))
                    for key in ("command", "args") for word in words(container.get(key)))
    env = {name: Word(var.value, var.file or res.file, var.line)
           for name, var in _env(container, res).items() if var.value is not None}
    image = _text(container.get("image")) or ""
    named = config_file(written)
    conf, label, missing = None, "", ""
    if named is not None:
        target = named[0].strip("'\"")
        volumes = {_text(v.get("name")): _config_map_name(v) for v in _blocks(pod, "volume")}
        for mount in _blocks(container, "volume_mount"):
            path = _text(mount.get("mount_path")) or ""
            sub = _text(mount.get("sub_path")) or ""
            key = sub if sub and path == target else (
                posixpath.basename(target) if posixpath.dirname(target) == path.rstrip("/")
                else "")
            config_map = volumes.get(_text(mount.get("name")))
            if key and config_map and (config_map, key) in texts:
                text, file, first = texts[(config_map, key)]
                conf, label = conf_from_text(text, file, first), f"ConfigMap {config_map} {key}"
        if conf is None:
            missing = (f"its args read {target[:80]}, which no kubernetes_config_map of the "
                       "root holds")
    return ServerSpec(res.address, image, written, env, res.file, res.line, conf, label,
                      missing)


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    for model in by_root(parsed["terraform"]):
        _from_root(model, context)


def _from_root(model: TerraformModel, context: BuildContext) -> None:
    out, settings = context.model, context.settings
    inis = _config_map_inis(model)
    texts = _config_map_texts(model)
    for kind, types in (("Deployment", _DEPLOYMENTS), ("StatefulSet", _STATEFUL_SETS)):
        for res in [r for t in types for r in model.by_type(t)]:
            spec = _first(res.attrs, "spec")
            replicas = _number(res, spec, "replicas", (1, "Kubernetes default"))
            scaled, setting = _max_replicas(model, res, kind)
            maximum = scaled if scaled is not None else replicas
            deploy = _deploy(res, kind, maximum)
            pod = _first(spec, "template", "spec")
            where = where_of(res)
            mounted = [_config_map_name(v) for v in _blocks(pod, "volume")]
            found = []
            runs = []
            for container in _blocks(pod, "container"):
                env = _env(container, res)
                image = _text(container.get("image")) or ""
                if is_postgres_image(image):
                    metadata = _first(_first(spec, "template"), "metadata")
                    labels = metadata.get("labels")
                    namespace = _text(_first(res.attrs, "metadata").get("namespace"))
                    names, addresses = _services(model, labels if isinstance(labels, dict)
                                                 else {}, namespace)
                    server, refused = database(
                        _server(res, pod, container, texts), where,
                        {res.address, *addresses} | hosts(names | {_name(res)}, namespace))
                    out.databases.append(server)
                    out.errors.extend(refused)
                    continue
                if "pgbouncer" in image.lower():
                    ini = next((inis[m] for m in mounted if m in inis), None)
                    if ini is not None:
                        config = load_pgbouncer_text(ini[0], ini[1].file, ini[3],
                                                     chosen_release(image=image))
                        pooler = pooler_from_config(config, where, {res.address, _name(res)},
                                                    maximum, ini[2], deploy_setting=STYLE[1])
                        out.errors.extend(config.errors)
                    else:
                        pooler, errors = from_env({k: v.value for k, v in env.items()}, where,
                                                  {res.address, _name(res)}, maximum, set(),
                                                  image, STYLE)
                        out.errors.extend(errors)
                    during_deploy(pooler, deploy)
                    out.poolers.append(pooler)
                    continue
                origin = Origin(f"{res.address} container {container.get('name')}", res.file,
                                res.line)
                item = pool_settings(env, origin, settings.default_pool_sizes)
                command = (*words(container.get("command")), *words(container.get("args")))
                apply_command(item, command, origin)
                found.append(item)
                runs.append(Runs(_text(container.get("name")) or "", env, command, origin,
                                 image))
            task = merge(found)
            shown = task or (found[0] if found else None)
            if shown is None:
                continue
            client = Client(
                "kubernetes", where, maximum, deploy, shown.processes, shown.pool,
                shown.pool_setting, setting or "spec.replicas", autoscaled=scaled is not None,
                refs=shown.refs, user=shown.user, database=shown.database, notes=shown.notes,
                env_style=STYLE[0], deploy_setting=STYLE[1], unknown_host=shown.unknown_host,
                library=shown.library, statements=shown.statements)
            if task is not None:
                out.clients.append(client)
            context.units.append(Unit(client, tuple(runs), task is not None))
