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
from connbudget.frontends.apps import claims as apps


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
    # the var-files from outside the scanned tree (a CI job's secrets): their strings are
    # sensitive, and never cached
    secret_var_files: tuple[str, ...] = ()


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
    # a kind recognised but not read (family "coverage"): why it is not read, and what makes
    # it read (`{source}` is the path discovery found: a file, or a chart's directory;
    # `{stem}` that path without its ending)
    unread: str = ""
    fix: str = ""

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
# a Go template action as Helm writes them (`{{ .Values.x }}`, `{{- include ... }}`), not a
# GitHub expression (`${{ }}`) nor a Jinja variable (`{{ name }}`)
_GO_TEMPLATE = re.compile(rb"(?<!\$)\{\{-?\s*(?:\.[A-Z]|\$|(?:include|template|toYaml|tpl|if|"
                          rb"range|with|define|block)\b)")
_SAM = re.compile(rb"^Transform:[ \t]*[\"']?AWS::Serverless-|"
                  rb"\"Transform\"\s*:\s*\"AWS::Serverless-", re.MULTILINE)
_DESCRIBE = ("describe its database in [tool.connbudget.databases] and map its clients in "
             "[tool.connbudget.clients], or scan the Terraform, Kubernetes or PgBouncer files it "
             "is built from")
_RENDER_CHART = ("render it and scan the result: helm template {source} > rendered.yaml && "
                 "connbudget scan rendered.yaml")
_APPS = "connbudget.frontends.apps.read:"
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]+)?\.ya?ml$", re.IGNORECASE)


_ARM_SCHEMA = re.compile(rb'"\$schema"\s*:\s*"[^"]*deployment(?:Template|Parameters)\.json#',
                         re.IGNORECASE)


def looks_like_arm(candidate: Candidate) -> bool:
    """An ARM template or parameters file, by the schema it names near its top."""
    return _ARM_SCHEMA.search(candidate.head(4096)) is not None


def looks_like_pgbouncer(candidate: Candidate) -> bool:
    return _PGBOUNCER_SECTION.search(candidate.head()) is not None


def looks_like_kubernetes(candidate: Candidate) -> bool:
    """A manifest (`apiVersion:` and `kind:`), or a kustomization file, whose ConfigMap
    generators make ConfigMaps of files beside it."""
    if candidate.name.lower() in ("kustomization.yaml", "kustomization.yml"):
        return True
    head = candidate.head()
    return _KUBERNETES_KIND.search(head) is not None and _API_VERSION.search(head) is not None


def looks_like_helm_template(candidate: Candidate) -> bool:
    """A YAML file holding Helm's Go template actions: not YAML until Helm renders it."""
    return _GO_TEMPLATE.search(candidate.head()) is not None


def _named(*names: str) -> Callable[[Candidate], bool]:
    return lambda candidate: candidate.name.lower() in names


_POSTGRESQL_CONF = re.compile(r"^postgres[\w.-]*\.conf$", re.IGNORECASE)


def looks_like_postgresql_conf(candidate: Candidate) -> bool:
    """postgresql.conf, postgres.conf, postgresql-custom.conf: a PostgreSQL server's settings."""
    return _POSTGRESQL_CONF.match(candidate.name) is not None


def looks_like_plan(candidate: Candidate) -> bool:
    return not candidate.lower.endswith(_YAML) and _PLAN_HEAD.match(candidate.head(512)) \
        is not None


