"""Loaded by the real Checkov, the checks give each fixture resource its expected verdict."""

from __future__ import annotations

import pytest
from checkov_run import ROLE_FIXTURES, TREES, checkov, expected, terraform_fixtures_scan

# The tests that read the one Checkov scan of the fixtures share a worker: Checkov runs once.
pytestmark = pytest.mark.xdist_group("checkov-fixtures-scan")

# The plaintext passwords the fixtures hold, in resource blocks, variable defaults and tfvars.
PLAINTEXT = ("correct-horse-battery-staple", "s3cret-from-a-default", "plaintext-in-tfvars")


@pytest.mark.parametrize("tree", TREES)
def test_every_resource_gets_its_expected_verdict(tree: str) -> None:
    verdicts = terraform_fixtures_scan().tree(tree)
    got = {
        resource: {rule: verdicts.get(resource, {}).get(rule, "UNKNOWN") for rule in rules}
        for resource, rules in expected(tree).items()
    }
    assert got == expected(tree)


@pytest.mark.parametrize("tree", TREES)
def test_every_resource_checkov_reports_is_expected(tree: str) -> None:
    reported = set(terraform_fixtures_scan().tree(tree))
    assert reported and reported <= set(expected(tree))


def test_an_unparseable_file_does_not_stop_the_scan_of_its_directory() -> None:
    scan = terraform_fixtures_scan()
    assert str(ROLE_FIXTURES / "broken" / "invalid.tf") in scan.parsing_errors
    assert scan.tree("broken")["postgresql_role.survivor"]["CB001"] == "FAILED"


def test_the_password_check_masks_the_password_it_prints() -> None:
    proc = checkov("-d", str(ROLE_FIXTURES), checks="CKV_CB_004")
    assert "FAILED for resource: postgresql_role.batch" in proc.stdout
    assert "CKV_CB_001" not in proc.stdout
    assert not [secret for secret in PLAINTEXT if secret in proc.stdout + proc.stderr]


def test_a_scan_with_the_password_masked_prints_no_password() -> None:
    scan = terraform_fixtures_scan()
    assert scan.tree("literals")["postgresql_role.batch"]["CB004"] == "FAILED"
    assert not [secret for secret in PLAINTEXT if secret in scan.output]
