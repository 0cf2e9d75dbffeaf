"""The parts of `connbudget live` that need no server: which database of the files a host is,
what of a libpq error may be shown, and durations."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from connbudget.errors import UsageError
from connbudget.live.connect import parse, safe_message
from connbudget.live.repository import Database, Declared, match_database
from connbudget.live.units import duration, parse_duration

UNKNOWN = Declared(None, "unknown")


def _database(address: str, *aliases: str) -> Database:
    return Database(address, "main.tf", 1, frozenset({address, *aliases}), UNKNOWN, UNKNOWN,
                    None, None, ())


DATABASES = (_database("aws_db_instance.main", "proddb"),
             _database("aws_db_instance.reports", "reportsdb"),
             _database("compose:db", "db", "db.internal"))


def test_an_rds_endpoint_is_matched_by_its_instance_identifier() -> None:
    found, problem = match_database(
        DATABASES, "proddb.abcdefghij.eu-west-1.rds.amazonaws.com", None)
    assert (found, problem) == (DATABASES[0], "")


def test_a_host_name_is_matched_by_an_alias() -> None:
    assert match_database(DATABASES, "db.internal", None)[0] == DATABASES[2]


def test_the_first_label_of_a_host_that_is_not_rds_is_no_match() -> None:
    found, problem = match_database(DATABASES, "proddb.example.com", None)
    assert found is None
    assert "matches no database of the files" in problem
    assert "aws_db_instance.main, aws_db_instance.reports, compose:db" in problem


def test_several_matches_are_reported_not_guessed() -> None:
    twice = (*DATABASES, _database("module.replica", "proddb"))
    found, problem = match_database(twice, "proddb.abc.eu-west-1.rds.amazonaws.com", None)
    assert found is None
    assert "matches several databases" in problem


def test_database_names_the_match_and_an_unknown_address_is_reported() -> None:
    assert match_database(DATABASES, "10.0.0.5", "aws_db_instance.reports")[0] == DATABASES[1]
    found, problem = match_database(DATABASES, "10.0.0.5", "aws_db_instance.nope")
    assert found is None
    assert "--database aws_db_instance.nope: the files declare no such database" in problem


def test_no_database_in_the_files_is_no_problem() -> None:
    assert match_database((), "db.internal", None) == (None, "")


@pytest.mark.parametrize("dsn", [
    "postgresql://app:hunter2-pw@[::1/db",
    "postgresql://app:hunter2-pw@db/app?sslmode=x&bad=hunter2-pw",
    "host=db password hunter2-pw",
    "host=db user='hunter2-pw",
])
def test_a_dsn_libpq_cannot_parse_is_shown_without_its_pieces(dsn: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse(dsn, "--dsn")
    message = str(raised.value)
    assert "hunter2" not in message
    assert message.startswith("--dsn is not a connection string or URL libpq can read: ")


def test_a_quoted_secret_in_an_error_is_hidden_and_the_rest_kept() -> None:
    text = ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
            'role "hunter2" does not exist\n\tHINT: something')
    assert safe_message(text, ["hunter2"]) == (
        'connection to server at "10.0.0.5", port 5432 failed: FATAL: role "..." does not exist')


def test_an_error_holding_a_secret_outside_quotes_is_not_shown() -> None:
    assert "hunter2" not in safe_message("bad value hunter2 here", ["hunter2"])


def test_several_attempts_are_one_line() -> None:
    text = ("Multiple connection attempts failed. All failures were:\n- host: 'a', port: '5432',"
            " hostaddr: '10.0.0.1': connection refused\n- host: 'b', port: '5432', hostaddr: "
            "'10.0.0.2': timeout expired")
    shown = safe_message(text, [])
    assert "\n" not in shown
    assert shown.endswith("hostaddr: '10.0.0.2': timeout expired")


@pytest.mark.parametrize(("text", "seconds"), [
    ("300", 300), ("90s", 90), ("5min", 300), ("5m", 300), ("1h", 3600), ("1.5 min", 90)])
def test_durations_are_read_as_written(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_duration_without_a_known_unit_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        parse_duration("5 fortnights")


def test_durations_are_shown_in_their_two_largest_units() -> None:
    assert [duration(s) for s in (0.4, 45, 725, 3 * 3600 + 20 * 60 + 5, 2 * 86400 + 4 * 3600)] \
        == ["0 s", "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h"]


def test_role_names_in_fixes_are_quoted_as_postgresql_quotes_them() -> None:
    from connbudget.rules.live import sql_name

    assert [sql_name(n) for n in ("app", "role", "user", "Mixed", "a b", 'x"y')] == [
        "app", "role", '"user"', '"Mixed"', '"a b"', '"x""y"']


def test_a_read_that_does_not_return_in_time_is_given_up() -> None:
    import threading
    import time

    from connbudget.live.connect import LiveError, bounded

    never = threading.Event()
    started = time.monotonic()
    with pytest.raises(LiveError, match="the server did not answer within 0 s"):
        bounded(lambda: never.wait(30), 0.2, "the server")
    assert time.monotonic() - started < 5
    never.set()
    assert bounded(lambda: 42, 5, "the server") == 42


def test_live_refuses_a_parse_cache_inside_the_tree_before_it_connects(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text('resource "postgresql_role" "app" {\n  name  = "app"\n'
                                  "  login = true\n}\n")
    run = run_cli("live", "--dsn", "postgresql://monitor@127.0.0.1:1/postgres", str(tree),
                  env={"CONNBUDGET_CACHE_DIR": str(tree / ".cache")})
    assert run.code == 2
    assert f"the cache directory {tree}/.cache is inside the scanned tree" in run.err
    assert not (tree / ".cache").exists()
