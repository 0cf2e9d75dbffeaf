"""Databases, proxies, roles and ECS clients from a loaded Terraform model.

terraform-aws-modules defaults used when an input is not set (variables.tf of each module):
  rds (terraform-aws-modules/terraform-aws-rds): instance_class null, parameters [],
      create_db_instance true;
  rds-aurora (terraform-aws-modules/terraform-aws-rds-aurora): instances {},
      serverlessv2_scaling_configuration {}, cluster parameters [];
  ecs //modules/service (terraform-aws-modules/terraform-aws-ecs, modules/service/variables.tf):
      desired_count 1, enable_autoscaling true, autoscaling_max_capacity 10,
      deployment_maximum_percent 200.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import connbudget.capacity.budget as budget
from connbudget.frontends.terraform.model import (
    ModuleCall,
    Parameter,
    Resource,
    TerraformModel,
    Unknown,
    line_of,
    parameters,
)
from connbudget.frontends.terraform.roles import role_state
from connbudget.model import (
    Alarm,
    Client,
    Database,
    Location,
    Model,
    Origin,
    Pooler,
    Role,
    Value,
    unknown,
)
from connbudget.providers.apps.env import EnvVar, PoolSettings, merge, pool_settings
from connbudget.providers.kubernetes.terraform import from_tf_kubernetes
from connbudget.providers.tfvalues import blocks as _blocks
from connbudget.providers.tfvalues import integer as _int
from connbudget.providers.tfvalues import number as _number
from connbudget.providers.tfvalues import refs as _refs
from connbudget.providers.tfvalues import text as _text
from connbudget.settings import Settings

ECS_MAX_PERCENT_DEFAULT = 200  # aws_ecs_service deployment_maximum_percent (data README)
ECS_DESIRED_DEFAULT = 0  # aws_ecs_service desired_count (AWS provider docs)
PROXY_PERCENT_DEFAULT = 100  # connection_pool_config max_connections_percent (data README)
MODULE_ECS_DESIRED = 1  # ecs//modules/service variables.tf: desired_count default 1
MODULE_ECS_AUTOSCALING = True  # ecs//modules/service variables.tf: enable_autoscaling default
MODULE_ECS_MAX = 10  # ecs//modules/service variables.tf: autoscaling_max_capacity default 10
_RDS_MODULE = re.compile(r"terraform-aws-modules/(?:terraform-aws-)?rds/aws$|terraform-aws-rds$")
_AURORA_MODULE = re.compile(r"terraform-aws-modules/(?:terraform-aws-)?rds-aurora")
_ECS_SERVICE_MODULE = re.compile(r"terraform-aws-modules/(?:terraform-aws-)?ecs.*//modules/service")
_ALARM_MODULE = re.compile(
    r"terraform-aws-modules/(?:terraform-aws-)?cloudwatch.*//modules/metric-alarm$")


def _where(block: Resource | ModuleCall) -> Location:
    return Location(block.address, block.file, block.line, block.end_line, block.root)


def _matches(ref: str, alias: str) -> bool:
    return ref == alias or ref.startswith(alias + ".") or ref.startswith(alias + "[")


def _refers_to(value: Any, resource: Resource) -> bool:
    if any(_matches(ref, resource.address) for ref in _refs(value)):
        return True
    # a known ARN is how a plan writes a reference such as aws_ecs_task_definition.x.arn
    names = {_text(resource.attrs.get(key))
             for key in ("name", "identifier", "cluster_identifier", "arn")}
    return isinstance(value, str) and value in names - {None}


# --- databases -----------------------------------------------------------------------------

def _parameters(block: Resource | ModuleCall, entries: list[dict[str, Any]]
                ) -> dict[str, Parameter]:
    """Parameter name -> the parameter as set (a later entry wins); unset values are not set."""
    return {p.name: p for p in parameters(block, entries) if p.value is not None}


def _param_origin(param: Parameter) -> Origin:
    return Origin(f"{param.block} parameter {param.name}", param.file, param.line)


def _unresolved(param: Parameter) -> Value | None:
    """The unknown a parameter whose value could not be resolved gives; None when resolved."""
    if not isinstance(param.value, Unknown):
        return None
    return unknown(f"{_param_origin(param).text} = {param.value.expression} is unresolved",
                   param.file, param.line)


def _limits(where: Location, engine: str, instance_class: str | None,
            params: dict[str, Parameter], settings: Settings,
            serverless: tuple[float | None, float | None] | None) -> tuple[Value, Value, Value]:
    origin = Origin(where.address, where.file, where.line)
    param = params.get("max_connections")
    if param is not None:
        max_connections = _unresolved(param) or budget.max_connections_from_parameter(
            f"{param.value}", instance_class, _param_origin(param), settings)
    elif serverless is not None:
        max_connections = budget.max_connections_serverless(serverless[1], serverless[0], origin)
    else:
        max_connections = budget.max_connections_from_class(engine, instance_class, origin,
                                                            settings)
    reserved = []
    for name, default in budget.reserved_defaults():
        setting = params.get(name)
        if setting is None:
            reserved.append(default)
            continue
        number = _int(setting.value) if not isinstance(setting.value, Unknown) else None
        if number is not None:
            reserved.append(Value(number, _param_origin(setting)))
        else:
            reserved.append(_unresolved(setting) or unknown(
                f"{_param_origin(setting).text} is not a number", setting.file, setting.line))
    return max_connections, reserved[0], reserved[1]


def _names(res: Resource, key: str) -> set[str]:
    value = res.attrs.get(key)
    return {value} if isinstance(value, str) else set()


def _is_postgres(engine: Any) -> bool:
    return not isinstance(engine, str) or "postgres" in engine.lower()


def _group_params(model: TerraformModel, types: tuple[str, ...], ref: Any
                  ) -> dict[str, Parameter]:
    params: dict[str, Parameter] = {}
    if ref is None:
        return params
    for type_ in types:
        for group in model.by_type(type_):
            if _refers_to(ref, group):
                params.update(_parameters(group, _blocks(group.attrs, "parameter")))
    return params


def _line_in(block: Resource | ModuleCall, key: str) -> int:
    """The line of `key` in the block; 0 when the block does not set it."""
    line = line_of(block, key)
    return line if line != block.line else 0


def _instances(model: TerraformModel, settings: Settings) -> list[Database]:
    found: list[Database] = []
    for res in model.by_type("aws_db_instance"):
        if not _is_postgres(res.attrs.get("engine")):
            continue
        params = _group_params(model, ("aws_db_parameter_group",),
                               res.attrs.get("parameter_group_name"))
        cls = _text(res.attrs.get("instance_class"))
        where = _where(res)
        limits = _limits(where, "postgres", cls, params, settings, None)
        found.append(Database(where, "postgres", cls, *limits,
                              aliases={res.address} | _names(res, "identifier"),
                              size_line=_line_in(res, "instance_class")))
    return found


def _clusters(model: TerraformModel, settings: Settings) -> list[Database]:
    found: list[Database] = []
    for res in model.by_type("aws_rds_cluster"):
        engine = res.attrs.get("engine")
        if not isinstance(engine, str) or "postgres" not in engine:
            continue
        params = _group_params(model, ("aws_rds_cluster_parameter_group",),
                               res.attrs.get("db_cluster_parameter_group_name"))
        members = [i for i in model.by_type("aws_rds_cluster_instance")
                   if _refers_to(i.attrs.get("cluster_identifier"), res)]
        scaling = _blocks(res.attrs, "serverlessv2_scaling_configuration")
        classes = sorted({c for c in (_text(i.attrs.get("instance_class")) for i in members) if c})
        for member in members:
            params = {**_group_params(model, ("aws_db_parameter_group",),
                                      member.attrs.get("db_parameter_group_name")), **params}
        serverless = None
        if scaling or classes == ["db.serverless"]:
            first = scaling[0] if scaling else {}
            serverless = (_float(first.get("min_capacity")), _float(first.get("max_capacity")))
        cls = _smallest(engine, [c for c in classes if c != "db.serverless"], settings)
        where = _where(res)
        limits = _limits(where, engine, cls if serverless is None else None, params, settings,
                         serverless)
        found.append(Database(where, engine, cls or ("db.serverless" if serverless else None),
                              *limits, aliases={res.address} | {m.address for m in members}
                              | _names(res, "cluster_identifier"),
                              size_line=_line_in(res, "max_capacity") if serverless else 0))
    return found


def _float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _smallest(engine: str, classes: list[str], settings: Settings) -> str | None:
    """A cluster's instances each have their own max_connections: budget for the smallest."""
    if not classes:
        return None

    def size(name: str) -> int:
        value = budget.max_connections_from_class(engine, name, Origin(name), settings).value
        return value if value is not None else -1

    return min(classes, key=lambda name: (size(name), name))


