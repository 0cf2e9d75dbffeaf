"""`connbudget scan` and Checkov judge Terraform roles alike: over every Terraform fixture, the
CLI reports a role finding exactly where Checkov FAILED a check (UNKNOWN and SKIPPED are no
finding), same file, same resource address, same rule."""

from __future__ import annotations

import functools

import pytest
from checkov_run import TERRAFORM_FIXTURES, terraform_fixtures_scan
from conftest import ROOT, run_cli

from connbudget.catalogue import RULES

# The tests that read the one Checkov scan of the fixtures share a worker: Checkov runs once.
pytestmark = pytest.mark.xdist_group("checkov-fixtures-scan")

ROLE_RULES = {r.id for r in RULES.values() if r.checkov_id}


@functools.cache
def _cli_findings() -> list[dict[str, object]]:
    report = run_cli("scan", "--format", "json", str(TERRAFORM_FIXTURES.relative_to(ROOT))).json()
    assert isinstance(report, dict)
    findings: list[dict[str, object]] = report["findings"]
    return findings


def test_cli_reports_a_role_finding_exactly_where_checkov_fails() -> None:
    cli = {(str(f["file"]), str(f["resource"]), str(f["rule_id"]))
           for f in _cli_findings() if f["rule_id"] in ROLE_RULES}
    assert cli and cli == terraform_fixtures_scan().failed()


def test_every_ignore_where_checkov_skips_suppresses_a_cli_finding() -> None:
    skipped = [v for v in terraform_fixtures_scan().tree("suppressed").values()
               if "SKIPPED" in v.values()]
    unused = [f for f in _cli_findings()
              if f["rule_id"] == "CB006" and "/roles/suppressed/" in str(f["file"])]
    assert skipped and unused == []
