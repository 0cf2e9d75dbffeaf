"""Hostile pull requests and the parse cache: no secret on disk, no entry answers for another
file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from inprocess import run_main

from connbudget.cache import MAX_PACK_BYTES

SECRETS = ("hunter2-plain", "urlsecret99", "envsecret77", "heredoc-secret-5")


def _packs(cache: Path) -> list[Path]:
    """The parse cache's packs (the run cache's entries, under runs/, hold what runs printed:
    tests/test_run_cache.py)."""
    return [path for path in cache.rglob("*.json") if path.parent.name != "runs"]


def _without_runs(cache: Path) -> None:
    """Forget what earlier runs printed, so that the next run reads the parse cache."""
    shutil.rmtree(cache / "runs", ignore_errors=True)


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(FIXTURES / "hostile" / "cache" / "main.tf", tree / "main.tf")
    return tree


def test_no_password_or_secret_literal_is_written_to_the_cache(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    cache = tmp_path / "cache"
    cold = run_cli("scan", str(tree), "--format", "json",
                   env={"CONNBUDGET_CACHE_DIR": str(cache)})
    entries = list(cache.rglob("*.json"))  # the packs and the run's entry
    assert len(entries) > len(_packs(cache)) > 0
    for entry in entries:
        text = entry.read_text()
        assert not any(secret in text for secret in SECRETS), entry
    warm = run_cli("scan", str(tree), "--format", "json",
                   env={"CONNBUDGET_CACHE_DIR": str(cache)})
    uncached = run_cli("scan", str(tree), "--format", "json", "--no-cache")
    assert cold.out == warm.out == uncached.out
    assert cold.code == 1
    rules = {(f["resource"], f["rule_id"]) for f in warm.json()["findings"]}  # type: ignore
    assert ("postgresql_role.plain", "CB004") in rules  # still plaintext from the stand-in
    assert ("postgresql_role.hashed", "CB004") not in rules


def test_an_entry_copied_over_another_is_rejected(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "main.tf").write_text('resource "postgresql_role" "a" {\n  name = "a"\n'
                                 "  login = true\n}\n")
    good = tmp_path / "good"
    good.mkdir()
    (good / "main.tf").write_text('resource "postgresql_role" "a" {\n  name = "a"\n'
                                  "  login = false\n}\n")
    assert run_cli("scan", str(good), env=env).code == 0
    good_entries = set(_packs(cache))
    assert run_cli("scan", str(bad), env=env).code == 1
    (bad_entry,) = set(_packs(cache)) - good_entries
    (good_entry,) = good_entries
    shutil.copy(good_entry, bad_entry)  # the failing file's entry now says what the good says
    _without_runs(cache)
    assert run_cli("scan", str(bad), env=env).code == 1


def test_a_commented_out_password_never_lands_in_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    tree = str(FIXTURES / "hostile" / "cache" / "commented")
    cold = run_cli("scan", tree, "--format", "json", env=env)
    (entry,) = _packs(cache)
    text = entry.read_text()
    assert "hunter2" not in text
    assert "connbudget:ignore CB001" in text  # the suppression is kept: a warm run honours it
    assert not any("hunter2" in run.read_text() for run in (cache / "runs").glob("*.json"))
    _without_runs(cache)
    warm = run_cli("scan", tree, "--format", "json", env=env)
    assert cold.out == warm.out
    assert "CB001" not in {f["rule_id"] for f in warm.json()["findings"]}  # type: ignore


def _entry(cache: Path, tree: Path) -> Path:
    """Where the parses of a scan of `tree` are kept: a name anyone can compute (found here
    by a scan with another cache directory)."""
    probe = cache.parent / "probe"
    assert run_cli("scan", str(tree), env={"CONNBUDGET_CACHE_DIR": str(probe)}).code == 1
    (made,) = _packs(probe)
    return cache / made.relative_to(probe)


def test_a_write_never_follows_a_symlink_planted_at_a_predictable_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older release wrote `<pack>.<pid>.tmp` without O_EXCL: a link planted there for
    the running process wrote the entry over any file the job could write."""
    tree = _tree(tmp_path)
    cache = tmp_path / "cache"
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\necho deploy\n")
    entry = _entry(cache, tree)
    entry.parent.mkdir(parents=True)
    Path(f"{entry}.{os.getpid()}.tmp").symlink_to(script)
    monkeypatch.setenv("CONNBUDGET_CACHE_DIR", str(cache))
    assert run_main("scan", str(tree), "--format", "json").code == 1
    assert script.read_text() == "#!/bin/sh\necho deploy\n"
    assert entry.is_file() and not entry.is_symlink()


@pytest.mark.parametrize("planted", ["/dev/zero", "fifo", "large"])
def test_an_entry_that_is_not_a_small_regular_file_is_never_read(
        planted: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link to /dev/zero would be read until memory runs out; a FIFO would block."""
    tree = _tree(tmp_path)
    cache = tmp_path / "cache"
    entry = _entry(cache, tree)
    entry.parent.mkdir(parents=True)
    if planted == "fifo":
        os.mkfifo(entry)
    elif planted == "large":
        with open(entry, "wb") as handle:
            handle.truncate(MAX_PACK_BYTES + 1)  # sparse: no disk used
    else:
        entry.symlink_to(planted)
    monkeypatch.setenv("CONNBUDGET_CACHE_DIR", str(cache))
    outcome = run_main("scan", str(tree), "--format", "json")
    assert outcome.code == 1
    assert ("postgresql_role.plain", "CB004") in {
        (f["resource"], f["rule_id"]) for f in outcome.json()["findings"]}


def test_a_cache_directory_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cache").symlink_to(tmp_path / "elsewhere")
    result = run_cli("scan", str(_tree(tmp_path)),
                     env={"CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")})
    assert result.code == 2
    assert f"connbudget: the cache directory {tmp_path}/cache holds a symlink" in result.err
    assert not list((tmp_path / "elsewhere").iterdir())


def test_a_cache_inside_the_scanned_tree_is_refused_with_what_to_do(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    result = run_cli("scan", str(tree), env={"CONNBUDGET_CACHE_DIR": str(tree / ".cache")})
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"connbudget: the cache directory {tree}/.cache is inside the scanned tree {tree}, "
        "where a pull request could write its entries: set CONNBUDGET_CACHE_DIR to a "
        "directory outside the checkout (docs/ci.md) or pass --no-cache\n")
    assert run_cli("scan", str(tree), "--no-cache",
                   env={"CONNBUDGET_CACHE_DIR": str(tree / ".cache")}).code == 1
