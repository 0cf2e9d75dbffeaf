"""ECS services as clients, and PgBouncer containers in their tasks as poolers.

A service runs its task definition's containers on `desired_count` tasks (aws_ecs_service
default 0), up to its `aws_appautoscaling_target.max_capacity` when one targets it, and up to
`deployment_maximum_percent` of them during a rolling deploy (default 200: Amazon ECS service
definition parameters). The terraform-aws-modules ecs `//modules/service` inputs default to
desired_count 1, enable_autoscaling true, autoscaling_max_capacity 10 and
deployment_maximum_percent 200 (modules/service/variables.tf).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connbudget.frontends.terraform.decode import decode_json
from connbudget.frontends.terraform.model import (
    ModuleCall,
    Resource,
    TerraformModel,
    Unknown,
    line_of,
)
from connbudget.model import (
    Client,
    Insert,
    Location,
    Model,
    Origin,
    Unread,
    Value,
    refers_to,
    unknown,
)
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, PoolSettings, merge, pool_settings
from connbudget.providers.aws.modules import ECS_SERVICE
from connbudget.providers.context import BuildContext, Runs, Unit
from connbudget.providers.pgbouncer.poolers import during_deploy, from_env
from connbudget.providers.surge import by_percent
from connbudget.providers.tfvalues import blocks, env_var, number, refers, refs, text, where_of
from connbudget.settings import Settings

ECS_MAX_PERCENT_DEFAULT = 200
ECS_DESIRED_DEFAULT = 0
MODULE_ECS_DESIRED = 1
MODULE_ECS_AUTOSCALING = True
MODULE_ECS_MAX = 10
_MODULE_DEFAULT = "terraform-aws-modules/ecs modules/service variables.tf"
# a container definition's variable, and what widens a rolling deploy
STYLE = ("hcl-object", "deployment_maximum_percent")


def containers(value: Any) -> list[dict[str, Any]]:
    """The container definitions of a task definition's `container_definitions`."""
    data = value if isinstance(value, (list, dict)) else decode_json(value)
    if isinstance(data, dict):  # the ECS service module takes a map name -> definition
        data = [dict(item, name=item.get("name", key)) for key, item in data.items()
                if isinstance(item, dict)]
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _env_line(block: Resource | ModuleCall | None, name: str) -> tuple[str, int]:
    """The file and line where the task definition names variable `name`, when written in
    the block itself; ("", 0) otherwise (the container's own origin is used)."""
    if block is None:
        return "", 0
    line = line_of(block, name)
    return (block.file, line) if line != block.line else ("", 0)


def _env(container: dict[str, Any],
         block: Resource | ModuleCall | None = None) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    for entry in blocks(container, "environment"):
        name = entry.get("name")
        if isinstance(name, str):
            env[name] = env_var(name, entry.get("value"), *_env_line(block, name))
    for entry in blocks(container, "secrets"):
        name = entry.get("name")
        if isinstance(name, str):  # the secret's value is never read
            env[name] = EnvVar(name, None, (), secret=True, source="an ECS task secret")
    return env


def _is_pgbouncer(container: dict[str, Any]) -> bool:
    return "pgbouncer" in str(container.get("image", "")).lower()


@dataclass
class _Task:
    """The containers of one task: the database-facing ones summed (None when none is), what
    each one's environment says, and what each runs."""

    merged: PoolSettings | None
    found: list[PoolSettings]
    runs: tuple[Runs, ...]

    @property
    def shown(self) -> PoolSettings | None:
        return self.merged or (self.found[0] if self.found else None)


def _task(containers: list[dict[str, Any]], origin: Origin, settings: Settings,
                   block: Resource | ModuleCall) -> _Task:
    found = []
    runs = []
    for container in containers:
        if _is_pgbouncer(container):
            continue
        env = _env(container, block)
        item = pool_settings(env, origin, settings.default_pool_sizes)
        command = (*words(container.get("entryPoint")), *words(container.get("command")))
        apply_command(item, command, origin)
        found.append(item)
        runs.append(Runs(str(container.get("name", "")), env, command, origin,
                         str(container.get("image", ""))))
    return _Task(merge(found), found, tuple(runs))


def task_settings(containers: list[dict[str, Any]], origin: Origin, settings: Settings,
                  block: Resource | ModuleCall) -> PoolSettings | None:
    """The database-facing containers of one task; several are summed into one pool."""
    return _task(containers, origin, settings, block).merged


def _client(block: Resource | ModuleCall, task: PoolSettings, desired: Value,
            maximum: Value | None, percent: Value, scale_setting: str) -> Client:
    tasks = desired
    if maximum is not None and (not maximum.known or not desired.known
                                or (maximum.value or 0) >= (desired.value or 0)):
        tasks = maximum
    written = percent.origin if percent.origin.file else None
    column = block.span_column()
    return Client("ecs", where_of(block), tasks, by_percent(tasks, percent, "task"),
                  task.processes, task.pool, task.pool_setting, scale_setting,
                  autoscaled=maximum is not None, refs=task.refs, user=task.user,
                  database=task.database, notes=task.notes, unknown_host=task.unknown_host,
                  library=task.library, statements=task.statements, env_style=STYLE[0],
                  deploy_setting=STYLE[1], deploy_at=written,
                  deploy_insert=None if written is not None or column < 0 else Insert(
                      block.file, block.line, column + 2, (STYLE[1],), yaml=False))


