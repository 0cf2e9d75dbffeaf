"""Hostile and broken inputs end in findings or located errors: no traceback, no hang.

Valid files from fixtures/ are mutated the way real files get damaged (truncated, binary noise,
CRLF, BOM, invalid UTF-8, huge lines, unterminated quotes and comments, deep nesting) and run
through the CLI in-process; the inputs that could crash the interpreter itself run in a
subprocess with a time limit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import Outcome, assert_json_errors_located, run_main

from connbudget.reporters import FORMATS

FUZZ = FIXTURES / "fuzz"
# derandomize: the same examples on every run, so a CI failure is a regression, never luck.
PROPERTY = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

Mutation = Callable[[bytes], bytes]

UNTERMINATED = [b"'", b'"', b"$$", b"$tag$", b"/*", b"E'\\", b"{", b"[", b"(", b"${", b"<<EOT\n"]
INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf0\x28\x8c\x28", b"\x00"]


def _seeds(*patterns: str) -> list[Path]:
    found = {path for pattern in patterns for path in FIXTURES.glob(pattern) if path.is_file()}
    return sorted(found)


SQL_SEEDS = _seeds("sql/**/*.sql", "fuzz/*.sql")
HCL_SEEDS = _seeds("terraform/**/*.tf", "fuzz/terraform/*.tf")
INI_SEEDS = _seeds("pgbouncer/**/*.ini", "fuzz/*.ini")
YAML_SEEDS = _seeds("k8s/**/*.yaml", "k8s/**/*.yml", "fuzz/deployment.yaml")


@st.composite
def _mutation(draw: st.DrawFn) -> Mutation:
    kind = draw(st.sampled_from(["truncate", "noise", "crlf", "bom", "utf8", "huge", "open",
                                 "nest"]))
    where = draw(st.floats(min_value=0, max_value=1))
    if kind == "crlf":
        return lambda text: text.replace(b"\n", b"\r\n")
    if kind == "bom":
        return lambda text: b"\xef\xbb\xbf" + text
    if kind == "truncate":
        return lambda text: text[: int(len(text) * where)]
    insert = {
        "noise": lambda: draw(st.binary(min_size=1, max_size=64)),
        "utf8": lambda: draw(st.sampled_from(INVALID_UTF8)),
        "huge": lambda: draw(st.sampled_from([b"a", b"'", b"-- ", b"# ", b"("]))
        * draw(st.integers(10_000, 300_000)),
        "open": lambda: draw(st.sampled_from(UNTERMINATED)),
        "nest": lambda: draw(st.sampled_from([b"(", b"[", b"{"])) * draw(st.integers(50, 400)),
    }[kind]()
    return lambda text: text[: int(len(text) * where)] + insert + text[int(len(text) * where):]


@st.composite
def _mutated(draw: st.DrawFn, seeds: list[Path]) -> tuple[str, bytes]:
    seed = draw(st.sampled_from(seeds))
    text = seed.read_bytes()
    for mutation in draw(st.lists(_mutation(), min_size=1, max_size=3)):
        text = mutation(text)
    return seed.name, text


def _scan(name: str, content: bytes) -> None:
    """Scan a directory holding only this file: findings or located errors, nothing else."""
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        (Path(directory) / name).write_bytes(content)
        outcome = run_main("scan", directory, "--format", "json", "--no-cache")
        errors = assert_json_errors_located(outcome)
        assert (outcome.code == 2) == bool(errors), outcome.out
        assert all(Path(error["file"]).resolve().parent == Path(directory).resolve()
                   for error in errors), errors


@PROPERTY
@given(_mutated(SQL_SEEDS))
def test_mutated_sql_ends_in_findings_or_located_errors(mutated: tuple[str, bytes]) -> None:
    _scan(*mutated)


@PROPERTY
@given(_mutated(HCL_SEEDS))
def test_mutated_terraform_ends_in_findings_or_located_errors(mutated: tuple[str, bytes]) -> None:
    _scan(*mutated)


@PROPERTY
@given(_mutated(INI_SEEDS))
def test_mutated_pgbouncer_ini_ends_in_findings_or_located_errors(
        mutated: tuple[str, bytes]) -> None:
    _scan(*mutated)


@PROPERTY
@given(_mutated(YAML_SEEDS))
def test_mutated_kubernetes_yaml_ends_in_findings_or_located_errors(
        mutated: tuple[str, bytes]) -> None:
    _scan(*mutated)


SEED_ROLES = FUZZ / "two-unlimited-roles.sql"
# Text that cannot open a quote, comment, dollar quote, parenthesis, psql variable or
# meta-command, or end the statement early: whatever it says, it stays one statement.
INERT = st.text(alphabet=st.sampled_from(list("abcxyzLOGINWITH0123456789 \n\t,.+=<>!%^&|~@#?*[]")),
                max_size=80)


def _cb001_lines(outcome: Outcome) -> list[int]:
    return sorted(f["line"] for f in outcome.json()["findings"] if f["rule_id"] == "CB001")


def _with_statement_inserted(directory: str, statement: str) -> tuple[Path, int]:
    """The seed with STATEMENT between its two roles; returns the file and the second's line."""
    first, second = SEED_ROLES.read_text().splitlines(keepends=True)
    path = Path(directory) / SEED_ROLES.name
    path.write_text(first + statement + "\n" + second)
    return path, 3 + statement.count("\n")


