from __future__ import annotations

from typing import Any

from _postgresql_role import failed_when, flag, is_, number
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class PostgresqlLoginRoleCanConnect(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a LOGIN postgresql_role does not have connection_limit 0",
            id="CKV_CB_002",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("postgresql_role",),
            guideline="https://github.com/connbudget/connbudget/blob/main/docs/rules/CB002.md",
        )
        self.severity = Severities[BcSeverities.MEDIUM]  # type: ignore[assignment]  # typed None in BaseCheck

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["login", "connection_limit"]
        return failed_when(flag(conf, "login"), is_(number(conf, "connection_limit", -1), 0))


check = PostgresqlLoginRoleCanConnect()