def _autoscaling_max(model: TerraformModel, service: Resource) -> Value | None:
    name = text(service.attrs.get("name"))
    for target in model.by_type("aws_appautoscaling_target"):
        resource_id = target.attrs.get("resource_id")
        literal = text(resource_id)
        by_name = bool(literal and name and literal.startswith("service/")
                       and literal.rsplit("/", 1)[-1] == name)
        if by_name or any(refers_to(ref, service.address) for ref in refs(resource_id)):
            return number(target, target.attrs, "max_capacity", None)
    return None


def _pgbouncers(service: Resource, containers: list[dict[str, Any]], replicas: Value,
                deploy: Value, origin: Origin, out: Model) -> None:
    for container in containers:
        if not _is_pgbouncer(container):
            continue
        env = _env(container)
        found = set().union(*(set(var.references) for var in env.values()))
        aliases = {service.address} | ({service.attrs["name"]}
                                       if isinstance(service.attrs.get("name"), str) else set())
        if isinstance(container.get("name"), str):
            aliases.add(container["name"])
        where = Location(service.address, origin.file, origin.line, service.end_line,
                         service.root)
        pooler, errors = from_env({k: v.value for k, v in env.items()}, where, aliases, replicas,
                                  found, str(container.get("image", "")), STYLE)
        during_deploy(pooler, deploy)
        out.poolers.append(pooler)
        out.errors.extend(errors)


def _unknown_task(value: Any, containers: list[dict[str, Any]],
                  origin: Origin) -> PoolSettings | None:
    """Containers that cannot be read but refer to something (a plan's task definition that
    embeds a database address known only after apply): a client whose pool is unknown."""
    if containers or not isinstance(value, Unknown) or not refs(value):
        return None
    why = f"{origin.text} = {value.expression} is unresolved ({value.reason})"
    return PoolSettings(Value(1, Origin("default: 1 process per task (containers unknown)")),
                        unknown(why, origin.file, origin.line), "pool", refs=refs(value),
                        is_client=True)


def _add(context: BuildContext, client: Client, task: _Task) -> None:
    """The service's client when its environment talks to PostgreSQL, and its unit."""
    if task.merged is not None:
        context.model.clients.append(client)
    if task.runs:
        context.units.append(Unit(client, task.runs, task.merged is not None))


def _services(model: TerraformModel, context: BuildContext) -> None:
    settings, out = context.settings, context.model
    for service in model.by_type("aws_ecs_service"):
        task_ref = service.attrs.get("task_definition")
        definitions = [t for t in model.by_type("aws_ecs_task_definition")
                       if refers(task_ref, t)]
        if not definitions:
            # its task definition is an ARN or lives in another root: not read, and said
            out.unread.append(Unread(
                service.address, "an ECS service whose task definition is not in the scanned "
                "files, so what its tasks open is not read", service.file, service.line,
                "scan the Terraform that defines its task definition together with this root, "
                "or count its worst case yourself (tasks x processes x pool) and record it "
                "above the resource: # connbudget:ignore CB111 <the count and why it fits>",
                kind="client", root=service.root))
            continue
        definition = definitions[0]
        origin = Origin(f"{definition.address} container_definitions", definition.file,
                        line_of(definition, "container_definitions"))
        defined = containers(definition.attrs.get("container_definitions"))
        desired = number(service, service.attrs, "desired_count",
                         (ECS_DESIRED_DEFAULT, "aws_ecs_service default"))
        percent = number(service, service.attrs, "deployment_maximum_percent",
                         (ECS_MAX_PERCENT_DEFAULT, "aws_ecs_service default, Amazon ECS service "
                                                  "definition parameters"))
        maximum = _autoscaling_max(model, service)
        _pgbouncers(service, defined, maximum or desired,
                    by_percent(maximum or desired, percent, "task"), origin, out)
        setting = ("aws_appautoscaling_target max_capacity" if maximum is not None
                   else "desired_count")
        task = _task(defined, origin, settings, definition)
        unread = _unknown_task(definition.attrs.get("container_definitions"), defined,
                             origin)
        if unread is not None:
            task = _Task(unread, [], ())
        shown = task.shown
        if shown is None:
            continue
        _add(context, _client(service, shown, desired, maximum, percent, setting),
             task)


def _module_services(model: TerraformModel, context: BuildContext) -> None:
    for call in model.modules:
        if not ECS_SERVICE.search(call.source):
            continue
        inputs = call.inputs
        origin = Origin(f"{call.address} container_definitions", call.file,
                        line_of(call, "container_definitions"))
        task = _task(containers(inputs.get("container_definitions")), origin,
                              context.settings, call)
        shown = task.shown
        if shown is None:
            continue
        desired = number(call, inputs, "desired_count", (MODULE_ECS_DESIRED, _MODULE_DEFAULT))
        percent = number(call, inputs, "deployment_maximum_percent",
                         (ECS_MAX_PERCENT_DEFAULT, _MODULE_DEFAULT))
        maximum = None
        if inputs.get("enable_autoscaling", MODULE_ECS_AUTOSCALING) is not False:
            maximum = number(call, inputs, "autoscaling_max_capacity",
                             (MODULE_ECS_MAX, _MODULE_DEFAULT))
        setting = "autoscaling_max_capacity" if maximum is not None else "desired_count"
        _add(context, _client(call, shown, desired, maximum, percent, setting), task)


def clients(model: TerraformModel, context: BuildContext) -> None:
    """ECS services (and the PgBouncer containers in their tasks) into the model, and every
    service's containers as a deploying unit."""
    _services(model, context)
    _module_services(model, context)
