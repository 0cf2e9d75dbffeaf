"""Cloud Monitoring alert policies on a Cloud SQL instance's connections: the ones the Terraform
declares (`google_monitoring_alert_policy` threshold conditions on
`cloudsql.googleapis.com/database/postgresql/num_backends`), and the blocks connbudget writes
(`terraform fmt` clean).

The metric counts the backends of each database of the instance; a written policy sums them per
instance (`resource.labels.database_id`, `<project>:<instance>`), the maximum of each 60 s, and
fires while the sum is above the budget's alert threshold of max_connections. The Monitoring
API takes only COMPARISON_GT and COMPARISON_LT for a threshold: a written policy compares with
COMPARISON_GT against one less than the threshold.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Alarm, Database, Origin, refers_to
from connbudget.providers import alerting
from connbudget.providers.alerting import aligned, header
from connbudget.providers.google import tables
from connbudget.providers.google.cloudsql import alias
from connbudget.providers.tfvalues import blocks, decimal, located_at, location, refs
from connbudget.quoting import hcl_string, referable, split_address

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget

SERVICE = "Cloud Monitoring"
_METRIC = tables.connections_metric()
assert _METRIC is not None
METRIC = _METRIC.value
FORMAT = "cloud-monitoring"  # connbudget alerts --format
FILE_SUFFIX = ".tf"
ADD = f"add a google_monitoring_alert_policy on {METRIC}"
RISING = ("COMPARISON_GT", "COMPARISON_GE")
COMPARISON = 'comparison = "COMPARISON_GT"'
THRESHOLD = "threshold_value"
POLICY = "google_monitoring_alert_policy"
PERIOD = "60s"
_DATABASE_ID = re.compile(r'resource\.labels\.database_id\s*=\s*\\?"([^"\\]+)\\?"')
_QUERIES = ("condition_monitoring_query_language", "condition_prometheus_query_language")


def threshold_for(max_connections: int, share: float) -> int:
    """The threshold_value a COMPARISON_GT policy needs to fire at `share` of max_connections:
    one less than the lowest count at or above it."""
    return alerting.threshold_for(max_connections, share) - 1


def watchable(database: Database) -> bool:
    """An instance declared in the scanned Terraform (not only pinned): a policy can name it."""
    return alerting.in_terraform(database)


def owns(alarm: Alarm) -> bool:
    return alarm.service == SERVICE


def watches(alarm: Alarm, database: Database) -> bool:
    return any(refers_to(target, name) for target in alarm.targets for name in database.aliases)


def alarm_block(budget: Budget, share: float) -> str:
    """One alert policy for one instance; its max_connections must be known; "" when its
    address cannot be written as a Terraform reference."""
    database = budget.database
    max_connections = budget.max_connections.value
    assert max_connections is not None
    _, ref = split_address(database.where.address)
    if not referable(ref):  # a hostile key is never written into a generated file
        return ""
    database_id = f"${{{ref}.project}}:${{{ref}.name}}"
    resource = tables.fact("monitoring.resource")
    metric_filter = (f'resource.type = \\"{resource.value if resource else "cloudsql_database"}'
                     f'\\" AND resource.labels.database_id = \\"{database_id}\\" AND '
                     f'metric.type = \\"{METRIC}\\"')
    lines = header(budget)
    lines.append(f'resource "{POLICY}" "{alerting.label(database.where.address, "google_")}" {{')
    lines += aligned([("display_name", f'"${{{ref}.name}} PostgreSQL connections"'),
                      ("combiner", '"OR"')], "  ")
    lines += ["  conditions {", *aligned([("display_name", hcl_string(
        f"num_backends at {share:.0%} of max_connections {max_connections}: connbudget alerts"
    ))], "    "), "    condition_threshold {"]
    lines += aligned([
        ("filter", f'"{metric_filter}"'),
        ("comparison", '"COMPARISON_GT"'),
        ("threshold_value", str(threshold_for(max_connections, share))),
        ("duration", f'"{PERIOD}"'),
    ], "      ")
    lines += ["      aggregations {", *aligned([
        ("alignment_period", f'"{PERIOD}"'),
        ("per_series_aligner", '"ALIGN_MAX"'),
        ("cross_series_reducer", '"REDUCE_SUM"'),
        ("group_by_fields", '["resource.labels.database_id"]'),
    ], "        "), "      }", "    }", "  }",
        "  # notification_channels = [google_monitoring_notification_channel.<yours>.name]", "}"]
    return "\n".join(lines)


def render(budgets: list[Budget], share: float) -> str:
    """The alert policies of every Cloud SQL instance, as one Terraform file."""
    return alerting.render(budgets, share, ("cloud-sql",), alarm_block)


# --- the alert policies a Terraform root declares ----------------------------------------------

def _text(value: Any) -> str | None:
    if isinstance(value, Unknown):
        return value.partial
    return value if isinstance(value, str) else None


def _query_alarm(res: Resource, index: int, condition: dict[str, Any]) -> Alarm | None:
    """An MQL or PromQL condition on the metric: its target and threshold are not read."""
    for key in _QUERIES:
        for query in blocks(condition, key):
            written = _text(query.get("query")) or ""
            if "num_backends" in written:
                return Alarm(location(res), "query", set(), key, False, None,
                             Origin(f"{res.address} {key} (not read)", res.file, res.line), None,
                             SERVICE)
    return None


def _alarm(res: Resource, index: int, condition: dict[str, Any]) -> Alarm | None:
    thresholds = blocks(condition, "condition_threshold")
    if not thresholds:
        return _query_alarm(res, index, condition)
    threshold = thresholds[0]
    raw = threshold.get("filter")
    written = _text(raw)
    if written is not None and METRIC not in written:
        return None
    ids = _DATABASE_ID.findall(written or "")
    literal = {alias(found.rsplit(":", 1)[-1]) for found in ids if "${" not in found}
    targets = refs(raw) | literal
    known = written is not None and (bool(targets) or not ids)
    value = threshold.get("threshold_value")
    number = None if isinstance(value, (Unknown, bool)) else decimal(value)
    origin = located_at(res, (("conditions", index), ("condition_threshold", 0)), "threshold_value",
                     f"{res.address} threshold_value" + ("" if number is not None
                                                         else " (unresolved)"))
    comparison = threshold.get("comparison")
    return Alarm(location(res), "database_id" if ids else "", targets,
                 ", ".join(ids) or "none", known, number, origin,
                 comparison if isinstance(comparison, str) else None, SERVICE)


def alarms(model: TerraformModel) -> list[Alarm]:
    found = [_alarm(res, index, condition) for res in model.by_type(POLICY)
             for index, condition in enumerate(blocks(res.attrs, "conditions"))]
    return [alarm for alarm in found if alarm is not None]
