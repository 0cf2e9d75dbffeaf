"""Where AWS runs database clients besides ECS, and what bounds each: Lambda, App Runner,
EventBridge-scheduled ECS tasks, AWS Batch, EC2 Auto Scaling; RDS Proxy and RDS reserved slots;
the inputs of the terraform-aws-modules rds-proxy, lambda and app-runner modules.

Every figure comes from `data/compute_facts.csv` or `data/terraform_module_inputs.csv` with its
source; None where AWS documents nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import partial

from connbudget.providers.tables import Citation, Sourced, find, int_fact, text_fact

_PACKAGE = __name__.rpartition(".")[0]
_FACTS = "compute_facts.csv"
_MODULES = "terraform_module_inputs.csv"

_int = partial(int_fact, _PACKAGE, table=_FACTS)
_text = partial(text_fact, _PACKAGE, table=_FACTS)


@dataclass(frozen=True)
class ModuleInput:
    module: str  # registry source, e.g. terraform-aws-modules/rds-proxy/aws
    release: str  # the module release whose variables.tf was read
    name: str
    default: str  # as written in HCL; "" when the variable has no default (required)
    used_at: str  # owner/repo@commit:main.tf:line where the module passes it on; "" if not read
    cite: Citation


def _required(key: str) -> Sourced[int]:
    found = _int(key)
    assert found is not None, key
    return found


def lambda_account_concurrency_default() -> Sourced[int] | None:
    """1,000 by default and lower for new accounts: never a bound to rely on."""
    return _int("lambda.account_concurrency_default")


def lambda_unreserved_minimum() -> Sourced[int] | None:
    return _int("lambda.unreserved_minimum")


def lambda_environments_bound(reserved_concurrent_executions: int | None) -> Sourced[int] | None:
    """Execution environments (each with its own pool) a function can run at once.

    None when unset or -1: the function shares the account's unreserved concurrency, which the
    files do not bound. 0 disables the function; N reserves (and caps at) N.
    """
    unset = _required("lambda.reserved_concurrency_unset")
    if reserved_concurrent_executions is None or reserved_concurrent_executions == unset.value:
        return None
    return Sourced(reserved_concurrent_executions, unset.cite, unset.note)


def lambda_versions_share_reserved() -> Sourced[int]:
    """Reserved concurrency covers every version: a new version adds no environments."""
    return _required("lambda.versions_share_reserved")


def sqs_maximum_concurrency_range() -> tuple[Sourced[int], Sourced[int]]:
    """The values an SQS event source's `scaling_config.maximum_concurrency` accepts."""
    return (_required("lambda.sqs_maximum_concurrency_min"),
            _required("lambda.sqs_maximum_concurrency_max"))


def lambda_provisioned_concurrency_unset() -> Sourced[int] | None:
    return _int("lambda.provisioned_concurrency_unset")


def app_runner_max_size_default() -> Sourced[int] | None:
    return _int("app_runner.max_size_default")


def app_runner_min_size_default() -> Sourced[int] | None:
    return _int("app_runner.min_size_default")


def app_runner_max_concurrency_default() -> Sourced[int] | None:
    return _int("app_runner.max_concurrency_default")


def app_runner_deployment_multiplier() -> Sourced[int] | None:
    """App Runner doubles the provisioned instances during a deployment."""
    return _int("app_runner.deployment_multiplier")


def eventbridge_ecs_task_count_default() -> Sourced[int] | None:
    return _int("eventbridge.ecs_task_count_default")


def eventbridge_overlapping_runs() -> Sourced[int] | None:
    """Not documented: None."""
    return _int("eventbridge.overlapping_runs")


def batch_max_vcpus_overshoot_instances() -> Sourced[int] | None:
    """A compute environment can exceed maxvCpus by at most this many instances."""
    return _int("batch.max_vcpus_overshoot_instances")


def batch_allocation_strategy_default() -> Sourced[str] | None:
    return _text("batch.allocation_strategy_default")


def batch_strict_allocation_strategy() -> Sourced[str] | None:
    """The one EC2 allocation strategy (On-Demand) under which Batch never exceeds maxvCpus."""
    return _text("batch.max_vcpus_strict_strategy")


@functools.cache
def postgres_port_default(aurora: bool) -> Sourced[int]:
    """The port an RDS for PostgreSQL instance or an Aurora PostgreSQL cluster listens on when
    `port` is unset."""
    return _required("aurora.postgres_port_default" if aurora else "rds.postgres_port_default")


def autoscaling_max_size_overshoot() -> Sourced[str] | None:
    """How far an Auto Scaling group can go above max_size (weighted mixed instances only)."""
    return _text("autoscaling.max_size_overshoot")


def rds_proxy_max_connections_percent_default() -> Sourced[int] | None:
    """RDS Proxy's own default; the terraform-aws-modules input defaults to 90 instead."""
    return _int("rds_proxy.max_connections_percent_default")


def rds_reserved_slots() -> Sourced[int]:
    """Slots RDS for PostgreSQL keeps from application roles with the default parameters."""
    superuser = _required("rds.superuser_reserved_connections")
    rds = _required("rds.rds_superuser_reserved_connections")
    return Sourced(superuser.value + rds.value, rds.cite,
                   f"superuser_reserved_connections {superuser.value} + "
                   f"rds.rds_superuser_reserved_connections {rds.value}")


def module_input(module: str, name: str) -> ModuleInput | None:
    """An input of a terraform-aws-modules module as its variables.tf declares it."""
    for row in find(_PACKAGE, _MODULES, module=module, input=name):
        return ModuleInput(row["module"], row["release"], name, row["default"], row["used_at"],
                           row.cite)
    return None
