from __future__ import annotations

from typing import Any

from _postgresql_role import failed_when, flag
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class PostgresqlLoginRoleIsNotSuperuser(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a LOGIN postgresql_role is not a superuser",
            id="CKV_CB_003",
            categories=(CheckCategories.IAM,),
            supported_resources=("postgresql_role",),
            guideline="https://github.com/connbudget/connbudget/blob/main/docs/rules/CB003.md",
        )
        self.severity = Severities[BcSeverities.MEDIUM]  # type: ignore[assignment]  # typed None in BaseCheck

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["login", "superuser"]
        return failed_when(flag(conf, "login"), flag(conf, "superuser"))


check = PostgresqlLoginRoleIsNotSuperuser()
