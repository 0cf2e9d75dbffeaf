"""The rule catalogue: written once, read by every engine, the docs and the Checkov checks' tests."""

from __future__ import annotations

from typing import NamedTuple

DOCS_BASE = "https://github.com/connbudget/connbudget/blob/main/docs/rules"

SEVERITIES = ("info", "warning", "error")


class Rule(NamedTuple):
    id: str
    severity: str
    title: str
    engines: tuple[str, ...]

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
_CAPACITY = ("cli",)

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("CB001", "error",
             "A LOGIN role that is not a superuser has no finite CONNECTION LIMIT", _ROLE),
        Rule("CB002", "warning", "A LOGIN role has CONNECTION LIMIT 0 and can never connect", _ROLE),
        Rule("CB003", "warning",
             "A LOGIN role is SUPERUSER: it ignores CONNECTION LIMIT and can take the reserved slots",
             _ROLE),
        Rule("CB004", "error", "A plaintext password literal in a migration or in Terraform", _ROLE),
        Rule("CB005", "info",
             "A LOGIN role sets no idle_in_transaction_session_timeout", _ROLE),
        Rule("CB006", "warning",
             "A connbudget:ignore comment names an unknown rule, gives no reason or matches no "
             "finding", ("cli",)),
        Rule("CB007", "info",
             "A role statement built at run time (DO block, EXECUTE) cannot be checked statically",
             ("cli",)),
        Rule("CB101", "error",
             "Worst-case client connections to a database exceed its usable slots", _CAPACITY),
        Rule("CB102", "warning",
             "Worst-case client connections exceed the alert threshold of usable slots", _CAPACITY),
        Rule("CB103", "warning",
             "A client's pool size or scale bound cannot be determined; a stated default is assumed",
             _CAPACITY),
        Rule("CB104", "error",
             "A pooler's worst-case server connections exceed the database's usable slots or the "
             "role's CONNECTION LIMIT", _CAPACITY),
        Rule("CB105", "warning",
             "A pooler's max_client_conn is below the sum of the client pools behind it", _CAPACITY),
        Rule("CB106", "warning",
             "A pooler in session mode in front of autoscaled clients (no multiplexing)", _CAPACITY),
        Rule("CB107", "error",
             "A role's CONNECTION LIMIT is below what its pooler or app pool needs", _CAPACITY),
        Rule("CB108", "warning",
             "The worst case during a rolling deploy exceeds usable slots, though steady state fits",
             _CAPACITY),
    )
}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
