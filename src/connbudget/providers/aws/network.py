"""Who can reach a database: the security groups of the same Terraform root.

A database (or RDS Proxy) belongs to the groups of its `vpc_security_group_ids`; a group admits
traffic on the database's port from other groups or from CIDR blocks, by inline `ingress`
blocks, `aws_security_group_rule` (type ingress) and `aws_vpc_security_group_ingress_rule`, and
the rds-aurora module's own group by its rule inputs. Compute belongs to groups too: ECS
services and scheduled ECS tasks (`network_configuration`), Lambda functions (`vpc_config`),
App Runner services (their VPC connector), Batch compute environments, Auto Scaling groups
(their launch template or launch configuration) and instances. A group is named by the address
that declares it, a module whose output it is, or a literal id; protocol "-1" admits every
port, "tcp" (or 6) the range `from_port`-`to_port`; a port the files do not give admits.

What it gives (`Reach` in the model): the databases and proxies each compute resource can reach,
which matching falls back on for a client whose connection setting does not say
(`reachable`, the registry's hook). What it states (`Unread` of a database): compute that can
reach it and is no client (its environment names no database, or, for an Auto Scaling group,
is not in Terraform at all), and a CIDR block its groups admit: whatever runs there is not in
the files. Only databases: a proxy opens its own, bounded, connections.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from connbudget.frontends.terraform.model import ModuleCall, Resource, TerraformModel
from connbudget.model import Key, Model, Reach, Unread, count, refers_to
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.modules import APP_RUNNER, AURORA, ECS_SERVICE, LAMBDA, RDS_PROXY
from connbudget.providers.tfvalues import blocks, line_in, refers, refs

_INDEX = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class _Rule:
    """An ingress rule: the groups it belongs to, what it admits, on which ports."""

    where: str  # "aws_security_group.db ingress (main.tf:12)"
    file: str
    line: int
    groups: frozenset[str]
    sources: frozenset[str]
    cidrs: tuple[str, ...]
    ports: tuple[int, int] | None  # None: every port, or ports the files do not give


@dataclass(frozen=True)
class _Member:
    """A compute resource and the groups it runs in."""

    address: str
    kind: str
    file: str
    line: int
    groups: frozenset[str]


@dataclass(frozen=True)
class _Target:
    key: Key
    groups: frozenset[str]
    port: int | None  # None: any port (a proxy: the files do not give its port)
    database: bool


def _base(ref: str) -> str:
    return _INDEX.sub("", ref)


def _groups(value: Any) -> frozenset[str]:
    """The security groups a value names: addresses (without attribute or index), a module
    whose output it is, literal ids."""
    found = {_base(ref) for ref in refs(value)}
    items = value if isinstance(value, list) else [value]
    found |= {item for item in items if isinstance(item, str) and item and "${" not in item}
    return frozenset(found)


def _shown(value: Any) -> tuple[str, ...]:
    """CIDR blocks as the rule admits them: a network when it is one, else what computes it
    (never other text of the input)."""
    shown = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item:
            try:
                shown.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                shown.append("a CIDR block")
        elif item is not None:
            named = sorted(refs(item))
            shown.append(f"the CIDR block of {', '.join(named)}" if named
                         else "a CIDR block the files compute")
    return tuple(shown)


def _ports(protocol: Any, low: Any, high: Any) -> tuple[int, int] | None | bool:
    """The TCP ports a rule admits: a range, None for every port (or ports the files do not
    give), False when it admits no TCP."""
    name = str(protocol).lower() if isinstance(protocol, (str, int)) else None
    if name in ("-1", "all"):
        return None
    if name is not None and name not in ("tcp", "6"):
        return False
    start, end = count(low), count(high)
    return (start, end) if start is not None and end is not None else None


def _rule(block: Resource | ModuleCall, where: str, line: int, groups: frozenset[str],
          sources: Any, cidrs: list[Any], ports: tuple[int, int] | None | bool) -> list[_Rule]:
    if ports is False:
        return []
    shown = tuple(c for value in cidrs for c in _shown(value))
    return [_Rule(f"{where} ({block.file}:{line})", block.file, line, groups,
                  _groups(sources), shown, ports if isinstance(ports, tuple) else None)]


def _inline(group: Resource) -> Iterator[_Rule]:
    lines = [b["line"] for b in group.body.get("blocks", []) if b.get("type") == "ingress"]
    entries = blocks(group.attrs, "ingress")
    for index, entry in enumerate(entries):
        line = lines[index] if len(lines) == len(entries) else group.line
        sources = [*(entry.get("security_groups") or []),
                   *([group.address] if entry.get("self") is True else [])]
        yield from _rule(group, f"{group.address} ingress", line,
                         frozenset({_base(group.address)}), sources,
                         [entry.get("cidr_blocks"), entry.get("ipv6_cidr_blocks"),
                          entry.get("prefix_list_ids")],
                         _ports(entry.get("protocol"), entry.get("from_port"),
                                entry.get("to_port")))


def _rules(model: TerraformModel) -> list[_Rule]:
    found: list[_Rule] = []
    for group in model.by_type("aws_security_group"):
        found += _inline(group)
    for rule in model.by_type("aws_security_group_rule"):
        attrs = rule.attrs
        if attrs.get("type") != "ingress":
            continue
        owner = _groups(attrs.get("security_group_id"))
        sources = [attrs.get("source_security_group_id"),
                   *([attrs.get("security_group_id")] if attrs.get("self") is True else [])]
        found += _rule(rule, rule.address, rule.line, owner, sources,
                       [attrs.get("cidr_blocks"), attrs.get("ipv6_cidr_blocks"),
                        attrs.get("prefix_list_ids")],
                       _ports(attrs.get("protocol"), attrs.get("from_port"),
                              attrs.get("to_port")))
    for rule in model.by_type("aws_vpc_security_group_ingress_rule"):
        attrs = rule.attrs
        found += _rule(rule, rule.address, rule.line, _groups(attrs.get("security_group_id")),
                       attrs.get("referenced_security_group_id"),
                       [attrs.get("cidr_ipv4"), attrs.get("cidr_ipv6"),
                        attrs.get("prefix_list_id")],
                       _ports(attrs.get("ip_protocol"), attrs.get("from_port"),
                              attrs.get("to_port")))
    for call in model.modules:
        if AURORA.search(call.source):
            found += _aurora_rules(call)
    return found


def _aurora_rules(call: ModuleCall) -> list[_Rule]:
    """The rds-aurora module's own security group: `security_group_rules` (type ingress by
    default) and `security_group_ingress_rules`, on the cluster's port unless they say."""
    found: list[_Rule] = []
    own = frozenset({call.address})
    for name in ("security_group_rules", "security_group_ingress_rules"):
        entries = call.inputs.get(name)
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            if not isinstance(entry, dict) or entry.get("type", "ingress") != "ingress":
                continue
            found += _rule(call, f'{call.address} {name}["{key}"]', line_in(call, name) or
                           call.line, own, [entry.get("source_security_group_id"),
                                            entry.get("referenced_security_group_id")],
                           [entry.get("cidr_blocks"), entry.get("cidr_ipv4"),
                            entry.get("cidr_ipv6"), entry.get("prefix_list_id")],
                           _ports(entry.get("protocol", entry.get("ip_protocol", "tcp")),
                                  entry.get("from_port"), entry.get("to_port")))
    return found


