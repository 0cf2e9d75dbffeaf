"""`python hostile_job.py LOG ARGS...`: `connbudget ARGS` as a CI job runs it, with a Python
audit hook recording every file and directory it opens, and every program it starts, into
LOG (JSON lines: [event, absolute path, write]). The hostile-job tests read LOG to show that
nothing outside the checkout was read and nothing outside the cache was written."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_seen: list[tuple[str, str, bool]] = []
_recording = [True]


def _writes(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _recording[0] or not args:
        return
    if event == "subprocess.Popen":
        program = args[0] or (args[1][0] if len(args) > 1 and args[1] else "")
        _seen.append((event, os.fsdecode(program), False))
    elif event in ("open", "os.listdir", "os.scandir") and isinstance(
            args[0], (str, bytes, os.PathLike)):
        write = event == "open" and _writes(*(list(args[1:3]) + [None, None])[:2])
        _seen.append((event, os.path.abspath(os.fsdecode(args[0])), write))


def run() -> int:
    log, argv = sys.argv[1], sys.argv[2:]
    sys.addaudithook(_hook)
    from connbudget.cli import main

    try:
        return main(argv)
    finally:
        _recording[0] = False
        with open(log, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(entry) + "\n" for entry in _seen)


if __name__ == "__main__":
    sys.exit(run())
