"""A team's own Conftest policy written against the pglast AST works on `sql2json` output."""

from __future__ import annotations

import json

import regopy
from conftest import FIXTURES, run_cli
from rego_engines import regorus_engine

USER_POLICY = FIXTURES / "policies" / "user" / "policy.rego"
QUERY = "deny := data.team.connection_limits.deny"


def _documents() -> list[dict[str, object]]:
    run = run_cli("sql2json", str(FIXTURES / "sql" / "rules" / "cb001_fail_alter_unknown_role"))
    assert run.code == 0, run.err
    documents = run.json()
    assert isinstance(documents, list)
    return documents


def test_ast_policy_fires_on_sql2json_output_in_regorus() -> None:
    engine = regorus_engine([USER_POLICY])
    denials = []
    for document in _documents():
        engine.set_input_json(json.dumps(document))
        answer = json.loads(engine.eval_query_as_json(QUERY))
        denials.extend(answer["result"][0]["bindings"]["deny"])
    assert denials == ["ALTER ROLE legacy removes the connection limit"]


def test_ast_policy_fires_on_sql2json_output_in_regopy() -> None:
    interpreter = regopy.Interpreter()
    interpreter.add_module(str(USER_POLICY), USER_POLICY.read_text(encoding="utf-8"))
    denials = []
    for document in _documents():
        interpreter.set_input_term(json.dumps(document))
        denials.extend(json.loads(str(interpreter.query(QUERY)))["bindings"]["deny"])
    assert denials == ["ALTER ROLE legacy removes the connection limit"]
