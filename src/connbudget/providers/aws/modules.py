"""The terraform-aws-modules modules read by their inputs, with the defaults their
variables.tf give: which of them a call's source names (the registry address, a `git::` URL or
a copy), and whether the resources inside a call are already counted through its inputs."""

from __future__ import annotations

import re

_OWNER = r"terraform-aws-modules/(?:terraform-aws-)?"
RDS = re.compile(_OWNER + r"rds/aws$|terraform-aws-rds$")
AURORA = re.compile(_OWNER + r"rds-aurora")
RDS_PROXY = re.compile(_OWNER + r"rds-proxy(?![\w-])")
ECS_SERVICE = re.compile(_OWNER + r"ecs.*//modules/service")
LAMBDA = re.compile(_OWNER + r"lambda(?![\w-])(?!.*//modules/)")
APP_RUNNER = re.compile(_OWNER + r"app-runner(?![\w-])")
BY_INPUTS = (RDS, AURORA, RDS_PROXY, ECS_SERVICE, LAMBDA, APP_RUNNER)


def read_by_inputs(source: str) -> bool:
    """Whether a call of this source is modelled from its inputs (so what `terraform init`
    put in its directory is not counted again)."""
    address = source.split("?")[0]
    return any(pattern.search(address) for pattern in BY_INPUTS)
