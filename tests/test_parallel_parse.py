"""Parsing on every core: the .tf files a scan has not parsed before are split between forked
workers; what they send back is what one process would have parsed, and a worker that fails
costs time, never a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, run_cli

from connbudget.frontends.terraform import parse

TF_CORPUS = CORPUS / "terraform"


def _contents() -> list[bytes]:
    paths = sorted([*TF_CORPUS.rglob("*.tf"), *(FIXTURES / "terraform").rglob("*.tf")])
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


_SCAN_BOTH_WAYS = """
import contextlib, io, json, sys
from connbudget import runcache
from connbudget.cli import main
from connbudget.frontends.terraform import parse

runcache.ENABLED = False
forks = []
fork = parse._fork
parse._fork = lambda share: forks.append(len(share)) or fork(share)
parse._cores = lambda: {0, 1}
outcomes = {}
for parallel in (True, False):
    parse.PARALLEL = parallel
    forks.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["capacity", sys.argv[1], "--format", "json", "--no-cache"])
    outcomes[str(parallel)] = [code, out.getvalue(), err.getvalue(), len(forks)]
print(json.dumps(outcomes))
"""


def test_a_scan_of_many_files_reads_the_same_on_one_core_and_on_several(
        tmp_path: Path) -> None:
    # in a process of its own: one that holds threads (as a test worker may) never forks
    tree = TF_CORPUS  # real configurations of many projects
    assert len(list(tree.rglob("*.tf"))) >= parse._MIN_PARALLEL
    done = subprocess.run([sys.executable, "-c", _SCAN_BOTH_WAYS, str(tree)],
                          capture_output=True, text=True, timeout=300, check=True)
    outcomes = json.loads(done.stdout)
    several, one = outcomes["True"], outcomes["False"]
    assert several[3] == 1 and one[3] == 0  # one worker forked, then none
    assert several[:3] == one[:3]
    # and as a user runs it, with the cache filled by the workers' bodies
    cold = run_cli("capacity", str(tree), "--format", "json",
                   env={"CONNBUDGET_CACHE_DIR": str(tmp_path / "cache")})
    assert (cold.code, cold.out) == tuple(one[:2])
