from __future__ import annotations

from typing import Any

from _postgresql_role import failed_when, flag, is_, number
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class PostgresqlRoleHasConnectionLimit(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a LOGIN postgresql_role that is not a superuser has a finite "
                 "connection_limit",
            id="CKV_CB_001",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("postgresql_role",),
            guideline="https://github.com/connbudget/connbudget/blob/main/docs/rules/CB001.md",
        )
        self.severity = Severities[BcSeverities.HIGH]  # type: ignore[assignment]  # typed None in BaseCheck

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["login", "superuser", "connection_limit"]
        return failed_when(
            flag(conf, "login"),
            is_(flag(conf, "superuser"), False),
            is_(number(conf, "connection_limit", -1), -1),
        )


check = PostgresqlRoleHasConnectionLimit()
