"""The bundled policies give the same results in rego-cpp (run time) and regorus (second engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from rego_engines import RegorusPolicies, regorus_engine

from connbudget.rego import evaluate_document, evaluate_documents

DOCUMENTS = FIXTURES / "policies" / "documents"
EXPECTED = json.loads((FIXTURES / "policies" / "expected.json").read_text(encoding="utf-8"))
CASES = sorted(DOCUMENTS.glob("*.json"))


@pytest.fixture(scope="module")
def second_engine() -> RegorusPolicies:
    return RegorusPolicies()


def _documents(path: Path) -> list[dict[str, object]]:
    documents: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return documents


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_both_engines_return_identical_results(case: Path, second_engine: RegorusPolicies) -> None:
    for document in _documents(case):
        assert evaluate_document(document) == second_engine.deny(document), document["resource"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_policies_find_the_expected_findings(case: Path) -> None:
    findings = evaluate_documents(_documents(case))
    assert sorted(f"{f.rule_id} {f.file}:{f.line}" for f in findings) == EXPECTED[case.name]


def test_every_document_fixture_has_expectations() -> None:
    assert sorted(EXPECTED) == [case.name for case in CASES]


def test_findings_carry_the_document_location_for_suppressions() -> None:
    finding = next(
        f for f in evaluate_documents(_documents(DOCUMENTS / "terraform.json"))
        if f.resource == "postgresql_role.app" and f.rule_id == "CB001"
    )
    location = (finding.file, finding.line, finding.column, finding.end_line)
    assert location == ("infra/roles.tf", 1, 1, 5)


def test_regorus_rejects_rego_v0_syntax() -> None:
    with pytest.raises(RuntimeError, match="`if` keyword is required"):
        regorus_engine([FIXTURES / "policies" / "v0" / "policy.rego"])


def test_both_engines_agree_on_sql2json_documents_of_every_sql_fixture(
        second_engine: RegorusPolicies) -> None:
    from connbudget.frontends.sql import read_sql

    documents = read_sql([str(FIXTURES / "sql")]).documents
    assert len(documents) > 30
    for document in documents:
        assert evaluate_document(document) == second_engine.deny(document), document["source"]



def test_both_engines_agree_on_terraform_role_documents(second_engine: RegorusPolicies) -> None:
    from connbudget.discover import discover
    from connbudget.frontends.terraform import load_terraform
    from connbudget.frontends.terraform.roles import role_documents

    inputs = discover([str(FIXTURES / "terraform" / "roles")], [])
    model = load_terraform(inputs.terraform_dirs, [], cache=False)
    documents = role_documents(model)
    assert len(documents) > 10
    for document in documents:
        assert evaluate_document(document) == second_engine.deny(document), document["resource"]
