"""The bundled policies give the same results in regorus (run time), rego-cpp and the real OPA."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES
from rego_engines import OPA_UNAVAILABLE, Opa, Regopy, Regorus

from connbudget.rules import roles as rego
from connbudget.rules.roles import evaluate_batch, evaluate_document, evaluate_documents

DOCUMENTS = FIXTURES / "policies" / "documents"
EXPECTED = json.loads((FIXTURES / "policies" / "expected.json").read_text(encoding="utf-8"))
CASES = sorted(DOCUMENTS.glob("*.json"))
ENGINES = [
    pytest.param(Regopy, id="regopy"),
    pytest.param(Opa, id="opa", marks=pytest.mark.skipif(
        OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")),
]


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Regopy | Opa:
    built: Regopy | Opa = request.param()
    return built


def _documents(path: Path) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return documents


def _results_of_each(engine: Regopy | Opa, documents: list[dict[str, Any]]) -> list[Any]:
    return engine.results_of_each(documents)  # OPA: one query; rego-cpp: one child process


_RUN_TIME_RESULTS: dict[str, list[Any]] = {}


def assert_engines_agree(engine: Regopy | Opa, name: str, documents: list[dict[str, Any]]) -> None:
    """The engine's results equal regorus's (computed once per document set `name`)."""
    if name not in _RUN_TIME_RESULTS:
        _RUN_TIME_RESULTS[name] = evaluate_batch(documents)
    expected = _RUN_TIME_RESULTS[name]
    theirs_all = _results_of_each(engine, documents)
    for document, mine, theirs in zip(documents, expected, theirs_all, strict=True):
        assert mine == theirs, (engine.name, document.get("source"), document.get("resource"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_engines_return_identical_results(case: Path, engine: Regopy | Opa) -> None:
    assert_engines_agree(engine, case.name, _documents(case))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_policies_find_the_expected_findings(case: Path) -> None:
    findings = evaluate_documents(_documents(case)).findings
    assert sorted(f"{f.rule_id} {f.file}:{f.line}" for f in findings) == EXPECTED[case.name]


def test_a_batch_gives_each_document_the_results_it_has_alone() -> None:
    documents = [d for case in CASES for d in _documents(case)]
    assert evaluate_batch(documents) == [evaluate_document(d) for d in documents]


def test_a_document_the_engine_fails_on_is_an_error_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = rego.evaluate_batch
    broken = {"kind": "role_statement", "source": {"file": "x.sql", "line": 3}}

    def fragile(documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        if broken in documents:
            raise rego.RegoError("policy evaluation failed")
        return real(documents)

    monkeypatch.setattr(rego, "evaluate_batch", fragile)
    good = _documents(DOCUMENTS / "cb001_fail.json")
    for document in good:
        document["source"]["file"] = "x.sql"  # one file: one batch, the broken one inside
    checked = evaluate_documents([*good, broken])
    assert [str(e) for e in checked.errors] == [
        "x.sql:3: the role rules could not be evaluated on this statement; it is not checked"]
    assert sorted(f.rule_id for f in checked.findings) == sorted(
        item.split()[0] for item in EXPECTED["cb001_fail.json"])


def test_every_document_fixture_has_expectations() -> None:
    assert sorted(EXPECTED) == [case.name for case in CASES]


def test_findings_carry_the_document_location_for_suppressions() -> None:
    finding = next(
        f for f in evaluate_documents(_documents(DOCUMENTS / "terraform.json")).findings
        if f.resource == "postgresql_role.app" and f.rule_id == "CB001"
    )
    location = (finding.file, finding.line, finding.column, finding.end_line)
    assert location == ("infra/roles.tf", 1, 1, 5)


def test_regorus_rejects_rego_v0_syntax() -> None:
    with pytest.raises(RuntimeError, match="`if` keyword is required"):
        Regorus([FIXTURES / "policies" / "v0" / "policy.rego"])


@pytest.mark.skipif(OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")
def test_opa_rejects_rego_v0_syntax() -> None:
    from opa_bindings import OpaError

    with pytest.raises(OpaError, match="`if` keyword is required"):
        Opa([FIXTURES / "policies" / "v0" / "policy.rego"])


@functools.cache
def _sql_documents(root: Path) -> list[dict[str, Any]]:
    from connbudget.frontends.sql import read_sql

    documents: list[dict[str, Any]] = read_sql([str(root)]).documents
    return documents


def test_engines_agree_on_sql2json_documents_of_every_sql_fixture(engine: Regopy | Opa) -> None:
    documents = _sql_documents(FIXTURES / "sql")
    assert len(documents) > 150
    assert_engines_agree(engine, "sql fixtures", documents)


def test_engines_agree_on_sql2json_documents_of_the_corpus(engine: Regopy | Opa) -> None:
    documents = _sql_documents(CORPUS / "sql")
    assert len(documents) > 500
    assert_engines_agree(engine, "sql corpus", documents)


@functools.cache
def _terraform_role_documents(root: Path) -> list[dict[str, Any]]:
    from connbudget.discover import discover
    from connbudget.frontends.terraform import load_terraform
    from connbudget.frontends.terraform.roles import role_documents

    inputs = discover([str(root)], [])
    model = load_terraform(inputs.terraform_dirs, [], cache=False)
    documents: list[dict[str, Any]] = role_documents(model)
    return documents


def test_engines_agree_on_terraform_role_documents(engine: Regopy | Opa) -> None:
    documents = _terraform_role_documents(FIXTURES / "terraform")
    assert len(documents) > 10
    assert_engines_agree(engine, "terraform fixtures", documents)


def test_engines_agree_on_terraform_role_documents_of_the_corpus(engine: Regopy | Opa) -> None:
    documents = _terraform_role_documents(CORPUS / "terraform")
    assert len(documents) > 0
    assert_engines_agree(engine, "terraform corpus", documents)


# Hand-written or third-party documents may hold any JSON value anywhere.
ANY_JSON = [None, True, 0, -1, 1.5, "x", ["login"], {}]


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))


def _with(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _retyped_documents() -> list[dict[str, Any]]:
    """Each fixture shape with one member (at any depth) replaced by a value of another type."""
    sql = _documents(DOCUMENTS / "cb005.json")[0]
    terraform = _documents(DOCUMENTS / "terraform.json")[0]
    tuned = _with(sql, ("final", "settings"), {"idle_in_transaction_session_timeout": "60s"})
    bases = [sql, tuned, _with(terraform, ("unresolved",), ["login"])]
    return [_with(base, path, value)
            for base in bases for path in _paths(base) for value in ANY_JSON]


def test_every_rule_is_safe_on_values_of_any_json_type(engine: Regopy | Opa) -> None:
    documents = _retyped_documents()
    assert len(documents) > 500
    assert_engines_agree(engine, "retyped", documents)


def test_a_numeric_idle_timeout_counts_as_set_unless_zero() -> None:
    document = _documents(DOCUMENTS / "cb005.json")[0]
    rules = {value: {r["rule_id"] for r in evaluate_document(
        _with(document, ("final", "settings"), {"idle_in_transaction_session_timeout": value}))}
        for value in (60000, 0, "0", "60s")}
    assert rules == {60000: set(), 0: {"CB005"}, "0": {"CB005"}, "60s": set()}
