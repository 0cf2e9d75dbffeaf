"""Inline ignores: where they apply, what they must say, and ignores reported as CB006."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES

from connbudget.comments import Comment
from connbudget.discover import discover
from connbudget.engine import check_capacity, check_sql, scan
from connbudget.frontends.sql.scanner import comments as sql_comments
from connbudget.report import Finding, Report
from connbudget.rules.suppress import Ignore, apply_suppressions, ignores_in
from connbudget.settings import Settings

DIR = FIXTURES / "suppress"
SQL = str(DIR / "roles.sql")
TF = str(DIR / "main.tf")
INI = str(DIR / "pgbouncer.ini")

SQL_FINDINGS = [Finding("CB001", "no limit", SQL, 2, "reporting"),
                Finding("CB001", "no limit", SQL, 5, "batch"),
                Finding("CB005", "no timeout", SQL, 5, "batch"),
                Finding("CB001", "no limit", SQL, 8, "nightly"),
                Finding("CB001", "no limit", SQL, 16, "exporter"),
                Finding("CB005", "no timeout", SQL, 16, "exporter")]
TF_FINDINGS = [Finding("CB001", "no limit", TF, 1, "postgresql_role.reporting", end_line=5),
               Finding("CB101", "380 > 167", TF, 8, "aws_db_instance.main", end_line=10),
               Finding("CB001", "no limit", TF, 12, "postgresql_role.etl", end_line=16)]


ENGINES = {"sql": check_sql, "capacity": check_capacity, "scan": scan}


def lexed(paths: list[str], command: str = "scan") -> dict[str, list[Comment]]:
    """The comments the front ends that `command` runs lexed in the files under `paths`."""
    return ENGINES[command](discover(paths, []), Settings(cache=False)).comments


def parse_ignores(path: str, text: str) -> list[Ignore]:
    return ignores_in(sql_comments(path, text))


def run(findings: list[Finding], command: str = "scan", paths: list[str] | None = None,
        settings: Settings | None = None) -> list[tuple[str, int, str]]:
    comments = lexed(paths if paths is not None else [str(DIR)], command)
    report = apply_suppressions(Report(findings=list(findings), comments=comments),
                                settings or Settings(), command)
    return sorted((f.rule_id, f.line, f.message) for f in report.findings)


def kept(findings: list[Finding], command: str = "scan", paths: list[str] | None = None,
         settings: Settings | None = None) -> list[tuple[str, int]]:
    return [(rule, line) for rule, line, _ in run(findings, command, paths, settings)
            if rule != "CB006"]


def cb006(findings: list[Finding], command: str = "scan", paths: list[str] | None = None,
          settings: Settings | None = None) -> list[tuple[int, str]]:
    return [(line, message) for rule, line, message in run(findings, command, paths, settings)
            if rule == "CB006"]


def test_sql_ignore_on_the_statement_line_suppresses() -> None:
    assert ("CB001", 2) not in kept(SQL_FINDINGS)


def test_sql_ignore_on_the_line_before_suppresses_every_rule_it_names() -> None:
    assert [f for f in kept(SQL_FINDINGS) if f[1] == 5] == []


def test_findings_without_an_ignore_are_kept() -> None:
    assert kept(SQL_FINDINGS) == [("CB001", 16), ("CB005", 16)]


def test_an_ignore_without_a_reason_suppresses_but_is_reported() -> None:
    assert ("CB001", 8) not in kept(SQL_FINDINGS)
    assert (7, "connbudget:ignore CB001 gives no reason") in cb006(SQL_FINDINGS)


def test_an_ignore_naming_an_unknown_rule_is_reported_at_its_line() -> None:
    assert (10, "connbudget:ignore names unknown rule CB999") in cb006(SQL_FINDINGS)


def test_an_ignore_that_matches_no_finding_is_reported() -> None:
    assert (13, "connbudget:ignore CB003 matches no finding") in cb006(SQL_FINDINGS)


def test_an_ignore_for_a_rule_the_command_did_not_run_is_not_reported() -> None:
    messages = cb006(TF_FINDINGS, command="sql")
    assert all("CB101" not in message for _, message in messages)
    assert cb006([], command="capacity", paths=[SQL]) == []


def test_hcl_ignore_inside_the_resource_block_suppresses() -> None:
    assert ("CB001", 1) not in kept(TF_FINDINGS)


def test_hcl_slash_comment_on_the_line_before_the_block_suppresses() -> None:
    assert ("CB101", 8) not in kept(TF_FINDINGS)


def test_checkov_skip_comment_suppresses_the_same_rule_and_is_never_reported() -> None:
    assert ("CB001", 12) not in kept(TF_FINDINGS)
    assert all(line != 13 for line, _ in cb006([], paths=[TF]))


def test_ini_semicolon_comment_on_the_line_before_suppresses() -> None:
    assert kept([Finding("CB105", "100 < 380", INI, 6, "pgbouncer")], paths=[INI]) == []


def test_ignores_in_files_without_findings_are_still_checked() -> None:
    assert cb006([], paths=[TF]) == [(4, "connbudget:ignore CB001 matches no finding"),
                                     (7, "connbudget:ignore CB101 matches no finding")]


def test_disabled_rules_are_dropped() -> None:
    settings = Settings(disabled_rules={"CB005"})
    assert kept(SQL_FINDINGS, settings=settings) == [("CB001", 16)]


def test_disabling_cb006_silences_the_reports_about_ignores() -> None:
    assert cb006(SQL_FINDINGS, settings=Settings(disabled_rules={"CB006"})) == []


def test_rule_ids_may_be_separated_by_commas_or_spaces_and_any_case() -> None:
    ignores = parse_ignores("x.sql", "-- connbudget:ignore cb001 CB005,CB002: legacy role\n")
    assert ignores[0].rule_ids == ["CB001", "CB005", "CB002"]
    assert ignores[0].reason == "legacy role"


def test_a_word_that_only_looks_like_an_id_starts_the_reason() -> None:
    ignores = parse_ignores("x.sql", "-- connbudget:ignore CB004 md5 hash, not plaintext\n")
    assert (ignores[0].rule_ids, ignores[0].reason) == (["CB004"], "md5 hash, not plaintext")


def test_sql_files_only_honour_sql_comments() -> None:
    assert parse_ignores("x.sql", "# connbudget:ignore CB001 reason\n") == []


def test_an_ignore_that_also_names_cb006_is_kept_without_a_match() -> None:
    assert cb006([], paths=[str(DIR / "kept.sql")]) == []


def test_ini_ignore_covers_its_whole_section() -> None:
    assert kept([Finding("CB105", "100 < 380", INI, 7, "pgbouncer")], paths=[INI]) == []


def test_ini_ignore_does_not_cover_another_section() -> None:
    finding = Finding("CB105", "100 < 380", INI, 2, "pgbouncer")
    assert kept([finding], paths=[INI]) == [("CB105", 2)]


def test_line_numbers_count_only_newlines() -> None:
    ignores = parse_ignores("x.sql", "SELECT '\f';\r\n-- connbudget:ignore CB001 legacy\r\n")
    assert (ignores[0].line, ignores[0].reason) == (2, "legacy")


STRINGS = DIR / "strings"


def scanned(path: Path) -> list[tuple[str, int]]:
    inputs = discover([str(path)], [])
    report = apply_suppressions(scan(inputs, Settings()), Settings(), "scan")
    return sorted((f.rule_id, f.line) for f in report.findings)


def test_an_sql_string_that_reads_like_an_ignore_suppresses_nothing() -> None:
    assert ("CB001", 2) in scanned(STRINGS / "comment_on.sql")


def test_an_hcl_string_or_heredoc_that_reads_like_an_ignore_suppresses_nothing() -> None:
    assert ("CB001", 2) in scanned(STRINGS / "main.tf")


def test_a_quoted_or_block_yaml_value_that_reads_like_an_ignore_suppresses_nothing() -> None:
    path = str(STRINGS / "deployment.yaml")
    findings = [Finding("CB103", "pool size unknown", path, 7, "api"),
                Finding("CB102", "near the limit", path, 9, "api"),
                Finding("CB108", "rolling deploy", path, 11, "api"),
                Finding("CB101", "380 > 167", path, 12, "api")]
    assert kept(findings, paths=[path]) == [("CB102", 9), ("CB103", 7), ("CB108", 11)]


def test_an_ignore_of_a_disabled_rule_is_not_reported_as_unused() -> None:
    settings = Settings(disabled_rules={"CB101"})
    assert cb006([], paths=[TF], settings=settings) == [
        (4, "connbudget:ignore CB001 matches no finding")]


def test_disabled_rules_are_not_run() -> None:
    inputs = discover([str(STRINGS / "comment_on.sql")], [])
    report = scan(inputs, Settings(disabled_rules={"CB001", "CB110"}))
    assert {f.rule_id for f in report.findings} == {"CB005"}


def test_an_sql_file_is_read_once_its_ignores_come_from_the_comments_the_scan_lexed() -> None:
    path = str(STRINGS / "not-on-disk.sql")
    report = Report(findings=[Finding("CB001", "no limit", path, 2, "app")],
                    comments={path: [Comment(path, 1, 1, "-- connbudget:ignore CB001 lexed")]})
    assert apply_suppressions(report, Settings(), "sql").findings == []


def test_the_sql_front_end_returns_the_comments_it_lexed() -> None:
    inputs = discover([str(STRINGS / "comment_on.sql")], [])
    assert scan(inputs, Settings()).comments == {inputs.of("sql")[0]: []}
    inputs = discover([SQL], [])
    lexed = scan(inputs, Settings()).comments[inputs.of("sql")[0]]
    assert [(c.line, c.column, c.text) for c in lexed[:2]] == [
        (1, 1, "-- Roles for the reporting service."),
        (2, 30, "-- connbudget:ignore CB001 capped by PgBouncer max_db_connections")]


def test_an_ignore_in_a_file_no_front_end_read_suppresses_nothing() -> None:
    # roles.sql holds ignores, but no front end of this run read it: its findings cannot exist
    assert kept(SQL_FINDINGS[:1], command="capacity", paths=[TF]) == [("CB001", 2)]


def test_the_terraform_front_end_returns_only_the_comments_that_can_suppress() -> None:
    comments = lexed([TF])
    assert [(c.line, c.text) for c in comments[TF]] == [
        (4, "# connbudget:ignore CB001 reporting connects through PgBouncer only"),
        (7, "// connbudget:ignore CB101 the read replica takes this load at peak"),
        (13, "#checkov:skip=CKV_CB_001:the ETL job opens one connection"),
    ]  # line 17's note is no suppression: it is left behind


def test_the_pgbouncer_front_end_gives_a_comment_its_section() -> None:
    comments = lexed([INI])[INI]
    assert [(c.line, c.scope) for c in comments] == [(5, (4, 8))]


def test_the_kubernetes_front_end_returns_the_comments_it_lexed() -> None:
    path = str(STRINGS / "deployment.yaml")
    assert [c.line for c in lexed([path])[path]] == [12]


def test_an_ignore_on_the_first_line_of_a_file_no_front_end_reads_suppresses_its_note() -> None:
    path = str(DIR / "unread" / "cloudformation.yaml")
    inputs = discover([path], [])
    assert [f.rule_id for f in scan(inputs, Settings()).findings] == ["CB111"]
    report = apply_suppressions(scan(inputs, Settings()), Settings(), "scan")
    assert report.findings == []


def test_the_compose_front_end_returns_the_comments_it_lexed() -> None:
    path = str(DIR / "compose" / "docker-compose.yml")
    assert [(c.line, c.column) for c in lexed([path])[path]] == [(4, 5)]
