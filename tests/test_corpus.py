"""Every real-world file in the corpus ends in findings or a clean, located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, run_cli
from inprocess import (
    LOCATED,
    assert_json_errors_located,
    assert_located,
    assert_text_errors_located,
    run_main,
)

FILES = sorted(path for path in CORPUS.rglob("*") if path.is_file())
KINDS = sorted(path for path in CORPUS.iterdir() if path.is_dir())


def _ids(paths: list[Path]) -> list[str]:
    return [path.relative_to(CORPUS).as_posix() for path in paths]


def test_corpus_is_there() -> None:
    assert len(FILES) > 100, f"the shared corpus is missing from {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_scan_json_of_each_corpus_file_has_only_located_errors(path: Path) -> None:
    outcome = run_main("scan", str(path), "--format", "json")
    errors = assert_json_errors_located(outcome)
    assert (outcome.code == 2) == bool(errors)


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_scan_text_of_each_corpus_file_has_only_located_errors(path: Path) -> None:
    outcome = run_main("scan", str(path))
    errors = assert_text_errors_located(outcome)
    assert (outcome.code == 2) == bool(errors)


@pytest.mark.parametrize("kind", KINDS, ids=_ids(KINDS))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_scan_of_a_whole_corpus_tree_finishes_cleanly(kind: Path, fmt: str) -> None:
    run = run_cli("scan", str(kind), "--format", fmt, timeout=120)
    assert run.code in (0, 1, 2), run.err
    if fmt == "json":
        document = run.json()
        assert isinstance(document, dict)
        for error in document["errors"]:
            assert_located(error["file"], error["line"])
        stderr_errors = [line for line in run.err.splitlines() if line]
        assert len(stderr_errors) == len(document["errors"]), run.err
        assert all(LOCATED.match(line) for line in stderr_errors), run.err
