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
