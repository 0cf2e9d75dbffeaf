"""Finding the inputs under the paths a user names, and sorting them by kind."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connbudget.confine import Roots, is_regular, read_head
from connbudget.errors import UsageError

_SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv", ".venv-checkov", "__pycache__",
              ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_YAML = (".yaml", ".yml")
_INI = (".ini", ".ini.j2", ".conf", ".cfg")
_TERRAFORM = (".tf", ".tf.json")
_VARS = (".tfvars", ".tfvars.json")
# plans are told by their content, CloudFormation by its head: their usual endings are read too
_KNOWN = (".sql", *_TERRAFORM, *_VARS, *_INI, *_YAML, ".json", ".tfplan", ".plan", ".template")
_PGBOUNCER_SECTION = re.compile(rb"^[ \t]*\[(?:pgbouncer|databases)\][ \t]*\r?$",
                                re.MULTILINE | re.IGNORECASE)
_KUBERNETES_KIND = re.compile(rb"^kind:[ \t]*[\"']?[A-Za-z]+", re.MULTILINE)
_API_VERSION = re.compile(rb"^apiVersion:", re.MULTILINE)
# `terraform show -json` writes format_version first, then terraform_version.
_PLAN_HEAD = re.compile(rb'\A\s*\{\s*"format_version"\s*:\s*"[^"]*"\s*,\s*"terraform_version"\s*:')


@dataclass
class Inputs:
    sql: list[str] = field(default_factory=list)
    terraform_dirs: list[str] = field(default_factory=list)
    terraform_files: list[str] = field(default_factory=list)  # the .tf files of those dirs
    var_files: list[str] = field(default_factory=list)
    pgbouncer: list[str] = field(default_factory=list)
    kubernetes: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)  # Terraform plan JSON, found by content
    compose: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # recognised but not read: unrendered Helm charts (their Chart.yaml), and files of kinds
    # connbudget does not read yet, as (path, what it is)
    helm_charts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # the paths the user named
    unread: list[tuple[str, str]] = field(default_factory=list)
    # (path, why) for files found but not read: FIFOs, devices, symlinks leaving the tree
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def counts(self, kinds: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """How many files of each of `kinds` (field names) were found, as a summary names
        them: `((".sql", 3), ("Terraform", 5))`."""
        return tuple((_KIND_NAMES[kind], len(getattr(self, kind))) for kind in kinds)


_KIND_NAMES = {"sql": ".sql", "terraform_files": "Terraform", "plans": "Terraform plan JSON",
               "pgbouncer": "PgBouncer ini", "kubernetes": "Kubernetes YAML",
               "compose": "compose YAML"}
SQL_KINDS = ("sql",)
CAPACITY_KINDS = ("terraform_files", "plans", "pgbouncer", "kubernetes", "compose")


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
            if excludes.excluded(path) or not name.lower().endswith(_KNOWN):
                continue
            problem = roots.problem(path) if os.path.islink(path) or not is_regular(path) \
                else None
            if problem is not None:
                skipped.append((path, problem))
            else:
                found.append(path)
    return found


def _head(path: str, size: int = 65536) -> bytes:
    return read_head(path, size)


def looks_like_pgbouncer(path: str) -> bool:
    return _PGBOUNCER_SECTION.search(_head(path)) is not None


def looks_like_kubernetes(path: str) -> bool:
    head = _head(path)
    return _KUBERNETES_KIND.search(head) is not None and _API_VERSION.search(head) is not None


def looks_like_plan(path: str) -> bool:
    return _PLAN_HEAD.match(_head(path, 512)) is not None


_CLOUDFORMATION = re.compile(rb"AWSTemplateFormatVersion|^[ \t]+Type:[ \t]*[\"']?AWS::RDS::",
                             re.MULTILINE)
_CHART_FILES = ("Chart.yaml", "Chart.yml")
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)


def _chart_of(path: str, charts: set[str]) -> str | None:
    """The chart whose templates/ holds `path`: Helm renders those files, connbudget does not."""
    parts = Path(path).parts
    for index in range(len(parts) - 1, 0, -1):
        if parts[index] == "templates":
            chart = os.path.join(*parts[:index]) if index else "."
            if chart in charts:
                return chart
    return None


def _unread_kind(path: str) -> str | None:
    """A file kind connbudget recognises but does not read (yet)."""
    name = os.path.basename(path)
    lower = name.lower()
    if lower in ("render.yaml", "render.yml"):
        return "a Render blueprint"
    if lower.startswith("pulumi.") and lower.endswith(_YAML):
        return "a Pulumi project"
    if lower.endswith((*_YAML, ".json", ".template")) and _CLOUDFORMATION.search(_head(path)):
        return "a CloudFormation template"
    return None


def discover(paths: list[str], exclude: list[str], root: str | None = None) -> Inputs:
    """Sort the files under `paths` by kind; `exclude` patterns are anchored at `root`."""
    excludes = Excludes(exclude, root)
    roots = Roots(paths)
    inputs = Inputs(paths=list(paths))
    tf_dirs: dict[str, None] = {}
    for given in paths:
        if not os.path.exists(given):
            inputs.missing.append(given)
            continue
        found = list(_walk(given, excludes, roots, inputs.skipped))
        charts = {os.path.dirname(p) or "." for p in found
                  if os.path.basename(p) in _CHART_FILES}
        for path in found:
            lower = path.lower()
            chart = _chart_of(path, charts) if charts else None
            if chart is not None:
                if chart not in inputs.helm_charts:
                    inputs.helm_charts.append(chart)
                continue
            what = _unread_kind(path)
            if what is not None:
                inputs.unread.append((path, what))
                continue
            if lower.endswith(".sql"):
                inputs.sql.append(path)
            elif lower.endswith(_TERRAFORM):
                # A module is its whole directory: one changed file brings in its siblings.
                tf_dirs.setdefault(os.path.dirname(path) or ".", None)
                inputs.terraform_files.append(path)
            elif lower.endswith(_VARS) and os.path.isfile(given):
                inputs.var_files.append(path)
            elif lower.endswith(_INI):
                if looks_like_pgbouncer(path):
                    inputs.pgbouncer.append(path)
            elif lower.endswith(_YAML) and _COMPOSE.match(os.path.basename(path)):
                inputs.compose.append(path)
            elif lower.endswith(_YAML) and looks_like_kubernetes(path):
                inputs.kubernetes.append(path)
            elif not lower.endswith(_YAML) and looks_like_plan(path):
                inputs.plans.append(path)
    inputs.terraform_dirs = list(tf_dirs)
    return inputs