KINDS: tuple[InputKind, ...] = (
    InputKind("helm-chart", "Helm chart", "coverage", (), lambda c: c.chart is not None,
              _UNREAD, unread="Helm renders its templates; connbudget reads the manifests it "
              "renders", fix=_RENDER_CHART),
    InputKind("helm-template", "Helm template", "coverage", _YAML, looks_like_helm_template,
              _UNREAD, unread="a Go template that Helm renders, outside any chart in the "
              "scanned tree", fix="render the chart it belongs to and scan the result: helm "
              "template <chart> > rendered.yaml && connbudget scan rendered.yaml"),
    InputKind("helmfile", "helmfile", "coverage", _YAML, _named("helmfile.yaml", "helmfile.yml"),
              _UNREAD, unread="helmfile renders its releases with Helm",
              fix="render it and scan the result: helmfile --file {source} template > "
                  "rendered.yaml && connbudget scan rendered.yaml"),
    InputKind("render", "Render blueprint", "coverage", _YAML,
              _named("render.yaml", "render.yml"), _UNREAD,
              unread="connbudget does not read Render blueprints",
              fix=_DESCRIBE),
    InputKind("pulumi", "Pulumi project", "coverage", _YAML,
              lambda c: c.name.lower().startswith("pulumi.") and c.lower.endswith(_YAML),
              _UNREAD, unread="connbudget does not read Pulumi programs", fix=_DESCRIBE),
    InputKind("serverless", "Serverless Framework service", "coverage", (*_YAML, ".json"),
              _named("serverless.yml", "serverless.yaml", "serverless.json"), _UNREAD,
              unread="connbudget does not read Serverless Framework services", fix=_DESCRIBE),
    InputKind("cdk", "AWS CDK app", "coverage", (".json",), _named("cdk.json"), _UNREAD,
              unread="cdk synth writes the CloudFormation it deploys, which connbudget does "
                     "not read",
              fix=_DESCRIBE),
    InputKind("sam", "SAM template", "coverage", (*_YAML, ".json", ".template"),
              lambda c: _SAM.search(c.head()) is not None, _UNREAD,
              unread="connbudget does not read SAM templates", fix=_DESCRIBE),
    InputKind("cloudformation", "CloudFormation template", "coverage",
              (*_YAML, ".json", ".template"),
              lambda c: _CLOUDFORMATION.search(c.head()) is not None, _UNREAD,
              unread="connbudget does not read CloudFormation", fix=_DESCRIBE),
    InputKind("bicep", "Bicep file", "coverage", (".bicep",),
              lambda c: c.lower.endswith(".bicep"), _UNREAD,
              unread="Bicep compiles to the ARM template it deploys, which connbudget reads; "
                     "the Bicep source itself is not read",
              fix="build it and scan the result: az bicep build --file {source} --outfile "
                  "{stem}.json && connbudget scan {stem}.json"),
    # application configuration: before the YAML kinds, so that application.yml and
    # config/database.yml are never taken for Kubernetes or compose
    InputKind("rails", "Rails configuration", "capacity", (".yml", ".rb", ".erb"),
              lambda c: apps.rails(c.path, b""), _APPS + "read_rails"),
    InputKind("spring", "Spring Boot configuration", "capacity", (".properties", *_YAML),
              lambda c: apps.spring(c.path, b""), _APPS + "read_spring", unit=_directory),
    InputKind("python-app", "Python application configuration", "capacity", (".py",),
              lambda c: apps.python(c.path, c.head(apps.HEAD_BYTES)), _APPS + "read_python"),
    InputKind("node-app", "Node application configuration", "capacity",
              (".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".json", ".prisma"),
              lambda c: apps.node(c.path, c.head(apps.HEAD_BYTES)), _APPS + "read_node"),
    InputKind("go-app", "Go application configuration", "capacity", (".go",),
              lambda c: apps.go(c.path, c.head(apps.HEAD_BYTES)), _APPS + "read_go"),
    InputKind("dockerfile", "Dockerfile", "capacity", ("dockerfile",),
              lambda c: apps.dockerfile(c.path, b""), _APPS + "read_dockerfiles"),
    InputKind("sql", ".sql", "sql", (".sql",), lambda c: c.lower.endswith(".sql"),
              "connbudget.frontends.sql.reader:read"),
    InputKind("terraform", "Terraform", "capacity", (".tf", ".tf.json"),
              lambda c: c.lower.endswith((".tf", ".tf.json")),
              "connbudget.frontends.terraform.loader:read", unit=_directory),
    InputKind("terragrunt", "Terragrunt", "capacity", (".hcl",),
              lambda c: c.name == "terragrunt.hcl",
              "connbudget.frontends.terraform.terragrunt:read", unit=_directory),
    InputKind("tfvars", "Terraform variables", "", (".tfvars", ".tfvars.json"),
              lambda c: c.named and c.lower.endswith((".tfvars", ".tfvars.json"))),
    InputKind("pgbouncer", "PgBouncer ini", "capacity", (".ini", ".ini.j2", ".conf", ".cfg"),
              looks_like_pgbouncer, "connbudget.frontends.pgbouncer.ini:read"),
    InputKind("postgresql-conf", "postgresql.conf", "capacity", (".conf",),
              looks_like_postgresql_conf, "connbudget.frontends.postgresql.conf:read"),
    InputKind("compose", "compose YAML", "capacity", _YAML,
              lambda c: _COMPOSE.match(c.name) is not None,
              "connbudget.frontends.compose.model:read"),
    InputKind("kubernetes", "Kubernetes YAML", "capacity", _YAML, looks_like_kubernetes,
              "connbudget.frontends.kubernetes.objects:read"),
    InputKind("plan", "Terraform plan JSON", "capacity", (".json", ".tfplan", ".plan"),
              looks_like_plan, "connbudget.frontends.terraform.plan:read"),
    InputKind("arm", "ARM template JSON", "capacity", (".json", ".jsonc"), looks_like_arm,
              "connbudget.frontends.arm:read"),
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