def _module_databases(model: TerraformModel, settings: Settings) -> list[Database]:
    found: list[Database] = []
    for call in model.modules:
        source = call.source.split("?")[0]
        aurora = bool(_AURORA_MODULE.search(source))
        if not aurora and not _RDS_MODULE.search(source):
            continue
        inputs = call.inputs
        engine = inputs.get("engine")
        if not _is_postgres(engine):
            continue
        engine_name = engine if isinstance(engine, str) else ("aurora-postgresql" if aurora
                                                              else "postgres")
        entries = _blocks(inputs, "parameters")
        if aurora:
            entries = (_blocks(inputs, "db_parameter_group_parameters")
                       + _blocks(inputs, "db_cluster_parameter_group_parameters"))
        params = _parameters(call, entries)
        cls = _text(inputs.get("instance_class")) or _text(inputs.get("cluster_instance_class"))
        serverless = None
        scaling = inputs.get("serverlessv2_scaling_configuration")
        if aurora and isinstance(scaling, dict) and scaling:
            serverless = (_float(scaling.get("min_capacity")), _float(scaling.get("max_capacity")))
            cls = "db.serverless"
        where = _where(call)
        limits = _limits(where, engine_name, None if serverless else cls, params, settings,
                         serverless)
        found.append(Database(where, engine_name, cls, *limits, aliases={call.address},
                              size_line=_line_in(call, "max_capacity" if serverless
                                                 else "instance_class")))
    return found


