"""A cache of parsed files keyed by content hash, so a warm run skips the slow parsers.

An entry is on disk, outside the reviewed tree: it holds no secret. A parsed Terraform file
keeps stand-ins for its secret literals, and of its comments only those that suppress a
finding (text with `connbudget:ignore` or `checkov:skip=`); any other comment, which may be a
commented-out password, is never stored.

Whoever can write the cache directory can make a scan see other content for a file, so a run
refuses a cache directory inside its scan roots (a pull request would supply it), or one that
is or holds a symlink. An entry is read only as a regular file of bounded size, never through
a symlink, and written under a fresh name in its directory, then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from connbudget.errors import UsageError

MAX_ENTRY_BYTES = 64 * 1024 * 1024  # the parse of an 8 MiB file is well below this


def cache_dir() -> Path:
    configured = os.environ.get("CONNBUDGET_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("connbudget"))


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _symlink_in(directory: Path) -> str | None:
    """The first symlink among the directories the cache uses (`kind/ab`), or None."""
    try:
        kinds = list(os.scandir(directory))
    except OSError:
        return None  # not made yet, or unreadable: entries are then neither read nor kept
    for kind in kinds:
        if kind.is_symlink():
            return kind.path
        if kind.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError), os.scandir(kind.path) as subdirs:
                for subdir in subdirs:
                    if subdir.is_symlink():
                        return subdir.path
    return None


def check_location(roots: Iterable[str]) -> None:
    """Refuse (a UsageError) a cache directory inside one of the scan `roots` (real paths), or
    one that is or holds a symlink: its entries would come from the scanned tree."""
    directory = cache_dir()
    real = os.path.realpath(directory)
    advice = ("set CONNBUDGET_CACHE_DIR to a directory outside the checkout (docs/ci.md) or "
              "pass --no-cache")
    for root in roots:
        if _inside(real, root):
            raise UsageError(f"the cache directory {directory} is inside the scanned tree "
                             f"{root}, where a pull request could write its entries: {advice}")
    link = str(directory) if os.path.islink(directory) else _symlink_in(directory)
    if link is not None:
        raise UsageError(f"the cache directory {directory} holds a symlink ({link}): its "
                         f"entries could be read or written elsewhere; {advice}")


def _key(kind: str, version: str, content: bytes) -> str:
    return hashlib.sha256(f"{kind}\0{version}".encode() + b"\0" + content).hexdigest()


def _entry(kind: str, digest: str) -> str:
    # Plain strings, not Path objects: a warm run builds one path per input file.
    return os.path.join(cache_dir(), kind, digest[:2], f"{digest}.json")


def _load(path: str) -> bytes:
    """The entry's bytes: a regular file, never through a symlink, at most MAX_ENTRY_BYTES."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_ENTRY_BYTES:
            raise OSError("not a regular file of a cache entry's size")
        # read what fstat says (read(n) sets n bytes aside first); a file that grew since is
        # cut short, which only makes the entry unreadable
        return handle.read(status.st_size)


def _read(path: str, digest: str) -> Any:
    """The entry's value when it was made for `digest` (an entry copied over another, or
    renamed, is rejected: it would answer for a file it was not made from)."""
    try:
        entry = json.loads(_load(path))
        return entry["value"] if entry["key"] == digest else None
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _write(path: str, value: Any, digest: str) -> None:
    directory = os.path.dirname(path)
    tmp = None
    try:
        text = json.dumps({"key": digest, "value": value}, separators=(",", ":"))
        # a fresh name (O_EXCL) in the entry's directory: nothing there can redirect the write
        try:
            descriptor, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            descriptor, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)  # readers never see a half-written entry
    except (OSError, ValueError, TypeError, RecursionError):
        # a read-only or full cache directory only costs speed
        if tmp is not None:
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
