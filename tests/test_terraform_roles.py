"""postgresql_role resources as role documents, the same shape the SQL front end makes."""

from __future__ import annotations

import json
from typing import Any

from conftest import FIXTURES

from connbudget.frontends.terraform import load_terraform
from connbudget.frontends.terraform.roles import role_documents

ROLES = FIXTURES / "terraform" / "loader" / "roles"


def _documents() -> dict[str, dict[str, Any]]:
    model = load_terraform([str(ROLES)], [], cache=False)
    return {document["resource"]: document for document in role_documents(model)}


def test_role_document_mirrors_the_sql_shape() -> None:
    document = _documents()["postgresql_role.app"]
    assert document["kind"] == "role_statement"
    assert document["source"] == {"file": str(ROLES / "main.tf"), "line": 1, "column": 1,
                                  "end_line": 8, "format": "terraform"}
    assert document["statement"] == {"type": "postgresql_role", "role": "app", "options": [
        {"defname": "canlogin", "arg": {"boolval": True}},
        {"defname": "connectionlimit", "arg": {"ival": 20}},
        {"defname": "password", "arg": {"sval": "<redacted>"}}]}
    assert document["role"] == {
        "name": "app", "login": True, "superuser": False, "connection_limit": 20,
        "password": "scram-sha-256",
        "settings": {"idle_in_transaction_session_timeout": "60000",
                     "statement_timeout": "30000"}}


def test_effective_and_final_state_are_the_resource_state() -> None:
    document = _documents()["postgresql_role.app"]
    expected = {"login": True, "superuser": False, "connection_limit": 20, "known": True,
                "settings": {"idle_in_transaction_session_timeout": "60000",
                             "statement_timeout": "30000"}}
    assert document["effective"] == expected
    assert document["final"] == expected


def test_absent_attributes_take_the_provider_defaults() -> None:
    role = _documents()["postgresql_role.defaults"]["role"]
    assert (role["login"], role["superuser"], role["connection_limit"], role["password"]) == (
        False, False, -1, None)


def test_password_literal_is_plaintext() -> None:
    assert _documents()["postgresql_role.literal"]["role"]["password"] == "plaintext"


def test_md5_hash_is_not_plaintext() -> None:
    assert _documents()["postgresql_role.hashed"]["role"]["password"] == "md5"


def test_literal_from_a_variable_default_is_plaintext() -> None:
    assert _documents()["postgresql_role.from_default"]["role"]["password"] == "plaintext"


def test_password_from_a_variable_without_value_is_a_parameter() -> None:
    assert _documents()["postgresql_role.injected"]["role"]["password"] == "parameter"


def test_write_only_password_is_a_parameter() -> None:
    assert _documents()["postgresql_role.write_only"]["role"]["password"] == "parameter"


def test_unknown_connection_limit_is_null_not_guessed() -> None:
    document = _documents()["postgresql_role.injected"]
    assert document["role"]["connection_limit"] is None
    assert document["final"]["connection_limit"] is None
    assert not [o for o in document["statement"]["options"] if o["defname"] == "connectionlimit"]


def test_count_zero_role_has_no_document() -> None:
    assert 'postgresql_role.never' not in _documents()
    assert not [key for key in _documents() if key.startswith("postgresql_role.never")]


def test_no_password_appears_in_any_document() -> None:
    text = json.dumps(list(_documents().values()))
    for secret in ("correct-horse-battery", "from-a-default", "c2FsdA", "d41d8cd98f"):
        assert secret not in text
