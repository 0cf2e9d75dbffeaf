"""`connbudget scan` and Checkov judge the Terraform role fixtures alike: the CLI reports a role
finding exactly where Checkov FAILED a check (UNKNOWN and SKIPPED are no finding)."""

from __future__ import annotations

import functools

import pytest
from checkov_run import ROLE_FIXTURES, TREES, role_fixtures_scan
from conftest import run_cli

from connbudget.catalogue import RULES

ROLE_RULES = {r.id for r in RULES.values() if r.checkov_id}


@functools.cache
def _cli_findings(tree: str) -> list[dict[str, object]]:
    run = run_cli("scan", "--format", "json", str(ROLE_FIXTURES / tree))
    report = run.json()
    assert isinstance(report, dict)
    findings: list[dict[str, object]] = report["findings"]
    return findings


def _checkov(tree: str, verdict: str) -> set[tuple[str, str]]:
    return {(resource, rule)
            for (t, resource), verdicts in role_fixtures_scan().verdicts.items() if t == tree
            for rule, v in verdicts.items() if v == verdict}


@pytest.mark.parametrize("tree", TREES)
def test_cli_reports_a_role_finding_exactly_where_checkov_fails(tree: str) -> None:
    cli = {(str(f["resource"]), str(f["rule_id"]))
           for f in _cli_findings(tree) if f["rule_id"] in ROLE_RULES}
    assert cli == _checkov(tree, "FAILED")


def test_every_ignore_where_checkov_skips_suppresses_a_cli_finding() -> None:
    assert _checkov("suppressed", "SKIPPED")
    unused = [f for f in _cli_findings("suppressed") if f["rule_id"] == "CB006"]
    assert unused == []
