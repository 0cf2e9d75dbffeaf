"""Terraform `aws_cloudwatch_metric_alarm` blocks on DatabaseConnections, `terraform fmt` clean.

The threshold is a share (default 70 %) of max_connections: the DatabaseConnections metric
counts every connection, superusers' included, against max_connections. Text from the scanned
files goes into comments as one escaped line and into strings quoted (`connbudget.quoting`);
a database whose address cannot stand in a Terraform reference gets no block.
"""

from __future__ import annotations

import math
import re
import textwrap

from connbudget.alerts import dimension, is_rds, reference
from connbudget.capacity.budget import Budget
from connbudget.quoting import comment, hcl_string, split_address

DEFAULT_SHARE = 0.7
PERIOD = 60  # seconds: RDS publishes DatabaseConnections every minute
EVALUATION_PERIODS = 2
COMMENT_WIDTH = 96  # the block's comments wrap here: it is printed in fixes and reports too


def threshold_for(max_connections: int, share: float) -> int:
    """The lowest connection count at or above `share` of max_connections."""
    return max(1, math.ceil(round(max_connections * share, 6)))


def _label(address: str) -> str:
    prefix, local = split_address(address)
    name = re.sub(r"[^A-Za-z0-9_]+", "_", (prefix + local).removeprefix("aws_")).strip("_")
    return f"{name}_connections"


def _aligned(pairs: list[tuple[str, str]], indent: str) -> list[str]:
    width = max(len(key) for key, _ in pairs)
    return [f"{indent}{key.ljust(width)} = {value}" for key, value in pairs]


def alarm_block(budget: Budget, share: float) -> str:
    """One alarm for one database whose max_connections is known; "" when its address cannot
    be written as a Terraform reference."""
    database = budget.database
    max_connections = budget.max_connections.value
    ref = reference(database)
    if max_connections is None or ref is None:
        return ""
    threshold = threshold_for(max_connections, share)
    prefix, _ = split_address(database.where.address)
    where = f" ({database.where.file}:{database.where.line})" if database.where.file else ""
    lines = textwrap.wrap(comment(f"{database.where.address}{where}: max_connections "
                                  f"{max_connections} from {budget.max_connections.origin}"),
                          COMMENT_WIDTH, initial_indent="# ", subsequent_indent="#   ",
                          break_long_words=False, break_on_hyphens=False)
    if prefix:
        lines.append(comment(f"# place this block in {prefix.rstrip('.')}, beside the database"))
    lines.append(f'resource "aws_cloudwatch_metric_alarm" "{_label(database.where.address)}" {{')
    lines += _aligned([
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
    blocks, skipped = [], []
    for budget in budgets:
        if not is_rds(budget.database):
            continue
        label = budget.database.where.label
        if budget.max_connections.value is None:
            skipped.append("# " + comment(f"{label}: no alarm, max_connections is unknown "
                                          f"({budget.max_connections.origin.text})"))
            continue
        block = alarm_block(budget, share)
        if not block:
            skipped.append("# " + comment(f"{label}: no alarm, its address cannot be written "
                                          "as a Terraform reference"))
            continue
        blocks.append(block)
    return "\n\n".join(skipped + blocks) + "\n" if blocks or skipped else ""
