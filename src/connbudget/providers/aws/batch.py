"""AWS Batch job definitions as clients: each running job is one container with its environment,
and the compute environments it can run in bound how many run at once.

A job takes the vCPUs its `container_properties` reserve (`resourceRequirements` VCPU, or the
older `vcpus`); a managed compute environment runs at most `max_vcpus` of them, exactly on
Fargate and on On-Demand EC2 with the BEST_FIT allocation strategy (the default); with any
other strategy Batch may exceed max_vcpus by one instance whose size the files do not give
(data/compute_facts.csv, with the sources). A job definition can be submitted to any queue, so
every compute environment of its platform (Fargate or EC2) in the same root counts. What
cannot be bounded so (no compute environment in the files, an unmanaged one, a strategy that
may exceed max_vcpus, a multi-node job) is recognised and not read: an Unread of the databases
its environment names.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from connbudget.frontends.terraform.decode import decode_json
from connbudget.frontends.terraform.model import Resource, TerraformModel
from connbudget.model import Model, Origin, Unread, Value
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.clients import make_client, named_databases
from connbudget.providers.aws.ecs import STYLE, task_settings
from connbudget.providers.tfvalues import blocks, located, text, where_of
from connbudget.settings import Settings

SETTING = "max_vcpus"
_FARGATE = ("FARGATE", "FARGATE_SPOT")


def _vcpus(container: dict[str, Any]) -> Decimal | None:
    """The vCPUs one job reserves."""
    for requirement in blocks(container, "resourceRequirements"):
        if str(requirement.get("type", "")).upper() == "VCPU":
            return _decimal(requirement.get("value"))
    return _decimal(container.get("vcpus"))


def _decimal(value: Any) -> Decimal | None:
    try:
        found = Decimal(str(value)) if isinstance(value, (int, float, str)) else None
    except InvalidOperation:
        return None
    return found if found is not None and found.is_finite() and found > 0 else None


def _strict(resources: dict[str, Any]) -> str | None:
    """Why the compute environment may exceed max_vcpus; None when it never does."""
    kind = str(resources.get("type", "")).upper()
    if kind in _FARGATE:
        return None
    default = facts.batch_allocation_strategy_default()
    strict = facts.batch_strict_allocation_strategy()
    strategy = str(resources.get("allocation_strategy") or (default.value if default else ""))
    if kind == "EC2" and strict is not None and strategy.upper() == strict.value:
        return None
    return (f"type {kind or 'unknown'} with allocation_strategy {strategy or 'unknown'} may "
            "exceed max_vcpus by one instance, whose size the files do not give"
            + (f" ({strict.cite.source})" if strict else ""))


def _environments(model: TerraformModel, fargate: bool) -> list[tuple[Resource, dict[str, Any]]]:
    found = []
    for environment in model.by_type("aws_batch_compute_environment"):
        for resources in blocks(environment.attrs, "compute_resources") or [{}]:
            if (str(resources.get("type", "")).upper() in _FARGATE) == fargate:
                found.append((environment, resources))
    return found


def _jobs(job: Resource, vcpus: Decimal,
          environments: list[tuple[Resource, dict[str, Any]]]) -> tuple[Value, int] | str:
    """Jobs at once and the vCPUs each takes of max_vcpus (1 unless a whole number of them);
    else why they cannot be bounded."""
    if not environments:
        return "no compute environment of its platform is in the files"
    total = Decimal(0)
    for environment, resources in environments:
        if str(environment.attrs.get("type", "MANAGED")).upper() != "MANAGED":
            return f"{environment.address} is unmanaged: its instances are not in the files"
        why = _strict(resources)
        maximum = _decimal(resources.get(SETTING))
        if why is not None:
            return f"{environment.address} {why}"
        if maximum is None:
            return f"{environment.address} max_vcpus is not a number the files give"
        total += maximum
    jobs = math.floor(total / vcpus)
    names = " + ".join(f"{e.address} max_vcpus" for e, _ in environments)
    why = f"{names} {total} / {vcpus} vCPU per job ({job.address})"
    if len(environments) == 1 and vcpus == vcpus.to_integral_value():
        # a cap on the jobs is written as max_vcpus, at its place
        where = located(environments[0][0], SETTING, why, ("compute_resources",))
        return Value(jobs, where), int(vcpus)
    return Value(jobs, Origin(why)), 1


def _unread(job: Resource, why: str, refs: set[str], out: Model) -> None:
    out.unread.append(Unread(
        job.address, f"AWS Batch job definition that talks to PostgreSQL: {why}, so how many of "
                     "its jobs run at once is not known", job.file, job.line,
        "declare its compute environments here, managed, on Fargate or On-Demand EC2 with "
        "allocation_strategy BEST_FIT", root=job.root,
        databases=named_databases(refs, [d for d in out.databases if d.where.root == job.root],
                                  [p for p in out.poolers if p.where.root == job.root])))


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    """Batch job definitions into `out`, as clients or, when unbounded, as Unread."""
    for job in model.by_type("aws_batch_job_definition"):
        properties = job.attrs.get("container_properties")
        container = properties if isinstance(properties, dict) else decode_json(properties)
        if not isinstance(container, dict):
            continue
        origin = located(job, "container_properties", f"{job.address} container_properties")
        task = task_settings([container], origin, settings, job)
        if task is None:
            continue
        if text(job.attrs.get("type")) == "multinode":
            _unread(job, "a multi-node parallel job runs on nodes the files do not bound",
                    task.refs, out)
            continue
        vcpus = _vcpus(container)
        capabilities = job.attrs.get("platform_capabilities") or []
        fargate = isinstance(capabilities, list) and "FARGATE" in capabilities
        found = _jobs(job, vcpus, _environments(model, fargate)) if vcpus else \
            "its vCPUs per job are not a number the files give"
        if isinstance(found, str):
            _unread(job, found, task.refs, out)
            continue
        jobs, step = found
        client = make_client("batch", where_of(job), task, jobs, jobs, SETTING, STYLE[0])
        client.per_unit = step
        out.clients.append(client)
