"""Running connbudget as a CI job that confines its scanners does: a whole process with an
address-space limit (`ulimit -v`), a time limit and an empty parse cache, its peak memory and
CPU time measured."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import ROOT

GIB = 1024 ** 3


@dataclass
class Confined:
    code: int
    out: str
    err: str
    seconds: float  # wall time
    cpu: float  # CPU seconds
    peak_mib: float  # maximum resident set size

    def json(self) -> dict[str, Any]:
        document = json.loads(self.out)
        assert isinstance(document, dict)
        return document

    def errors(self) -> list[str]:
        """`name:line: message` of every error of a JSON report (the file's base name)."""
        return [f"{Path(e['file']).name}:{e['line']}: {e['message']}"
                for e in self.json()["errors"]]


def run_confined(*args: str, memory: int = GIB, timeout: float = 300,
                 cwd: Path | None = None, env: dict[str, str] | None = None) -> Confined:
    """`connbudget ARGS` under `memory` bytes of address space; fails on a crash or a hang."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    with tempfile.TemporaryDirectory(prefix="cb-confined-") as work:
        full_env = {**os.environ, "CONNBUDGET_CACHE_DIR": os.path.join(work, "cache"),
                    **(env or {})}
        full_env.pop("GITHUB_ACTIONS", None)
        out_path, err_path = Path(work, "stdout"), Path(work, "stderr")
        start = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "connbudget", *args],
                                    cwd=cwd or ROOT, env=full_env, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, preexec_fn=limit)
        status, usage = _wait(proc, timeout, args)
        result = Confined(os.waitstatus_to_exitcode(status),
                          out_path.read_text(errors="replace"),
                          err_path.read_text(errors="replace"), time.perf_counter() - start,
                          usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
    assert result.code in (0, 1, 2), (args, result.code, result.err[-2000:])
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err[-2000:]
    return result


def _wait(proc: subprocess.Popen[bytes], timeout: float,
          args: tuple[str, ...]) -> tuple[int, resource.struct_rusage]:
    """The exit status and resource usage of this child alone (wait4), within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            raise AssertionError(f"connbudget {' '.join(args)}: no answer after {timeout} s")
        time.sleep(0.05)
