"""RDS Proxy: `aws_db_proxy` with its default target group and targets, and the
terraform-aws-modules/rds-proxy/aws module.

The proxy opens up to `max_connections_percent` of its target's max_connections; AWS's default
is 100 (RDS Proxy documentation, connection pool configuration), the module's input defaults to
90 (its variables.tf, data/terraform_module_inputs.csv). MySQL and SQL Server proxies front no
PostgreSQL database and are skipped.
"""

from __future__ import annotations

from connbudget.frontends.terraform.model import ModuleCall, Resource, TerraformModel
from connbudget.model import Origin, PercentProxy, Value, count
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.modules import RDS_PROXY
from connbudget.providers.tfvalues import blocks, number, refers, refs, where_of

PROXY_PERCENT_DEFAULT = 100
MODULE = "terraform-aws-modules/rds-proxy/aws"
_PERCENT = "max_connections_percent"


def _percent_block(group: Resource) -> tuple[Origin, bool]:
    """Where a target group's max_connections_percent goes: inside its connection_pool_config
    block when it has one (True), else as a new block in the target group (False)."""
    inner = group.body.get("blocks", []) if isinstance(group.body, dict) else []
    config = next((b for b in inner if isinstance(b, dict)
                   and b.get("type") == "connection_pool_config"), None)
    if config is not None and isinstance(config.get("line"), int):
        return Origin(f"{group.address} connection_pool_config", group.file, config["line"]), True
    return Origin(group.address, group.file, group.line), False


def _postgres(family: object) -> bool:
    return not isinstance(family, str) or family.upper() in ("POSTGRESQL", "")


def _module_percent(call: ModuleCall) -> Value:
    if call.inputs.get(_PERCENT) is not None:
        return number(call, call.inputs, _PERCENT, None)
    default = facts.module_input(MODULE, _PERCENT)
    value = count(default.default) if default is not None else None
    if default is None or value is None:
        return Value(None, Origin(f"{call.address} sets no {_PERCENT}"), assumed=True)
    return Value(value, Origin(f"default: {_PERCENT} {value} ({MODULE} {default.release}, "
                               f"{default.cite.source})"))


def _module_targets(call: ModuleCall) -> set[str]:
    found: set[str] = set()
    for switch, key in (("target_db_instance", "db_instance_identifier"),
                        ("target_db_cluster", "db_cluster_identifier")):
        value = call.inputs.get(key)
        if call.inputs.get(switch) is True:
            found |= refs(value) | ({value} if isinstance(value, str) and value else set())
    return found


def _module_proxies(model: TerraformModel) -> list[PercentProxy]:
    """terraform-aws-modules/rds-proxy calls: the call itself is the proxy (its outputs,
    `module.<name>.proxy_endpoint`, name it)."""
    return [PercentProxy(where_of(call), aliases={call.address},
                         target_refs=_module_targets(call), percent=_module_percent(call),
                         percent_block=Origin(call.address, call.file, call.line),
                         percent_block_open=True, product="rds-proxy")
            for call in model.modules
            if RDS_PROXY.search(call.source) and _postgres(call.inputs.get("engine_family"))]


def proxies(model: TerraformModel) -> list[PercentProxy]:
    found: list[PercentProxy] = _module_proxies(model)
    for proxy in model.by_type("aws_db_proxy"):
        if not _postgres(proxy.attrs.get("engine_family")):
            continue
        percent = Value(PROXY_PERCENT_DEFAULT, Origin(
            f"default: max_connections_percent {PROXY_PERCENT_DEFAULT} (RDS Proxy "
            "connection_pool_config default, AWS RDS Proxy documentation)"))
        target_refs: set[str] = set()
        block: Origin | None = None
        block_open = False
        for group in model.by_type("aws_db_proxy_default_target_group"):
            if refers(group.attrs.get("db_proxy_name"), proxy):
                block, block_open = _percent_block(group)
                for config in blocks(group.attrs, "connection_pool_config"):
                    if "max_connections_percent" in config:
                        percent = number(group, config, "max_connections_percent", None)
        for target in model.by_type("aws_db_proxy_target"):
            if refers(target.attrs.get("db_proxy_name"), proxy):
                for key in ("db_instance_identifier", "db_cluster_identifier"):
                    value = target.attrs.get(key)
                    target_refs |= refs(value) | ({value} if isinstance(value, str) else set())
        aliases = {proxy.address} | {e.address for e in model.by_type("aws_db_proxy_endpoint")
                                     if refers(e.attrs.get("db_proxy_name"), proxy)}
        found.append(PercentProxy(where_of(proxy), aliases=aliases, target_refs=target_refs,
                                  percent=percent, percent_block=block,
                                  percent_block_open=block_open, product="rds-proxy"))
    return found
