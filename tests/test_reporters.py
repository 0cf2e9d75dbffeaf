"""Every output format, from one small report and from real CLI runs."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT, SHARED, Run, load_report, run_cli

from connbudget.catalogue import RULES
from connbudget.errors import InputError
from connbudget.report import Finding, Report
from connbudget.reporters import FORMATS, render, resolve_format
from connbudget.reporters.github import escape_property
from connbudget.reporters.markdown import bar
from connbudget.settings import Settings


def out(fmt: str, report: Report | None = None, **settings: object) -> str:
    return render(report or load_report(), fmt, Settings(**settings))  # type: ignore[arg-type]


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((SHARED / "data" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


# text

def test_text_groups_findings_under_their_file() -> None:
    lines = out("text").splitlines()
    assert lines.index("db/V3__roles.sql") < lines.index("infra/main.tf")
    assert lines.count("db/V3__roles.sql") == 1


def test_text_shows_each_fix_and_links_each_rule_to_its_page() -> None:
    text = out("text")
    assert "fix: ALTER ROLE appuser CONNECTION LIMIT 50;" in text
    assert f"docs: {RULES['CB101'].help_uri}" in text


def test_text_continues_a_multi_line_fix_under_the_first_line() -> None:
    lines = out("text").splitlines()
    first = next(i for i, line in enumerate(lines) if "fix: put PgBouncer" in line)
    assert lines[first + 1].strip() == "or cap the service at 13 tasks, or set PG_POOL_SIZE <= 4"


def test_text_ends_with_input_errors_and_a_summary() -> None:
    lines = out("text").splitlines()
    assert "error: k8s/broken.yaml:3: mapping values are not allowed here" in lines[-3]
    assert lines[-1] == ("connbudget: 2 errors, 1 warning, 1 info hidden (--show info); "
                         "2 input errors (fail on error)")


# json

def test_json_has_the_spec_shape() -> None:
    data = json.loads(out("json"))
    assert set(data) == {"version", "findings", "budgets", "errors"}
    assert set(data["findings"][0]) == {"rule_id", "severity", "message", "file", "line",
                                        "resource", "fix", "related", "edits"}
    assert data["errors"][1] == {"file": "missing/dir", "line": 0,
                                 "message": "no such file or directory"}


# sarif

def test_sarif_is_valid_against_the_2_1_0_schema() -> None:
    sarif_validator().validate(json.loads(out("sarif")))


def test_sarif_lists_every_rule_with_its_help_uri_and_level() -> None:
    rules = json.loads(out("sarif"))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    by_id = {r["id"]: r for r in rules}
    assert by_id["CB005"]["helpUri"] == RULES["CB005"].help_uri
    assert by_id["CB005"]["defaultConfiguration"]["level"] == "note"


def test_sarif_results_carry_level_region_and_rule_index() -> None:
    run = json.loads(out("sarif"))["runs"][0]
    levels = [r["level"] for r in run["results"]]
    assert levels == ["error", "note", "error", "warning"]
    first = run["results"][0]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "CB001"
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 12, "startColumn": 1}
    block = run["results"][2]["locations"][0]["physicalLocation"]["region"]
    assert block == {"startLine": 40, "endLine": 52}


def test_sarif_clamps_line_zero_to_one() -> None:
    result = json.loads(out("sarif"))["runs"][0]["results"][3]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_sarif_reports_input_errors_as_tool_notifications() -> None:
    invocation = json.loads(out("sarif"))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes][1] == "no such file or directory"


def test_sarif_makes_absolute_paths_under_the_working_directory_relative(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = Report(findings=[Finding("CB001", "m", str(tmp_path / "db" / "my roles.sql"), 3)])
    result = json.loads(out("sarif", report))["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "db/my%20roles.sql"


def test_sarif_gives_a_path_outside_the_working_directory_as_an_absolute_uri(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = Report(errors=[InputError("/nonexistent", 0, "no such file or directory")])
    sarif = json.loads(out("sarif", report))
    sarif_validator().validate(sarif)
    [note] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///nonexistent"}


# junit

def test_junit_has_one_testcase_per_finding_and_per_error() -> None:
    root = ET.fromstring(out("junit"))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 6
    assert root.get("tests") == "6" and root.get("errors") == "2"


def test_junit_fails_only_findings_at_or_above_fail_on() -> None:
    errors_only = ET.fromstring(out("junit", fail_on="error"))
    assert [f.get("type") for f in errors_only.iter("failure")] == ["error", "error"]
    with_warnings = ET.fromstring(out("junit", fail_on="warning"))
    assert [f.get("type") for f in with_warnings.iter("failure")] == ["error", "error", "warning"]


def test_junit_keeps_findings_below_fail_on_as_output() -> None:
    root = ET.fromstring(out("junit"))
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("CB005"))
    assert case.find("failure") is None
    assert "sets no idle_in_transaction_session_timeout" in (case.findtext("system-out") or "")


def test_junit_with_nothing_found_is_one_passing_testcase() -> None:
    root = ET.fromstring(out("junit", Report()))
    assert root.get("tests") == "1" and root.get("failures") == "0"


# github

def test_github_annotates_each_finding_with_file_line_and_title() -> None:
    first = out("github").splitlines()[0]
    assert first.startswith("::error file=db/V3__roles.sql,line=12,col=1,title=CB001 ")
    assert "::role \"appuser\" can log in" in first


def test_github_uses_notice_for_info_and_warning_for_warnings() -> None:
    kinds = [line.split(" ", 1)[0] for line in out("github").splitlines()[:4]]
    assert kinds == ["::error", "::notice", "::error", "::warning"]


def test_github_escapes_percent_and_newlines_in_messages() -> None:
    line = out("github").splitlines()[2]
    assert "(228 %25)" in line
    assert "in front,%0Aor cap" in line
    assert "\r" not in line


def test_github_escapes_colon_and_comma_in_properties() -> None:
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_github_annotates_input_errors() -> None:
    lines = out("github").splitlines()
    assert "::error file=missing/dir,line=1,title=connbudget input error::no such file" in lines[-2]


def test_github_is_the_default_in_actions_unless_stdout_is_a_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    # pytest captures stdout into a temporary file: that counts as a redirect.
    assert resolve_format(None, None) == "text"
    assert resolve_format(None, "out.txt") == "text"
    assert resolve_format("json", None) == "json"
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert resolve_format(None, None) == "text"


# gitlab

def test_gitlab_issues_have_the_code_quality_fields() -> None:
    issues = json.loads(out("gitlab"))
    assert len(issues) == 6
    first = issues[0]
    assert first["check_name"] == "CB001"
    assert first["severity"] == "major"
    assert first["location"] == {"path": "db/V3__roles.sql", "lines": {"begin": 12}}
    assert [i["severity"] for i in issues[:4]] == ["major", "info", "major", "minor"]


def test_gitlab_fingerprints_are_unique_within_a_report() -> None:
    prints = [i["fingerprint"] for i in json.loads(out("gitlab"))]
    assert len(set(prints)) == len(prints)


def test_gitlab_fingerprint_survives_moved_lines_and_changed_numbers() -> None:
    before = json.loads(out("gitlab"))[2]["fingerprint"]
    report = load_report()
    moved = report.findings[2]
    report.findings[2] = Finding(moved.rule_id, moved.message.replace("380", "420"), moved.file,
                                 moved.line + 7, moved.resource, moved.fix)
    assert json.loads(out("gitlab", report))[2]["fingerprint"] == before


def test_gitlab_fingerprint_changes_with_the_resource() -> None:
    before = json.loads(out("gitlab"))[2]["fingerprint"]
    report = load_report()
    other = report.findings[2]
    report.findings[2] = Finding(other.rule_id, other.message, other.file, other.line,
                                 "aws_db_instance.other", other.fix)
    assert json.loads(out("gitlab", report))[2]["fingerprint"] != before


# markdown

def test_markdown_bar_fills_in_proportion_and_caps_at_full() -> None:
    assert bar(0.83) == "██████████░░ 83 %"
    assert bar(2.28) == "████████████▶ 228 %"
    assert bar(1.0) == "████████████ 100 %"
    assert bar(0) == "░░░░░░░░░░░░ 0 %"


def test_markdown_bar_of_a_database_near_full_differs_from_one_far_over() -> None:
    assert bar(0.96) == "███████████░ 96 %"
    assert bar(2.3) == "████████████▶ 230 %"


def test_markdown_gives_two_databases_of_the_same_name_a_root_column() -> None:
    budget = load_report().budgets[0]
    report = Report(budgets=[replace(budget, root="infra/prod"),
                             replace(budget, root="infra/staging")])
    text = out("markdown", report)
    assert "| database | root | max_connections | usable | worst case | budget |" in text
    assert "| `aws_db_instance.main` | `infra/prod` | 170 |" in text
    assert "| `aws_db_instance.main` | `infra/staging` | 170 |" in text
    assert "| root |" not in out("markdown")


def test_markdown_lists_findings_most_severe_first() -> None:
    text = out("markdown")
    rows = [line.split(" | ")[0] for line in text.splitlines()
            if line.startswith(("| error", "| warning", "| info"))]
    assert rows == ["| error", "| error", "| warning", "| info"]


def test_markdown_shows_each_database_budget_as_a_bar() -> None:
    text = out("markdown")
    assert "| `aws_db_instance.main` | 170 | 167 | 380 | ████████████▶ 228 % |" in text
    assert "| `aws_db_instance.reports` | 170 | 167 | 140 | ██████████░░ 84 % |" in text


def test_markdown_links_rules_and_keeps_table_cells_on_one_line() -> None:
    text = out("markdown")
    row = next(line for line in text.splitlines() if "CB101" in line)
    assert f"[CB101]({RULES['CB101'].help_uri})" in row
    assert "in front,<br>or cap" in row


def test_markdown_escapes_pipes_and_html_in_messages() -> None:
    report = Report(findings=[Finding("CB001", "a | b <script>", "x.sql", 1)])
    text = out("markdown", report)
    assert "a &#124; b &#60;script&#62;" in text
    assert "<script>" not in text and "a | b" not in text


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github", "gitlab",
                                 "markdown"])
def test_every_format_renders_an_empty_report(fmt: str) -> None:
    assert out(fmt, Report())


def test_text_draws_the_connection_math_of_each_database_after_the_findings() -> None:
    lines = out("text").splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("THE CONNECTION MATH")]
    assert [lines[i].split()[3] for i in heads] == ["aws_db_instance.main",
                                                    "aws_db_instance.reports"]
    assert lines.index("infra/reports.tf") < heads[0]
    assert heads[1] < next(i for i, line in enumerate(lines) if line.startswith("error: "))


# end to end: the real CLI on the fixtures

SECRETS = ("sql-plaintext-Zq9w", "sql-rotated-Hy4t", "sql-broken-Pw3x", "tf-plaintext-Kx7m",
           "tf-broken-Qv8n")


_FIXTURE_FORMATS = ("json", "sarif", "gitlab", "github", "markdown")
# the tests that read the scan of the whole fixtures tree share a worker, and so one scan
_FIXTURES_SCAN = pytest.mark.xdist_group("fixtures-scan")


@functools.cache
def _scan_of_the_fixtures() -> tuple[Run, Path]:
    """One scan of the whole fixtures tree: JSON on stdout, every other format to a file."""
    directory = Path(tempfile.mkdtemp(prefix="cb-fixtures-scan-"))
    atexit.register(shutil.rmtree, directory, True)
    per_format = [arg for fmt in _FIXTURE_FORMATS[1:]
                  for arg in ("--output", f"{fmt}={directory / fmt}")]
    return run_cli("scan", "fixtures", "--format", "json", *per_format), directory


def scan_fixtures(fmt: str) -> Run:
    """The scan of the fixtures in `fmt`, with the scan's stderr and exit code."""
    scan, directory = _scan_of_the_fixtures()
    if fmt == "json":
        return scan
    return Run(subprocess.CompletedProcess([], scan.code, (directory / fmt).read_text(),
                                           scan.err))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_prints_a_password_literal(fmt: str, tmp_path: Path) -> None:
    target = tmp_path / "report"
    for result in (run_cli("scan", "fixtures/outputs/secrets", "--format", fmt),
                   run_cli("scan", "fixtures/outputs/secrets", "--format", fmt,
                           "--output", str(target))):
        assert result.code == 2  # CB004 findings and two unparseable files
        written = target.read_text() if target.exists() else ""
        for secret in SECRETS:
            assert secret not in result.out + result.err + written