def _port(value: Any, aurora: bool) -> int | None:
    written = count(value)
    return written if written is not None else facts.postgres_port_default(aurora).value


def _targets(model: TerraformModel, keys: set[Key], databases: set[Key]) -> list[_Target]:
    """The modelled databases and proxies of the root with their groups and ports."""
    found: list[_Target] = []
    for type_ in ("aws_db_instance", "aws_rds_cluster", "aws_db_proxy"):
        for resource in model.by_type(type_):
            key = (resource.root, resource.address)
            port = None if type_ == "aws_db_proxy" else _port(
                resource.attrs.get("port"), type_ == "aws_rds_cluster")
            if key in keys:
                found.append(_Target(key, _groups(resource.attrs.get("vpc_security_group_ids")),
                                     port, key in databases))
    for call in model.modules:
        key = (call.root, call.address)
        if key not in keys:
            continue
        aurora = bool(AURORA.search(call.source))
        own = frozenset({call.address}) if aurora else frozenset()
        port = None if RDS_PROXY.search(call.source) else _port(call.inputs.get("port"), aurora)
        found.append(_Target(key, own | _groups(call.inputs.get("vpc_security_group_ids")),
                             port, key in databases))
    return found


def _member(block: Resource | ModuleCall, kind: str, groups: frozenset[str]) -> list[_Member]:
    return [_Member(block.address, kind, block.file, block.line, groups)] if groups else []


