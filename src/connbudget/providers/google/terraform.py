"""The Google Cloud adapter: an evaluated Terraform configuration's Cloud SQL instances, Cloud
Run services and jobs, and Cloud Monitoring alert policies, each root read as its own
configuration."""

from __future__ import annotations

from connbudget.frontends.terraform.model import TerraformModel
from connbudget.providers.context import BuildContext
from connbudget.providers.google import cloudrun, cloudsql, monitoring
from connbudget.providers.tfvalues import by_root


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    out = context.model
    for model in by_root(parsed["terraform"]):
        out.databases += cloudsql.databases(model)
        out.alarms += monitoring.alarms(model)
        cloudrun.clients(model, context.settings, out)
