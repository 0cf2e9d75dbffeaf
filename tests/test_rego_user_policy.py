"""A team's own Conftest policy written against the pglast AST works on `sql2json` output."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, run_cli
from rego_engines import OPA_UNAVAILABLE, Opa, Regorus, regopy_answers

USER_POLICY = FIXTURES / "policies" / "user" / "policy.rego"
RULE = "data.team.connection_limits.deny"
QUERY = f"deny := {RULE}"
EXPECTED = ["ALTER ROLE legacy removes the connection limit"]


def _documents() -> list[dict[str, object]]:
    run = run_cli("sql2json", str(FIXTURES / "sql" / "rules" / "cb001_fail_alter_unknown_role"))
    assert run.code == 0, run.err
    documents = run.json()
    assert isinstance(documents, list)
    return documents


def _denials(engine: Regorus | Opa) -> list[object]:
    denials: list[object] = []
    for document in _documents():
        [found] = engine.value(RULE, document)
        assert isinstance(found, list)
        denials.extend(found)
    return denials


def test_ast_policy_fires_on_sql2json_output_in_regorus() -> None:
    assert _denials(Regorus([USER_POLICY])) == EXPECTED


@pytest.mark.skipif(OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")
def test_ast_policy_fires_on_sql2json_output_in_opa() -> None:
    assert _denials(Opa([USER_POLICY])) == EXPECTED


def test_ast_policy_fires_on_sql2json_output_in_regopy() -> None:
    answers = regopy_answers([USER_POLICY], QUERY, list(_documents()), bundle=False)
    denials = [denial for answer in answers if isinstance(answer, dict)
               for denial in answer["bindings"]["deny"]]
    assert denials == EXPECTED