def _launch_groups(model: TerraformModel, group: Resource) -> frozenset[str]:
    """The security groups an Auto Scaling group's instances get from its launch template or
    launch configuration."""
    wanted = [*(t.get("id") or t.get("name") for t in blocks(group.attrs, "launch_template")),
              group.attrs.get("launch_configuration")]
    for policy in blocks(group.attrs, "mixed_instances_policy"):
        for mixed in blocks(policy, "launch_template"):
            wanted += [s.get("launch_template_id") or s.get("launch_template_name")
                       for s in blocks(mixed, "launch_template_specification")]
    found: set[str] = set()
    for template in model.by_type("aws_launch_template"):
        if any(refers(value, template) for value in wanted):
            found |= _groups(template.attrs.get("vpc_security_group_ids"))
            for interface in blocks(template.attrs, "network_interfaces"):
                found |= _groups(interface.get("security_groups"))
    for configuration in model.by_type("aws_launch_configuration"):
        if any(refers(value, configuration) for value in wanted):
            found |= _groups(configuration.attrs.get("security_groups"))
    return frozenset(found)


def _connector_groups(model: TerraformModel, arn: Any) -> frozenset[str]:
    found: set[str] = set()
    for connector in model.by_type("aws_apprunner_vpc_connector"):
        if refers(arn, connector):
            found |= _groups(connector.attrs.get("security_groups"))
    return frozenset(found)


def _network(attrs: dict[str, Any], key: str) -> frozenset[str]:
    return frozenset().union(*(_groups(n.get(key)) for n in blocks(attrs, "network_configuration")))


def _members(model: TerraformModel) -> list[_Member]:
    found: list[_Member] = []
    for service in model.by_type("aws_ecs_service"):
        found += _member(service, "ECS service", _network(service.attrs, "security_groups"))
    for target in model.by_type("aws_cloudwatch_event_target"):
        for ecs in blocks(target.attrs, "ecs_target"):
            found += _member(target, "scheduled ECS task", _network(ecs, "security_groups"))
    for function in model.by_type("aws_lambda_function"):
        groups = frozenset().union(*(_groups(v.get("security_group_ids"))
                                     for v in blocks(function.attrs, "vpc_config")))
        found += _member(function, "Lambda function", groups)
    for service in model.by_type("aws_apprunner_service"):
        arns = [e.get("vpc_connector_arn")
                for n in blocks(service.attrs, "network_configuration")
                for e in blocks(n, "egress_configuration")]
        found += _member(service, "App Runner service",
                         frozenset().union(*(_connector_groups(model, a) for a in arns)))
    environments = frozenset().union(*(
        _groups(r.get("security_group_ids"))
        for e in model.by_type("aws_batch_compute_environment")
        for r in blocks(e.attrs, "compute_resources")))
    for job in model.by_type("aws_batch_job_definition"):
        found += _member(job, "AWS Batch job definition", environments)
    for group in model.by_type("aws_autoscaling_group"):
        found.append(_Member(group.address, "Auto Scaling group", group.file, group.line,
                             _launch_groups(model, group)))
    for instance in model.by_type("aws_instance"):
        found.append(_Member(instance.address, "EC2 instance", instance.file, instance.line,
                             _groups(instance.attrs.get("vpc_security_group_ids"))
                             | _groups(instance.attrs.get("security_groups"))))
    return found + _module_members(model)


def _module_members(model: TerraformModel) -> list[_Member]:
    found: list[_Member] = []
    for call in model.modules:
        inputs = call.inputs
        if LAMBDA.search(call.source) and inputs.get("vpc_subnet_ids") is not None:
            found += _member(call, "Lambda function", _groups(inputs.get(
                "vpc_security_group_ids")))
        elif ECS_SERVICE.search(call.source):
            # the group the module may create is named by its outputs, `module.<name>....`
            found += _member(call, "ECS service", frozenset({call.address}) | _groups(
                inputs.get("security_group_ids")))
        elif APP_RUNNER.search(call.source):
            groups = _groups(inputs.get("vpc_connector_security_groups")) \
                if inputs.get("create_vpc_connector") is True else frozenset()
            found += _member(call, "App Runner service", groups)
    return found


def _admits(target: _Target, rules: list[_Rule]) -> list[_Rule]:
    return [rule for rule in rules if rule.groups & target.groups and (
        rule.ports is None or target.port is None
        or rule.ports[0] <= target.port <= rule.ports[1])]