def test_the_secrets_fixture_is_flagged_so_the_redaction_test_means_something() -> None:
    findings = json.loads(run_cli("scan", "fixtures/outputs/secrets", "--format", "json").out)
    assert [f["rule_id"] for f in findings["findings"]].count("CB004") == 3


@_FIXTURES_SCAN
def test_scan_of_the_fixtures_is_valid_sarif() -> None:
    sarif = json.loads(scan_fixtures("sarif").out)
    sarif_validator().validate(sarif)
    assert sarif["runs"][0]["results"]


@_FIXTURES_SCAN
def test_scan_of_the_fixtures_is_code_quality_json_with_unique_fingerprints() -> None:
    prints = [i["fingerprint"] for i in json.loads(scan_fixtures("gitlab").out)]
    assert len(prints) == len(set(prints)) > 0


@functools.cache
def scan_mine(fmt: str) -> str:
    # A fixed part of the tree, so the formats can be compared with the JSON count for count.
    return run_cli("scan", "fixtures/outputs", "fixtures/suppress", "--format", fmt).out


def expected_items() -> int:
    report = json.loads(scan_mine("json"))
    return len(report["findings"]) + len(report["errors"])


def test_sarif_has_one_result_per_finding_and_one_notification_per_error() -> None:
    run = json.loads(scan_mine("sarif"))["runs"][0]
    assert len(run["results"]) + len(run["invocations"][0]["toolExecutionNotifications"]) \
        == expected_items()


