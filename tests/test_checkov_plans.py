"""The real Checkov 3 on a Terraform plan (`--framework terraform_plan`): the checks judge what
the code says, not the plaintext a plan carries, and the CLI agrees with them."""

from __future__ import annotations

import functools
import json
import subprocess

from checkov_run import ALL_CHECKS, CHECKS, RULE_BY_CHECKOV_ID
from conftest import CHECKOV, FIXTURES, ROOT, run_cli

PLANS = FIXTURES / "plans"
PLAN = PLANS / "roles.tfplan.json"
PLAINTEXT = ("from-TF_VAR-app-password", "s3cret-from-a-default", "correct-horse-battery-staple",
             "etl-secret-from-secrets-manager", "Xq2v9LrT8mWc4sZk1NbY7hGd3FjP6aRe",
             "pw-loader-2024", "pw-reports-2024", "module-input-literal")
_VERDICTS = {"passed_checks": "PASSED", "failed_checks": "FAILED", "skipped_checks": "SKIPPED"}
Verdicts = dict[str, dict[str, str]]


def _checkov(framework: str, *args: str) -> tuple[Verdicts, str]:
    proc = subprocess.run(
        [str(CHECKOV), "--external-checks-dir", str(CHECKS), "--framework", framework,
         "--check", ALL_CHECKS, "--skip-download", "-o", "json",
         "--mask", "postgresql_role:password", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode in (0, 1), proc.stderr
    results = json.loads(proc.stdout)["results"]
    verdicts: Verdicts = {}
    for key, verdict in _VERDICTS.items():
        for record in results[key]:
            rule = RULE_BY_CHECKOV_ID[record["check_id"]]
            verdicts.setdefault(record["resource"], {})[rule] = verdict
    return verdicts, proc.stdout + proc.stderr


@functools.cache
def plan_scan() -> tuple[Verdicts, str]:
    return _checkov("terraform_plan", "-f", str(PLAN))


@functools.cache
def tf_scan() -> tuple[Verdicts, str]:
    return _checkov("terraform", "-d", str(PLANS / "roles"))


def _expected() -> Verdicts:
    data: Verdicts = json.loads((PLANS / "roles.expected.json").read_text())
    return data


def _full(verdicts: Verdicts) -> Verdicts:
    """Every expected resource and rule, UNKNOWN where Checkov reports nothing."""
    return {resource: {rule: verdicts.get(resource, {}).get(rule, "UNKNOWN") for rule in rules}
            for resource, rules in _expected().items()}


def test_every_plan_resource_gets_its_expected_verdict() -> None:
    verdicts, _ = plan_scan()
    assert _full(verdicts) == _expected()
    assert set(verdicts) <= set(_expected())


def test_no_password_that_is_not_a_literal_in_the_code_fails_on_a_plan() -> None:
    verdicts, _ = plan_scan()
    failed = {resource for resource, rules in verdicts.items() if rules.get("CB004") == "FAILED"}
    assert failed == {"postgresql_role.legacy", "postgresql_role.batch",
                      'postgresql_role.service["loader"]', 'postgresql_role.service["reports"]',
                      "module.reporter.postgresql_role.this"}


def test_a_limit_known_only_after_apply_gets_no_verdict_on_a_plan() -> None:
    verdicts, _ = plan_scan()
    assert "CB001" not in verdicts["postgresql_role.elastic"]
    assert verdicts["postgresql_role.unlimited"]["CB001"] == "FAILED"


def test_the_plan_and_its_tf_files_get_the_same_verdicts() -> None:
    plan, tf = _full(plan_scan()[0]), _full(tf_scan()[0])
    differences = {(resource, rule): (tf[resource][rule], verdict)
                   for resource, rules in plan.items() for rule, verdict in rules.items()
                   if tf[resource][rule] != verdict}
    # random_password created by this plan: the .tf names one reference (not a literal);
    # the plan knows the value only after apply
    assert differences == {("postgresql_role.fresh", "CB004"): ("PASSED", "UNKNOWN")}


def test_the_cli_reports_a_plan_finding_exactly_where_checkov_fails() -> None:
    report = run_cli("scan", str(PLAN.relative_to(ROOT)), "--format", "json").json()
    assert isinstance(report, dict)
    cli = {(f["resource"], f["rule_id"]) for f in report["findings"]}
    checkov = {(resource, rule) for resource, rules in plan_scan()[0].items()
               for rule, verdict in rules.items() if verdict == "FAILED"}
    assert cli and cli == checkov


def test_checkov_with_the_mask_prints_no_password_of_the_plan() -> None:
    _, output = plan_scan()
    assert not [secret for secret in PLAINTEXT if secret in output]
