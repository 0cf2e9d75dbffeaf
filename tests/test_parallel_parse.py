"""Parsing on every core: the .tf files a scan has not parsed before are split between forked
workers; what they send back is what one process would have parsed, and a worker that fails
costs time, never a file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, run_cli
from inprocess import run_main

from connbudget.frontends.terraform import parse

CORPUS = ROOT.parent / "shared" / "corpus" / "terraform"


def _contents() -> list[bytes]:
    paths = sorted([*CORPUS.rglob("*.tf"), *(FIXTURES / "terraform").rglob("*.tf")])
    found = [path.read_bytes() for path in paths]
    return [content for content in found if parse._RELEVANT.search(content)]


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_send_the_bodies_one_process_parses(workers: int) -> None:
    contents = _contents()
    assert len(contents) > 100
    assert parse._in_parallel(contents, workers) == [parse._compute(c) for c in contents]


def test_a_worker_that_fails_leaves_its_share_to_the_scan(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    contents, parent = _contents()[:40], os.getpid()
    compute = parse._compute

    def failing_in_a_worker(content: bytes) -> parse.Body:
        if os.getpid() != parent:
            raise MemoryError  # the worker leaves with status 1 and sends nothing
        return compute(content)

    monkeypatch.setattr(parse, "_compute", failing_in_a_worker)
    assert parse._in_parallel(contents, 2) == [compute(c) for c in contents]


def test_a_scan_of_many_files_reads_the_same_on_one_core_and_on_several(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = CORPUS  # real configurations of many projects
    assert len(list(tree.rglob("*.tf"))) >= parse._MIN_PARALLEL
    forks: list[int] = []
    fork = parse._fork

    def counted(share: list[bytes]) -> tuple[int, int] | None:
        forks.append(len(share))
        return fork(share)

    monkeypatch.setattr(parse, "_fork", counted)
    monkeypatch.setattr(parse, "_cores", lambda: {0, 1})
    several = run_main("capacity", str(tree), "--format", "json", "--no-cache")
    assert forks and threading.active_count() == 1
    monkeypatch.setattr(parse, "PARALLEL", False)
    forks.clear()
    one = run_main("capacity", str(tree), "--format", "json", "--no-cache")
    assert not forks
    assert (several.code, several.out, several.err) == (one.code, one.out, one.err)
    # and as a user runs it, with the cache filled by the workers' bodies
    cold = run_cli("capacity", str(tree), "--format", "json",
                   env={"CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")})
    assert (cold.code, cold.out) == (one.code, one.out)
