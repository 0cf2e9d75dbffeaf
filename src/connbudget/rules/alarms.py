"""CB109: a database whose platform has connection alarms, with no alarm that can fire before
the server is full. The platform's alarm module (`DatabasePlatform.alarms`) says what watches
a database and writes the alarm that would: the rule itself knows no platform.

An alarm cannot fire in time when its threshold is at or above max_connections, above 90 % of
it, or it compares the wrong way; the alarm a fix adds fires at the budget's alert threshold
of max_connections.
"""

from __future__ import annotations

from typing import Any

from connbudget.capacity.budget import Budget
from connbudget.capacity.fixes import Fix
from connbudget.model import Alarm
from connbudget.providers.registry import database_platform
from connbudget.report import Edit, Finding
from connbudget.rules.common import Run, make_finding

LATEST_SHARE = 0.9  # above 90 % of max_connections an alarm fires too late to act on


def _why_late(alarm: Alarm, max_connections: int | None, rising: tuple[str, ...]) -> str | None:
    """Why this alarm cannot fire in time; None when it can (or that cannot be judged).
    `rising`: the comparisons of its service that fire as connections rise."""
    if alarm.comparison is not None and alarm.comparison not in rising:
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


def _finding(budget: Budget, alarms: Any, here: list[Alarm], mine: list[Alarm],
             reasons: list[str | None], share: float) -> Finding:
    database = budget.database
    max_connections = budget.max_connections.value
    block = alarms.alarm_block(budget, share) if max_connections is not None else ""
    label = database.where.label
    if mine:
        message = (f"no {alarms.METRIC} alarm on {label} can fire in time: "
                   + "; ".join(r for r in reasons if r))
        fix = "\n".join(
            ([f"set {alarms.THRESHOLD} = {alarms.threshold_for(max_connections, share)} "
              f"({share:.0%} of max_connections {max_connections}) and {alarms.COMPARISON} in "
              + ", ".join(a.where.label for a in mine)] if max_connections else [])
            + ([block] if block else []))
    else:
        others = [f"{a.where.label} watches {a.dimension or 'no'} "
                  f"{a.target_text if a.dimension else 'dimension'}" for a in here]
        message = (f"no {alarms.SERVICE} alarm on {alarms.METRIC} watches {label}"
                   + (f" ({'; '.join(others)}, another instance)" if others else "")
                   + ": nothing warns before it runs out of connection slots")
        fix = block or f"{alarms.ADD} once max_connections is known"
    # the alarm block appended to the database's file: applied, it watches in time
    edits = (Edit(database.where.file, 0, "", "\n" + block),) if block and \
        database.where.file.endswith(alarms.FILE_SUFFIX) else ()
    return make_finding("CB109", database.where, message, Fix(fix, edits),
                        database.where.address, database.where.key)


def alarm_findings(alarms: list[Alarm], budgets: list[Budget], run: Run) -> list[Finding]:
    findings: list[Finding] = []
    if not run.on("CB109"):
        return findings
    for budget in budgets:
        database = budget.database
        module = database_platform(database.platform).alarm_module()
        if module is None or not module.watchable(database):
            continue
        here = [a for a in alarms if a.where.root == database.where.root and module.owns(a)]
        mine = [a for a in here if module.watches(a, database)]
        if not mine and any(not a.target_known for a in here):
            continue  # an alarm whose dimension is unresolved may be this database's
        reasons = [_why_late(a, budget.max_connections.value, module.RISING) for a in mine]
        if mine and None in reasons:
            continue
        findings.append(_finding(budget, module, here, mine, reasons, run.threshold))
    return findings
