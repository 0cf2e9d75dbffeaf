"""The input kinds connbudget recognises, one row each: which files a kind claims, the front end
that reads them, the unit a failure is isolated to, and, for a kind recognised but not read,
what it is and how to make it readable.

Discovery asks the rows in order which kind claims a file (the first that does wins); the
engine runs each kind's reader, isolating a crash to the file (or Terraform directory) that
caused it; the summary ("checked 3 files: 1 Terraform, 2 Kubernetes YAML"), the JSON and SARIF
run metadata and the README's list of inputs all come from this table.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connbudget.comments import Comment
from connbudget.errors import InputError


@dataclass
class Candidate:
    """A file discovery found: its path, whether the user named it, the Helm chart whose
    templates hold it, and its first bytes (read once, on demand)."""

    path: str
    named: bool = False
    chart: str | None = None
    _head: bytes | None = None
    reader: Callable[[str, int], bytes] | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def lower(self) -> str:
        return self.path.lower()

    def head(self, size: int = 65536) -> bytes:
        if self._head is None or len(self._head) < size:
            self._head = self.reader(self.path, size) if self.reader is not None else b""
        return self._head[:size]


@dataclass
class Read:
    """What a front end read from the files of one kind."""

    result: Any
    errors: list[InputError] = field(default_factory=list)
    comments: dict[str, list[Comment]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadContext:
    """What a reader may need besides the paths: Terraform var-files, the parse cache, and the
    PgBouncer releases pinned per ini file."""

    var_files: tuple[str, ...] = ()
    cache: bool = True
    pgbouncer_versions: dict[str, str] = field(default_factory=dict)


def _file(path: str) -> str:
    return path


def _directory(path: str) -> str:
    return os.path.dirname(path) or "."


@dataclass(frozen=True)
class InputKind:
    name: str
    label: str  # as the summary and the docs name it
    family: str  # the commands that read it: "sql", "capacity"; "" for an auxiliary input
    suffixes: tuple[str, ...]  # the file endings discovery looks at for it (lower case)
    claims: Callable[[Candidate], bool]
    read: str = ""  # "module:function" (paths, ReadContext) -> Read; "" when not read
    unit: Callable[[str], str] = _file  # where a failure is isolated to
    # a kind recognised but not read (family "coverage"): what it is, and the command that
    # turns a file of it (`{path}`, `{stem}` without its ending) into one connbudget reads
    unread: str = ""
    render: str = ""

    def reader(self) -> Callable[[list[str], ReadContext], Read]:
        module, _, function = self.read.partition(":")
        found: Callable[[list[str], ReadContext], Read] = getattr(
            importlib.import_module(module), function)
        return found


_YAML = (".yaml", ".yml")
_PGBOUNCER_SECTION = re.compile(rb"^[ \t]*\[(?:pgbouncer|databases)\][ \t]*\r?$",
                                re.MULTILINE | re.IGNORECASE)
_KUBERNETES_KIND = re.compile(rb"^kind:[ \t]*[\"']?[A-Za-z]+", re.MULTILINE)
_API_VERSION = re.compile(rb"^apiVersion:", re.MULTILINE)
# `terraform show -json` writes format_version first, then terraform_version.
_PLAN_HEAD = re.compile(rb'\A\s*\{\s*"format_version"\s*:\s*"[^"]*"\s*,\s*"terraform_version"\s*:')
_CLOUDFORMATION = re.compile(rb"AWSTemplateFormatVersion|^[ \t]+Type:[ \t]*[\"']?AWS::RDS::",
                             re.MULTILINE)
_UNREAD = "connbudget.frontends.unread:read"
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)


_ARM_SCHEMA = re.compile(rb'"\$schema"\s*:\s*"[^"]*deployment(?:Template|Parameters)\.json#',
                         re.IGNORECASE)


def looks_like_arm(candidate: Candidate) -> bool:
    """An ARM template or parameters file, by the schema it names near its top."""
    return _ARM_SCHEMA.search(candidate.head(4096)) is not None


def looks_like_pgbouncer(candidate: Candidate) -> bool:
    return _PGBOUNCER_SECTION.search(candidate.head()) is not None


def looks_like_kubernetes(candidate: Candidate) -> bool:
    head = candidate.head()
    return _KUBERNETES_KIND.search(head) is not None and _API_VERSION.search(head) is not None


def looks_like_plan(candidate: Candidate) -> bool:
    return not candidate.lower.endswith(_YAML) and _PLAN_HEAD.match(candidate.head(512)) \
        is not None


KINDS: tuple[InputKind, ...] = (
    InputKind("helm-chart", "Helm chart", "coverage", (), lambda c: c.chart is not None,
              _UNREAD, unread="a Helm chart (Helm renders its templates)"),
    InputKind("render", "Render blueprint", "coverage", (".yaml", ".yml"),
              lambda c: c.name.lower() in ("render.yaml", "render.yml"), _UNREAD,
              unread="a Render blueprint"),
    InputKind("pulumi", "Pulumi project", "coverage", (".yaml", ".yml"),
              lambda c: c.name.lower().startswith("pulumi.") and c.lower.endswith(_YAML),
              _UNREAD, unread="a Pulumi project"),
    InputKind("cloudformation", "CloudFormation template", "coverage",
              (*_YAML, ".json", ".template"),
              lambda c: _CLOUDFORMATION.search(c.head()) is not None, _UNREAD,
              unread="a CloudFormation template"),
    InputKind("sql", ".sql", "sql", (".sql",), lambda c: c.lower.endswith(".sql"),
              "connbudget.frontends.sql.reader:read"),
    InputKind("terraform", "Terraform", "capacity", (".tf", ".tf.json"),
              lambda c: c.lower.endswith((".tf", ".tf.json")),
              "connbudget.frontends.terraform.loader:read", unit=_directory),
    InputKind("tfvars", "Terraform variables", "", (".tfvars", ".tfvars.json"),
              lambda c: c.named and c.lower.endswith((".tfvars", ".tfvars.json"))),
    InputKind("pgbouncer", "PgBouncer ini", "capacity", (".ini", ".ini.j2", ".conf", ".cfg"),
              looks_like_pgbouncer, "connbudget.frontends.pgbouncer.ini:read"),
    InputKind("compose", "compose YAML", "capacity", _YAML,
              lambda c: _COMPOSE.match(c.name) is not None,
              "connbudget.frontends.compose.model:read"),
    InputKind("kubernetes", "Kubernetes YAML", "capacity", _YAML, looks_like_kubernetes,
              "connbudget.frontends.kubernetes.objects:read"),
    InputKind("plan", "Terraform plan JSON", "capacity", (".json", ".tfplan", ".plan"),
              looks_like_plan, "connbudget.frontends.terraform.plan:read"),
    InputKind("arm", "ARM template JSON", "capacity", (".json", ".jsonc"), looks_like_arm,
              "connbudget.frontends.arm:read"),
    InputKind("bicep", "Bicep file", "coverage", (".bicep",),
              lambda c: c.lower.endswith(".bicep"), _UNREAD,
              unread="a Bicep file (Bicep compiles to an ARM template, which connbudget reads)",
              render="az bicep build --file {path} --outfile {stem}.json"),
)

BY_NAME = {kind.name: kind for kind in KINDS}
SUFFIXES = tuple(sorted({suffix for kind in KINDS for suffix in kind.suffixes}))


def kinds_of(family: str) -> tuple[InputKind, ...]:
    """The kinds a command of `family` reads and counts ("scan": "sql" and "capacity")."""
    return tuple(kind for kind in KINDS if kind.family in (
        ("sql", "capacity") if family == "scan" else (family,)))


def claim(candidate: Candidate) -> InputKind | None:
    """The first kind that claims the file; None when none does."""
    return next((kind for kind in KINDS if (not kind.suffixes
                                            or candidate.lower.endswith(kind.suffixes))
                 and kind.claims(candidate)), None)
