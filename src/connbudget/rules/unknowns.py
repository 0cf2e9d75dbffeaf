"""CB103: a number the budget needs that the files do not determine (a client or pooler whose
database cannot be told is a coverage item: CB111)."""

from __future__ import annotations

from connbudget.capacity.budget import Budget, units
from connbudget.capacity.fixes import Fix, toml_pin, written_edit, written_text
from connbudget.model import Client, Key, Model
from connbudget.providers.apps.env import PROCESS_VARS, UNKNOWN_LIBRARY
from connbudget.providers.registry import database_platform
from connbudget.report import Edit, Finding
from connbudget.rules.common import anchor, make_finding


def _budget_of(client: Client, budgets: list[Budget]) -> Key | None:
    """The database whose budget counts the client, directly or behind a pooler."""
    return next((b.database.where.key for b in budgets for p in b.paths
                 if p.client is client or client in p.behind), None)


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
                           [("max-connections", "<what SHOW max_connections prints>")])
                + _setting(budget),
                budget.database.where.address, budget.database.where.key))
    for client in model.clients:
        findings.extend(_client_unknowns(client, _budget_of(client, budgets)))
    return findings


def _setting(budget: Budget) -> str:
    """Or setting max_connections in the files, as the platform sets it."""
    setting = database_platform(budget.database.platform).setting
    return f"\nor set it in the files, with {setting}" if setting else ""


# what sets the processes of a task or pod: the variables the environment reader knows
_PROCESS_SETTING = f"the process count ({', '.join(PROCESS_VARS[:-1])} or {PROCESS_VARS[-1]})"


def _client_unknowns(client: Client, budget: Key | None) -> list[Finding]:
    findings: list[Finding] = []
    if client.pool.unlimited:
        findings.append(make_finding(
            "CB103", client.where,
            f"{client.where.label} has no pool bound ({client.pool.origin.text}): it can take "
            "every slot; its worst case is unbounded",
            f"bound the pool: SetMaxOpenConns(n) with n <= what the budget allows "
            f"({client.pool_setting})", budget=budget))
        return findings
    one = units(client, 1)
    for name, value in (("pool size", client.pool), (f"processes per {one}", client.processes),
                        (f"{one} count", client.scale)):
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
        written = (client.pool_written if value is client.pool
                   else client.processes_written if value is client.processes else None)
        fix = (f"set {setting} explicitly (a literal, or a variable with a default)" if setting
               else f"{UNKNOWN_LIBRARY}; then state it: [tool.connbudget.pool-defaults] "
                    "PG_POOL_SIZE = <its pool size>")
        edits: tuple[Edit, ...] = ()
        if written is not None:
            # the application's own setting, stated at the number the budget now assumes
            number = value.value
            edit = written_edit(written, number) if number is not None else None
            edits = (edit,) if edit is not None else ()
            fix = f"set {written.setting} explicitly" + (
                f", at what runs now: {written_text(written, number)}" if number is not None
                else " (a literal, or a variable with a default)")
        findings.append(make_finding("CB103", client.where, message, Fix(fix, edits),
                                     budget=budget))
    return findings
