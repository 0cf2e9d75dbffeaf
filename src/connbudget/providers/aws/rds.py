"""RDS and Aurora PostgreSQL databases from Terraform, and how many connections each allows.

max_connections, in order of precedence (a pin in [tool.connbudget.databases] comes first,
applied by the budget):
  1. the parameter group's `max_connections`: a literal, or a formula evaluated with
     DBInstanceClassMemory = nominal memory x `instance_class_safety_factor`;
  2. Aurora Serverless v2: the data table by maximum ACU (capped at 2000 for a minimum of 0/0.5);
  3. the instance class: the observed default for that engine and class where the data has one,
     else LEAST({DBInstanceClassMemory/9531392}, 5000) with DBInstanceClassMemory = nominal memory
     x the safety factor. AWS publishes no DBInstanceClassMemory table and the observed defaults
     are 80-97 % of the nominal-memory figure (data/SOURCES.md), so the factor defaults to 0.8;
  4. otherwise unknown: never guessed, the finding asks for a pin.
Reserved = PostgreSQL's superuser_reserved_connections (3) + rds.rds_superuser_reserved_connections
(2 on RDS and Aurora), both from the parameter group when set ("100 - 3 - 2 = 95", AWS knowledge
center, rds-postgresql-error-connection-slots, 2022-06-14), + reserved_connections where the
parameter group sets it (PostgreSQL 16 and later). The major version comes from engine_version,
else the parameter group's family (`postgres16`, `aurora-postgresql15`).

terraform-aws-modules defaults used when an input is not set (variables.tf of each module):
  rds (terraform-aws-modules/terraform-aws-rds): instance_class null, parameters [];
  rds-aurora (terraform-aws-modules/terraform-aws-rds-aurora): instances {},
      serverlessv2_scaling_configuration {}, cluster parameters [].
"""

from __future__ import annotations

from typing import Any

import connbudget.providers.aws.data as awsdata
import connbudget.providers.aws.pgformula as pgformula
from connbudget.errors import InputError
from connbudget.frontends.terraform.model import (
    ModuleCall,
    Parameter,
    Resource,
    TerraformModel,
    Unknown,
    line_of,
    parameters,
)
from connbudget.model import Database, Location, Origin, Reservation, Value, count, unknown
from connbudget.providers.aws.modules import AURORA, RDS
from connbudget.providers.postgresql import server as postgresql
from connbudget.providers.tfvalues import blocks, decimal, line_in, refers, text, where_of
from connbudget.settings import Settings

DEFAULT_FORMULA = "LEAST({DBInstanceClassMemory/9531392},5000)"
RDS_SUPERUSER_RESERVED = 2
RDS_RESERVED = "rds.rds_superuser_reserved_connections"
# what a pin's address says about the platform of a database the files do not declare
PINNED_PLATFORMS = (("aws_db_instance.", "rds"), ("aws_rds_cluster.", "aurora"))


def reservations(settings: dict[str, Value] | None = None, major: Value | None = None,
                 ) -> list[Reservation]:
    """PostgreSQL's reserved slots and RDS's own, from a parameter group where it sets them."""
    settings = settings or {}
    return [*postgresql.reservations(settings, major), postgresql.reservation(
        RDS_RESERVED, settings.get(RDS_RESERVED), RDS_SUPERUSER_RESERVED,
        "Amazon RDS for PostgreSQL parameter group default")]


def max_connections_from_parameter(formula: str, instance_class: str | None, origin: Origin,
                                   settings: Settings) -> Value:
    """A parameter group's max_connections: literal, or formula on the class's memory."""
    found = awsdata.instance_class(instance_class) if instance_class else None
    factor = settings.instance_class_safety_factor
    memory = int(found.memory_bytes * factor) if found else None
    result = pgformula.evaluate(formula, memory_bytes=memory, vcpu=found.vcpu if found else None)
    if result.value is None:
        why = result.reason
        if result.variables and found is None:
            why = (f"'{formula}' needs the memory of instance class "
                   f"{instance_class or '(unknown)'}, which is not in the data table")
        return unknown(f"{origin.text}: {why}", origin.file, origin.line)
    if not result.is_formula:
        return Value(result.value, origin)
    used = f"{origin.text} = {formula}"
    if found is not None and result.memory_bytes is not None:
        used += (f" with DBInstanceClassMemory = {found.memory_gib:g} GiB x {factor:g} "
                 f"(safety factor) = {memory} bytes ({found.source})")
    return Value(result.value, Origin(used, origin.file, origin.line),
                 assumed=result.memory_bytes is not None)


