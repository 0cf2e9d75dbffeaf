"""Help a user gets offline: every rule's page from the CLI and in SARIF, and subcommand help."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_cli

from connbudget.catalogue import RULES

RULE_DOCS = ROOT / "docs" / "rules"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rules_prints_the_rule_page(rule_id: str) -> None:
    run = run_cli("rules", rule_id)
    assert run.code == 0
    assert run.out == (RULE_DOCS / f"{rule_id}.md").read_text(encoding="utf-8")


def test_rules_accepts_a_checkov_id_in_any_case() -> None:
    run = run_cli("rules", "ckv_cb_004")
    assert run.code == 0
    assert run.out.startswith("# CB004: ")


def test_rules_json_carries_the_page() -> None:
    shown = json.loads(run_cli("rules", "CB101", "--format", "json").out)
    assert shown["id"] == "CB101"
    assert shown["severity"] == "error"
    assert shown["page"] == (RULE_DOCS / "CB101.md").read_text(encoding="utf-8")


def test_unknown_rule_is_a_usage_error() -> None:
    run = run_cli("rules", "CB999")
    assert run.code == 2
    assert run.out == ""
    assert "unknown rule 'CB999'" in run.err


@pytest.mark.parametrize("command", ["scan", "sql", "capacity", "sql2json", "rules", "live"])
def test_subcommand_help_has_a_description_examples_and_exit_codes(command: str) -> None:
    run = run_cli(command, "--help")
    assert run.code == 0
    assert "examples:\n  connbudget " in run.out
    assert "exit codes: 0 " in run.out
    description = run.out.split("\n\n")[1]
    assert len(description.split()) >= 8, description


def test_sarif_rules_carry_their_page_as_help(tmp_path) -> None:
    run = run_cli("sql", str(ROOT / "fixtures" / "sql" / "rules"), "--format", "sarif")
    rules = json.loads(run.out)["runs"][0]["tool"]["driver"]["rules"]
    by_id = {rule["id"]: rule for rule in rules}
    assert set(by_id) == set(RULES)
    for rule_id, rule in by_id.items():
        page = (RULE_DOCS / f"{rule_id}.md").read_text(encoding="utf-8").rstrip()
        assert rule["help"]["markdown"].startswith(page)
        assert rule["helpUri"] in rule["help"]["markdown"]
