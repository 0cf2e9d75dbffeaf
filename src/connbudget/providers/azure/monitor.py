"""Azure Monitor metric alerts on a flexible server's `active_connections`: the ones the
Terraform declares (`azurerm_monitor_metric_alert` whose `criteria` name the metric, and whose
`scopes` name the server), and the blocks connbudget writes (`terraform fmt` clean).

A written alert compares the Maximum of each minute, over a five-minute window, with the
budget's alert threshold of max_connections (GreaterThanOrEqual), as the metric counts every
connection against max_connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Alarm, Database, refers_to
from connbudget.providers import alerting
from connbudget.providers.alerting import aligned, header, threshold_for
from connbudget.providers.azure import tables
from connbudget.providers.tfvalues import blocks, decimal, located_at, location, refs, text
from connbudget.quoting import hcl_string, referable, split_address

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget

SERVICE = "Azure Monitor"
_METRIC = tables.connections_metric()
assert _METRIC is not None
METRIC = _METRIC.value
FORMAT = "azure-monitor"  # connbudget alerts --format
FILE_SUFFIX = ".tf"
ALERT = "azurerm_monitor_metric_alert"
ADD = f"add an {ALERT} on {METRIC}"
RISING = ("GreaterThan", "GreaterThanOrEqual")
COMPARISON = 'operator = "GreaterThanOrEqual"'
THRESHOLD = "threshold"
__all__ = ["threshold_for"]


def watchable(database: Database) -> bool:
    """A server declared in the scanned Terraform (not only pinned): an alert can scope it."""
    return alerting.in_terraform(database)


def owns(alarm: Alarm) -> bool:
    return alarm.service == SERVICE


def watches(alarm: Alarm, database: Database) -> bool:
    return any(refers_to(target, name) for target in alarm.targets for name in database.aliases)


def _namespace() -> str:
    found = tables.fact("monitor.metric_namespace")
    return found.value if found else "Microsoft.DBforPostgreSQL/flexibleServers"


def alarm_block(budget: Budget, share: float) -> str:
    """One metric alert for one server; its max_connections must be known; "" when its
    address cannot be written as a Terraform reference."""
    database = budget.database
    max_connections = budget.max_connections.value
    assert max_connections is not None
    _, ref = split_address(database.where.address)
    if not referable(ref):  # a hostile key is never written into a generated file
        return ""
    lines = header(budget)
    lines.append(f'resource "{ALERT}" "{alerting.label(database.where.address, "azurerm_")}" {{')
    lines += aligned([
        ("name", f'"${{{ref}.name}}-active-connections"'),
        ("resource_group_name", f"{ref}.resource_group_name"),
        ("scopes", f"[{ref}.id]"),
        ("description", hcl_string(f"{METRIC} at {share:.0%} of max_connections {max_connections}: "
                              "connbudget alerts")),
        ("frequency", '"PT1M"'),
        ("window_size", '"PT5M"'),
    ], "  ")
    lines += ["", "  criteria {", *aligned([
        ("metric_namespace", f'"{_namespace()}"'),
        ("metric_name", f'"{METRIC}"'),
        ("aggregation", '"Maximum"'),
        ("operator", '"GreaterThanOrEqual"'),
        ("threshold", str(threshold_for(max_connections, share))),
    ], "    "), "  }",
        "  # action { action_group_id = azurerm_monitor_action_group.<yours>.id }", "}"]
    return "\n".join(lines)


def render(budgets: list[Budget], share: float) -> str:
    """The metric alerts of every flexible server declared in Terraform, as one file."""
    return alerting.render(budgets, share, ("azure-flexible",), alarm_block)


# --- the metric alerts a Terraform root declares -----------------------------------------------

def _alarm(res: Resource, index: int, criteria: dict[str, Any]) -> Alarm | None:
    name = criteria.get("metric_name")
    if not isinstance(name, Unknown) and name != METRIC:
        return None
    scopes = res.attrs.get("scopes")
    literal = {item.rsplit("/", 1)[-1].lower() for item in (scopes or [])
               if isinstance(item, str) and "${" not in item} if isinstance(scopes, list) else set()
    targets = refs(scopes) | literal
    known = not isinstance(name, Unknown) and bool(targets)
    value = criteria.get("threshold")
    number = None if isinstance(value, (Unknown, bool)) else decimal(value)
    origin = located_at(res, (("criteria", index),), "threshold",
                     f"{res.address} threshold" + ("" if number is not None else " (unresolved)"))
    operator = criteria.get("operator")
    written = ", ".join(sorted(targets)) or "none"
    return Alarm(location(res), "scopes", targets, written, known, number, origin,
                 operator if isinstance(operator, str) else None, SERVICE)


def _dynamic(res: Resource) -> list[Alarm]:
    """Dynamic-threshold criteria on the metric: their threshold is learned, never judged."""
    found = []
    for criteria in blocks(res.attrs, "dynamic_criteria"):
        if criteria.get("metric_name") == METRIC or isinstance(criteria.get("metric_name"),
                                                                Unknown):
            found.append(Alarm(location(res), "scopes", refs(res.attrs.get("scopes")),
                               text(res.attrs.get("name")) or res.address, False, None,
                               located_at(res, (), "scopes", f"{res.address} dynamic_criteria"),
                               None, SERVICE))
    return found


def alarms(model: TerraformModel) -> list[Alarm]:
    found: list[Alarm | None] = []
    for res in model.by_type(ALERT):
        found += [_alarm(res, index, criteria)
                  for index, criteria in enumerate(blocks(res.attrs, "criteria"))]
        found += _dynamic(res)
    return [alarm for alarm in found if alarm is not None]
