"""The run cache: the same run on an unchanged tree prints what the first run printed, and any
change to what a run reads, the terminal or the command line is a new run."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import FIXTURES, run_cli


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "stacks" / "remote-modules", tree)
    return tree


def _runs(cache: Path) -> list[Path]:
    return sorted((cache / "runs").glob("*.json"))


def test_a_repeated_run_prints_the_same_bytes_from_one_entry(tmp_path: Path) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    first = run_cli("capacity", str(tree), "--format", "sarif", env=env)
    [entry] = _runs(cache)
    again = run_cli("capacity", str(tree), "--format", "sarif", env=env)
    assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    assert _runs(cache) == [entry]
    fresh = run_cli("capacity", str(tree), "--format", "sarif", "--no-cache", env=env)
    assert (fresh.code, fresh.out) == (first.code, first.out)


def test_a_file_read_through_a_module_and_not_found_by_discovery_changes_the_run(
        tmp_path: Path) -> None:
    # .terraform/modules is never discovered, but the root's module calls read it
    tree, env = _tree(tmp_path), {"CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")}
    before = run_cli("capacity", str(tree), "--format", "json", env=env).json()
    module = tree / ".terraform" / "modules" / "db" / "main.tf"
    module.write_text(module.read_text().replace("value = var.max_connections", "value = 300"))
    after = run_cli("capacity", str(tree), "--format", "json", env=env).json()
    assert before["budgets"] != after["budgets"]
    assert after == run_cli("capacity", str(tree), "--format", "json", "--no-cache",
                            env=env).json()


def test_the_terminal_width_and_the_command_line_are_part_of_the_run(tmp_path: Path) -> None:
    tree, env = _tree(tmp_path), {"CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")}
    narrow = run_cli("capacity", str(tree), env={**env, "COLUMNS": "60"}).out
    wide = run_cli("capacity", str(tree), env={**env, "COLUMNS": "160"}).out
    assert narrow != wide
    assert wide == run_cli("capacity", str(tree), "--no-cache", env={**env, "COLUMNS": "160"}).out
    assert run_cli("capacity", str(tree), "--fail-on", "warning", env=env).code == 1


def test_an_entry_holds_no_secret_and_answers_only_for_its_own_key(tmp_path: Path) -> None:
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    (tree / "main.tf").write_text(
        'resource "postgresql_role" "app" {\n  name     = "app"\n  login    = true\n'
        '  password = "hunter2-very-secret"\n}\n')
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    first = run_cli("scan", str(tree), "--format", "json", env=env)
    assert "CB004" in {f["rule_id"] for f in first.json()["findings"]}
    [entry] = _runs(cache)
    assert b"hunter2" not in entry.read_bytes()
    # an entry copied over another key's name is not that key's answer
    other = run_cli("scan", str(tree), "--format", "text", env=env)
    [named] = [path for path in _runs(cache) if path != entry]
    shutil.copyfile(entry, named)
    assert run_cli("scan", str(tree), "--format", "text", env=env).out == other.out


def test_a_run_without_the_cache_keeps_no_entry(tmp_path: Path) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    run_cli("capacity", str(tree), "--no-cache", env={"CONNBUDGET_CACHE_DIR": str(cache)})
    assert not (cache / "runs").exists()


def test_old_entries_are_removed_beyond_the_limit(tmp_path: Path) -> None:
    from connbudget.runcache import MAX_RUNS

    cache = tmp_path / "cache"
    (cache / "runs").mkdir(parents=True)
    for number in range(MAX_RUNS + 5):
        old = cache / "runs" / f"{number:064x}.json"
        old.write_text(json.dumps({"key": "x", "entries": {}}))
        os.utime(old, ns=(number, number))
    run_cli("capacity", str(_tree(tmp_path)), env={"CONNBUDGET_CACHE_DIR": str(cache)})
    kept = _runs(cache)
    assert len(kept) == MAX_RUNS
    assert cache / "runs" / f"{0:064x}.json" not in kept


def test_a_dependency_directory_no_input_names_is_left_out_of_the_run(tmp_path: Path) -> None:
    # a monorepo's node_modules is never read: changing it keeps the entry, and so the answer
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    env = {"CONNBUDGET_CACHE_DIR": str(cache)}
    package = tree / "node_modules" / "pg"
    package.mkdir(parents=True)
    (package / "index.js").write_text("module.exports = {}\n")
    first = run_cli("capacity", str(tree), "--format", "json", env=env)
    [entry] = _runs(cache)
    assert json.loads(entry.read_text())["entries"]["entered"] == [str(tree / ".terraform")]
    (package / "index.js").write_text("module.exports = { max: 500 }\n")
    (package / "pool.js").write_text("module.exports = { max: 500 }\n")
    again = run_cli("capacity", str(tree), "--format", "json", env=env)
    assert _runs(cache) == [entry] and again.out == first.out
