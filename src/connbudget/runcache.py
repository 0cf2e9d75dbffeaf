"""What a run printed, kept so that the same run on an unchanged tree prints it again without
reading a file: pre-commit, an editor and a re-run ask the same question many times.

An entry is found by a key made of everything a run's output depends on: connbudget's own
files, the command line, the settings the config gives, the terminal and the environment
variables the reports read, the working directory, and every file under the scan roots (its
path, type, size, modification and change times, inode; a symlink's target). A run reads
nothing outside its roots (`confine`) but the config and the var-files it is given, whose
times are in the key too; it never reads version-control metadata, which is left out. The
dependency and tool-cache directories a scan never walks into (`confine.PRUNED_DIRS`: a
monorepo's node_modules, a .venv) are left out of the key too: a run that looks into one (a
module `terraform init` installed) keeps the fingerprint of each it entered in its entry,
which answers only while those are unchanged. A file
whose bytes change changes its times, so an entry can only answer for the tree it was made
from; a fresh checkout has new times and is a miss (the parse cache, keyed by content, still
serves it).

An entry holds what the run printed: its reports, its input errors and its exit code, which a
report never lets hold a secret. It lives in the cache directory (`cache.cache_dir`, refused
inside the scanned tree or through a symlink), read and written as the parse cache's packs
are; the oldest entries beyond MAX_RUNS are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from connbudget import cache
from connbudget.confine import PRUNED_DIRS, VCS_DIRS

MAX_RUNS = 32
# a tree larger than this is not fingerprinted: walking it would cost what the run saves
MAX_ENTRIES = 200_000
_METADATA = frozenset(VCS_DIRS)  # never read by a run (confine)
# not walked for the key: a run enters one only when an input names a file in it (confine), and
# then its entry also holds the fingerprint of what it entered
_PRUNED = _METADATA | PRUNED_DIRS
# ENABLED is False where connbudget runs inside another program that changes it in place
ENABLED = True
_PACKAGE = Path(__file__).resolve().parent
_BYTECODE = frozenset({"__pycache__"})  # written by the interpreter as it runs


@dataclass
class Result:
    """What one run printed: each format's report, its input errors, its exit code."""

    outputs: dict[str, str]
    errors: list[str] = field(default_factory=list)
    code: int = 0


def _entry(path: str, status: os.stat_result) -> str:
    return (f"{path}\0{stat.S_IFMT(status.st_mode)}\0{status.st_size}\0{status.st_mtime_ns}"
            f"\0{status.st_ctime_ns}\0{status.st_ino}")


def _walk(root: str, seen: list[int], skip: frozenset[str] = _METADATA) -> Iterator[str]:
    """Every entry under `root` but the directories named in `skip`, without following a
    link."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                found = sorted(entries, key=lambda e: e.name)
        except OSError:
            yield f"{directory}\0unreadable"
            continue
        for entry in found:
            seen[0] += 1
            if seen[0] > MAX_ENTRIES:
                return
            try:
                status = entry.stat(follow_symlinks=False)
            except OSError:
                yield f"{entry.path}\0gone"
                continue
            if stat.S_ISLNK(status.st_mode):
                with contextlib.suppress(OSError):
                    yield f"{_entry(entry.path, status)}\0{os.readlink(entry.path)}"
                continue
            if stat.S_ISDIR(status.st_mode):
                if entry.name not in skip:
                    yield _entry(entry.path, status)
                    pending.append(entry.path)
                continue
            yield _entry(entry.path, status)


def _files(paths: Iterable[str]) -> Iterator[str]:
    for path in paths:
        try:
            yield _entry(path, os.stat(path))
        except OSError:
            yield f"{path}\0missing"


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    return str(value)


def key(parts: dict[str, Any], roots: Iterable[str], files: Iterable[str]) -> str | None:
    """The key of a run: `parts` (the command line, settings, terminal), the tree under
    `roots` and the other `files` it reads (config, var-files); None when the tree is too
    large to fingerprint or the run cache is off."""
    if not ENABLED:
        return None
    digest = hashlib.sha256()
    digest.update(json.dumps(parts, sort_keys=True, default=_plain).encode())
    seen = [0]
    _fold(digest, _walk(str(_PACKAGE), seen, _BYTECODE))
    for root in sorted(roots):
        _fold(digest, chain([f"root\0{root}"], _walk(root, seen, _PRUNED)))
    _fold(digest, _files(sorted(files)))
    return digest.hexdigest() if seen[0] <= MAX_ENTRIES else None


def _entered(directories: Iterable[str]) -> str | None:
    """The fingerprint of the pruned directories a run entered, None when too large."""
    digest = hashlib.sha256()
    seen = [0]
    for directory in sorted(directories):
        _fold(digest, chain([f"entered\0{directory}"], _walk(directory, seen)))
    return digest.hexdigest() if seen[0] <= MAX_ENTRIES else None


def _fold(digest: Any, lines: Iterable[str]) -> None:
    """Add each of `lines` to `digest`, a line each."""
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")


def _path(run: str) -> str:
    return os.path.join(cache.cache_dir(), "runs", f"{run}.json")


def load(run: str) -> Result | None:
    """The result kept for key `run`, or None."""
    stored = cache.read_entries(_path(run), run)
    try:
        outputs = stored["outputs"]
        errors = stored["errors"]
        code = stored["code"]
        entered = stored["entered"]
    except KeyError:
        return None
    if not (isinstance(outputs, dict) and all(isinstance(t, str) for t in outputs.values())
            and isinstance(errors, list) and all(isinstance(e, str) for e in errors)
            and isinstance(code, int) and isinstance(entered, list)
            and all(isinstance(d, str) for d in entered)):
        return None
    if entered and stored.get("inside") != _entered(entered):
        return None  # what it read in a pruned directory has changed
    return Result(outputs, errors, code)


def save(run: str, result: Result, entered: Iterable[str] = ()) -> None:
    """Keep `result` for key `run`, made by a run that looked into the pruned directories
    `entered`, and no more than MAX_RUNS results."""
    entered = sorted(entered)
    inside = _entered(entered) if entered else None
    if entered and inside is None:
        return
    path = _path(run)
    cache.write_entries(path, {"outputs": result.outputs, "errors": result.errors,
                               "code": result.code, "entered": entered, "inside": inside}, run)
    directory = os.path.dirname(path)
    with contextlib.suppress(OSError):
        kept = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False):
                    kept.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
        for _, old in sorted(kept)[:-MAX_RUNS]:
            os.unlink(old)
