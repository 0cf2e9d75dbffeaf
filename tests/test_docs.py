"""The rule pages match the catalogue, and their examples do what the pages say."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import CHECKOV, ROOT, SHARED, run_cli

from connbudget.catalogue import RULES

RULE_DOCS = ROOT / "docs" / "rules"
SECTIONS = ["Problem", "Why it pages people", "Bad", "Good", "Fix", "Suppress"]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Where each kind of example block goes when a page's example is written out as a project.
FILE_NAMES = {"sql": "V{n}__example.sql", "hcl": "main{n}.tf", "ini": "pgbouncer{n}.ini",
              "yaml": "k8s{n}.yaml"}


def sections(page: Path) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", page.read_text(), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def write_example(body: str, directory: Path) -> list[Path]:
    directory.mkdir()
    written = []
    for n, (language, code) in enumerate(FENCE.findall(body), start=1):
        if language in FILE_NAMES:
            path = directory / FILE_NAMES[language].format(n=n)
            path.write_text(code)
            written.append(path)
    return written


def findings_of(directory: Path) -> list[dict[str, object]]:
    result = run_cli("scan", str(directory), "--format", "json", "--fail-on", "info")
    assert result.code in (0, 1), result.err
    findings: list[dict[str, object]] = json.loads(result.out)["findings"]
    return findings


def test_there_is_one_page_per_rule_in_the_catalogue() -> None:
    assert sorted(p.stem for p in RULE_DOCS.glob("*.md")) == sorted(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_has_the_catalogue_title_and_severity(rule_id: str) -> None:
    text = (RULE_DOCS / f"{rule_id}.md").read_text()
    rule = RULES[rule_id]
    assert text.splitlines()[0] == f"# {rule_id}: {rule.title}"
    assert f"Severity: **{rule.severity}**" in text


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_names_the_platforms_the_rule_covers(rule_id: str) -> None:
    from connbudget.reporters.catalogue import platform_line

    text = (RULE_DOCS / f"{rule_id}.md").read_text()
    assert platform_line(RULES[rule_id]) in text.splitlines()


def test_the_alarm_rule_covers_the_platforms_with_alarms_and_budgets_cover_all() -> None:
    from connbudget.reporters.catalogue import platforms

    assert platforms(RULES["CB109"]) == ["rds", "aurora", "cloud-sql", "azure-flexible"]
    assert {"cloud-sql", "azure-flexible", "self-managed"} <= set(platforms(RULES["CB101"]))


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_has_every_section_in_order(rule_id: str) -> None:
    assert list(sections(RULE_DOCS / f"{rule_id}.md")) == SECTIONS


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_shows_how_to_suppress_the_rule(rule_id: str) -> None:
    suppress = sections(RULE_DOCS / f"{rule_id}.md")["Suppress"]
    assert re.search(rf"connbudget:ignore (CB\d+ )*{rule_id} ", suppress)
    assert f'disable = ["{rule_id}"]' in suppress
    checkov_id = RULES[rule_id].checkov_id
    if checkov_id:
        assert f"#checkov:skip={checkov_id}:" in suppress


# The live rules judge a running server against the files: tests/test_live.py and
# tests/test_live_pgbouncer.py fire and silence each against a real PostgreSQL and PgBouncer.
SCANNED = sorted(r for r in RULES if RULES[r].family != "live")


@pytest.mark.parametrize("rule_id", SCANNED)
def test_bad_example_is_flagged_by_the_rule_in_every_file(rule_id: str, tmp_path: Path) -> None:
    written = write_example(sections(RULE_DOCS / f"{rule_id}.md")["Bad"], tmp_path / "bad")
    assert written, "the page has no example"
    flagged = {Path(str(f["file"])).name for f in findings_of(tmp_path / "bad")
               if f["rule_id"] == rule_id}
    if "rego" in RULES[rule_id].engines:  # role rules judge each file on its own
        assert flagged == {p.name for p in written}
    else:
        assert flagged


@pytest.mark.parametrize("rule_id", SCANNED)
def test_good_example_is_not_flagged_by_the_rule(rule_id: str, tmp_path: Path) -> None:
    written = write_example(sections(RULE_DOCS / f"{rule_id}.md")["Good"], tmp_path / "good")
    assert written, "the page has no example"
    assert [f for f in findings_of(tmp_path / "good") if f["rule_id"] == rule_id] == []


# docs/ci.md: the commands its jobs run

CI_DOC = ROOT / "docs" / "ci.md"


def _commands(node: object) -> list[str]:
    """Every shell line under `run:` (GitHub) or `script:` (GitLab) in a parsed job."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key == "script" and isinstance(value, list):
                found.extend(str(line) for line in value)
            else:
                found.extend(_commands(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_commands(item))
    return found


def ci_commands(program: str) -> list[str]:
    lines = [line.strip()
             for language, code in FENCE.findall(CI_DOC.read_text()) if language == "yaml"
             for command in _commands(yaml.safe_load(code))
             for line in command.split("&&")]
    return [line for line in lines if line.split()[0] == program]


def project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "fixtures" / "ci" / "project", project)
    return project


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    full_env = {**os.environ, "PATH": path, **env}
    full_env.pop("GITHUB_ACTIONS", None)
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=full_env, capture_output=True,
                            text=True, timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_ci_doc_runs_connbudget_in_every_output_a_ci_system_reads() -> None:
    commands = " ".join(ci_commands("connbudget"))
    for fmt in ("sarif", "markdown", "gitlab", "junit"):
        assert f"--format {fmt}" in commands or f"--output {fmt}=" in commands
    assert any(c.startswith("connbudget scan .") for c in ci_commands("connbudget"))


