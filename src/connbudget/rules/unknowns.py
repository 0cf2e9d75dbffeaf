"""CB103: a number the budget needs that the files do not determine.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget
from connbudget.capacity.fixes import toml_pin
from connbudget.model import Client, Model
from connbudget.providers.apps.env import PROCESS_VARS
from connbudget.report import Finding
from connbudget.rules.common import anchor, make_finding


def unknown_findings(model: Model, budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    for budget in budgets:
        if not budget.max_connections.known:
            where = anchor(budget)
            findings.append(make_finding(
                "CB103", where,
                f"max_connections of {budget.database.where.label} cannot be determined: "
                f"{budget.max_connections.origin.text}; its budget is unknown",
                "pin it in pyproject.toml (uncomment, with the number the server reports):\n"
                + toml_pin("databases", budget.database.where.address,
                           [("max-connections", "<what SHOW max_connections prints>")]),
                budget.database.where.address))
    for client in model.clients:
        findings.extend(_client_unknowns(client))
    return findings


# what sets the processes of a task or pod: the variables capacity.pools reads
_PROCESS_SETTING = f"the process count ({', '.join(PROCESS_VARS[:-1])} or {PROCESS_VARS[-1]})"


def _client_unknowns(client: Client) -> list[Finding]:
    findings: list[Finding] = []
    if client.pool.unlimited:
        findings.append(make_finding(
            "CB103", client.where,
            f"{client.where.label} has no pool bound ({client.pool.origin.text}): it can take "
            "every slot; its worst case is unbounded",
            f"bound the pool: SetMaxOpenConns(n) with n <= what the budget allows "
            f"({client.pool_setting})"))
        return findings
    one = client.unit[:-1]  # "task" (ECS) or "pod" (Kubernetes)
    for name, value in (("pool size", client.pool), (f"processes per {one}", client.processes),
                        (f"{one} count", client.max_tasks)):
        if not value.assumed:
            continue
        if value.value is not None:
            message = (f"{client.where.label} {name} is not set: the budget assumes "
                       f"{value.value} ({value.origin.text})")
        else:
            message = (f"{client.where.label} {name} cannot be determined "
                       f"({value.origin.text}); the budget of its database is unknown")
        setting = (client.pool_setting if value is client.pool
                   else _PROCESS_SETTING if value is client.processes else client.scale_setting)
        findings.append(make_finding("CB103", client.where, message,
                                 f"set {setting} explicitly (a literal, or a variable with a "
                                 "default)"))
    return findings
