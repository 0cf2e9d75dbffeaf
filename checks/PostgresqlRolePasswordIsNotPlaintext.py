from __future__ import annotations

import re
from typing import Any

from _postgresql_role import UNRESOLVED, attribute, is_one_reference
from _terraform_plan import EXTERNAL, LITERAL, plan_of, source_of
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
        plan = plan_of(conf)
        if plan is not None and password is not UNRESOLVED:
            # A plan carries every password in plain text: judge what the code says.
            source = source_of(plan, conf["__address__"], "password")
            if source == EXTERNAL:
                return CheckResult.PASSED
            if source != LITERAL and password is not None:
                return CheckResult.UNKNOWN  # the plan does not say where the value comes from
        if password is UNRESOLVED:
            # One reference with no value in the code (a variable given at apply time, a
            # secret, a generated password) is not a literal; a template around one may be.
            known = plan is None and is_one_reference(conf, "password")
            return CheckResult.PASSED if known else CheckResult.UNKNOWN
        if password is None or (isinstance(password, str) and HASH.fullmatch(password)):
            return CheckResult.PASSED
        # Checkov masks the values of `<check id>_secret*` keys in the code it prints.
        conf[f"{self.id}_secret"] = str(password)
        return CheckResult.FAILED


check = PostgresqlRolePasswordIsNotPlaintext()
