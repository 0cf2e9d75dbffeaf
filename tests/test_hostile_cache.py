"""Hostile pull requests and the parse cache: no secret on disk, no entry answers for another
file."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, run_cli

SECRETS = ("hunter2-plain", "urlsecret99", "envsecret77", "heredoc-secret-5")


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
    entries = list(cache.rglob("*.json"))
    assert entries
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
    good_entries = set(cache.rglob("*.json"))
    assert run_cli("scan", str(bad), env=env).code == 1
    (bad_entry,) = set(cache.rglob("*.json")) - good_entries
    (good_entry,) = good_entries
    shutil.copy(good_entry, bad_entry)  # the failing file's entry now says what the good says
    assert run_cli("scan", str(bad), env=env).code == 1


def test_a_commented_out_password_never_lands_in_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    tree = str(FIXTURES / "hostile" / "cache" / "commented")
    cold = run_cli("scan", tree, "--format", "json", env=env)
    (entry,) = cache.rglob("*.json")
    text = entry.read_text()
    assert "hunter2" not in text
    assert "connbudget:ignore CB001" in text  # the suppression is kept: a warm run honours it
    warm = run_cli("scan", tree, "--format", "json", env=env)
    assert cold.out == warm.out
    assert "CB001" not in {f["rule_id"] for f in warm.json()["findings"]}  # type: ignore
