"""Hostile pull requests: no secret in any message, no injected line in any output format."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES
from inprocess import Outcome
from inprocess import run_main as _run_main

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
