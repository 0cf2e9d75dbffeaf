"""`connbudget diff --base REF`: budgets and findings of the working tree against a git ref.

The base tree is read with `git archive` into a temporary directory and scanned there with
the same paths, so its file names read as the working tree's; the working tree is untouched.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connbudget.budgets import BudgetView
from connbudget.errors import UsageError
from connbudget.quoting import workflow_safe
from connbudget.report import Finding, Report
from connbudget.reporters._common import fingerprints

GIT_TIMEOUT = 120  # seconds for one git command


def _git(top: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(top), *args], capture_output=True,
                              timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError("diff needs git on the PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from None
    if proc.returncode != 0:
        said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed" + (f": {said[-1]}" if said else ""))
    return proc.stdout


def toplevel(start: Path) -> Path:
    try:
        out = _git(start, "rev-parse", "--show-toplevel")
    except UsageError:
        raise UsageError(f"{start}: not inside a git repository") from None
    return Path(out.decode().strip()).resolve()


def _extract(top: Path, ref: str, dest: Path) -> None:
    try:
        _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except UsageError:
        raise UsageError(f"--base {ref}: not a commit in this repository") from None
    if not _git(top, "ls-tree", "--name-only", "--end-of-options", ref):
        return  # a commit with no files: an empty base tree (its archive holds no member)
    data = _git(top, "archive", "--format=tar", "--end-of-options", ref)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if not _safe(member, archive, dest):
                print(f"connbudget: in {ref}: {member.name}: a link leaving the tree or a "
                      "special file, not read", file=sys.stderr)


def _safe(member: tarfile.TarInfo, archive: tarfile.TarFile, dest: Path) -> bool:
    """Extracts `member` when it stays inside `dest` as a plain file, directory or link."""
    if hasattr(tarfile, "data_filter"):
        try:
            archive.extract(member, dest, filter="data")
        except (tarfile.FilterError, OSError):
            return False
        return True
    # Python < 3.10.12: regular files and directories only
    if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) \
            or ".." in Path(member.name).parts:
        return False
    archive.extract(member, dest)
    return True


@contextmanager
def base_tree(ref: str) -> Iterator[tuple[Path, Path, Path]]:
    """(the base tree, the working directory inside it, the working tree's repository top)."""
    cwd = Path.cwd().resolve()
    top = toplevel(cwd)
    with tempfile.TemporaryDirectory(prefix="connbudget-base-") as tmp:
        root = Path(tmp)
        _extract(top, ref, root)
        # the base tree is a repository as the working tree is: its scan roots widen alike
        (root / ".git").mkdir(exist_ok=True)
        inside = root / cwd.relative_to(top)
        inside.mkdir(parents=True, exist_ok=True)
        yield root, inside, top


def mapped(path: str, top: Path, base_root: Path) -> str:
    """A path as the base tree holds it: relative paths stay relative, absolute ones move."""
    if not os.path.isabs(path):
        return path
    resolved = Path(path).resolve()
    try:
        return str(base_root / resolved.relative_to(top))
    except ValueError:
        raise UsageError(f"{path}: outside the git repository") from None


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@dataclass(frozen=True)
class Change:
    """One database in the base and in the working tree (None where it is missing)."""

    database: str
    root: str
    before: BudgetView | None
    after: BudgetView | None

    @property
    def changed(self) -> bool:
        before, after = self.before, self.after
        if before is None or after is None:
            return True
        return _compared(before) != _compared(after)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"database": self.database}
        if self.root:
            data["root"] = self.root
        data.update(before=self.before.as_json() if self.before else None,
                    after=self.after.as_json() if self.after else None, changed=self.changed)
        return data


@dataclass
class Comparison:
    base: str
    before: Report
    after: Report
    new: list[Finding]
    fixed: list[Finding]
    databases: list[Change]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "base": self.base,
            "databases": [change.as_json() for change in self.databases],
            "new": [f.as_json() for f in self.new],
            "fixed": [f.as_json() for f in self.fixed],
            "errors": [e.as_json() for e in self.after.errors],
        }


def _only(findings: list[Finding], other: list[Finding]) -> list[Finding]:
    """Findings with no counterpart in `other`: same rule, file, resource and message but
    for its numbers (the fingerprints the GitLab report uses)."""
    theirs = set(fingerprints(other))
    return [f for f, key in zip(findings, fingerprints(findings), strict=True)
            if key not in theirs]


def _compared(budget: BudgetView) -> tuple[object, ...]:
    """What a budget line shows, and the verdict: a database whose values all agree is
    unchanged."""
    return (budget.max_connections.value, budget.instance_class, budget.reserved.value,
            budget.usable, budget.worst_case, budget.worst_case_deploy, budget.verdict.rule_id)


def _key(budget: BudgetView) -> tuple[str, str]:
    return (budget.root or "", budget.database)


def compare(base: str, before: Report, after: Report) -> Comparison:
    old = {_key(b): b for b in before.budgets}
    new = {_key(b): b for b in after.budgets}
    databases = [Change(key[1], key[0], old.get(key), new.get(key))
                 for key in [*new, *(k for k in old if k not in new)]]
    return Comparison(base, before, after, _only(after.findings, before.findings),
                      _only(before.findings, after.findings), databases)


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


def _moved(report: Report, old: str, new: str) -> Report:
    return Report(
        findings=[replace(f, file=f.file.replace(old, new), message=f.message.replace(old, new),
                          fix=f.fix.replace(old, new)) for f in report.findings],
        budgets=[BudgetView.from_json(_renamed(b.as_json(), old, new)) for b in report.budgets],
        errors=[replace(e, file=e.file.replace(old, new)) for e in report.errors])


def run_base(ref: str, run: Callable[[Callable[[str], str]], Report]) -> Report:
    """Run `run` inside the base tree; it gets the function that maps a path there."""
    with base_tree(ref) as (root, inside, top), working_directory(inside):
        report = run(lambda path: mapped(path, top, root))
        # absolute paths name the base tree's copy: make them name the working tree's file
        report = _moved(report, str(root), str(top))
    # a path the pull request adds is missing in the base: that is the change, not an error
    report.errors = [e for e in report.errors if e.message != "no such file or directory"]
    for error in report.errors:
        print(workflow_safe(f"connbudget: in {ref}: {error}"), file=sys.stderr)
    return report