# --- proxies and roles -----------------------------------------------------------------------

def _proxies(model: TerraformModel) -> list[Pooler]:
    found: list[Pooler] = []
    for proxy in model.by_type("aws_db_proxy"):
        family = proxy.attrs.get("engine_family")
        if isinstance(family, str) and family.upper() != "POSTGRESQL":
            continue  # MYSQL and SQLSERVER proxies front no PostgreSQL database
        percent = Value(PROXY_PERCENT_DEFAULT, Origin(
            f"default: max_connections_percent {PROXY_PERCENT_DEFAULT} (RDS Proxy "
            "connection_pool_config default, AWS RDS Proxy documentation)"))
        target_refs: set[str] = set()
        block: Origin | None = None
        block_open = False
        for group in model.by_type("aws_db_proxy_default_target_group"):
            if _refers_to(group.attrs.get("db_proxy_name"), proxy):
                block, block_open = _percent_block(group)
                for config in _blocks(group.attrs, "connection_pool_config"):
                    if "max_connections_percent" in config:
                        percent = _number(group, config, "max_connections_percent", None)
        for target in model.by_type("aws_db_proxy_target"):
            if _refers_to(target.attrs.get("db_proxy_name"), proxy):
                for key in ("db_instance_identifier", "db_cluster_identifier"):
                    value = target.attrs.get(key)
                    target_refs |= _refs(value) | ({value} if isinstance(value, str) else set())
        aliases = {proxy.address} | {e.address for e in model.by_type("aws_db_proxy_endpoint")
                                     if _refers_to(e.attrs.get("db_proxy_name"), proxy)}
        found.append(Pooler("rds-proxy", _where(proxy), aliases=aliases, target_refs=target_refs,
                            max_connections_percent=percent, percent_block=block,
                            percent_block_open=block_open))
    return found


