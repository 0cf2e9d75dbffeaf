"""A cache of parsed files keyed by content hash, so a warm run skips the parsers.

The entries of one scan are kept together in one file on disk (a pack), read once at the start
of the scan and written once at its end: a scan of thousands of files opens one cache file,
not thousands. Inside a pack each entry is found by the hash of its file's content (with the
parser's version), so it can only answer for the content it was made from; a pack holds the
entries its last scan used, no others.

A pack is on disk, outside the reviewed tree: it holds no secret. A parsed Terraform file keeps
stand-ins for its secret literals, and of its comments only those that suppress a finding
(text with `connbudget:ignore` or `checkov:skip=`); any other comment, which may be a
commented-out password, is never stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    configured = os.environ.get("CONNBUDGET_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("connbudget"))


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


class Pack:
    """The cache entries of one scan: `get` answers from them or computes and keeps."""

    def __init__(self, kind: str, version: str, scope: str, enabled: bool) -> None:
        self.kind, self.version, self.enabled = kind, version, enabled
        self.key = _digest(kind.encode(), version.encode(), scope.encode())
        self.path = os.path.join(cache_dir(), kind, f"{self.key}.json")
        self.stored: dict[str, Any] = _read(self.path, self.key) if enabled else {}
        self.used: dict[str, Any] = {}
        self.changed = False

    def get(self, content: bytes, compute: Callable[[], Any],
            valid: Callable[[Any], bool]) -> Any:
        """`compute()` (a JSON-able value holding no secret) for `content`, from the pack
        when it holds a valid entry made from this very content."""
        if not self.enabled:
            return compute()
        digest = _digest(self.kind.encode(), self.version.encode(), content)
        value = self.used.get(digest, self.stored.get(digest))
        if value is None or not valid(value):
            value = compute()
            self.changed = True
        self.used[digest] = value
        return value

    def save(self) -> None:
        if self.enabled and (self.changed or self.used.keys() != self.stored.keys()):
            _write(self.path, self.used, self.key)


_ACTIVE: ContextVar[Pack | None] = ContextVar("connbudget_cache_pack", default=None)


@contextlib.contextmanager
def pack(kind: str, version: str, scope: str, enabled: bool = True) -> Iterator[Pack]:
    """The pack of the scan of `scope` (the paths it reads): inside it, `pack` of the same
    kind gives the same pack, so the files of one scan share one cache file."""
    active = _ACTIVE.get()
    if active is not None and active.kind == kind and active.version == version:
        yield active
        return
    current = Pack(kind, version, scope, enabled)
    token = _ACTIVE.set(current)
    try:
        yield current
    finally:
        _ACTIVE.reset(token)
    current.save()


def _read(path: str, key: str) -> dict[str, Any]:
    """The entries of the pack at `path` when it was made for `key` (a pack copied over
    another, or renamed, is rejected as a whole)."""
    try:
        with open(path, "rb") as handle:
            stored = json.loads(handle.read())
        entries = stored["entries"] if stored["key"] == key else {}
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {}


def _dump(path: str, entries: dict[str, Any], key: str) -> None:
    text = json.dumps({"key": key, "entries": entries}, separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write(path: str, entries: dict[str, Any], key: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        try:
            _dump(tmp, entries, key)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _dump(tmp, entries, key)
        os.replace(tmp, path)  # readers never see a half-written pack
    except (OSError, ValueError, TypeError, RecursionError):
        # a read-only or full cache directory only costs speed
        with contextlib.suppress(OSError):
            os.unlink(tmp)
