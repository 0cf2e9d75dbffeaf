"""Hostile pull requests: no secret in any message, no injected line in any output format."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, apply_edits
from inprocess import Outcome
from inprocess import run_main as _run_main

from connbudget.quoting import hcl_string, referable, split_address
from connbudget.reporters import FORMATS

HOSTILE = FIXTURES / "hostile"


REFUSES = "PgBouncer 1.25 refuses to start: "


def run_main(*args: str) -> Outcome:
    """In this process, bounded: a hang (a blocking FIFO, a runaway evaluation) fails."""
    return _run_main(*args, timeout=180)
# A line GitHub Actions would run as a workflow command, wherever connbudget writes it.
WORKFLOW_COMMAND = re.compile(r"^\s*::", re.MULTILINE)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("fmt", FORMATS)
def test_passwords_in_broken_role_statements_never_reach_any_output(fmt: str) -> None:
    outcome = run_main("scan", str(HOSTILE / "sql"), "--format", fmt)
    assert outcome.code == 2
    for text in (outcome.out, outcome.err):
        assert "hunter2" not in text
        assert "at or near" not in text


def test_broken_role_statements_are_still_located() -> None:
    outcome = run_main("sql", str(HOSTILE / "sql"), "--format", "json")
    errors = [(e["line"], e["message"]) for e in outcome.json()["errors"]]
    assert errors == [(1, "syntax error"), (2, "syntax error"),
                      (4, 'unrecognized role option "…"')]
    assert [f["resource"] for f in outcome.json()["findings"]] == ["ok"]


# JUnit is a file for test-report tools: its XML text keeps a name's line break as it is.
@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "junit"])
def test_role_names_cannot_inject_workflow_commands_or_terminal_escapes(fmt: str) -> None:
    outcome = run_main("sql", str(HOSTILE / "names"), "--format", fmt)
    assert outcome.code == 1
    for text in (outcome.out, outcome.err):
        assert not WORKFLOW_COMMAND.search(text) or fmt == "github"
        assert "\x1b" not in text
    if fmt == "github":
        commands = WORKFLOW_COMMAND.findall(outcome.out)
        assert len(commands) == 6  # one annotation per finding (CB001 and CB005, 3 roles)
        assert all(line.startswith(("::error ", "::warning ", "::notice ", "connbudget:"))
                   for line in outcome.out.splitlines())
    if fmt == "text":
        assert "ansi\\x1b]8;;http://evil\\x07\\x1b[31m" in outcome.out
        assert "evil\\x0a\\x3a:warning\\x3a:injected" in outcome.out


def _named_tree(tmp_path: Path, name: str) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(HOSTILE / "sql" / "V1__roles.sql", tree / name)
    return tree


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "gitlab", "markdown"])
def test_a_file_name_with_a_newline_cannot_inject_a_workflow_command_on_stderr(
        fmt: str, tmp_path: Path) -> None:
    tree = _named_tree(tmp_path, "V1__x\n::add-mask::abc\n::warning::pwned.sql")
    outcome = run_main("scan", str(tree), "--format", fmt)
    assert outcome.err.count("\n") == 3  # one line per input error
    assert not WORKFLOW_COMMAND.search(outcome.err)
    if fmt == "github":
        assert all(line.startswith(("::error ", "::notice ", "connbudget:"))
                   for line in outcome.out.splitlines())


def test_markdown_escapes_a_file_name_that_would_break_the_table(tmp_path: Path) -> None:
    tree = _named_tree(tmp_path, "a|b](https:x.io)<img src=x>`[c.sql")
    outcome = run_main("scan", str(tree), "--format", "markdown")
    for row in outcome.out.splitlines():
        if row.startswith("|") and "CB001" in row:
            assert row.count(" | ") == 4  # five cells: the name adds none
    assert "<img" not in outcome.out
    assert "](https:x" not in outcome.out
    assert "a&#124;b&#93;&#40;https&#58;x.io&#41;&#60;img src=x&#62;&#96;&#91;c.sql" \
        in outcome.out


def test_text_output_escapes_control_characters_in_messages() -> None:
    outcome = run_main("sql", str(HOSTILE / "names"), "--format", "text")
    assert not CONTROL.search(outcome.out.replace("\n", ""))


def test_pgbouncer_errors_show_no_text_of_the_file(tmp_path: Path) -> None:
    secret = "pa55-word-in-ini"
    path = tmp_path / "pgbouncer.ini"
    path.write_text(f"{secret} = 1\n[databases]\napp = host=db {secret}\n"
                    f"[pgbouncer]\n[{secret}\nmax_client_conn = {secret}\n"
                    f"pool_mode = {secret}\n")
    outcome = run_main("capacity", str(path), "--format", "json")
    assert secret not in outcome.out + outcome.err
    assert [(e["line"], e["message"]) for e in outcome.json()["errors"]] == [
        (1, f"{REFUSES}syntax error: a setting outside any section"),
        (3, f"{REFUSES}database 'app': expected key=value at character 9"),
        (5, f"{REFUSES}syntax error: unclosed section header"),
        (6, f"{REFUSES}max_client_conn: the value is not an integer"),
        (7, f"{REFUSES}pool_mode: the value is not one of session, transaction, statement")]


GENERATED = FIXTURES / "hostile" / "jobs" / "generated_files"
# the for_each key of fixtures/hostile/jobs/generated_files: it would end the string, the block
# and the comment it is written into, and add a resource that runs a command
HOSTILE_KEY = ('main"]\n}\nresource "null_resource" "x" {\n  provisioner "local-exec" '
               '{ command = "touch /tmp/pwned" }\n}\n#')
TEMPLATED_ROLE = 't{{ query "up" }}{{ $labels }}}}'


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed (make test installs promtool; terraform 1.x)"
    return path


def _terraform_blocks(directory: Path) -> list[str]:
    """The resource types of the .tf files in `directory`, after `terraform fmt -check`
    accepts them (it parses them: a file an injection broke fails here)."""
    proc = subprocess.run([_tool("terraform"), "fmt", "-check", "-no-color", str(directory)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import hcl2

    return [kind for path in sorted(directory.glob("*.tf"))
            for block in hcl2.loads(path.read_text()).get("resource", []) for kind in block]


def test_cloudwatch_alarms_hold_a_hostile_key_quoted_and_terraform_fmt_accepts_them(
        tmp_path: Path) -> None:
    outcome = run_main("alerts", str(GENERATED), "--format", "cloudwatch", "--no-cache")
    (tmp_path / "alarms.tf").write_text(outcome.out)
    assert _terraform_blocks(tmp_path) == ["aws_cloudwatch_metric_alarm"] * 2
    # the instance's alarm names it as Terraform would, the key one quoted string
    assert "DBInstanceIdentifier = aws_db_instance.db[" + hcl_string(HOSTILE_KEY) \
        + "].identifier\n" in outcome.out
    # every other line of it is a comment or the block's own: no line starts a resource
    assert [line for line in outcome.out.splitlines() if line.startswith("resource ")] == [
        'resource "aws_cloudwatch_metric_alarm" "' + name + '_connections" {'
        for name in ("db_instance_db_main_n_nresource_null_resource_x_n_provisioner_local_exec"
                     "_command_touch_tmp_pwned_n_n", "db_instance_control")]


def test_the_cb109_fix_applied_as_printed_adds_only_alarms(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(GENERATED, tree)
    outcome = run_main("scan", str(tree), "--format", "json", "--no-cache")
    edits = [edit for finding in outcome.json()["findings"] if finding["rule_id"] == "CB109"
             for edit in finding["edits"]]
    assert len(edits) == 2
    apply_edits(edits)
    assert sorted(set(_terraform_blocks(tree))) == [
        "aws_cloudwatch_metric_alarm", "aws_db_instance", "aws_db_parameter_group",
        "postgresql_role"]


def test_a_hostile_role_name_never_runs_as_a_prometheus_template(tmp_path: Path) -> None:
    """promtool fires the rule on the role's connections: its labels and annotations read the
    role name as written, so `{{ query "up" }}` in it was printed, never run."""
    outcome = run_main("alerts", str(GENERATED), "--no-cache")
    (tmp_path / "rules.yml").write_text(outcome.out)
    name = TEMPLATED_ROLE
    quoted = name.replace('"', '\\"')
    series = f'pg_stat_activity_count{{usename="{quoted}", instance="x", state="idle"}}'
    where = f"{GENERATED}/main.tf:30"
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": [{"series": series, "values": "18x10"},
                                           {"series": 'up{job="x"}', "values": "1x10"}],
        "alert_rule_test": [{"eval_time": "5m", "alertname": "PostgresRoleConnectionsNearLimit",
                             "exp_alerts": [{
            "exp_labels": {"severity": "warning", "role": name, "instance": "x",
                           "resource": "postgresql_role.templated", "usename": name},
            "exp_annotations": {
                "summary": f"role {name}: 18 connections, above 16 (80% of its CONNECTION "
                           "LIMIT 20)",
                "threshold_source": "16 = 80% of CONNECTION LIMIT 20 (postgresql_role."
                                    f"templated connection_limit ({where}))",
                "selector": f"role {name} on every scraped server"}}]}]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    for args in (("check", "rules", "rules.yml"), ("test", "rules", "test.yml")):
        proc = subprocess.run([_tool("promtool"), *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "{{" not in outcome.out.replace('{{"{"}}', "").replace('{{"}"}}', "").replace(
        "{{ $value }}", "").split("expr:")[0]


@pytest.mark.parametrize("address", [
    "aws_db_instance.main", 'module.a["x"].aws_db_instance.main', "module.a[0].module.b.x.y",
    'aws_db_instance.db["a"]\n"]', 'module.m["]\n.x"].aws_rds_cluster.c', "", "]]]", "module.",
    'module.m["unclosed'])
def test_address_splitting_is_total(address: str) -> None:
    prefix, local = split_address(address)
    assert prefix + local == address
    assert not referable(local) or "\n" not in local


def test_markdown_escapes_mentions_in_every_cell(tmp_path: Path) -> None:
    tree = _named_tree(tmp_path, "V1__@org.sql")
    (tree / "V2__team.sql").write_text('CREATE ROLE "@org/admins" LOGIN;\n')
    outcome = run_main("scan", str(tree), "--format", "markdown")
    assert "@" not in outcome.out
    assert "&#64;org/admins" in outcome.out
