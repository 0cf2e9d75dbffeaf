"""Finding the inputs under the paths a user names, and sorting them by kind."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connbudget.confine import PRUNED_DIRS, VCS_DIRS, Roots, is_regular, read_head
from connbudget.errors import UsageError
from connbudget.kinds import SUFFIXES, Candidate, InputKind, claim

_SKIP_DIRS = frozenset(VCS_DIRS) | PRUNED_DIRS
_CHART_FILES = ("Chart.yaml", "Chart.yml")


@dataclass
class Inputs:
    """The files of a run, by the input kind that claimed each (`connbudget.kinds`)."""

    paths: list[str] = field(default_factory=list)  # the paths the user named
    files: dict[str, list[str]] = field(default_factory=dict)  # kind name -> paths, in order
    missing: list[str] = field(default_factory=list)
    # (path, why) for files found but not read: FIFOs, devices, symlinks leaving the tree
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[str]:
        return self.files.get(kind, [])

    @property
    def terraform_dirs(self) -> list[str]:
        """The directories of the Terraform files: a module is its whole directory."""
        return list(dict.fromkeys(os.path.dirname(p) or "." for p in self.of("terraform")))

    def units(self, kind: InputKind) -> list[str]:
        """Where a failure of `kind` is isolated to: its files, or its directories."""
        return list(dict.fromkeys(kind.unit(path) for path in self.of(kind.name)))

    def counts(self, kinds: tuple[InputKind, ...]) -> tuple[tuple[str, int], ...]:
        """How many files of each of `kinds` were found, as a summary names them:
        `((".sql", 3), ("Terraform", 5))`."""
        return tuple((kind.label, len(self.of(kind.name))) for kind in kinds)


_SPECIAL = frozenset("\\.^$|?*+()[]{}-")


def _literal(char: str) -> str:
    return "\\" + char if char in _SPECIAL else char


def _members(body: str) -> str:
    """A bracket's members in RE2 syntax; a reversed range (`z-a`) is its first character,
    as git's wildmatch reads it."""
    out = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            out.append(f"{_literal(low)}-{_literal(high)}" if low <= high else _literal(low))
            i += 3
        else:
            out.append(_literal(body[i]))
            i += 1
    return "".join(out)


def _glob_to_regex(glob: str) -> str:
    """Translate one gitignore glob (without its leading `/` or trailing `/`) to RE2 syntax."""
    out = []
    i = 0
    while i < len(glob):
        if glob[i] == "\\" and i + 1 < len(glob):  # an escaped character is itself
            out.append(_literal(glob[i + 1]))
            i += 2
        elif glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 2:]:
            end = glob.index("]", i + 2)
            body = glob[i + 1:end]
            negated = body[0] in "!^"
            out.append("[" + ("^" if negated else "") + _members(body[negated:]) + "]")
            i = end + 1
        else:
            out.append(_literal(glob[i]))
            i += 1
    return "(?s)" + "".join(out)


@dataclass(frozen=True)
class _Pattern:
    regex: Any  # compiled by RE2: linear in the path, whatever the pattern (no backtracking)
    anchored: bool  # matched against the whole relative path, not only the name
    directory_only: bool
    negated: bool


def _compile(pattern: str) -> _Pattern | None:
    import re2  # type: ignore[import-untyped]

    pattern = pattern.strip()
    if not pattern or pattern.startswith("#"):
        return None
    negated = pattern.startswith("!")
    pattern = pattern[1:] if negated else pattern
    directory_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    options = re2.Options()
    options.log_errors = False
    try:
        regex = re2.compile(_glob_to_regex(pattern.lstrip("/")), options=options)
    except re2.error:
        raise UsageError("exclude: a pattern too large to match") from None
    return _Pattern(regex, anchored, directory_only, negated)