def test_junit_has_one_testcase_per_finding_and_error_from_the_cli() -> None:
    assert int(ET.fromstring(scan_mine("junit")).get("tests", "0")) == expected_items()


def test_gitlab_has_one_issue_per_finding_and_error_from_the_cli() -> None:
    assert len(json.loads(scan_mine("gitlab"))) == expected_items()


def test_github_has_one_annotation_per_finding_and_error_and_one_per_other_deciding_line(
        ) -> None:
    report = json.loads(scan_mine("json"))
    related = {(r["file"], r["line"]) for f in report["findings"] for r in f["related"]}
    annotations = scan_mine("github").splitlines()[:-1]
    extra = [line for line in annotations if "decides CB" in line.split("::", 2)[2]]
    assert len(annotations) - len(extra) == expected_items()
    for line in extra:
        props = dict(p.split("=", 1) for p in line.split("::")[1].split(" ", 1)[1].split(","))
        assert (props["file"], int(props["line"])) in related


def test_gitlab_fingerprints_are_the_same_on_a_second_run() -> None:
    again = run_cli("scan", "fixtures/outputs", "fixtures/suppress", "--format", "gitlab").out
    assert again == scan_mine("gitlab")


@_FIXTURES_SCAN
def test_scan_of_the_fixtures_as_github_annotations_is_commands_and_a_summary() -> None:
    lines = scan_fixtures("github").out.splitlines()
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines[:-1])
    assert lines[-1].startswith("connbudget: ")


