"""The text a person reads: lines that fit the terminal, colour only on one, info findings and
healthy databases out of the way, identical findings once, and what was checked."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, ROOT, load_report, run_cli

from connbudget.budgets import Verdict
from connbudget.errors import InputError
from connbudget.report import Finding, Report
from connbudget.reporters import render
from connbudget.reporters.math import render_budget
from connbudget.settings import Settings

INCIDENT = "examples/incident"
POOLER_ROLE_LIMIT = "fixtures/capacity/pooler-role-limit"
ESCAPE = "\x1b"




def text(report: Report | None = None, **settings: object) -> str:
    return render(report or load_report(), "text", Settings(**settings))  # type: ignore[arg-type]


def widest(output: str) -> int:
    return max(len(line) for line in output.splitlines())


def in_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `connbudget ARGS` with stdout on a pseudo-terminal; what the terminal received."""
    main, child = pty.openpty()
    full_env = {**os.environ, **(env or {})}
    for name in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS"):
        if env is None or name not in env:
            full_env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "connbudget", *args], cwd=ROOT, env=full_env,
                            stdout=child, stderr=subprocess.PIPE)
    os.close(child)
    received = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closes once the process has exited
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    proc.wait(timeout=60)
    assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
    return received.decode().replace("\r\n", "\n")


# lines that fit the terminal

def test_no_line_of_the_corpus_report_is_wider_than_the_terminal() -> None:
    # Scanned by absolute path from beside it, as a user scans a tree under the working
    # directory: paths are shown relative to it, wherever the repository is cloned.
    result = run_cli("scan", str(CORPUS), cwd=CORPUS.parent, env={"COLUMNS": "120"})
    assert result.code == 2  # the corpus holds files connbudget cannot read
    assert widest(result.out) <= 120
    assert "CONNECTION MATH" in result.out and "  error    CB" in result.out
    assert str(CORPUS) not in result.out and "\nerror: corpus/" in result.out


def test_a_narrow_terminal_gets_lines_wrapped_under_their_start() -> None:
    wide = run_cli("capacity", POOLER_ROLE_LIMIT, env={"COLUMNS": "200"}).out
    narrow = run_cli("capacity", POOLER_ROLE_LIMIT, env={"COLUMNS": "80"}).out
    report = run_cli("capacity", POOLER_ROLE_LIMIT, "--format", "json").json()
    assert isinstance(report, dict)
    code = {line.strip() for f in report["findings"] for line in f["fix"].split("\n")[1:]}
    assert widest(wide) > 80
    # only code in a fix (the alarm's HCL) runs past the width: it is shown as the file needs it
    over = [line.strip() for line in narrow.splitlines() if len(line) > 80]
    assert over and all(line in code for line in over)
    # the words are the same; a continuation line starts under the message, not at column 0
    assert narrow.split() == wide.split()
    lines = narrow.splitlines()
    head = next(i for i, line in enumerate(lines) if "  CB104  " in line)
    assert lines[head + 1].startswith(" " * 26) and lines[head + 1][26] != " "


def test_a_wrapped_line_never_starts_with_a_workflow_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    words = "word " * 30
    finding = Finding("CB103", f"{words}::warning::injected", "infra/main.tf", 3, "x",
                      f"{words}word word ::add-mask::more")
    shown = text(Report(findings=[finding]))
    assert "\\x3a:warning\\x3a:injected" in shown and "\\x3a:add-mask\\x3a:more" in shown
    assert not [line for line in shown.splitlines() if line.lstrip().startswith("::")]


def test_an_input_error_keeps_its_location_and_first_word_on_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    error = InputError("infra/environments/production/common/modules/secret/rds.tf", 191,
                       "module admin_connection_string: source ../modules/secret/ is not a "
                       "directory")
    lines = text(Report(errors=[error])).splitlines()
    assert lines[0] == ("error: infra/environments/production/common/modules/secret/rds.tf:191: "
                        "module")
    assert lines[1].startswith("       admin_connection_string:")


# colour and hyperlinks

