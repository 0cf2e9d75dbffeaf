"""SQL that migrations run the way PostgreSQL runs it: conditions, routines, \\gexec, run-time
EXECUTE, templates, fix text in the file's own dialect, settings as PostgreSQL stores them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import FIXTURES, run_cli

from connbudget.frontends.sql import read_sql
from connbudget.rules.sql import run_time_findings

POSTGRES = FIXTURES / "sql" / "postgres"
RULES = FIXTURES / "sql" / "rules"


def _documents(case: Path) -> list[dict[str, Any]]:
    return read_sql([str(case)]).documents


def _write(tmp_path: Path, text: str, name: str = "V1__roles.sql") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def test_a_branch_that_cannot_run_leaves_no_statement() -> None:
    lines = [d["source"]["line"] for d in _documents(POSTGRES / "conditions-decided")]
    assert 8 not in lines and 15 not in lines and 21 not in lines  # the branches not taken
    assert 12 in lines and 19 in lines


def test_a_statement_under_an_undecided_condition_is_conditional_and_its_effect_a_maybe() -> None:
    documents = {(d["resource"], d["source"]["line"]): d
                 for d in _documents(POSTGRES / "conditions-undecided")}
    created = documents[("legacy", 10)]
    assert created["conditional"] is True
    assert created["final"]["maybe"] == {"exists": [False]}
    web = documents[("web", 21)]
    assert web["conditional"] is True and web["effective"]["connection_limit"] == -1
    assert web["final"]["maybe"]["connection_limit"] == [30]
    assert documents[("web", 15)]["conditional"] is False


def test_a_maybe_set_timeout_does_not_clear_cb005() -> None:
    run = run_cli("sql", "--format", "json", str(RULES / "cb005_fail_timeout_under_undecided_if"))
    assert [f["rule_id"] for f in run.json()["findings"]] == ["CB005"]


def test_routine_statements_run_where_the_routine_is_called_and_are_located_in_its_body() -> None:
    documents = _documents(POSTGRES / "procedure-called")
    where = {d["resource"]: (Path(d["source"]["file"]).name, d["source"]["line"],
                             d["conditional"]) for d in documents}
    assert where == {
        "analytics_reader": ("V1__procedures.sql", 5, False),
        "analytics_writer": ("V1__procedures.sql", 6, False),
        "batch": ("V1__procedures.sql", 13, False),
        "spare": ("V1__procedures.sql", 20, True),  # never called in the files: it may run
    }


def test_a_redefined_routine_runs_its_latest_body(tmp_path: Path) -> None:
    _write(tmp_path, "CREATE PROCEDURE p() LANGUAGE sql AS $$ CREATE ROLE a NOLOGIN $$;\n"
                     "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql\n"
                     "  AS $$ CREATE ROLE b NOLOGIN $$;\n"
                     "CALL p();\n")
    assert [d["resource"] for d in _documents(tmp_path)] == ["b"]


def test_gexec_of_a_constant_is_read_and_its_where_clause_decided() -> None:
    documents = _documents(POSTGRES / "gexec")
    assert [(d["resource"], d["source"]["line"]) for d in documents] == [
        ("fixed_user", 1), ("guarded", 3), ("fixed_user", 9)]


def test_run_time_execute_of_a_login_role_is_a_warning_with_what_is_known() -> None:
    run = run_cli("sql", "--format", "json", str(RULES / "cb008_fail_execute_variable"))
    [cb008] = [f for f in run.json()["findings"] if f["rule_id"] == "CB008"]
    assert cb008["severity"] == "warning"
    assert "{admin_role}" in cb008["message"] and "no CONNECTION LIMIT" in cb008["message"]


def test_a_variable_declared_constant_names_the_role(tmp_path: Path) -> None:
    _write(tmp_path, "DO $$\nDECLARE r text := 'svc';\nBEGIN\n"
                     "  EXECUTE 'CREATE ROLE ' || quote_ident(r) || ' LOGIN CONNECTION LIMIT 3';\n"
                     "END $$;\n")
    [document] = _documents(tmp_path)
    assert (document["resource"], document["dynamic"], document["source"]["line"]) == (
        "svc", False, 4)


def test_templates_are_placeholders_not_input_errors_and_noted_once_per_file() -> None:
    run = run_cli("sql", "--format", "json", str(RULES / "cb001_fail_templates"))
    report = run.json()
    assert run.code == 1 and report["errors"] == []
    notes = [f for f in report["findings"] if f["rule_id"] == "CB007"]
    assert len(notes) == 1 and "templates" in notes[0]["message"]
    names = {d["resource"] for d in _documents(RULES / "cb001_fail_templates")}
    assert names == {"{{ .role }}", "reader_%[1]s"}


def test_go_fmt_placeholders_are_read_and_noted(tmp_path: Path) -> None:
    _write(tmp_path, "-- rendered with fmt.Sprintf\nCREATE ROLE %s LOGIN CONNECTION LIMIT %d;\n")
    result = read_sql([str(tmp_path)])
    assert result.errors == []
    found = run_time_findings(result.run_time, set())
    assert [(f.rule_id, f.line) for f in found] == [("CB007", 2)]
    assert result.roles["%s"]["connection_limit"] is None  # given by the template: unknown


def test_fix_text_keeps_a_psql_variable_a_variable() -> None:
    run = run_cli("sql", "--format", "json", "--fail-on", "info", str(POSTGRES / "psql-variables"))
    fixes = [f["fix"] for f in run.json()["findings"]]
    assert fixes == ["ALTER ROLE :\"USER_NAME\" SET idle_in_transaction_session_timeout = '60s';"]


def test_fix_text_keeps_a_bare_psql_variable_bare(tmp_path: Path) -> None:
    _write(tmp_path, "CREATE USER :app_user;\n")
    run = run_cli("sql", "--format", "json", str(tmp_path))
    [cb001] = [f for f in run.json()["findings"] if f["rule_id"] == "CB001"]
    assert cb001["fix"].startswith("ALTER ROLE :app_user CONNECTION LIMIT 50;")


def test_list_settings_keep_postgres_quoting() -> None:
    roles = read_sql([str(POSTGRES / "settings-quoting")]).roles
    assert roles["api"]["settings"]["search_path"] == '"$user", public, "Reports", extensions'
    assert roles["etl"]["settings"]["search_path"] == 'etl_stage, "select"'
    assert roles["api"]["settings"]["statement_timeout"] == "5s"
