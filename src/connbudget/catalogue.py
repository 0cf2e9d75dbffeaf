"""The rule catalogue: written once, read by every engine, the docs and the Checkov tests."""

from __future__ import annotations

from typing import NamedTuple

DOCS_BASE = "https://github.com/connbudget/connbudget/blob/main/docs/rules"

SEVERITIES = ("info", "warning", "error")


class Rule(NamedTuple):
    id: str
    # the checks that make it: "sql" (role statements; `scan` runs them on Terraform roles
    # too), "capacity", "live" (a running server against the files), or "comments" (the
    # ignore comments themselves, every command)
    family: str
    severity: str
    engines: tuple[str, ...]
    title: str
    # what it judges, which says the platforms it covers (`reporters.catalogue.platforms`):
    # "budgets" (every database platform's), "alarms" (the platforms with connection alarms),
    # "roles" (role statements), "server" (a running server), "inputs", "comments"
    covers: str = "budgets"

    @property
    def checkov_id(self) -> str | None:
        if "checkov" not in self.engines:
            return None
        return "CKV_CB_" + self.id[2:]

    @property
    def doc_path(self) -> str:
        return f"docs/rules/{self.id}.md"

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE}/{self.id}.md"


_ROLE = ("checkov", "rego", "cli")
_CLI = ("cli",)

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("CB001", "sql", "error", _ROLE,
             "A LOGIN role that is not a superuser has no finite CONNECTION LIMIT", covers="roles"),
        Rule("CB002", "sql", "warning", _ROLE,
             "A LOGIN role has CONNECTION LIMIT 0 and can never connect", covers="roles"),
        Rule("CB003", "sql", "warning", _ROLE,
             "A LOGIN role is SUPERUSER: it ignores CONNECTION LIMIT and can take the reserved"
             " slots", covers="roles"),
        Rule("CB004", "sql", "error", _ROLE,
             "A plaintext password literal in a migration or in Terraform", covers="roles"),
        Rule("CB005", "sql", "info", _ROLE,
             "A LOGIN role sets no idle_in_transaction_session_timeout", covers="roles"),
        Rule("CB006", "comments", "warning", _CLI,
             "A connbudget:ignore comment names an unknown rule, gives no reason or matches no"
             " finding", covers="comments"),
        Rule("CB007", "sql", "info", _CLI,
             "A role statement built at run time (DO block, EXECUTE) cannot be checked "
             "statically", covers="roles"),
        Rule("CB008", "sql", "warning", _CLI,
             "SQL built at run time (EXECUTE with a variable, a query fed to gexec) creates or "
             "alters a role that can log in", covers="roles"),
        Rule("CB101", "capacity", "error", _CLI,
             "Worst-case client connections to a database exceed its usable slots"),
        Rule("CB102", "capacity", "warning", _CLI,
             "Worst-case client connections exceed the alert threshold of usable slots"),
        Rule("CB103", "capacity", "warning", _CLI,
             "A client's pool size or scale bound cannot be determined; a stated default is "
             "assumed"),
        Rule("CB104", "capacity", "error", _CLI,
             "A pooler's worst-case server connections exceed the database's usable slots or "
             "the role's CONNECTION LIMIT"),
        Rule("CB105", "capacity", "warning", _CLI,
             "A pooler's max_client_conn is below the sum of the client pools behind it"),
        Rule("CB106", "capacity", "warning", _CLI,
             "A pooler in session mode in front of autoscaled clients (no multiplexing)"),
        Rule("CB107", "capacity", "error", _CLI,
             "A role's CONNECTION LIMIT is below what its pooler or app pool needs"),
        Rule("CB108", "capacity", "warning", _CLI,
             "The worst case during a rolling deploy exceeds usable slots, though steady state"
             " fits"),
        Rule("CB109", "capacity", "warning", _CLI,
             "A managed database has no alarm on its connection count that can fire in time",
             covers="alarms"),
        Rule("CB110", "capacity", "info", _CLI,
             "A run finds nothing connbudget can check or recognise", covers="inputs"),
        Rule("CB111", "capacity", "warning", _CLI,
             "A database's budget is incomplete: something that may connect to it was not read,"
             " or no client of it was"),
        Rule("CB112", "capacity", "error", _CLI,
             "Transaction pooling breaks a client's prepared statements"),
        Rule("CB113", "capacity", "error", _CLI,
             "A PgBouncer pool of size 0 through 1.23 keeps one server connection and its "
             "clients queue"),
        Rule("CB114", "live", "error", _CLI,
             "The running server's max_connections or reserved slots differ from what the "
             "files declare", covers="server"),
        Rule("CB115", "live", "error", _CLI,
             "A role's CONNECTION LIMIT on the running server differs from the migration or "
             "postgresql_role", covers="server"),
        Rule("CB116", "live", "warning", _CLI,
             "A role that can log in on the running server is declared in no file",
             covers="server"),
        Rule("CB117", "live", "warning", _CLI,
             "Connections now reach the alert threshold of the usable slots or of a role's "
             "CONNECTION LIMIT", covers="server"),
        Rule("CB118", "live", "error", _CLI,
             "A running PgBouncer's settings differ from its ini, or it holds more server "
             "connections than the budget counts", covers="server"),
        Rule("CB119", "live", "warning", _CLI,
             "Sessions have been idle in a transaction for longer than the idle threshold",
             covers="server"),
    )
}


# The families each command runs.
_COMMAND_FAMILIES: dict[str, tuple[str, ...]] = {
    "sql": ("sql",), "capacity": ("capacity",), "scan": ("sql", "capacity"), "live": ("live",)}


def rules_run_by(command: str) -> set[str]:
    """The ids of the rules `command` checks the inputs with (never CB006, which is about the
    ignore comments themselves)."""
    families = _COMMAND_FAMILIES[command]
    return {r.id for r in RULES.values() if r.family in families}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