def test_a_terminal_gets_coloured_severities_and_linked_files() -> None:
    shown = in_a_terminal("capacity", INCIDENT)
    assert f"{ESCAPE}[1;31merror  {ESCAPE}[0m" in shown
    assert f"CB101 {ESCAPE}[1;31merror{ESCAPE}[0m\n" in shown  # the verdict of the math
    link = (ROOT / INCIDENT / "main.tf").as_uri()
    assert f"{ESCAPE}]8;;{link}{ESCAPE}\\examples/incident/main.tf{ESCAPE}]8;;{ESCAPE}\\" in shown
    assert f"{ESCAPE}]8;;{link}{ESCAPE}\\15{ESCAPE}]8;;{ESCAPE}\\" in shown


def test_no_color_and_a_pipe_get_plain_text() -> None:
    assert ESCAPE not in in_a_terminal("capacity", INCIDENT, env={"NO_COLOR": "1"})
    assert ESCAPE not in run_cli("capacity", INCIDENT).out


def test_force_color_colours_a_pipe() -> None:
    assert f"{ESCAPE}[1;31m" in run_cli("capacity", INCIDENT, env={"FORCE_COLOR": "1"}).out


def test_colour_never_changes_the_words() -> None:
    plain, coloured = text(), text(colour=True)
    assert re.sub(r"\x1b\]8;;[^\x1b]*\x1b\\|\x1b\[[\d;]*m", "", coloured) == plain


# less noise

def test_info_findings_are_hidden_and_counted_until_asked_for() -> None:
    hidden = text()
    assert "CB005" not in hidden
    assert hidden.splitlines()[-1] == ("connbudget: 2 errors, 1 warning, 1 info hidden "
                                       "(--show info); 2 input errors (fail on error)")
    for shown in (text(show_info=True), text(fail_on="info")):
        assert "  info     CB005  role \"appuser\" sets no" in shown
        assert "1 info;" in shown and "hidden" not in shown


def test_show_info_on_the_command_line_shows_them() -> None:
    sql = "fixtures/sql/rules/cb001_fail_gexec_constant"
    assert "CB005" not in run_cli("sql", sql).out
    assert "  info     CB005  " in run_cli("sql", sql, "--show", "info").out


def test_identical_findings_are_shown_once_with_their_other_places() -> None:
    same = [Finding("CB103", "aws_ecs_service.api pool size is not set", f"infra/{name}.tf", 3,
                    "aws_ecs_service.api", "set PG_POOL_SIZE") for name in ("a", "b", "c")]
    shown = text(Report(findings=same))
    assert shown.count("CB103  aws_ecs_service.api pool size") == 1
    assert "also at: infra/b.tf:3, infra/c.tf:3" in shown
    assert "0 errors, 3 warnings" in shown


def test_one_module_used_by_two_roots_is_reported_once_with_the_other_root() -> None:
    same = [Finding("CB103", f"module.app.aws_ecs_service.api (infra/{root}) pool size is not set",
                    "modules/app/main.tf", 3, "module.app.aws_ecs_service.api", "set DB_POOL")
            for root in ("prod", "staging")]
    shown = text(Report(findings=same))
    assert shown.count("pool size is not set") == 1
    assert "(infra/prod) pool size" in shown
    assert "also at: modules/app/main.tf:3 in infra/staging" in shown


def test_the_math_is_drawn_only_for_databases_with_a_finding_unless_verbose() -> None:
    report = load_report()
    report.findings = [f for f in report.findings if f.rule_id != "CB102"]
    quiet, verbose = text(report), text(report, verbose=True)
    assert "CONNECTION MATH  aws_db_instance.main" in quiet
    assert "aws_db_instance.reports" not in quiet
    assert "CONNECTION MATH  aws_db_instance.reports" in verbose


def test_a_database_whose_worst_case_is_unknown_is_never_ok() -> None:
    budget = replace(load_report().budgets[1], worst_case=None, verdict=Verdict())
    verdict = next(line for line in render_budget(budget).splitlines()
                   if line.startswith("  worst case"))
    assert verdict.split()[-1] == "unknown" and " ok" not in verdict


def test_a_pooler_over_a_role_limit_is_not_drawn_as_a_healthy_percentage() -> None:
    math = run_cli("capacity", POOLER_ROLE_LIMIT, env={"COLUMNS": "120"}).out
    verdict = next(line for line in math.splitlines() if line.startswith("  worst case"))
    assert "(15 %), but a pooler overflows a limit" in verdict and verdict.endswith("CB104 error")