def _same(group: str, other: str) -> bool:
    return refers_to(group, other) or refers_to(other, group)


def _reach(member: _Member, admitting: list[_Rule]) -> str | None:
    """How the member can reach the target its `admitting` rules belong to; None if not."""
    for rule in admitting:
        for group in sorted(member.groups):
            if any(_same(group, source) for source in rule.sources):
                return f"{rule.where} admits {group}, a group of {member.address}"
    return None


def _root(model: TerraformModel) -> str:
    roots = [r.root for r in model.resources] + [m.root for m in model.modules]
    return roots[0] if roots else ""


def build(model: TerraformModel, out: Model) -> None:
    """The network paths of one root into `out.network`, and what they show unread."""
    root = _root(model)
    databases = {d.where.key for d in out.databases if d.where.root == root}
    keys = databases | {p.where.key for p in out.poolers if p.where.root == root}
    targets = _targets(model, keys, databases)
    if not targets:
        return
    rules = _rules(model)
    clients = {c.where.address for c in out.clients if c.where.root == root}
    unread = {u.what for u in out.unread if u.root == root}
    members = _members(model)
    for target in targets:
        admitting = _admits(target, rules)
        if target.database:
            out.unread += _open(target, admitting)
        for member in members:
            how = _reach(member, admitting)
            if how is None:
                continue
            out.network.append(Reach((root, member.address), target.key, how))
            if target.database and member.address not in clients | unread:
                out.unread.append(_not_a_client(member, target, how, root))
    out.unread += _unplaced(members, targets, root)


def _open(target: _Target, admitting: list[_Rule]) -> list[Unread]:
    return [Unread(f"{cidr} ({rule.where.split(' (')[0]})",
                   f"a security group of {target.key[1]} admits {cidr} on port "
                   f"{target.port or 'any'}: whatever runs there can connect, and the files do "
                   "not say what", rule.file, rule.line,
                   "admit the clients' security groups instead of the block; if nothing the "
                   "files do not describe connects from it, say so with a connbudget:ignore "
                   "comment on the rule", kind="network", root=target.key[0],
                   databases=frozenset({target.key}))
            for rule in admitting for cidr in rule.cidrs]


# compute whose application's environment Terraform does not hold: what connects from it is
# never read
_OUTSIDE = ("Auto Scaling group", "EC2 instance")
_OUTSIDE_FIX = ("its instances are configured outside Terraform: once their connections are "
                "counted, say so with a connbudget:ignore comment on it, or admit only the "
                "database's clients")
_SET = ("set the database's address and the pool size in its environment (DATABASE_URL or "
        "PGHOST, and PG_POOL_SIZE or its library's setting) so that it is counted, or admit "
        "only the database's clients")


def _not_a_client(member: _Member, target: _Target, how: str, root: str) -> Unread:
    outside = member.kind in _OUTSIDE
    why = ("its instances' environment is not in Terraform" if outside
           else "its environment names no database")
    return Unread(member.address, f"{member.kind} that can reach {target.key[1]} over the "
                                  f"network ({how}), and is counted as no client of it: {why}",
                  member.file, member.line, _OUTSIDE_FIX if outside else _SET, root=root,
                  databases=frozenset({target.key}))


def _unplaced(members: list[_Member], targets: list[_Target], root: str) -> list[Unread]:
    """Auto Scaling groups and instances whose reach cannot be told (their groups, or a
    database's, are not in the files): every such database may have them as clients."""
    unknown = frozenset(t.key for t in targets if t.database and not t.groups)
    found = []
    for member in members:
        if member.kind not in _OUTSIDE:
            continue
        databases = unknown if member.groups else frozenset(
            t.key for t in targets if t.database)
        if databases:
            found.append(Unread(
                member.address, f"{member.kind} whose instances' environment is not in "
                                f"Terraform, and whose network reach to "
                                f"{', '.join(sorted(k[1] for k in databases))} the files do "
                                "not give", member.file, member.line,
                "give its and the database's security groups, which say who connects; "
                + _OUTSIDE_FIX, root=root, databases=databases))
    return found


def reachable(model: Model) -> dict[Key, dict[Key, str]]:
    """The registry's hook: per compute resource, the databases and proxies its security
    groups can reach, and how."""
    found: dict[Key, dict[Key, str]] = {}
    for reach in model.network:
        found.setdefault(reach.source, {}).setdefault(reach.target, reach.how)
    return found
