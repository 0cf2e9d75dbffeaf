"""Which files a scan may read: only regular files inside its scan roots, by real path.

The scan roots are the paths given on the command line, as written (a path that is a symlink
counts as the directory holding it), widened to the repository that holds them (the nearest
directory with `.git`, reached without passing a symlink inside an outer repository). A path
an input names (`file()`, `templatefile()`, `%include`, a module source, a var-file or a
config file) is read only when its real path lies inside a root and outside version-control
metadata (`.git`, `.hg`, `.svn`: a checkout keeps its CI token there); `/proc`, `/dev`,
`/sys`, FIFOs, sockets and devices are never read, so a hostile file cannot make a scan print
the CI job's environment or block forever.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

_SYSTEM = ("/proc", "/dev", "/sys")
# version-control metadata: never an input, and `actions/checkout` keeps the job's token in
# .git/config
VCS_DIRS = (".git", ".hg", ".svn")
_MARKERS = (".git", ".hg")  # a repository's top (Subversion 1.6 had .svn in every directory)
# dependencies and tool caches: a scan never walks into them by itself, and reads a file in one
# only when an input names it (a module `terraform init` installed under .terraform)
PRUNED_DIRS = frozenset({".terraform", "node_modules", ".venv", ".venv-checkov", "__pycache__",
                         ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_PRUNED_PART = re.compile("|".join(re.escape(os.sep + name) for name in sorted(PRUNED_DIRS)))


class Refused(OSError):
    """A path outside the scan roots or not a regular file; the message shows no content."""


def _repository_root(directory: str) -> str | None:
    """The deepest ancestor of `directory` (a lexical, absolute path) holding `.git` or `.hg`,
    looked for from the top down: a symlink below a repository found so far ends the
    search, so a committed `infra -> ../..` cannot make another directory the root."""
    found = None
    for candidate in (*reversed(tuple(_parents(directory))), directory):
        if found is not None and os.path.islink(candidate):
            break
        if any(os.path.exists(os.path.join(candidate, name)) for name in _MARKERS):
            found = candidate
    return found


def _parents(directory: str) -> Iterator[str]:
    while True:
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent
        yield directory


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _in_metadata(real: str, root: str) -> bool:
    """Whether `real` (inside `root`) lies in a version-control directory."""
    return any(part in VCS_DIRS for part in real[len(root):].split(os.sep))


def _start(path: str) -> str:
    """The directory a scan path stands for, as written: a symlink counts as the directory
    that holds it, so a committed link to `/` is judged as a path, never made a root."""
    absolute = os.path.abspath(path)
    if os.path.isdir(absolute) and not os.path.islink(absolute):
        return absolute
    return os.path.dirname(absolute)


def tree(path: str) -> tuple[str, str]:
    """(the directory `path` stands for, the top of its tree): both lexical and absolute; the
    top is its repository, or that directory itself outside any repository."""
    start = _start(path)
    return start, _repository_root(start) or start


class Roots:
    """The real directories a scan may read under."""

    def __init__(self, paths: Iterable[str]) -> None:
        found: dict[str, None] = {}
        for path in paths:
            found[os.path.realpath(tree(path)[1])] = None
        self.paths = tuple(found)
        # the files read inside the scan, by absolute path: each is opened once per run (a fix's
        # edit reads the line it changes from here), up to _KEPT_BYTES in all
        self.files: dict[str, bytes] = {}
        self.kept = 0
        # the PRUNED_DIRS directories the scan looked into, for the run cache (runcache)
        self.entered: set[str] = set()

    def note(self, path: str, root: str | None = None) -> None:
        """Remember the pruned directory (below its root) that the absolute `path` lies in."""
        if not _PRUNED_PART.search(path):
            return
        if root is None:
            root = next((root for root in self.paths if _inside(path, root)), None)
            if root is None:
                return
        parts = path[len(root):].split(os.sep)
        for index, part in enumerate(parts):
            if part in PRUNED_DIRS:
                self.entered.add(root + os.sep.join(parts[:index + 1]))
                return

    def outside(self, path: str) -> str | None:
        """Why `path` lies where a scan may not read, or None when it is inside a root."""
        real = os.path.realpath(path)
        if any(_inside(real, system) for system in _SYSTEM):
            return "a system file, never read"
        root = next((root for root in self.paths if _inside(real, root)), None)
        if root is None:
            return "outside the scanned tree, not read"
        if _in_metadata(real, root):
            return "version-control metadata, never read"
        self.note(real, root)
        return None

    def problem(self, path: str) -> str | None:
        """Why `path` may not be read (a message without its content), or None."""
        outside = self.outside(path)
        if outside is not None:
            return outside
        real = os.path.realpath(path)
        try:
            mode = os.stat(real).st_mode
        except OSError as exc:
            return f"cannot read: {exc.strerror or 'error'}"
        if stat.S_ISDIR(mode):
            return "a directory, not a file"
        if not stat.S_ISREG(mode):
            return "not a regular file, not read"
        return None


_ACTIVE: ContextVar[Roots | None] = ContextVar("connbudget_roots", default=None)
_KEPT_BYTES = 64 * 1024 * 1024  # all the files a scan keeps
_WHOLE_BYTES = 1024 * 1024  # a file sniffed for its kind is read whole up to this size


@contextlib.contextmanager
def scan_roots(paths: Iterable[str]) -> Iterator[Roots]:
    """Every confined read inside the block is checked against the roots of `paths`."""
    roots = Roots(paths)
    token = _ACTIVE.set(roots)
    try:
        yield roots
    finally:
        _ACTIVE.reset(token)


def roots(fallback: Iterable[str]) -> Roots:
    """The active scan roots, else the roots of `fallback` (a library call outside a scan)."""
    active = _ACTIVE.get()
    return active if active is not None else Roots(fallback)


def check(path: str, fallback: Iterable[str]) -> str | None:
    """Why the file `path` may not be read, or None."""
    return roots(fallback).problem(path)


def outside(path: str, fallback: Iterable[str]) -> str | None:
    """Why `path` (a file or a directory) lies outside the scan roots, or None."""
    return roots(fallback).outside(path)


def read_regular(path: str, limit: int | None = None) -> bytes:
    """The bytes of `path` if it is a regular file (never blocks on a FIFO or a device).
    Inside a scan a file is opened once: a second read is served from what the first kept.

    Raises OSError (a `Refused` for a non-regular file, or one larger than `limit`).
    """
    active = _ACTIVE.get()
    key = os.path.abspath(path) if active is not None else ""
    data = active.files.get(key) if active is not None else None
    if data is None:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise Refused(0, "not a regular file")
            # read(n) sets n bytes aside first: ask for what the file holds, one more to see
            # a file past the limit that grew since
            data = handle.read() if limit is None else handle.read(
                min(status.st_size, limit) + 1)
    if limit is not None and len(data) > limit:
        raise Refused(0, f"larger than {limit // 1024 // 1024} MiB")
    if active is not None:
        active.note(key)
        _keep(active, key, data)
    return data


def _keep(active: Roots, key: str, data: bytes) -> None:
    if key not in active.files and active.kept + len(data) <= _KEPT_BYTES:
        active.files[key] = data
        active.kept += len(data)


def read_head(path: str, size: int) -> bytes:
    """The first `size` bytes of `path` if it is a regular file, else b"". Inside a scan, a
    file of up to _WHOLE_BYTES is read whole and kept, so that the front end that reads it
    next does not open it again."""
    active = _ACTIVE.get()
    key = os.path.abspath(path) if active is not None else ""
    if active is not None:
        active.note(key)
        if key in active.files:
            return active.files[key][:size]
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return b""
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return b""
        try:
            if active is None or status.st_size > _WHOLE_BYTES:
                return handle.read(size)
            data = handle.read(_WHOLE_BYTES + 1)
        except OSError:
            return b""
    if len(data) <= _WHOLE_BYTES:
        _keep(active, key, data)
    return data[:size]


def is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