# no nested origins, each path said once

def test_the_math_lists_where_each_number_comes_from_without_nesting() -> None:
    math = run_cli("capacity", INCIDENT, env={"COLUMNS": "200"}).out.split("THE CONNECTION MATH")[1]
    assert math.count("examples/incident/main.tf") == 1
    sources = math.split("where the numbers come from")[1].splitlines()
    assert sources[0] == " (in examples/incident/main.tf unless named):"
    assert "    aws_db_instance.main: line 15" in sources
    assert "    aws_ecs_service.api pool per process 10: PG_POOL_SIZE=10, line 38" in sources
    for line in sources:
        assert "((" not in line and not re.search(r"\([^()]*\(", line), line


def test_a_message_nests_no_parenthesis_in_another() -> None:
    shown = run_cli("capacity", POOLER_ROLE_LIMIT, env={"COLUMNS": "300"}).out
    assert "as role app (PgBouncer pools that log in as app, with every cap, line 2) > its " \
           "CONNECTION LIMIT 10 (postgresql_role.app connection_limit, " \
           f"{POOLER_ROLE_LIMIT}/main.tf:43)" in shown


def test_a_finding_names_its_own_file_once() -> None:
    block = run_cli("capacity", INCIDENT, env={"COLUMNS": "200"}).out.split("THE CONNECTION")[0]
    assert block.count("examples/incident/main.tf") == 1
    assert "aws_db_parameter_group.main parameter max_connections (line 10)" in block


def test_a_pgbouncer_finding_says_this_file_instead_of_repeating_its_path() -> None:
    shown = run_cli("capacity", POOLER_ROLE_LIMIT, env={"COLUMNS": "300"}).out
    ini = f"{POOLER_ROLE_LIMIT}/pgbouncer.ini"
    block = shown.split(f"{ini}\n")[1].split("THE CONNECTION MATH")[0]
    assert "CB104  this file can open 25 server connections as role app" in block
    assert ini not in block


def test_kubernetes_clients_are_counted_in_pods() -> None:
    math = run_cli("capacity", "fixtures/capacity/k8s-pgbouncer", "--verbose",
                   env={"COLUMNS": "200"}).out
    assert "Deployment/shop/web   25 pods x 8 pool" in math
    assert "tasks" not in math.split("THE CONNECTION MATH")[1]


# what was checked

def test_the_closing_lines_say_what_was_checked_and_its_coverage() -> None:
    lines = run_cli("scan", "fixtures/capacity/k8s-pgbouncer").out.splitlines()
    assert lines[-2:] == ["checked 3 files: 1 Terraform, 2 Kubernetes YAML",
                          "coverage: 1 database complete, 0 incomplete, 0 things not read"]


def test_a_run_with_nothing_to_check_says_so(tmp_path: Path) -> None:
    for where in (str(tmp_path), "fixtures/outputs/half-percent"):
        result = run_cli("sql", where, env={"COLUMNS": "300"})  # a long temporary path
        assert result.code == 0
        assert result.out.splitlines()[-1] == f"no files to check in {where}"


def test_a_fix_shows_its_edit_as_a_diff_of_the_file_that_holds_the_setting() -> None:
    shown = run_cli("capacity", "fixtures/stacks/split-demo", env={"COLUMNS": "200"}).out
    ecs = (FIXTURES / "stacks" / "split-demo" / "ecs.tf").read_text().splitlines()
    line = next(n for n, text in enumerate(ecs, 1) if '"PG_POOL_SIZE"' in text)
    block = shown.split("  CB101  ")[1].split("docs:")[0].splitlines()
    at = block.index(f"          change fixtures/stacks/split-demo/ecs.tf:{line}:")
    assert block[at + 1:at + 3] == [f"            - {ecs[line - 1]}",
                                    "            + " + ecs[line - 1].replace('"10"', '"2"')]


def test_an_added_setting_is_shown_under_the_line_it_follows() -> None:
    shown = run_cli("capacity", "fixtures/capacity/zalando-operator", env={"COLUMNS": "200"}).out
    block = shown.split("  CB102  ")[1].split("docs:")[0].splitlines()
    at = block.index("          change line 17:")
    assert block[at + 1:at + 3] == ["                connectionPooler:",
                                    "            +     maxDBConnections: 43"]
