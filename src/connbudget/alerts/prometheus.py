"""A Prometheus rule file for postgres_exporter metrics, thresholds computed from the budget.

`pg_stat_activity_count` (labels datname, state, usename, ...) counts the server's client
connections; summed per scraped server it is what the budget's usable slots bound. A server is
selected by its `instance` label: postgres_exporter's multi-target `/probe?target=` sets it to
the endpoint, and an RDS endpoint starts with the DB identifier (`app.xxxx.region.rds...`).

Prometheus expands labels and annotations as Go templates: text from the scanned files goes
there through `template_text` (no brace of it is ever an action) and into PromQL strings
through `promql_string`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from connbudget.capacity.budget import Budget
from connbudget.model import Database, Role
from connbudget.quoting import promql_string, template_text

_HOST_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
ROLE_SHARE = 0.8  # a role's connections above 80 % of its CONNECTION LIMIT
FOR = "2m"
VALUE = "{{ $value }}"  # the one template action of connbudget's own in a rule


def _endpoint_name(database: Database) -> str | None:
    """The first label of the database's endpoint (an RDS endpoint starts with its
    identifier, a Service's with its name), when the files give exactly one literal name."""
    names = sorted(a for a in database.aliases if _HOST_LABEL.match(a))
    return names[0] if len(names) == 1 else None


def _selector(database: Database) -> tuple[str, str]:
    """The label matcher of the database's server, and how it was chosen."""
    name = _endpoint_name(database)
    if name is None:
        return "", (f"the identifier of {database.where.label} is not a literal in the files: "
                    "the rule watches every scraped server")
    return (f'instance=~"{name.lower()}\\\\..+"',
            f"instance is the endpoint of DB identifier {name} ({database.where.label})")


def _database_rule(budget: Budget, share: float) -> dict[str, Any] | None:
    usable = budget.usable
    if usable is None or usable <= 0:
        return None
    threshold = math.floor(round(share * usable, 6))
    matcher, selected = _selector(budget.database)
    label = budget.database.where.label
    return {
        "alert": "PostgresConnectionsAboveBudgetThreshold",
        "expr": f"sum by (instance) (pg_stat_activity_count{{{matcher}}}) > {threshold}",
        "for": FOR,
        "labels": {"severity": "warning",
                   "database": template_text(budget.database.where.address)},
        "annotations": {
            "summary": f"{template_text(label)}: {VALUE} connections, above {threshold} "
                       f"({share:.0%} of {usable} usable slots)",
            "threshold_source": template_text(
                f"{threshold} = {share:.0%} of usable {usable} = max_connections "
                f"{budget.max_connections.value} ({budget.max_connections.origin}) - reserved "
                f"{budget.reserved.value} ({budget.reserved.origin})"),
            "selector": template_text(selected),
        },
    }


def _role_rule(role: Role, database: Database | None) -> dict[str, Any] | None:
    limit = role.connection_limit.value
    if limit is None or limit <= 0 or not role.connection_limit.known:
        return None
    threshold = math.floor(round(ROLE_SHARE * limit, 6))
    matchers = [f"usename={promql_string(role.name)}"]
    selected = f"role {role.name} on every scraped server"
    if database is not None:
        matcher, selected = _selector(database)
        matchers = [m for m in (matcher, matchers[0]) if m]
    return {
        "alert": "PostgresRoleConnectionsNearLimit",
        "expr": (f"sum by (instance, usename) (pg_stat_activity_count{{{', '.join(matchers)}}})"
                 f" > {threshold}"),
        "for": FOR,
        "labels": {"severity": "warning", "role": template_text(role.name),
                   "resource": template_text(role.where.address)},
        "annotations": {
            "summary": f"role {template_text(role.name)}: {VALUE} connections, above "
                       f"{threshold} ({ROLE_SHARE:.0%} of its CONNECTION LIMIT {limit})",
            "threshold_source": template_text(
                f"{threshold} = {ROLE_SHARE:.0%} of CONNECTION LIMIT {limit} "
                f"({role.connection_limit.origin})"),
            "selector": template_text(selected),
        },
    }


def render(budgets: list[Budget], roles: list[Role], share: float) -> str:
    rules = [r for r in (_database_rule(b, share) for b in budgets) if r is not None]
    for role in roles:
        # a role lives on the server of its root; with one database there, that one
        here = [b.database for b in budgets if b.database.where.root == role.where.root]
        rule = _role_rule(role, here[0] if len(here) == 1 else None)
        if rule is not None:
            rules.append(rule)
    document = {"groups": [{"name": "connbudget", "rules": rules}]}
    return yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True)
