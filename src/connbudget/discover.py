"""Finding the inputs under the paths a user names, and sorting them by kind."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from connbudget.confine import Roots, is_regular, read_head
from connbudget.kinds import SUFFIXES, Candidate, InputKind, claim

_SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv", ".venv-checkov", "__pycache__",
              ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
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


def _glob_to_regex(glob: str) -> str:
    """Translate one gitignore glob (without its leading `/` or trailing `/`) to a regex."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
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
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    anchored: bool  # matched against the whole relative path, not only the name
    directory_only: bool
    negated: bool


def _compile(pattern: str) -> _Pattern | None:
    pattern = pattern.strip()
    if not pattern or pattern.startswith("#"):
        return None
    negated = pattern.startswith("!")
    pattern = pattern[1:] if negated else pattern
    directory_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    regex = re.compile(_glob_to_regex(pattern.lstrip("/")) + r"\Z")
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
            if pattern.regex.match(relative if pattern.anchored else name):
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


def _walk(root: str, excludes: Excludes, roots: Roots,
          skipped: list[tuple[str, str]]) -> list[str]:
    """The regular files under `root`; symlinks are followed while they stay inside the
    scan roots (each real directory once, so a loop ends), anything else is `skipped`."""
    if not os.path.isdir(root):
        if excludes.excluded(root):
            return []
        problem = None if is_regular(root) else "not a regular file, not read"
        if problem is None and os.path.islink(root):
            problem = roots.problem(root)
        if problem is not None:
            skipped.append((root, problem))
            return []
        return [root]
    found: list[str] = []
    seen: set[str] = set()
    for directory, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen or (directory != root and roots.outside(directory)):
            if real not in seen:
                skipped.append((directory, "a symlink to a directory outside the scanned "
                                "tree, not read"))
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
            listed = inputs.files.setdefault(kind.name, [])
            if entry not in listed:
                listed.append(entry)
    return inputs
