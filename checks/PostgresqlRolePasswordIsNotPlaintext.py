from __future__ import annotations

import re
from typing import Any

from _postgresql_role import UNRESOLVED, attribute
from checkov.common.bridgecrew.severities import BcSeverities, Severities
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# What PostgreSQL stores as an already hashed password: the patterns of src/connbudget/passwords.py
# (a check cannot import connbudget; a test keeps the two equal).
HASH = re.compile(r"SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+"
                  r"|md5[0-9a-f]{32}")


class PostgresqlRolePasswordIsNotPlaintext(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a postgresql_role password is not a plaintext literal",
            id="CKV_CB_004",
            categories=(CheckCategories.SECRETS,),
            supported_resources=("postgresql_role",),
            guideline="https://github.com/connbudget/connbudget/blob/main/docs/rules/CB004.md",
        )
        self.severity = Severities[BcSeverities.HIGH]  # type: ignore[assignment]  # typed None in BaseCheck

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["password"]
        password = attribute(conf, "password")
        if password is UNRESOLVED:
            return CheckResult.UNKNOWN
        if password is None or (isinstance(password, str) and HASH.fullmatch(password)):
            return CheckResult.PASSED
        # Checkov masks the values of `<check id>_secret*` keys in the code it prints.
        conf[f"{self.id}_secret"] = str(password)
        return CheckResult.FAILED


check = PostgresqlRolePasswordIsNotPlaintext()
