"""A cache of parsed files keyed by content hash, so a warm run skips the slow parsers.

An entry is on disk, outside the reviewed tree: it holds no secret. A parsed Terraform file
keeps stand-ins for its secret literals, and of its comments only those that suppress a
finding (text with `connbudget:ignore` or `checkov:skip=`); any other comment, which may be a
commented-out password, is never stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    configured = os.environ.get("CONNBUDGET_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("connbudget"))


def _key(kind: str, version: str, content: bytes) -> str:
    return hashlib.sha256(f"{kind}\0{version}".encode() + b"\0" + content).hexdigest()


def _entry(kind: str, digest: str) -> str:
    # Plain strings, not Path objects: a warm run builds one path per input file.
    return os.path.join(cache_dir(), kind, digest[:2], f"{digest}.json")


def _read(path: str, digest: str) -> Any:
    """The entry's value when it was made for `digest` (an entry copied over another, or
    renamed, is rejected: it would answer for a file it was not made from)."""
    try:
        with open(path, "rb") as handle:
            entry = json.loads(handle.read())
        return entry["value"] if entry["key"] == digest else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _dump(path: str, value: Any, digest: str) -> None:
    text = json.dumps({"key": digest, "value": value}, separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write(path: str, value: Any, digest: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        try:
            _dump(tmp, value, digest)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _dump(tmp, value, digest)
        os.replace(tmp, path)  # readers never see a half-written entry
    except (OSError, ValueError, TypeError, RecursionError):
        # a read-only or full cache directory only costs speed
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def cached(kind: str, version: str, content: bytes, compute: Callable[[], Any],
           valid: Callable[[Any], bool], enabled: bool = True) -> Any:
    """`compute()` (a JSON-able value), read from or stored in the cache.

    An entry that cannot be read, that was made for other content, or that `valid` rejects
    is recomputed and overwritten. `compute()` must hold no secret: the entry is on disk.
    """
    if not enabled:
        return compute()
    digest = _key(kind, version, content)
    path = _entry(kind, digest)
    value = _read(path, digest)
    if value is None or not valid(value):
        value = compute()
        _write(path, value, digest)
    return value