def _percent_block(group: Resource) -> tuple[Origin, bool]:
    """Where a target group's max_connections_percent goes: inside its connection_pool_config
    block when it has one (True), else as a new block in the target group (False)."""
    inner = group.body.get("blocks", []) if isinstance(group.body, dict) else []
    config = next((b for b in inner if isinstance(b, dict)
                   and b.get("type") == "connection_pool_config"), None)
    if config is not None and isinstance(config.get("line"), int):
        return Origin(f"{group.address} connection_pool_config", group.file, config["line"]), True
    return Origin(group.address, group.file, group.line), False


def _roles(model: TerraformModel) -> list[Role]:
    """LOGIN roles (or roles whose LOGIN is unknown), read as the role rules read them."""
    found: list[Role] = []
    for res in model.by_type("postgresql_role"):
        state = role_state(res)
        if state.name is None or state.login is False:
            continue
        limit = _number(res, res.attrs, "connection_limit", (-1, "postgresql_role default -1"))
        if limit.known and state.connection_limit != limit.value:
            limit = unknown(f"{res.address} connection_limit is not an integer", res.file,
                            limit.origin.line)
        found.append(Role(state.name, limit, _where(res)))
    return found


# --- ECS clients ---------------------------------------------------------------------------

def _containers(value: Any) -> list[dict[str, Any]]:
    text = value.partial if isinstance(value, Unknown) else value
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError:
            return []
    else:
        data = value
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
    for entry in _blocks(container, "environment"):
        name, value = entry.get("name"), entry.get("value")
        if not isinstance(name, str):
            continue
        refs = tuple(sorted(_refs(value)))
        file, line = _env_line(block, name)
        if isinstance(value, Unknown):
            env[name] = EnvVar(name, None, refs, file=file, line=line)
        else:
            env[name] = EnvVar(name, None if value is None else str(value), refs, file=file,
                               line=line)
    for entry in _blocks(container, "secrets"):
        name = entry.get("name")
        if isinstance(name, str):  # the secret's value is never read
            env[name] = EnvVar(name, None, (), secret=True, source="an ECS task secret")
    return env


def _task_settings(containers: list[dict[str, Any]], origin: Origin, settings: Settings,
                   block: Resource | ModuleCall) -> PoolSettings | None:
    """The database-facing containers of one task; several are summed into one pool."""
    from connbudget.providers.apps.commands import apply_command, words

    found = []
    for container in containers:
        if "pgbouncer" in str(container.get("image", "")).lower():
            continue
        item = pool_settings(_env(container, block), origin, settings.default_pool_sizes)
        apply_command(item, [*words(container.get("entryPoint")),
                             *words(container.get("command"))], origin)
        found.append(item)
    return merge(found)


def _deploy(max_tasks: Value, percent: Value) -> Value:
    if not (max_tasks.known and percent.known):
        return unknown(f"deploy tasks unknown: {max_tasks.origin}; {percent.origin}")
    assert max_tasks.value is not None and percent.value is not None
    tasks = max(max_tasks.value, math.ceil(max_tasks.value * percent.value / 100))
    return Value(tasks, Origin(f"{max_tasks.value} tasks x {percent.value} % "
                               f"({percent.origin.text})", percent.origin.file,
                               percent.origin.line))


def _client(kind: str, where: Location, task: PoolSettings, desired: Value, maximum: Value | None,
            percent: Value, scale_setting: str) -> Client:
    max_tasks = desired
    if maximum is not None and (not maximum.known or not desired.known
                                or (maximum.value or 0) >= (desired.value or 0)):
        max_tasks = maximum
    return Client(kind, where, max_tasks, _deploy(max_tasks, percent), task.processes, task.pool,
                  task.pool_setting, scale_setting, autoscaled=maximum is not None,
                  refs=task.refs, user=task.user, database=task.database, notes=task.notes)


