"""CB007 and CB008: role statements that only their run decides, as the SQL front end found
them (built at run time, filled in by templates, run by psql's \\gexec)."""

from __future__ import annotations

from connbudget.frontends.sql.reader import RunTime
from connbudget.report import Finding

# "login": run-time SQL that makes a role able to log in (warning); the rest cannot be checked
_RULES = {"login": "CB008", "grant": "CB007", "unread": "CB007", "template": "CB007"}


def run_time_findings(found: list[RunTime], disabled: set[str]) -> list[Finding]:
    return [Finding(_RULES[item.kind], item.message, item.file, item.line, fix=item.fix,
                    column=item.column) for item in found if _RULES[item.kind] not in disabled]
