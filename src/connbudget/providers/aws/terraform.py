"""The AWS adapter: an evaluated Terraform configuration's RDS and Aurora databases, RDS Proxies
and CloudWatch alarms, and the clients of every place a client runs (ECS services, scheduled
ECS tasks, Lambda functions, App Runner services, Batch jobs) and who can reach each database
over the network, each root module read as its own configuration."""

from __future__ import annotations

from connbudget.frontends.terraform.model import TerraformModel
from connbudget.providers.aws import (
    apprunner,
    batch,
    cloudwatch,
    ecs,
    lambdas,
    network,
    proxy,
    rds,
    scheduled,
)
from connbudget.providers.aws.modules import read_by_inputs
from connbudget.providers.context import BuildContext
from connbudget.providers.tfvalues import by_root


def _counted(model: TerraformModel) -> TerraformModel:
    """The root without what `terraform init` installed inside the module calls read by their
    inputs: those calls are counted once, from the inputs."""
    inside = tuple(f"{call.address}." for call in model.modules
                   if call.source_dir and read_by_inputs(call.source))
    if not inside:
        return model
    return TerraformModel([r for r in model.resources if not r.address.startswith(inside)],
                          [m for m in model.modules if not m.address.startswith(inside)])


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    out = context.model
    for model in map(_counted, by_root(parsed["terraform"])):
        out.databases += rds.databases(model, context.settings, out.errors)
        out.poolers += proxy.proxies(model)
        out.alarms += cloudwatch.alarms(model)
        ecs.clients(model, context)
        lambdas.clients(model, context.settings, out)
        apprunner.clients(model, context.settings, out)
        scheduled.clients(model, context.settings, out)
        batch.clients(model, context.settings, out)
        network.build(model, out)