@_FIXTURES_SCAN
def test_scan_of_the_fixtures_as_markdown_has_a_budget_bar_per_database() -> None:
    budgets = json.loads(scan_fixtures("json").out)["budgets"]
    lines = scan_fixtures("markdown").out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("| database |")))
                  + 2:]
    rows = table[:table.index("")]
    assert len(rows) == len(budgets) > 0


@_FIXTURES_SCAN
def test_machine_formats_leave_input_errors_on_stderr_too() -> None:
    assert "fixtures/outputs/secrets/infra/broken.tf:4:14" in scan_fixtures("sarif").err


def test_output_file_gets_the_report_and_stdout_stays_empty(tmp_path: Path) -> None:
    target = tmp_path / "connbudget.sarif"
    result = run_cli("scan", "fixtures/precommit/bad", "--format", "sarif",
                     "--output", str(target))
    assert result.code == 1 and result.out == ""
    sarif_validator().validate(json.loads(target.read_text()))


def test_github_actions_gets_annotations_on_a_pipe() -> None:
    result = run_cli("scan", "fixtures/precommit/bad", env={"GITHUB_ACTIONS": "true"})
    assert result.out.startswith("::error file=fixtures/precommit/bad/db/V1__app_user.sql,")


def test_github_actions_gets_text_when_stdout_is_redirected_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with open(target, "w") as handle:
        subprocess.run([sys.executable, "-m", "connbudget", "scan", "fixtures/precommit/bad"],
                       cwd=ROOT, stdout=handle, env={**os.environ, "GITHUB_ACTIONS": "true"},
                       check=False)
    assert target.read_text().startswith("fixtures/precommit/bad/db/V1__app_user.sql\n")


def test_a_half_percent_is_rounded_the_same_way_in_finding_math_and_markdown() -> None:
    # 41 connections over 40 usable slots: 102.5 %
    half = "fixtures/outputs/half-percent"
    text = run_cli("capacity", half, env={"COLUMNS": "200"}).out
    markdown = run_cli("capacity", half, "--format", "markdown").out
    assert "> usable 40 (max_connections 45 - 5 reserved): 103 %" in text
    assert "worst case 41 > usable 40 (103 %)" in text
    assert "| 45 | 40 | 41 | ████████████▶ 103 % |" in markdown
