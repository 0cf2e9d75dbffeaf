"""Process and thread counts a container's command line sets, also inside `sh -c "..."` or
`bash -c "..."`.

gunicorn and puma `--workers N` / `-w N`: processes per task, each with its own pool (it wins
over WEB_CONCURRENCY). puma `-t MIN:MAX` / `--threads`, sidekiq `-c N` / `--concurrency N`: the
threads of one process, each holding a connection while it works; when no pool size is set,
the pool a process needs is that many (Rails sizes its pool from RAILS_MAX_THREADS, and the
thread count is what it must cover), stated as an assumption.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any

from connbudget.model import Origin, Value
from connbudget.providers.apps.env import RAILS_POOL, PoolSettings

_WORKERS = re.compile(r"^(?:--workers|-w)(?:=(\d+))?$")
_THREADS = re.compile(r"^(?:--threads|-t)(?:=([\d:]+))?$")
_CONCURRENCY = re.compile(r"^(?:--concurrency|-c)(?:=(\d+))?$")


def words(value: Any) -> list[str]:
    """A command as its words: a list (exec form), or a shell string."""
    if isinstance(value, list):
        found: list[str] = []
        for item in value:
            if isinstance(item, str):
                found += _split(item) if len(value) <= 3 and " " in item else [item]
        return found
    return _split(value) if isinstance(value, str) else []


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


_SHELLS = ("sh", "bash", "dash", "ash", "zsh")


def _unwrapped(parts: Sequence[str]) -> list[str]:
    """The words of a command with `sh -c "..."` (bash, `-ec`, `-lc`, ...) opened up: the
    script's own words, every command of it, in place of the shell and its flags."""
    found: list[str] = []
    index = 0
    while index < len(parts):
        word = parts[index]
        flag = parts[index + 1] if index + 1 < len(parts) else ""
        if word.rsplit("/", 1)[-1] in _SHELLS and re.fullmatch(r"-[a-z]*c[a-z]*", flag) \
                and index + 2 < len(parts):
            found += _unwrapped(_split(parts[index + 2]))
            index += 3
            continue
        found.append(word)
        index += 1
    return found


def _option(parts: Sequence[str], pattern: re.Pattern[str]) -> str | None:
    for index, word in enumerate(parts):
        found = pattern.match(word)
        if found:
            return found.group(1) or (parts[index + 1] if index + 1 < len(parts) else None)
    return None


def apply_command(item: PoolSettings, parts: Sequence[str], origin: Origin) -> None:
    """Set processes (and an assumed pool) of one container from its command line."""
    parts = _unwrapped(parts)
    text = " ".join(parts)
    server = next((s for s in ("gunicorn", "puma", "sidekiq") if s in text), None)
    if server is None:
        return
    if server != "gunicorn" and not item.pool_setting:
        item.pool_setting = RAILS_POOL  # puma and sidekiq run Rails: its pool follows this
    workers = _option(parts, _WORKERS) if server != "sidekiq" else None
    if workers and workers.isdigit():
        item.processes = Value(int(workers), Origin(f"{server} command --workers {workers}",
                                                    origin.file, origin.line))
    threads: str | None = None
    if server == "puma":
        raw = _option(parts, _THREADS)
        threads = raw.split(":")[-1] if raw else None
    elif server == "sidekiq":
        threads = _option(parts, _CONCURRENCY)
    if threads and threads.isdigit() and item.pool.assumed and not item.pool.unlimited:
        flag = "-c" if server == "sidekiq" else "-t"
        item.pool = Value(int(threads), Origin(
            f"{server} {flag} {threads}: one connection per thread (no pool size set; the "
            "pool must cover the threads)", origin.file, origin.line), assumed=True)
