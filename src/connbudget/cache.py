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
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connbudget.errors import UsageError

if TYPE_CHECKING:
    from connbudget.confine import Roots

# a pack holds the parses of every file of one scan; 1 GiB is far above a scan of 20,000 files
MAX_PACK_BYTES = 1024 * 1024 * 1024
# The command line has a pack written by a forked process while the run goes on (the model,
# the rules and the report need nothing of it), and `finish` waits for every such writer
# before the command returns. A library caller writes it in place.
_BACKGROUND = [False]
_WRITERS: list[int] = []


def write_in_background(enabled: bool) -> None:
    _BACKGROUND[0] = enabled


def finish() -> None:
    """Wait for the packs being written in the background."""
    while _WRITERS:
        with contextlib.suppress(OSError):
            os.waitpid(_WRITERS.pop(), 0)


def can_fork() -> bool:
    """Whether this process may fork a helper: a platform with fork, and no other thread (a
    fork copies one thread only, and a lock another one held would stay held)."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def cache_dir() -> Path:
    configured = os.environ.get("CONNBUDGET_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("connbudget"))


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _symlink_in(directory: Path) -> str | None:
    """The first linked directory in the cache (a kind's directory, or one inside it), or
    None. A pack planted as a symlink to a file is not refused here: no pack is read or
    written through a symlink."""
    try:
        kinds = list(os.scandir(directory))
    except OSError:
        return None  # not made yet, or unreadable: packs are then neither read nor kept
    for kind in kinds:
        if kind.is_symlink():
            return kind.path
        if kind.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError), os.scandir(kind.path) as entries:
                for entry in entries:
                    if entry.is_symlink() and entry.is_dir():
                        return entry.path
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


@contextlib.contextmanager
def confined(paths: Iterable[str], enabled: bool) -> Iterator[Roots]:
    """The scan roots of `paths` (`confine.scan_roots`: every read inside is confined to their
    trees), with the cache directory refused inside them when the cache is `enabled`."""
    from connbudget.confine import scan_roots

    with scan_roots(paths) as roots:
        if enabled:
            check_location(roots.paths)
        yield roots


class Pack:
    """The cache entries of one scan: `get` answers from them or computes and keeps."""

    def __init__(self, kind: str, version: str, scope: str, enabled: bool) -> None:
        self.kind, self.version, self.enabled = kind, version, enabled
        self.key = _digest(kind.encode(), version.encode(), scope.encode()) if enabled else ""
        self.path = os.path.join(cache_dir(), kind, f"{self.key}.json") if enabled else ""
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

    def holds(self, content: bytes, valid: Callable[[Any], bool]) -> bool:
        """Whether the pack has a valid entry made from `content`."""
        if not self.enabled:
            return False
        digest = _digest(self.kind.encode(), self.version.encode(), content)
        value = self.used.get(digest, self.stored.get(digest))
        return value is not None and valid(value)

    def save(self) -> None:
        if not (self.enabled and (self.changed or self.used.keys() != self.stored.keys())):
            return
        pid = None
        if _BACKGROUND[0] and can_fork():
            with contextlib.suppress(OSError):
                pid = os.fork()
        if pid == 0:  # the writer: write and leave without running the parent's exit
            try:
                _write(self.path, self.used, self.key)
            finally:
                os._exit(0)
        if pid is None:
            _write(self.path, self.used, self.key)
        else:
            _WRITERS.append(pid)


_ACTIVE: ContextVar[Pack | None] = ContextVar("connbudget_cache_pack", default=None)


@contextlib.contextmanager
def pack(kind: str, version: str, scope: str, enabled: bool = True) -> Iterator[Pack]:
    """The pack of the scan of `scope` (the paths it reads): inside it, `pack` of the same
    kind gives the same pack, so the files of one scan share one cache file."""
    if not enabled:  # a file kept out of the cache stays out, inside a scan's pack or not
        yield Pack(kind, version, scope, enabled=False)
        return
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


def _load(path: str) -> bytes:
    """The pack's bytes: a regular file, never through a symlink, at most MAX_PACK_BYTES."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_PACK_BYTES:
            raise OSError("not a regular file of a cache pack's size")
        # read what fstat says; a file that grew since is cut short, which only makes the
        # pack unreadable
        return handle.read(status.st_size)


def _read(path: str, key: str) -> dict[str, Any]:
    """The entries of the pack at `path` when it was made for `key` (a pack copied over
    another, or renamed, is rejected as a whole)."""
    try:
        stored = json.loads(_load(path))
        entries = stored["entries"] if stored["key"] == key else {}
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {}


def _write(path: str, entries: dict[str, Any], key: str) -> None:
    directory = os.path.dirname(path)
    tmp = None
    try:
        text = json.dumps({"key": key, "entries": entries}, separators=(",", ":"))
        # a fresh name (O_EXCL) in the pack's directory: nothing there can redirect the write
        try:
            descriptor, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            descriptor, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)  # readers never see a half-written pack
    except (OSError, ValueError, TypeError, RecursionError):
        # a read-only or full cache directory only costs speed
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def read_entries(path: str, key: str) -> dict[str, Any]:
    """The entries of the cache file at `path` when it was made for `key`, else {}: a
    regular file of bounded size, never read through a symlink."""
    return _read(path, key)


def write_entries(path: str, entries: dict[str, Any], key: str) -> None:
    """Write the cache file at `path` under a fresh name, then rename it there."""
    _write(path, entries, key)
