"""What `scan` finds: files by kind and content, and gitignore-style excludes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FIXTURES

from connbudget.discover import Excludes, discover

REPO = FIXTURES / "discover" / "repo"
EXCLUDE = ["legacy/", "/out", "**/*.generated.sql", "!keep.generated.sql"]


def relative(paths: list[str]) -> list[str]:
    return sorted(Path(p).relative_to(REPO).as_posix() for p in paths)


def test_sql_files_are_found_minus_the_excluded_ones() -> None:
    inputs = discover([str(REPO)], EXCLUDE, str(REPO))
    assert relative(inputs.of("sql")) == ["db/V1__roles.sql", "db/keep.generated.sql",
                                    "sub/out/V3__more.sql"]


def test_without_excludes_everything_is_found() -> None:
    assert len(discover([str(REPO)], []).of("sql")) == 7


def test_pgbouncer_ini_is_recognised_by_its_sections() -> None:
    assert relative(discover([str(REPO)], []).of("pgbouncer")) == ["pgbouncer/pgbouncer.ini"]


def test_kubernetes_yaml_is_recognised_by_kind_and_api_version() -> None:
    assert relative(discover([str(REPO)], []).of("kubernetes")) == ["k8s/deploy.yaml"]


def test_a_terraform_file_brings_in_its_whole_module_directory() -> None:
    inputs = discover([str(REPO / "infra" / "main.tf")], [])
    assert inputs.terraform_dirs == [str(REPO / "infra")]


def test_tfvars_are_taken_only_when_named() -> None:
    assert discover([str(REPO)], []).of("tfvars") == []
    named = str(REPO / "infra" / "prod.tfvars")
    assert discover([named], []).of("tfvars") == [named]


def test_a_named_file_inside_an_excluded_directory_is_excluded() -> None:
    inputs = discover([str(REPO / "legacy" / "V0__old.sql")], EXCLUDE, str(REPO))
    assert inputs.of("sql") == []


def test_a_missing_path_is_reported() -> None:
    assert discover([str(REPO / "nope")], []).missing == [str(REPO / "nope")]


@pytest.mark.parametrize(("pattern", "path", "is_dir", "excluded"), [
    ("*.sql", "a/b/c.sql", False, True),
    ("/c.sql", "a/c.sql", False, False),
    ("/c.sql", "c.sql", False, True),
    ("a/*.sql", "a/c.sql", False, True),
    ("a/*.sql", "x/a/c.sql", False, False),
    ("build/", "build", False, False),
    ("build/", "x/build/y.sql", False, True),
    ("a/**/c.sql", "a/c.sql", False, True),
    ("a/**/c.sql", "a/x/y/c.sql", False, True),
    ("a/**", "a/x/y.sql", False, True),
    ("V[0-9]__*.sql", "V3__x.sql", False, True),
    ("V[!0-9]__*.sql", "V3__x.sql", False, False),
    ("# a comment", "# a comment", False, False),
])
def test_gitignore_pattern(pattern: str, path: str, is_dir: bool, excluded: bool,
                           tmp_path: Path) -> None:
    assert Excludes([pattern], str(tmp_path)).excluded(os.path.join(tmp_path, path),
                                                       is_dir) is excluded


def test_later_negation_re_includes_a_file() -> None:
    excludes = Excludes(["*.sql", "!keep.sql"], "/r")
    assert excludes.excluded("/r/drop.sql") and not excludes.excluded("/r/keep.sql")


GIT_CASES = [
    ("*.sql", ["a/b/c.sql", "c.sqlx"]),
    ("/c.sql", ["a/c.sql", "c.sql"]),
    ("a/**/c.sql", ["a/c.sql", "a/x/y/c.sql", "b/a/c.sql"]),
    ("V[0-9]__*.sql", ["V3__x.sql", "Vx__x.sql"]),
    ("V[!0-9]__*.sql", ["V3__x.sql", "Vx__x.sql"]),
    ("[.]env*", [".env.sql", "xenv.sql"]),
    ("a+b(c).sql", ["a+b(c).sql", "aab(c).sql"]),
    ("\\*.sql", ["*.sql", "x.sql"]),
    ("*a*a*a*a*a*a*a*a*a*a*a*a*b", ["a" * 60, "a" * 60 + "b"]),
    ("[z-a].sql", ["z.sql", "m.sql"]),
    ("db-[a-c-]*.sql", ["db-a1.sql", "db--.sql", "db-d.sql"]),
    ("x?y.sql", ["x.y.sql", "x/y.sql", "xy.sql"]),
]


@pytest.mark.parametrize(("pattern", "paths"), GIT_CASES, ids=[c[0] for c in GIT_CASES])
def test_excludes_match_what_git_ignores(pattern: str, paths: list[str], tmp_path: Path) -> None:
    """The same pattern in a .gitignore: `git check-ignore` says which paths it ignores."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(pattern + "\n")
    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    proc = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "--stdin"],
                          input="\n".join(paths) + "\n", capture_output=True, text=True)
    ignored_by_git = set(proc.stdout.splitlines())
    excludes = Excludes([pattern], str(tmp_path))
    ours = {path for path in paths if excludes.excluded(str(tmp_path / path))}
    assert ours == ignored_by_git


def test_a_glob_with_many_stars_is_matched_in_linear_time(tmp_path: Path) -> None:
    """A backtracking regex took minutes for 12 stars against a 40-character name."""
    import time

    excludes = Excludes(["*a" * 30 + "*b"], str(tmp_path))
    started = time.process_time()
    assert not excludes.excluded(str(tmp_path / ("a" * 4000)))
    assert time.process_time() - started < 1