def _autoscaling_max(model: TerraformModel, service: Resource) -> Value | None:
    name = _text(service.attrs.get("name"))
    for target in model.by_type("aws_appautoscaling_target"):
        resource_id = target.attrs.get("resource_id")
        literal = _text(resource_id)
        by_name = bool(literal and name and literal.startswith("service/")
                       and literal.rsplit("/", 1)[-1] == name)
        if by_name or any(_matches(ref, service.address) for ref in _refs(resource_id)):
            return _number(target, target.attrs, "max_capacity", None)
    return None


def _pgbouncers(service: Resource, containers: list[dict[str, Any]], replicas: Value,
                deploy: Value, origin: Origin, model: Model) -> None:
    for container in containers:
        image = str(container.get("image", ""))
        if "pgbouncer" not in image.lower():
            continue
        env = _env(container)
        refs = set().union(*(set(var.references) for var in env.values()))
        aliases = {service.address} | _names(service, "name")
        if isinstance(container.get("name"), str):
            aliases.add(container["name"])
        where = Location(service.address, origin.file, origin.line, service.end_line,
                         service.root)
        # Lazy: the PgBouncer front end is needed only for PgBouncer containers.
        from connbudget.providers.pgbouncer.poolers import during_deploy, from_env

        pooler, errors = from_env({k: v.value for k, v in env.items()}, where, aliases, replicas,
                                  refs, image)
        during_deploy(pooler, deploy)
        model.poolers.append(pooler)
        model.errors.extend(errors)


def _unknown_task(value: Any, containers: list[dict[str, Any]],
                  origin: Origin) -> PoolSettings | None:
    """Containers that cannot be read but refer to something (a plan's task definition that
    embeds a database address known only after apply): a client whose pool is unknown."""
    if containers or not isinstance(value, Unknown) or not _refs(value):
        return None
    why = f"{origin.text} = {value.expression} is unresolved ({value.reason})"
    return PoolSettings(Value(1, Origin("default: 1 process per task (containers unknown)")),
                        unknown(why, origin.file, origin.line), "pool", refs=_refs(value),
                        is_client=True)


def _ecs_services(model: TerraformModel, settings: Settings, out: Model) -> list[Client]:
    found: list[Client] = []
    for service in model.by_type("aws_ecs_service"):
        task_ref = service.attrs.get("task_definition")
        definitions = [t for t in model.by_type("aws_ecs_task_definition")
                       if _refers_to(task_ref, t)]
        if not definitions:
            continue
        definition = definitions[0]
        origin = Origin(f"{definition.address} container_definitions", definition.file,
                        line_of(definition,
                                 "container_definitions"))
        containers = _containers(definition.attrs.get("container_definitions"))
        desired = _number(service, service.attrs, "desired_count",
                          (ECS_DESIRED_DEFAULT, "aws_ecs_service default"))
        percent = _number(service, service.attrs, "deployment_maximum_percent",
                          (ECS_MAX_PERCENT_DEFAULT, "aws_ecs_service default, Amazon ECS service "
                                                   "definition parameters"))
        maximum = _autoscaling_max(model, service)
        _pgbouncers(service, containers, maximum or desired,
                    _deploy(maximum or desired, percent), origin, out)
        task = _task_settings(containers, origin, settings, definition) or _unknown_task(
            definition.attrs.get("container_definitions"), containers, origin)
        if task is None:
            continue
        setting = ("aws_appautoscaling_target max_capacity" if maximum is not None
                   else "desired_count")
        found.append(_client("ecs", _where(service), task, desired, maximum, percent, setting))
    return found


def _module_services(model: TerraformModel, settings: Settings) -> list[Client]:
    found: list[Client] = []
    for call in model.modules:
        if not _ECS_SERVICE_MODULE.search(call.source):
            continue
        inputs = call.inputs
        origin = Origin(f"{call.address} container_definitions", call.file,
                        line_of(call, "container_definitions"))
        task = _task_settings(_containers(inputs.get("container_definitions")), origin, settings,
                              call)
        if task is None:
            continue
        module_default = "terraform-aws-modules/ecs modules/service variables.tf"
        desired = _number(call, inputs, "desired_count", (MODULE_ECS_DESIRED, module_default))
        percent = _number(call, inputs, "deployment_maximum_percent",
                          (ECS_MAX_PERCENT_DEFAULT, module_default))
        enabled = inputs.get("enable_autoscaling", MODULE_ECS_AUTOSCALING)
        maximum = None
        if enabled is not False:
            maximum = _number(call, inputs, "autoscaling_max_capacity",
                              (MODULE_ECS_MAX, module_default))
        setting = "autoscaling_max_capacity" if maximum is not None else "desired_count"
        found.append(_client("ecs", _where(call), task, desired, maximum, percent, setting))
    return found