def test_ci_doc_scans_once_per_ci_system() -> None:
    scans = [c for c in ci_commands("connbudget") if c.startswith("connbudget scan")]
    assert len(scans) == 2  # one GitHub Actions step, one GitLab CI line


def test_ci_doc_checkov_job_masks_role_passwords() -> None:
    [command] = ci_commands("checkov")
    assert "--mask postgresql_role:password" in command
    help_text = shell(f"{CHECKOV} --help", ROOT).stdout
    assert "--mask MASK" in help_text


def test_ci_doc_connbudget_commands_run_on_a_project(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    summary = tmp_path / "step-summary.md"
    for command in ci_commands("connbudget"):
        if command.startswith("connbudget diff"):
            continue  # it needs a git history: tests/test_diff.py runs it in a repository
        result = shell(command, project, GITHUB_STEP_SUMMARY=str(summary))
        expected = 0 if "sql2json" in command or "|| true" in command else 1
        assert result.returncode == expected, (command, result.stderr)
    schema = json.loads((SHARED / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(
        json.loads((project / "connbudget.sarif").read_text()))
    assert json.loads((project / "gl-code-quality-report.json").read_text())
    # with --fail-on warning the missing alarm (CB109) fails too
    assert ET.parse(project / "connbudget-junit.xml").getroot().get("failures") == "4"
    assert "| `aws_db_instance.main` |" in summary.read_text()
    assert json.loads((project / "roles.json").read_text())[0]["kind"] == "role_statement"


def test_ci_doc_checkov_command_runs_the_connbudget_checks(tmp_path: Path) -> None:
    [command] = ci_commands("checkov")
    # --skip-download: these machines have no route to Checkov's guideline service.
    result = shell(f"{CHECKOV}{command.removeprefix('checkov')} --skip-download",
                   project_copy(tmp_path))
    assert "CKV_CB_001" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert "postgresql_role.app" in result.stdout


def test_ci_doc_conftest_commands_use_the_shipped_policies_in_every_namespace() -> None:
    # The pull needs the network; the test command is run through the real OPA with
    # Conftest's rules in test_conftest_usage.py.
    [pull, test] = ci_commands("conftest")
    assert "//policies?ref=" in pull and "--policy policies" in pull
    assert test == "conftest test roles.json -p policies/ --all-namespaces"
    shipped = {p.parent.name for p in (ROOT / "policies").rglob("policy.rego")}
    assert {r.lower() for r in RULES if "rego" in RULES[r].engines} <= shipped


def test_readme_rule_table_is_the_catalogue() -> None:
    table = run_cli("rules", "--format", "markdown").out
    assert table in (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_demo_as_it_runs() -> None:
    out = run_cli("scan", "examples/incident", env={"COLUMNS": "100"}).out
    math = out[out.index("THE CONNECTION MATH"):out.index("\nconnbudget:")].rstrip("\n")
    assert math in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_lists_every_input_kind_as_the_registry_names_it() -> None:
    from connbudget.kinds import KINDS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| input | how it is recognised | read by |"):].split("\n\n")[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert rows == [kind.label for kind in KINDS]