class Excludes:
    """`.gitignore`-style patterns, anchored at `root` (the config file's directory):
    `name` matches at any depth, `/name` and `a/b` only from the root, `dir/` only
    directories, `**` any number of directories, `!pattern` re-includes."""

    def __init__(self, patterns: list[str], root: str | None = None) -> None:
        self._patterns = [p for p in map(_compile, patterns) if p is not None]
        self._root = os.path.abspath(root or os.getcwd())
        self._dirs: dict[str, bool] = {}

    def _matches(self, relative: str, is_dir: bool) -> bool:
        name = relative.rsplit("/", 1)[-1]
        excluded = False
        for pattern in self._patterns:
            if pattern.directory_only and not is_dir:
                continue
            if pattern.regex.fullmatch(relative if pattern.anchored else name):
                excluded = not pattern.negated
        return excluded

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        if not self._patterns:
            return False
        relative = os.path.relpath(os.path.abspath(path), self._root)
        parts = Path(relative).as_posix().split("/")
        if parts[0] == "..":  # outside the root: only unanchored patterns can apply
            parts = [p for p in parts if p not in ("..", ".")]
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix not in self._dirs:
                self._dirs[prefix] = self._matches(prefix, True)
            if self._dirs[prefix]:
                return True
        return self._matches("/".join(parts), is_dir)


_DIRECTORY = {"outside the scanned tree, not read":
              "a directory outside the scanned tree, not read",
              "a system file, never read": "a system directory, never read"}


def _walk(root: str, excludes: Excludes, roots: Roots,
          skipped: list[tuple[str, str]]) -> list[str]:
    """The regular files under `root`; symlinks are followed while they stay inside the
    scan roots (each real directory once, so a loop ends), anything else is `skipped`. A
    scan path that leads out of the roots (a committed symlink) is skipped like a file."""
    if not os.path.isdir(root):
        if excludes.excluded(root):
            return []
        problem = roots.outside(root) or (None if is_regular(root)
                                          else "not a regular file, not read")
        if problem is not None:
            skipped.append((root, problem))
            return []
        return [root]
    outside = roots.outside(root)
    if outside is not None:
        skipped.append((root, outside))
        return []
    found: list[str] = []
    seen: set[str] = set()
    for directory, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        problem = roots.outside(directory) if directory != root else None
        if real in seen or problem is not None:
            if real not in seen and problem is not None:
                skipped.append((directory, f"a symlink to {_DIRECTORY.get(problem, problem)}"))
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS
                         and not excludes.excluded(os.path.join(directory, d), True))
        for name in sorted(files):
            path = os.path.join(directory, name)
            if excludes.excluded(path) or not name.lower().endswith(SUFFIXES):
                continue
            problem = roots.problem(path) if os.path.islink(path) or not is_regular(path) \
                else None
            if problem is not None:
                skipped.append((path, problem))
            else:
                found.append(path)
    return found


def _chart_of(path: str, charts: set[str]) -> str | None:
    """The chart whose templates/ holds `path`, or whose own directory holds it (its values
    files): Helm renders those files, connbudget does not."""
    parts = Path(path).parts
    own = os.path.dirname(path) or "."
    if own in charts and path.lower().endswith((".yaml", ".yml")):
        return own
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == "templates":
            chart = os.path.join(*parts[:index]) if index else "."
            if chart in charts:
                return chart
    return None


def discover(paths: list[str], exclude: list[str], root: str | None = None) -> Inputs:
    """Sort the files under `paths` by the kind that claims each; `exclude` patterns are
    anchored at `root`."""
    excludes = Excludes(exclude, root)
    roots = Roots(paths)
    inputs = Inputs(paths=list(paths))
    listed: set[tuple[str, str]] = set()  # (kind, entry) already in inputs.files
    for given in paths:
        if not os.path.exists(given):
            inputs.missing.append(given)
            continue
        # one spelling whatever the user typed (`.`, `./infra`, `infra/`): the same tree gives
        # the same paths, charts and Terraform directories
        found = [os.path.normpath(path) for path in _walk(given, excludes, roots, inputs.skipped)]
        charts = {os.path.dirname(p) or "." for p in found
                  if os.path.basename(p) in _CHART_FILES}
        named = os.path.isfile(given)
        for path in found:
            chart = _chart_of(path, charts) if charts else None
            candidate = Candidate(path, named=named, chart=chart, reader=read_head)
            kind = claim(candidate)
            if kind is None:
                continue
            entry = chart if chart is not None else path
            if (kind.name, entry) not in listed:
                listed.add((kind.name, entry))
                inputs.files.setdefault(kind.name, []).append(entry)
    return inputs
