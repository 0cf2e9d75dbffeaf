"""CloudWatch alarms on RDS's `DatabaseConnections`: the ones the Terraform declares, and the
Terraform `aws_cloudwatch_metric_alarm` blocks connbudget writes (`terraform fmt` clean).

The metric counts every connection, superusers' included, against max_connections; RDS
publishes it every minute. A written alarm fires at the budget's alert threshold of
max_connections (`threshold`, default 80 %), on the Maximum over two of two 60 s periods.
Text from the scanned files goes into comments as one escaped line and into strings quoted
(`connbudget.quoting`); a database whose address cannot stand in a Terraform reference gets no
block.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from connbudget.frontends.terraform.model import (
    ModuleCall,
    Resource,
    TerraformModel,
    Unknown,
    position_of,
)
from connbudget.model import Alarm, Database, Origin, refers_to
from connbudget.providers import alerting
from connbudget.providers.alerting import aligned, header, threshold_for
from connbudget.providers.tfvalues import blocks, decimal, refs, text, where_of
from connbudget.quoting import hcl_string, referable, split_address

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget

PERIOD = 60  # seconds: RDS publishes DatabaseConnections every minute
EVALUATION_PERIODS = 2
FILE_SUFFIX = ".tf"  # a written alarm goes into the database's Terraform file
SERVICE = "CloudWatch"
METRIC = "DatabaseConnections"
FORMAT = "cloudwatch"  # connbudget alerts --format
ADD = "add an aws_cloudwatch_metric_alarm on AWS/RDS DatabaseConnections"
# the comparisons that fire as connections rise, and the one a fix sets
RISING = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")
COMPARISON = 'comparison_operator = "GreaterThanOrEqualToThreshold"'
THRESHOLD = "threshold"  # the setting a fix writes the threshold_for number into
_ALARM_MODULE = re.compile(
    r"terraform-aws-modules/(?:terraform-aws-)?cloudwatch.*//modules/metric-alarm$")
__all__ = ["split_address", "threshold_for"]


def _is_cluster(database: Database) -> bool:
    return database.platform == "aurora"


def dimension(database: Database) -> str:
    """The CloudWatch dimension that names this database's DatabaseConnections metric."""
    return "DBClusterIdentifier" if _is_cluster(database) else "DBInstanceIdentifier"


def reference(database: Database) -> str | None:
    """The Terraform expression for the database's identifier, from where its block is; None
    when its address cannot stand in Terraform as it is (quotes, braces, control characters
    from a hostile key are never written into a generated file)."""
    _, local = split_address(database.where.address)
    if not referable(local):
        return None
    if local.startswith("module."):  # terraform-aws-modules rds / rds-aurora outputs
        return f"{local}.{'cluster_id' if _is_cluster(database) else 'db_instance_identifier'}"
    return f"{local}.{'cluster_identifier' if _is_cluster(database) else 'identifier'}"


def watchable(database: Database) -> bool:
    """A database declared in the scanned Terraform (not only pinned): an alarm can name it."""
    return bool(database.where.file)


def watches(alarm: Alarm, database: Database) -> bool:
    return any(refers_to(target, alias) for target in alarm.targets
               for alias in database.aliases)


def alarm_block(budget: Budget, share: float) -> str:
    """One alarm for one database whose max_connections is known; "" when its address cannot
    be written as a Terraform reference."""
    database = budget.database
    max_connections = budget.max_connections.value
    ref = reference(database)
    if max_connections is None or ref is None:
        return ""
    threshold = threshold_for(max_connections, share)
    lines = header(budget)
    lines.append(f'resource "aws_cloudwatch_metric_alarm" '
                 f'"{alerting.label(database.where.address, "aws_")}" {{')
    lines += aligned([
        ("alarm_name", f'"${{{ref}}}-database-connections"'),
        ("alarm_description", hcl_string(
            f"DatabaseConnections at {share:.0%} of max_connections {max_connections}: "
            "connbudget alerts")),
        ("namespace", '"AWS/RDS"'),
        ("metric_name", '"DatabaseConnections"'),
        ("statistic", '"Maximum"'),
        ("period", str(PERIOD)),
        ("evaluation_periods", str(EVALUATION_PERIODS)),
        ("datapoints_to_alarm", str(EVALUATION_PERIODS)),
        ("comparison_operator", '"GreaterThanOrEqualToThreshold"'),
        ("threshold", str(threshold)),
        ("treat_missing_data", '"missing"'),
    ], "  ")
    lines += ["  dimensions = {", f"    {dimension(database)} = {ref}", "  }",
              "  # alarm_actions = [aws_sns_topic.<your alerts topic>.arn]", "}"]
    return "\n".join(lines)


def render(budgets: list[Budget], share: float) -> str:
    """The alarm blocks of every database of this platform, as one Terraform file."""
    return alerting.render(budgets, share, ("rds", "aurora"), alarm_block)


def owns(alarm: Alarm) -> bool:
    """Whether an alarm the files declare is one of this service's."""
    return alarm.service == SERVICE


# --- the alarms a Terraform root declares ------------------------------------------------------

def _metric(attrs: dict[str, Any]) -> dict[str, Any]:
    """The metric an alarm compares: its own attributes, or the metric_query it returns."""
    if "metric_name" in attrs:
        return attrs
    for query in blocks(attrs, "metric_query"):
        metrics = blocks(query, "metric")
        if metrics and query.get("return_data") in (True, "true"):
            return {"namespace": metrics[0].get("namespace"), **metrics[0]}
    return {}


def _alarm(block: Resource | ModuleCall, attrs: dict[str, Any]) -> Alarm | None:
    metric = _metric(attrs)
    name, namespace = metric.get("metric_name"), metric.get("namespace")
    unresolved = isinstance(name, Unknown) or isinstance(namespace, Unknown)
    if not unresolved and (name != "DatabaseConnections" or namespace != "AWS/RDS"):
        return None
    dimensions = metric.get("dimensions") or {}
    named, value = "", None
    if isinstance(dimensions, dict):
        for key in ("DBInstanceIdentifier", "DBClusterIdentifier"):
            if key in dimensions:
                named, value = key, dimensions[key]
    literal = text(value) if value is not None and "${" not in str(value) else None
    targets = refs(value) | ({literal} if literal else set())
    written = (value.expression if isinstance(value, Unknown) else str(value)) if value else "none"
    # an alarm with no DBInstanceIdentifier/DBClusterIdentifier dimension watches no one database
    known = not unresolved and isinstance(dimensions, dict) and (bool(targets) or not named)
    threshold = attrs.get("threshold")
    number = None if isinstance(threshold, (Unknown, bool)) else decimal(threshold)
    why = f"{block.address} threshold" + ("" if number is not None else " (unresolved)")
    comparison = attrs.get("comparison_operator")
    line, span = position_of(block, "threshold")
    return Alarm(where_of(block), named, targets, written, known, number,
                 Origin.spanning(why, block.file, span, line),
                 comparison if isinstance(comparison, str) else None, SERVICE)


def alarms(model: TerraformModel) -> list[Alarm]:
    found = [_alarm(res, res.attrs) for res in model.by_type("aws_cloudwatch_metric_alarm")]
    found += [_alarm(call, call.inputs) for call in model.modules
              if _ALARM_MODULE.search(call.source.split("?")[0])]
    return [alarm for alarm in found if alarm is not None]