def max_connections_from_class(engine: str, instance_class: str | None, where: Origin,
                               settings: Settings) -> Value:
    if not instance_class:
        return unknown(f"default: the instance class of {where.text} is unknown, so "
                       "max_connections is unknown; pin it in [tool.connbudget.databases]",
                       where.file, where.line)
    data_engine = "aurora-postgresql" if engine.startswith("aurora") else "postgres"
    observed = awsdata.observed_default_max_connections(data_engine, instance_class)
    if observed is not None:
        return Value(observed.value, Origin(
            f"data: observed default for {data_engine} {instance_class}, {observed.source}"),
            assumed=True)
    found = awsdata.instance_class(instance_class)
    if found is None:
        return unknown(f"default: instance class {instance_class} is not in the data table "
                       "(rds_instance_classes.csv): max_connections unknown, not guessed; pin it "
                       "in [tool.connbudget.databases]", where.file, where.line)
    factor = settings.instance_class_safety_factor
    memory = int(found.memory_bytes * factor)
    value = pgformula.evaluate(DEFAULT_FORMULA, memory_bytes=memory, vcpu=found.vcpu).value
    return Value(value, Origin(
        f"data: default {DEFAULT_FORMULA} for {instance_class} with DBInstanceClassMemory = "
        f"{found.memory_gib:g} GiB x {factor:g} (safety factor; nominal upper bound "
        f"{found.nominal_max_connections}), {found.source}"), assumed=True)


def max_connections_serverless(max_acu: float | None, min_acu: float | None, where: Origin,
                               ) -> Value:
    if max_acu is None:
        return unknown(f"default: the maximum ACU of {where.text} is unknown, so max_connections "
                       "is unknown; pin it in [tool.connbudget.databases]", where.file, where.line)
    found = awsdata.serverless_v2_max_connections(max_acu, min_acu if min_acu is not None else 0)
    if found is None:
        return unknown(f"default: maximum ACU {max_acu:g} is below the Serverless v2 table",
                       where.file, where.line)
    return Value(found.value, Origin(
        f"data: Aurora Serverless v2 at max {max_acu:g} ACU (row {found.row_max_acu:g} ACU), "
        f"{found.source}"))


def _parameters(block: Resource | ModuleCall, entries: list[dict[str, Any]]
                ) -> dict[str, Parameter]:
    """Parameter name -> the parameter as set (a later entry wins); unset values are not set."""
    return {p.name: p for p in parameters(block, entries) if p.value is not None}


def _param_origin(param: Parameter) -> Origin:
    return Origin.spanning(f"{param.block} parameter {param.name}", param.file, param.span,
                           param.line)


def _unresolved(param: Parameter) -> Value | None:
    """The unknown a parameter whose value could not be resolved gives; None when resolved."""
    if not isinstance(param.value, Unknown):
        return None
    return unknown(f"{_param_origin(param).text} = {param.value.expression} is unresolved",
                   param.file, param.line)


def _setting(param: Parameter) -> Value:
    found = count(param.value) if not isinstance(param.value, Unknown) else None
    if found is not None:
        return Value(found, _param_origin(param))
    return _unresolved(param) or unknown(f"{_param_origin(param).text} is not a whole number",
                                         param.file, param.line)


def _limits(where: Location, engine: str, instance_class: str | None,
            params: dict[str, Parameter], settings: Settings,
            serverless: tuple[float | None, float | None] | None, major: Value | None,
            errors: list[InputError]) -> tuple[Value, list[Reservation]]:
    origin = Origin(where.address, where.file, where.line)
    param = params.get("max_connections")
    if param is not None:
        max_connections = _unresolved(param) or max_connections_from_parameter(
            f"{param.value}", instance_class, _param_origin(param), settings)
    elif serverless is not None:
        max_connections = max_connections_serverless(serverless[1], serverless[0], origin)
    else:
        max_connections = max_connections_from_class(engine, instance_class, origin, settings)
    reserved = {name: _setting(params[name])
                for name in (*postgresql.SLOT_SETTINGS[1:], RDS_RESERVED) if name in params}
    errors += postgresql.refusals(reserved, major, where.address)
    return max_connections, reservations(reserved, major)


def _version(block: Resource | ModuleCall, attrs: dict[str, Any], groups: list[Resource],
             ) -> Value | None:
    """The major version: engine_version (or a module's major_engine_version), else the
    family of its parameter group."""
    for key in ("engine_version", "major_engine_version"):
        found = text(attrs.get(key))
        if found:
            return postgresql.major_version(found, Origin(f"{block.address} {key} {found}",
                                                          block.file, line_of(block, key)))
    for source in ([block] if isinstance(block, ModuleCall) else []) + groups:
        family = text(source.attrs.get("family") if isinstance(source, Resource)
                      else source.inputs.get("family"))
        if family:
            return postgresql.major_version(family, Origin(
                f"{source.address} family {family}", source.file, line_of(source, "family")))
    return None


def _names(res: Resource, key: str) -> set[str]:
    value = res.attrs.get(key)
    return {value} if isinstance(value, str) else set()


def is_postgres(engine: Any) -> bool:
    return not isinstance(engine, str) or "postgres" in engine.lower()


def _groups(model: TerraformModel, types: tuple[str, ...], ref: Any) -> list[Resource]:
    if ref is None:
        return []
    return [group for type_ in types for group in model.by_type(type_) if refers(ref, group)]


def _group_params(groups: list[Resource]) -> dict[str, Parameter]:
    params: dict[str, Parameter] = {}
    for group in groups:
        params.update(_parameters(group, blocks(group.attrs, "parameter")))
    return params