# --- CloudWatch alarms on DatabaseConnections -----------------------------------------------

def _metric(attrs: dict[str, Any]) -> dict[str, Any]:
    """The metric an alarm compares: its own attributes, or the metric_query it returns."""
    if "metric_name" in attrs:
        return attrs
    for query in _blocks(attrs, "metric_query"):
        metrics = _blocks(query, "metric")
        if metrics and query.get("return_data") in (True, "true"):
            return {"namespace": metrics[0].get("namespace"), **metrics[0]}
    return {}


def _alarm(block: Resource | ModuleCall, attrs: dict[str, Any]) -> Alarm | None:
    metric = _metric(attrs)
    name, namespace = metric.get("metric_name"), metric.get("namespace")
    unresolved = isinstance(name, Unknown) or isinstance(namespace, Unknown)
    if not unresolved and (name != "DatabaseConnections" or namespace != "AWS/RDS"):
        return None
    dimensions = metric.get("dimensions") or {}
    dimension, value = "", None
    if isinstance(dimensions, dict):
        for key in ("DBInstanceIdentifier", "DBClusterIdentifier"):
            if key in dimensions:
                dimension, value = key, dimensions[key]
    literal = _text(value) if value is not None and "${" not in str(value) else None
    targets = _refs(value) | ({literal} if literal else set())
    text = (value.expression if isinstance(value, Unknown) else str(value)) if value else "none"
    known = not unresolved and isinstance(dimensions, dict) and (bool(targets) or not dimension)
    # an alarm with no DBInstanceIdentifier/DBClusterIdentifier dimension watches no one database
    threshold = attrs.get("threshold")
    line = line_of(block, "threshold")
    number = None if isinstance(threshold, (Unknown, bool)) else _float(threshold)
    why = f"{block.address} threshold" + ("" if number is not None else " (unresolved)")
    comparison = attrs.get("comparison_operator")
    return Alarm(_where(block), dimension, targets, text, known, number,
                 Origin(why, block.file, line),
                 comparison if isinstance(comparison, str) else None)


def _alarms(model: TerraformModel) -> list[Alarm]:
    found = [_alarm(res, res.attrs) for res in model.by_type("aws_cloudwatch_metric_alarm")]
    found += [_alarm(call, call.inputs) for call in model.modules
              if _ALARM_MODULE.search(call.source.split("?")[0])]
    return [alarm for alarm in found if alarm is not None]


def roots_of(model: TerraformModel) -> list[str]:
    """The root modules of a run, in load order."""
    return list(dict.fromkeys([*(r.root for r in model.resources),
                               *(m.root for m in model.modules)]))


def _from_root(model: TerraformModel, settings: Settings, out: Model) -> None:
    out.databases += (_instances(model, settings) + _clusters(model, settings)
                      + _module_databases(model, settings))
    out.roles += _roles(model)
    out.poolers += _proxies(model)
    out.alarms += _alarms(model)
    out.clients += _ecs_services(model, settings, out) + _module_services(model, settings)
    from_tf_kubernetes(model, settings, out)


def from_terraform(model: TerraformModel, settings: Settings) -> Model:
    """Each root module is its own configuration: references resolve only inside it."""
    out = Model()
    resources: dict[str, list[Resource]] = {}
    modules: dict[str, list[ModuleCall]] = {}
    for resource in model.resources:
        resources.setdefault(resource.root, []).append(resource)
    for call in model.modules:
        modules.setdefault(call.root, []).append(call)
    for root in roots_of(model):
        _from_root(TerraformModel(resources.get(root, []), modules.get(root, [])), settings, out)
    return out
