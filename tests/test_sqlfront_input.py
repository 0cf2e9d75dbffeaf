"""The SQL front end on input that is not plain SQL, on broken input, and on real-world files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, ROOT, Run, run_cli

from connbudget.frontends.sql import read_sql
from connbudget.frontends.sql.reader import version_key
from connbudget.rules.sql import run_time_findings

FRONTEND = FIXTURES / "sql" / "frontend"
BAD = FRONTEND / "bad_input"


def _sql2json(*parts: str, combined: bool = False) -> Run:
    path = str(FRONTEND.joinpath(*parts).relative_to(ROOT))
    return run_cli("sql2json", path, *(["--combined"] if combined else []))


def _roles(case: str) -> dict[str, dict[str, object]]:
    roles = _sql2json(case, combined=True).json()["roles"]  # type: ignore[index]
    assert isinstance(roles, dict)
    return roles


def test_create_user_logs_in_and_create_role_and_group_do_not() -> None:
    roles = _roles("create_defaults")
    assert roles["app_user"]["login"] is True
    assert roles["reporting"]["login"] is False
    assert roles["readers"]["login"] is False
    assert roles["admin"] == {"login": True, "superuser": True, "connection_limit": 5,
                              "known": True, "settings": {}, "conditional": False, "maybe": {}}


def test_connection_limit_zero_is_kept_as_ival_zero() -> None:
    documents = _sql2json("connection_limit_zero").json()
    assert isinstance(documents, list)
    for document in documents:
        assert document["statement"]["options"] == [
            {"defname": "connectionlimit", "arg": {"ival": 0}}]


def test_syntax_error_is_located_and_the_good_statements_still_come_out() -> None:
    result = _sql2json("syntax_error")
    assert result.code == 2
    assert ("fixtures/sql/frontend/syntax_error/V1__mixed.sql:3:20: "
            'unrecognized role option "…"') in result.err
    assert re.search(r"V1__mixed\.sql:5:\d+: ", result.err)
    assert [d["resource"] for d in result.json()] == ["first_ok", "second_ok"]  # type: ignore[union-attr]


def test_dbmate_down_section_is_not_scanned() -> None:
    assert list(_roles("dbmate")) == ["dbmate_app"]


def test_migrations_run_in_natural_version_order() -> None:
    files = [Path(d["source"]["file"]).name
             for d in _sql2json("natural_order").json()]  # type: ignore[union-attr]
    assert files == ["V1__start.sql", "V1.1__patch.sql", "V2__second.sql", "V10__tenth.sql"]
    assert _roles("numbered_order")["numbered"]["connection_limit"] == 10


def test_version_key_orders_flyway_and_numbered_names() -> None:
    names = ["db/V10__d.sql", "db/R__views.sql", "db/V1_1__c.sql", "db/V2__b.sql",
             "db/V1__a.sql", "db/0010_x.sql", "db/0002_y.sql"]
    assert sorted(names, key=version_key) == [
        "db/0002_y.sql", "db/0010_x.sql", "db/V1__a.sql", "db/V1_1__c.sql", "db/V2__b.sql",
        "db/V10__d.sql", "db/R__views.sql"]


def test_rename_then_alter_follows_the_new_name() -> None:
    assert _roles("rename_then_alter") == {"service": {
        "login": True, "superuser": False, "connection_limit": 10, "known": True, "settings": {},
        "conditional": False, "maybe": {}}}


def test_drop_removes_the_role_and_final_follows_a_recreated_one() -> None:
    documents = _sql2json("drop").json()
    assert isinstance(documents, list)
    first_keeper = documents[1]
    assert first_keeper["resource"] == "keeper"
    assert first_keeper["final"]["connection_limit"] == 8
    assert documents[0]["final"] is None  # temp_user is dropped for good
    assert "temp_user" not in _roles("drop")


def test_alter_of_a_role_created_elsewhere_is_unknown_with_nulls() -> None:
    legacy = _roles("alter_unknown")["legacy"]
    assert legacy == {"login": True, "superuser": None, "connection_limit": -1, "known": False,
                      "settings": {}, "conditional": False, "maybe": {}}


def test_alter_role_all_settings_reach_every_role() -> None:
    roles = _roles("settings")
    assert roles["batch"]["settings"] == {"lock_timeout": "10s"}
    assert roles["api"]["settings"]["idle_in_transaction_session_timeout"] == "60000"  # type: ignore[index]


def test_quoted_names_keep_case_and_unquoted_names_fold() -> None:
    assert set(_roles("case_folding")) == {"mixedcase", "Quoted", "MixedCase"}


def test_passwords_are_classified() -> None:
    documents = _sql2json("passwords").json()
    assert isinstance(documents, list)
    assert [(d["resource"], d["role"]["password"]) for d in documents] == [
        ("p_plain", "plaintext"), ("p_scram", "scram-sha-256"), ("p_md5", "md5"),
        ("p_null", "null"), ("p_var", "parameter"), ("p_plain", "plaintext"),
        ("p_md5", "plaintext")]


def test_psql_and_flyway_placeholders_name_roles_and_passwords_are_parameters() -> None:
    psql = _roles("psql_variables")
    assert set(psql) == {":dbuser", "viewer"}
    assert psql["viewer"]["connection_limit"] is None  # given by a variable: unknown
    flyway = _sql2json("flyway_placeholders").json()
    assert isinstance(flyway, list)
    assert {d["role"]["password"] for d in flyway if d["role"]["password"]} == {"parameter"}


def test_do_block_resolves_constant_execute_and_variables_and_reports_the_rest_as_cb007() -> None:
    result = read_sql([str(FRONTEND / "do_block")])
    assert [(d["resource"], d["source"]["line"]) for d in result.documents] == [
        ("app", 6), ("app", 8), ("helper", 9), ("from_variable", 10), ("migrator", 16)]
    found = run_time_findings(result.run_time, set())
    assert [(f.rule_id, f.line) for f in found] == [("CB007", 18)]


def _password_literals() -> set[str]:
    literals: set[str] = set()
    for path in FRONTEND.rglob("*.sql"):
        text = path.read_bytes().decode("utf-8", "replace")
        literals.update(re.findall(r"PASSWORD\s+'([^'$#\n;]{4,})", text, re.IGNORECASE))
        literals.update(re.findall(r"password\w*\s*=\s*'([^']+)'", text))
    return literals


def test_fixtures_hold_the_password_literals_the_redaction_test_looks_for() -> None:
    assert {"Tr0ub4dor&3", "correct horse battery staple", "not-in-output-7731",
            "do-not-print-5521", "never closed-8812"} <= _password_literals()


@pytest.mark.parametrize("combined", [False, True])
def test_no_password_literal_reaches_any_output(combined: bool) -> None:
    # every case in one run: its documents (or its combined state) and its errors
    literals = _password_literals()
    cases = sorted(str(p.relative_to(ROOT)) for p in FRONTEND.iterdir() if p.is_dir())
    result = run_cli("sql2json", *cases, *(["--combined"] if combined else []))
    assert result.out.strip() and result.err.strip()
    for literal in literals:
        assert literal not in result.out, literal
        assert literal not in result.err, literal


def test_binary_file_is_a_located_error_and_other_files_still_read() -> None:
    result = _sql2json("bad_input")
    assert result.code == 2
    assert "fixtures/sql/frontend/bad_input/binary.sql:1: binary file" in result.err
    assert "fixtures/sql/frontend/bad_input/latin1.sql:1:5: not valid UTF-8" in result.err
    resources = {d["resource"] for d in result.json()}  # type: ignore[union-attr]
    assert {"bom_role", "crlf_role", "before_quote", "ok_before", "ok_c"} <= resources


def test_bom_and_crlf_files_give_the_right_lines() -> None:
    documents = read_sql([str(BAD / "bom.sql"), str(BAD / "crlf.sql")]).documents
    assert [(d["resource"], d["source"]["line"], d["source"]["column"]) for d in documents] == [
        ("bom_role", 1, 1), ("crlf_role", 2, 1), ("crlf_role", 4, 1)]
    assert documents[-1]["role"]["settings"] == {"idle_in_transaction_session_timeout": "1min"}


def test_unterminated_quotes_and_comments_end_at_eof_with_a_located_error() -> None:
    errors = {Path(e.file).name: (e.line, e.column, e.message)
              for e in read_sql([str(BAD)]).errors}
    assert errors["unterminated.sql"] == (2, 24, "unterminated quoted string")
    assert errors["unterminated_dollar.sql"] == (2, 4, "unterminated dollar-quoted string $$")
    assert errors["unterminated_comment.sql"] == (2, 1, "unterminated /* comment")


def test_missing_path_is_an_error() -> None:
    result = run_cli("sql2json", "fixtures/sql/frontend/no-such-dir")
    assert result.code == 2
    assert "no-such-dir:0: no such file or directory" in result.err


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / "sql").rglob("*.sql")))
def test_corpus_file_gives_json_and_located_errors_only(path: str) -> None:
    result = run_cli("sql2json", str(CORPUS / path), timeout=30)
    assert isinstance(json.loads(result.out), list)
    for line in result.err.splitlines():
        assert re.match(r".+\.sql:\d+(:\d+)?: ", line), line
