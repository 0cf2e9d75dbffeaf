from __future__ import annotations

from typing import Any

from _postgresql_role import failed_when, flag, is_, number
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class PostgresqlRoleHasIdleInTransactionTimeout(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a LOGIN postgresql_role sets idle_in_transaction_session_timeout",
            id="CKV_CB_005",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("postgresql_role",),
            guideline="https://github.com/connbudget/connbudget/blob/main/docs/rules/CB005.md",
        )
        # LOW, not INFO: Checkov's SARIF gives INFO results level "none"; LOW is SARIF's "note".
        self.severity = Severities[BcSeverities.LOW]  # type: ignore[assignment]  # typed None in BaseCheck

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["login", "idle_in_transaction_session_timeout"]
        return failed_when(
            flag(conf, "login"),
            is_(number(conf, "idle_in_transaction_session_timeout", 0), 0),
        )


check = PostgresqlRoleHasIdleInTransactionTimeout()
