"""The AWS adapter: an evaluated Terraform configuration's RDS and Aurora databases, RDS Proxies,
ECS services and CloudWatch alarms, each root module read as its own configuration."""

from __future__ import annotations

from connbudget.frontends.terraform.model import TerraformModel
from connbudget.providers.aws import cloudwatch, ecs, proxy, rds
from connbudget.providers.context import BuildContext
from connbudget.providers.tfvalues import by_root


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    out = context.model
    for model in by_root(parsed["terraform"]):
        out.databases += rds.databases(model, context.settings, out.errors)
        out.poolers += proxy.proxies(model)
        out.alarms += cloudwatch.alarms(model)
        ecs.clients(model, context.settings, out)
