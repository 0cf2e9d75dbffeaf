"""The parsed-file cache: warm runs equal cold ones, it can be disabled, corruption is harmless."""

from __future__ import annotations

import functools
import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from connbudget.frontends.terraform import TerraformModel, load_terraform, parse

TREE = [str(FIXTURES / "terraform" / "loader" / name) for name in ("variables", "modules")]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONNBUDGET_CACHE_DIR", str(tmp_path))
    return tmp_path


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.json"))


def _snapshot(model: TerraformModel) -> str:
    return repr((model.resources, model.modules, model.errors, model.comments))


def test_a_warm_run_keeps_the_suppression_comments(cache_dir: Path) -> None:
    tree = [str(FIXTURES / "suppress")]
    cold = load_terraform(tree, [])
    warm = load_terraform(tree, [])
    assert _snapshot(warm) == _snapshot(cold)
    assert [c.line for c in warm.comments[str(FIXTURES / "suppress" / "main.tf")]] == [4, 7, 13]


def test_an_entry_for_a_file_that_is_not_utf8_is_reused(cache_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.tf"
    path.write_bytes(b'resource "postgresql_role" "caf\xe9" {\n  name = "a"\n}\n')
    assert "error" in parse.parse_file(str(path))
    (entry,) = _entries(cache_dir)
    written = entry.stat().st_ino, entry.stat().st_mtime_ns
    assert "error" in parse.parse_file(str(path))
    assert (entry.stat().st_ino, entry.stat().st_mtime_ns) == written


def test_warm_run_gives_the_same_model_as_a_cold_one(cache_dir: Path) -> None:
    cold = load_terraform(TREE, [])
    assert _entries(cache_dir)
    warm = load_terraform(TREE, [])
    assert _snapshot(warm) == _snapshot(cold)


def test_disabled_cache_neither_reads_nor_writes(cache_dir: Path) -> None:
    load_terraform(TREE, [], cache=False)
    assert _entries(cache_dir) == []


def test_corrupt_cache_entry_is_ignored_and_rewritten(cache_dir: Path) -> None:
    cold = load_terraform(TREE, [])
    for entry in _entries(cache_dir):
        entry.write_text("{not json", encoding="utf-8")
    again = load_terraform(TREE, [])
    assert _snapshot(again) == _snapshot(cold)
    assert all(entry.read_text(encoding="utf-8").startswith("{\"key\"")
               for entry in _entries(cache_dir))


def test_cache_entry_with_a_wrong_shape_is_ignored(cache_dir: Path) -> None:
    cold = load_terraform(TREE, [])
    for entry in _entries(cache_dir):
        entry.write_text('{"value": [1, 2]}', encoding="utf-8")
    assert _snapshot(load_terraform(TREE, [])) == _snapshot(cold)


def test_cli_output_is_byte_identical_cold_warm_and_uncached(tmp_path: Path) -> None:
    args = ("scan", str(FIXTURES / "terraform" / "loader" / "roles"), "--format", "json")
    env = {"CONNBUDGET_CACHE_DIR": str(tmp_path)}
    cold = run_cli(*args, env=env)
    warm = run_cli(*args, env=env)
    uncached = run_cli(*args, "--no-cache", env={"CONNBUDGET_CACHE_DIR": str(tmp_path / "x")})
    assert _entries(tmp_path)
    assert not (tmp_path / "x").exists()
    assert cold.out == warm.out == uncached.out
    assert '"CB004"' in cold.out


def test_unusable_cache_directory_only_costs_speed(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("CONNBUDGET_CACHE_DIR", str(blocker))
    expected = _snapshot(load_terraform(TREE, [], cache=False))
    assert _snapshot(load_terraform(TREE, [])) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-directory"]


def test_a_changed_hcl_parser_does_not_reuse_cache_entries(
        cache_dir: Path, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    installed = importlib.util.find_spec("tree_sitter_hcl")
    assert installed is not None and installed.origin is not None
    package = tmp_path_factory.mktemp("parser") / "tree_sitter_hcl"
    shutil.copytree(Path(installed.origin).parent, package)
    spec = importlib.util.spec_from_file_location("tree_sitter_hcl", package / "__init__.py")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec
                        if name == "tree_sitter_hcl" else real_find_spec(name))
    monkeypatch.setattr(parse, "_parser_version", functools.lru_cache(maxsize=None)(
        parse._parser_version.__wrapped__))
    load_terraform(TREE, [])
    first = _entries(cache_dir)
    load_terraform(TREE, [])
    assert _entries(cache_dir) == first
    (grammar,) = package.glob("_binding*")
    with open(grammar, "ab") as handle:
        handle.write(b"\0a rebuilt grammar")
    parse._parser_version.cache_clear()
    load_terraform(TREE, [])
    assert len(_entries(cache_dir)) == 2 * len(first)


def test_cache_entry_with_broken_expression_trees_is_ignored(cache_dir: Path) -> None:
    cold = load_terraform(TREE, [])
    for entry in _entries(cache_dir):
        text = entry.read_text(encoding="utf-8")
        entry.write_text(text.replace('"expressions":{', '"expressions":{"var.x":7,', 1),
                         encoding="utf-8")
    assert _snapshot(load_terraform(TREE, [])) == _snapshot(cold)
    assert all('"var.x":7' not in entry.read_text(encoding="utf-8")
               for entry in _entries(cache_dir))


def test_one_scan_keeps_its_parsed_files_in_one_cache_file(cache_dir: Path) -> None:
    model = load_terraform(TREE, [])
    assert len({comment_file for comment_file in model.comments}) > 1  # several files parsed
    assert len(_entries(cache_dir)) == 1


def test_the_command_returns_after_its_pack_is_written_and_leaves_no_process(
        cache_dir: Path) -> None:
    # the command line writes the pack from a forked process while the run goes on
    import json
    import os

    from inprocess import run_main

    cold = run_main("capacity", *TREE, "--format", "json")
    [pack] = _entries(cache_dir)
    assert json.loads(pack.read_text())["entries"]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    warm = run_main("capacity", *TREE, "--format", "json")
    assert (warm.code, warm.out) == (cold.code, cold.out)
