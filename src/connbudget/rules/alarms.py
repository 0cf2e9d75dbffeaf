"""CB109: an RDS/Aurora database with no CloudWatch alarm on DatabaseConnections that can fire
before the server is full.
"""

from __future__ import annotations

from connbudget.capacity.budget import Budget
from connbudget.capacity.fixes import Fix
from connbudget.model import Alarm, Database
from connbudget.providers.aws.alarms import is_rds
from connbudget.providers.aws.cloudwatch import DEFAULT_SHARE, alarm_block, threshold_for
from connbudget.report import Edit, Finding
from connbudget.rules.common import make_finding

LATEST_SHARE = 0.9  # above 90 % of max_connections an alarm fires too late to act on
_RISING = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")


def _watches(alarm: Alarm, database: Database) -> bool:
    return any(target == alias or target.startswith((alias + ".", alias + "["))
               for target in alarm.targets for alias in database.aliases)


def _why_late(alarm: Alarm, max_connections: int | None) -> str | None:
    """Why this alarm cannot fire in time; None when it can (or that cannot be judged)."""
    if alarm.comparison is not None and alarm.comparison not in _RISING:
        return (f"{alarm.where.label} compares with {alarm.comparison}: it fires when "
                "connections fall, not when they run out")
    if alarm.threshold is None or max_connections is None:
        return None
    origin = alarm.threshold_origin
    threshold = f"{alarm.threshold:g} ({origin.file}:{origin.line})"
    if alarm.threshold >= max_connections:
        return (f"{alarm.where.label} threshold {threshold} is at or above max_connections "
                f"{max_connections}: it can never fire before clients are refused")
    if alarm.threshold > LATEST_SHARE * max_connections:
        return (f"{alarm.where.label} threshold {threshold} is above {LATEST_SHARE:.0%} of "
                f"max_connections {max_connections}: it fires when the server is already full")
    return None


def alarm_findings(alarms: list[Alarm], budgets: list[Budget]) -> list[Finding]:
    findings: list[Finding] = []
    for budget in budgets:
        database = budget.database
        if not is_rds(database):
            continue
        here = [a for a in alarms if a.where.root == database.where.root]
        mine = [a for a in here if _watches(a, database)]
        if not mine and any(not a.target_known for a in here):
            continue  # an alarm whose dimension is unresolved may be this database's
        max_connections = budget.max_connections.value
        reasons = [_why_late(a, max_connections) for a in mine]
        if mine and None in reasons:
            continue
        block = alarm_block(budget, DEFAULT_SHARE) if max_connections is not None else ""
        label = database.where.label
        if mine:
            message = f"no DatabaseConnections alarm on {label} can fire in time: " + "; ".join(
                r for r in reasons if r)
            fix = "\n".join(
                ([f"set threshold = {threshold_for(max_connections, DEFAULT_SHARE)} "
                  f"({DEFAULT_SHARE:.0%} of max_connections {max_connections}) and "
                  "comparison_operator = \"GreaterThanOrEqualToThreshold\" in "
                  + ", ".join(a.where.label for a in mine)] if max_connections else [])
                + ([block] if block else []))
        else:
            others = [f"{a.where.label} watches {a.dimension or 'no'} "
                      f"{a.target_text if a.dimension else 'dimension'}" for a in here]
            message = (f"no CloudWatch alarm on DatabaseConnections watches {label}"
                       + (f" ({'; '.join(others)}, another instance)" if others else "")
                       + ": nothing warns before it runs out of connection slots")
            fix = block or ("add an aws_cloudwatch_metric_alarm on AWS/RDS DatabaseConnections "
                            "once max_connections is known")
        # the alarm block appended to the database's file: applied, it watches in time
        edits = (Edit(database.where.file, 0, "", "\n" + block),) if block and \
            database.where.file.endswith(".tf") else ()
        findings.append(make_finding("CB109", database.where, message, Fix(fix, edits),
                                     database.where.address))
    return findings