def _size(block: Resource | ModuleCall, key: str) -> Origin | None:
    line = line_in(block, key)
    return Origin(f"{block.address} {key}", block.file, line) if line else None


def _instances(model: TerraformModel, settings: Settings, errors: list[InputError],
               ) -> list[Database]:
    found: list[Database] = []
    for res in model.by_type("aws_db_instance"):
        if not is_postgres(res.attrs.get("engine")):
            continue
        groups = _groups(model, ("aws_db_parameter_group",),
                         res.attrs.get("parameter_group_name"))
        cls = text(res.attrs.get("instance_class"))
        where = where_of(res)
        major = _version(res, res.attrs, groups)
        max_connections, reserved = _limits(where, "postgres", cls, _group_params(groups),
                                            settings, None, major, errors)
        found.append(Database(where, "postgres", "rds", cls, max_connections, reserved,
                              aliases={res.address} | _names(res, "identifier"),
                              size_origin=_size(res, "instance_class"), version=major))
    return found


def _clusters(model: TerraformModel, settings: Settings, errors: list[InputError],
              ) -> list[Database]:
    found: list[Database] = []
    for res in model.by_type("aws_rds_cluster"):
        engine = res.attrs.get("engine")
        if not isinstance(engine, str) or "postgres" not in engine:
            continue
        groups = _groups(model, ("aws_rds_cluster_parameter_group",),
                         res.attrs.get("db_cluster_parameter_group_name"))
        params = _group_params(groups)
        members = [i for i in model.by_type("aws_rds_cluster_instance")
                   if refers(i.attrs.get("cluster_identifier"), res)]
        scaling = blocks(res.attrs, "serverlessv2_scaling_configuration")
        classes = sorted({c for c in (text(i.attrs.get("instance_class")) for i in members) if c})
        for member in members:
            member_groups = _groups(model, ("aws_db_parameter_group",),
                                    member.attrs.get("db_parameter_group_name"))
            groups += member_groups
            params = {**_group_params(member_groups), **params}
        serverless = None
        if scaling or classes == ["db.serverless"]:
            first = scaling[0] if scaling else {}
            serverless = (decimal(first.get("min_capacity")), decimal(first.get("max_capacity")))
        cls = _smallest(engine, [c for c in classes if c != "db.serverless"], settings)
        where = where_of(res)
        major = _version(res, res.attrs, groups)
        max_connections, reserved = _limits(where, engine, cls if serverless is None else None,
                                            params, settings, serverless, major, errors)
        found.append(Database(where, engine, "aurora",
                              cls or ("db.serverless" if serverless else None),
                              max_connections, reserved,
                              aliases={res.address} | {m.address for m in members}
                              | _names(res, "cluster_identifier"),
                              size_origin=_size(res, "max_capacity") if serverless else None,
                              version=major))
    return found


def _smallest(engine: str, classes: list[str], settings: Settings) -> str | None:
    """A cluster's instances each have their own max_connections: budget for the smallest."""
    if not classes:
        return None

    def size(name: str) -> int:
        value = max_connections_from_class(engine, name, Origin(name), settings).value
        return value if value is not None else -1

    return min(classes, key=lambda name: (size(name), name))


def _module_databases(model: TerraformModel, settings: Settings, errors: list[InputError],
                      ) -> list[Database]:
    found: list[Database] = []
    for call in model.modules:
        source = call.source.split("?")[0]
        aurora = bool(AURORA.search(source))
        if not aurora and not RDS.search(source):
            continue
        inputs = call.inputs
        engine = inputs.get("engine")
        if not is_postgres(engine):
            continue
        engine_name = engine if isinstance(engine, str) else ("aurora-postgresql" if aurora
                                                              else "postgres")
        entries = blocks(inputs, "parameters")
        if aurora:
            entries = (blocks(inputs, "db_parameter_group_parameters")
                       + blocks(inputs, "db_cluster_parameter_group_parameters"))
        params = _parameters(call, entries)
        cls = text(inputs.get("instance_class")) or text(inputs.get("cluster_instance_class"))
        serverless = None
        scaling = inputs.get("serverlessv2_scaling_configuration")
        if aurora and isinstance(scaling, dict) and scaling:
            serverless = (decimal(scaling.get("min_capacity")),
                          decimal(scaling.get("max_capacity")))
            cls = "db.serverless"
        where = where_of(call)
        major = _version(call, inputs, [])
        max_connections, reserved = _limits(where, engine_name, None if serverless else cls,
                                            params, settings, serverless, major, errors)
        found.append(Database(where, engine_name, "aurora" if aurora else "rds", cls,
                              max_connections, reserved, aliases={call.address},
                              size_origin=_size(call, "max_capacity" if serverless
                                                else "instance_class"), version=major))
    return found


def databases(model: TerraformModel, settings: Settings, errors: list[InputError],
              ) -> list[Database]:
    """The RDS and Aurora PostgreSQL databases; a setting their version refuses is an error."""
    return (_instances(model, settings, errors) + _clusters(model, settings, errors)
            + _module_databases(model, settings, errors))
