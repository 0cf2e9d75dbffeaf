"""RDS Proxy: `aws_db_proxy` with its default target group and targets.

The proxy opens up to `max_connections_percent` of its target's max_connections; AWS's default
is 100 (RDS Proxy documentation, connection pool configuration). MySQL and SQL Server proxies
front no PostgreSQL database and are skipped.
"""

from __future__ import annotations

from connbudget.frontends.terraform.model import Resource, TerraformModel
from connbudget.model import Origin, PercentProxy, Value
from connbudget.providers.tfvalues import blocks, number, refers, refs, where_of

PROXY_PERCENT_DEFAULT = 100


def _percent_block(group: Resource) -> tuple[Origin, bool]:
    """Where a target group's max_connections_percent goes: inside its connection_pool_config
    block when it has one (True), else as a new block in the target group (False)."""
    inner = group.body.get("blocks", []) if isinstance(group.body, dict) else []
    config = next((b for b in inner if isinstance(b, dict)
                   and b.get("type") == "connection_pool_config"), None)
    if config is not None and isinstance(config.get("line"), int):
        return Origin(f"{group.address} connection_pool_config", group.file, config["line"]), True
    return Origin(group.address, group.file, group.line), False


def proxies(model: TerraformModel) -> list[PercentProxy]:
    found: list[PercentProxy] = []
    for proxy in model.by_type("aws_db_proxy"):
        family = proxy.attrs.get("engine_family")
        if isinstance(family, str) and family.upper() != "POSTGRESQL":
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
