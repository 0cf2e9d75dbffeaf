"""CB112: a client's prepared statements through a PgBouncer that multiplexes its server
connections per transaction, as the client library and the PgBouncer release decide it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

from connbudget.model import Origin
from connbudget.providers.apps.env import EnvVar
from connbudget.providers.apps.statements import from_env

LEDGER = FIXTURES / "capacity" / "prepared-statements-1-23"
PAYMENTS = FIXTURES / "capacity" / "prepared-statements-1-24"


def _uses(value: str) -> list[tuple[str, bool, bool]]:
    found = from_env({"DATABASE_URL": EnvVar("DATABASE_URL", value, file="app.yaml", line=9)},
                     Origin("app"))
    return [(use.library, use.named, use.pgbouncer_mode) for use in found]


@pytest.mark.parametrize(("url", "expected"), [
    ("postgres://app@db/app?pool_max_conns=10", [("pgx", True, False)]),
    ("postgres://app@db/app?pool_max_conns=10&default_query_exec_mode=exec",
     [("pgx", False, False)]),
    ("postgres://app@db/app?default_query_exec_mode=cache_describe", [("pgx", False, False)]),
    ("host=db dbname=app pool_max_conns=4", [("pgx", True, False)]),
    ("postgresql+asyncpg://app@db/app", [("asyncpg", True, False)]),
    ("jdbc:postgresql://db:5432/app", [("JDBC (pgjdbc)", True, False)]),
    ("jdbc:postgresql://db:5432/app?prepareThreshold=0", [("JDBC (pgjdbc)", False, False)]),
    ("jdbc:postgresql://db:5432/app?preferQueryMode=simple", [("JDBC (pgjdbc)", False, False)]),
    ("postgresql://app@db/app?connection_limit=5", [("Prisma", True, False)]),
    ("postgresql://app@db/app?pgbouncer=true", [("Prisma", False, True)]),
    ("postgres://app@db/app", []),
    ("postgres://app@db/app?sslmode=require", []),
])
def test_the_library_a_connection_string_names_and_its_prepared_statements(
        url: str, expected: list[tuple[str, bool, bool]]) -> None:
    assert _uses(url) == expected


def test_the_client_fix_names_the_setting_and_the_variable_and_the_default_its_source() -> None:
    [use] = from_env({"DATABASE_URL": EnvVar("DATABASE_URL", "jdbc:postgresql://db/app",
                                             file="app.yaml", line=9)}, Origin("app"))
    assert use.off == "prepareThreshold=0 in DATABASE_URL"
    assert use.origin.text.startswith("prepareThreshold 5, the default (pgjdbc/pgjdbc@")
    assert (use.origin.file, use.origin.line) == ("app.yaml", 9)


def _report(path: Path) -> dict[str, Any]:
    result = run_cli("capacity", str(path), "--format", "json")
    assert result.code == 1, result.err
    report = result.json()
    assert isinstance(report, dict)
    return report


def test_pgx_statement_cache_behind_pgbouncer_1_23_in_transaction_mode_is_cb112() -> None:
    [finding] = [f for f in _report(LEDGER)["findings"] if f["rule_id"] == "CB112"]
    # only the pgx client: pgjdbc sets prepareThreshold=0, Prisma sets pgbouncer=true
    assert finding["resource"] == "Deployment/ledger/posting"
    assert (Path(finding["file"]).name, finding["line"]) == ("ledger.yaml", 98)  # the URL
    message = finding["message"]
    assert "pgx's named prepared statements" in message
    assert "pool_mode = transaction" in message
    assert "max_prepared_statements = 0 (PgBouncer 1.23 default (pgbouncer/pgbouncer@" \
           "4680cef7b1c0954b8d89b2755bc748c50d0f9622:src/main.c:277))" in message
    fix = finding["fix"].splitlines()
    assert fix[0] == "on the pooler, max_prepared_statements = 200 (the default from PgBouncer " \
                     "1.24):"
    assert fix[1:3] == ["- name: MAX_PREPARED_STATEMENTS", '  value: "200"']
    assert fix[-1] == "or on the client: default_query_exec_mode=exec in DATABASE_URL"


def test_prisma_pgbouncer_true_behind_a_pgbouncer_that_keeps_prepared_statements_is_cb112() -> None:
    [finding] = [f for f in _report(PAYMENTS)["findings"] if f["rule_id"] == "CB112"]
    # PgBouncer 1.24 keeps 200 by default; pgx and pgjdbc are fine there, Prisma's
    # pgbouncer=true is not
    assert finding["resource"] == "Deployment/payments/portal"
    assert "max_prepared_statements = 200, PgBouncer 1.24 default" in finding["message"]
    assert "prisma/orm#21799" in finding["message"]
    assert finding["fix"].splitlines()[0] == (
        "on the client: remove pgbouncer=true from DATABASE_URL (Prisma needs it only below "
        "PgBouncer 1.21)")


@pytest.mark.parametrize(("change", "old", "new", "flagged"), [
    ("a session pooler", "value: transaction", "value: session", []),
    ("pgx in exec mode", "pool_max_conns=10", "pool_max_conns=10&default_query_exec_mode=exec",
     []),
    # the pooler keeps prepared statements: pgx works, and Prisma's pgbouncer=true now breaks
    ("max_prepared_statements set", "            - name: DEFAULT_POOL_SIZE\n",
     '            - name: MAX_PREPARED_STATEMENTS\n              value: "100"\n'
     "            - name: DEFAULT_POOL_SIZE\n", ["Deployment/ledger/portal"]),
])
def test_each_side_of_the_fix_clears_the_finding(change: str, old: str, new: str,
                                                 flagged: list[str], tmp_path: Path) -> None:
    text = (LEDGER / "ledger.yaml").read_text()
    assert old in text, change
    (tmp_path / "ledger.yaml").write_text(text.replace(old, new, 1))
    report = run_cli("capacity", str(tmp_path), "--format", "json").json()
    assert isinstance(report, dict)
    assert [f["resource"] for f in report["findings"] if f["rule_id"] == "CB112"] == flagged


def test_pgbouncer_before_1_21_asks_for_an_upgrade_not_a_key_it_refuses(tmp_path: Path) -> None:
    text = (LEDGER / "ledger.yaml").read_text().replace("v1.23.1-p3", "v1.20.1-p0")
    (tmp_path / "ledger.yaml").write_text(text)
    report = run_cli("capacity", str(tmp_path), "--format", "json").json()
    assert isinstance(report, dict)
    [finding] = [f for f in report["findings"] if f["rule_id"] == "CB112"]
    assert "max_prepared_statements exists from 1.21" in finding["message"]
    assert finding["fix"].startswith("on the pooler: run PgBouncer 1.21 or later (1.25.2 is the "
                                     "newest connbudget has read)")
    assert finding["edits"] == []


@pytest.mark.parametrize("fmt", ["text", "sarif", "github", "gitlab", "junit", "markdown"])
def test_cb112_reaches_every_format(fmt: str) -> None:
    result = run_cli("capacity", str(LEDGER), "--format", fmt)
    assert result.code == 1
    assert "CB112" in result.out
