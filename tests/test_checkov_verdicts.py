"""Loaded by the real Checkov, the checks give each fixture resource its expected verdict."""

from __future__ import annotations

import pytest
from checkov_run import ROLE_FIXTURES, TREES, checkov, expected, role_fixtures_scan

# The plaintext passwords the fixtures hold, in resource blocks, variable defaults and tfvars.
PLAINTEXT = ("correct-horse-battery-staple", "s3cret-from-a-default", "plaintext-in-tfvars")


@pytest.mark.parametrize("tree", TREES)
def test_every_resource_gets_its_expected_verdict(tree: str) -> None:
    verdicts = role_fixtures_scan().verdicts
    got = {
        resource: {rule: verdicts.get((tree, resource), {}).get(rule, "UNKNOWN") for rule in rules}
        for resource, rules in expected(tree).items()
    }
    assert got == expected(tree)


@pytest.mark.parametrize("tree", TREES)
def test_every_resource_checkov_reports_is_expected(tree: str) -> None:
    reported = {resource for t, resource in role_fixtures_scan().verdicts if t == tree}
    assert reported and reported <= set(expected(tree))


def test_an_unparseable_file_does_not_stop_the_scan_of_its_directory() -> None:
    scan = role_fixtures_scan()
    assert scan.parsing_errors == [str(ROLE_FIXTURES / "broken" / "invalid.tf")]
    assert scan.verdicts[("broken", "postgresql_role.survivor")]["CB001"] == "FAILED"


def test_the_password_check_masks_the_password_it_prints() -> None:
    proc = checkov("-d", str(ROLE_FIXTURES), checks="CKV_CB_004")
    assert "FAILED for resource: postgresql_role.batch" in proc.stdout
    assert "CKV_CB_001" not in proc.stdout
    assert not [secret for secret in PLAINTEXT if secret in proc.stdout + proc.stderr]


def test_a_scan_with_the_password_masked_prints_no_password() -> None:
    scan = role_fixtures_scan()
    assert scan.verdicts[("literals", "postgresql_role.batch")]["CB004"] == "FAILED"
    assert not [secret for secret in PLAINTEXT if secret in scan.output]