@PROPERTY
@given(INERT)
def test_roles_around_a_broken_role_statement_are_still_checked(garbage: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        path, second_line = _with_statement_inserted(
            directory, f"CREATE ROLE broken WITH WITH {garbage};")
        outcome = run_main("sql", str(path), "--format", "json")
        errors = assert_json_errors_located(outcome)
        assert outcome.code == 2
        assert [2 <= e["line"] < second_line for e in errors] == [True], errors
        assert _cb001_lines(outcome) == [1, second_line]


@PROPERTY
@given(INERT)
def test_roles_around_a_garbage_statement_are_still_checked(garbage: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        path, second_line = _with_statement_inserted(directory, f"xyzzy {garbage};")
        outcome = run_main("sql", str(path), "--format", "json")
        assert_json_errors_located(outcome)
        assert _cb001_lines(outcome) == [1, second_line]


@pytest.mark.parametrize("opening", ["'", '"', "$$", "$body$", "/*", "E'\\'"])
def test_an_unterminated_last_statement_is_a_located_error(tmp_path: Path, opening: str) -> None:
    path = tmp_path / SEED_ROLES.name
    path.write_text(SEED_ROLES.read_text() + f"CREATE ROLE third_app LOGIN {opening}never closed\n")
    outcome = run_main("sql", str(path), "--format", "json")
    errors = assert_json_errors_located(outcome)
    assert outcome.code == 2
    assert [e["line"] for e in errors] == [3]
    assert _cb001_lines(outcome) == [1, 2]


UNLIMITED_TF = FUZZ / "terraform" / "unlimited-role.tf"


@PROPERTY
@given(_mutated([UNLIMITED_TF]))
def test_terraform_roles_beside_a_broken_file_are_still_checked(
        mutated: tuple[str, bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        (Path(directory) / "broken.tf").write_bytes(mutated[1])
        good = Path(directory) / "good.tf"
        good.write_bytes(UNLIMITED_TF.read_bytes())
        outcome = run_main("scan", directory, "--format", "json", "--no-cache")
        assert_json_errors_located(outcome)
        findings = outcome.json()["findings"]
        assert any(f["rule_id"] == "CB001" and Path(f["file"]).name == "good.tf" and f["line"] == 1
                   for f in findings), findings


def _deep(opening: str, closing: str, depth: int) -> str:
    return opening * depth + closing * depth


# Nesting deep enough to break any recursive parser or tree walk: run in a subprocess, where a
# crash of the interpreter itself would show, under a time limit.
DEEP = {
    "deep.sql": "DO $$ BEGIN EXECUTE format('CREATE ROLE %I LOGIN', "
                + _deep("(", ")", 20_000).replace("()", "('app')") + "); END $$;\n",
    "deep.tf": 'resource "postgresql_role" "deep" {\n  name = "deep"\n  login = true\n'
               "  roles = " + _deep("[", "]", 20_000) + "\n}\n",
    "deep.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec: " + _deep("[", "]", 20_000) + "\n",
    "pgbouncer.ini": "[pgbouncer]\npool_mode = " + "x" * 5_000_000 + "\n",
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deeply_nested_or_huge_input_ends_cleanly(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(DEEP[name])
    run = run_cli("scan", str(tmp_path), "--format", "json", "--no-cache", timeout=60)
    assert run.code in (0, 1, 2)
    assert "internal error" not in run.err, run.err
    assert_json_errors_located(Outcome(run.code, run.out, run.err))


def test_yaml_alias_bomb_neither_hangs_nor_explodes() -> None:
    run = run_cli("scan", str(FUZZ / "alias-bomb.yaml"), "--format", "json", timeout=60)
    assert run.code in (0, 1, 2)
    assert "internal error" not in run.err, run.err
    assert_json_errors_located(Outcome(run.code, run.out, run.err))


# A clean seed of each format and an ending that no parser of that format can accept.
BROKEN_ENDINGS = {
    FUZZ / "two-unlimited-roles.sql": "CREATE ROLE broken WITH WITH LOGIN;\n",
    FUZZ / "terraform" / "unlimited-role.tf": 'resource "postgresql_role" "broken" {\n  name =\n',
    FUZZ / "pgbouncer.ini": "[pgbouncer\npool_mode transaction\n",
    FUZZ / "deployment.yaml": 'broken: "never closed\n',
}


@PROPERTY
@given(st.sampled_from(sorted(BROKEN_ENDINGS)), st.sampled_from([b"\n", b"\r\n"]),
       st.booleans())
def test_a_file_broken_at_its_end_is_an_error_located_there(
        seed: Path, newline: bytes, bom: bool) -> None:
    text = (seed.read_bytes() + BROKEN_ENDINGS[seed].encode()).replace(b"\n", newline)
    broken_from = seed.read_bytes().count(b"\n") + 1
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        (Path(directory) / seed.name).write_bytes(b"\xef\xbb\xbf" * bom + text)
        outcome = run_main("scan", directory, "--format", "json", "--no-cache")
        errors = assert_json_errors_located(outcome)
        assert outcome.code == 2
        assert errors and all(error["line"] >= broken_from for error in errors), errors


DEFECTS = FUZZ / "defects"


def test_pgbouncer_ini_lines_are_counted_at_newlines_only() -> None:
    outcome = run_main("scan", str(DEFECTS / "vertical-tab.ini"), "--format", "json")
    assert [error["line"] for error in outcome.json()["errors"]] == [4]


def test_a_yaml_error_at_the_end_of_a_file_is_on_its_last_line() -> None:
    outcome = run_main("scan", str(DEFECTS / "truncated-no-newline.yaml"), "--format", "json")
    assert_json_errors_located(outcome)
    assert outcome.code == 2


def test_a_pgbouncer_ini_with_a_byte_order_mark_loads() -> None:
    outcome = run_main("scan", str(DEFECTS / "byte-order-mark.ini"), "--format", "json")
    assert outcome.json()["errors"] == []


def test_a_nul_byte_in_a_pgbouncer_include_is_a_located_error() -> None:
    outcome = run_main("scan", str(DEFECTS / "nul-in-include.ini"), "--format", "json")
    assert [error["line"] for error in outcome.json()["errors"]] == [3]


def test_yaml_lines_are_counted_at_newlines_only() -> None:
    outcome = run_main("scan", str(DEFECTS / "lone-carriage-returns.yaml"), "--format", "json")
    assert [error["line"] for error in outcome.json()["errors"]] == [5]


# Each seed: a directory whose files hold PASSWORD_HERE, and the one file to mutate.
PASSWORD_SEEDS = [(FUZZ / "password.sql", None), (FUZZ / "pgbouncer-password.ini", None),
                  (FUZZ / "terraform-password" / "main.tf", None),
                  (FUZZ / "password-stack", "main.tf"),
                  (FUZZ / "password-stack", "deployment.yaml")]


@PROPERTY
@given(st.sampled_from(PASSWORD_SEEDS), st.text("abcdefghXYZ0123456789_", min_size=10, max_size=20),
       st.lists(_mutation(), max_size=2))
def test_no_password_reaches_any_output_even_from_broken_files(
        seed: tuple[Path, str | None], secret: str, mutations: list[Mutation]) -> None:
    source, mutated = seed
    password = f"Pw{secret}".encode()
    files = [(path.name, path.read_bytes()) for path in
             (sorted(source.iterdir()) if source.is_dir() else [source])]
    with tempfile.TemporaryDirectory(prefix="cb-fuzz-") as directory:
        for name, content in files:
            text = content.replace(b"PASSWORD_HERE", password)
            if name == (mutated or source.name):
                for mutation in mutations:
                    text = mutation(text)
            (Path(directory) / name).write_bytes(text)
        with tempfile.TemporaryDirectory(prefix="cb-fuzz-out-") as reports:
            # one scan, every format: each written to its own file
            outcome = run_main("scan", directory, "--no-cache",
                               *(f"--output={fmt}={reports}/report.{fmt}" for fmt in FORMATS))
            assert password.decode() not in outcome.out + outcome.err
            for fmt in FORMATS:
                written = (Path(reports) / f"report.{fmt}").read_text(encoding="utf-8")
                assert password.decode() not in written, fmt
