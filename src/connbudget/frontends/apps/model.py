"""What application configuration files declare about connections, as plain data.

A number in these files often depends on the environment of the unit that runs them
(`ENV.fetch("RAILS_MAX_THREADS") { 5 }`, `${DB_POOL:10}`, `process.env.POOL_SIZE || 10`) or on
the machine (`multiprocessing.cpu_count() * 2 + 1`), so it is kept as a small symbolic
expression and evaluated later against each deploying unit's environment with `evaluate`.
Nothing here knows a rule or the capacity model.

Positions are 1-based; `end_column` is exclusive, so a value spans
`line:column` up to but not including `end_line:end_column` (columns count characters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple
from urllib.parse import parse_qs, urlsplit

from connbudget.comments import Comment
from connbudget.errors import InputError


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Const:
    """A number written in a file, or a library default (then `source` cites where the
    default is documented and `at` is None)."""

    value: int
    at: Span | None = None
    source: str = ""


@dataclass(frozen=True)
class Env:
    """The integer value of an environment variable; `default` when it is unset (and, with
    `empty_is_unset`, when it is empty: JavaScript's `||`)."""

    name: str
    default: Expr | None
    at: Span | None = None
    empty_is_unset: bool = False


@dataclass(frozen=True)
class UrlParam:
    """A query parameter of the URL held by an environment variable (`connection_limit` in
    Prisma's DATABASE_URL, `pool_max_conns` in a pgx DSN); `default` when the variable is unset
    or the URL does not carry the parameter."""

    env: str
    params: tuple[str, ...]
    default: Expr | None
    at: Span | None = None


@dataclass(frozen=True)
class Cpu:
    """The CPU count a process sees. `physical`: physical cores (Prisma's `num_cpus::
    get_physical`). None of the functions read here (`os.cpu_count()`, `os.cpus().length`,
    `runtime.NumCPU()`, Rust's num_cpus) looks at a container's CPU quota: on a shared node
    they count the node's CPUs."""

    physical: bool
    at: Span | None = None
    source: str = ""


Operator = Literal["+", "-", "*", "//", "max", "min"]


@dataclass(frozen=True)
class Op:
    op: Operator
    args: tuple[Expr, ...]
    at: Span | None = None
    source: str = ""


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be evaluated statically; `why` names the construct, never quotes
    the source."""

    why: str
    at: Span | None = None


Expr = Const | Env | UrlParam | Cpu | Op | Unknown


class Evaluation(NamedTuple):
    value: int | None
    why: str


def evaluate(expr: Expr, env: Mapping[str, str | None] | None, cpus: int | None,
             physical_cpus: int | None = None) -> Evaluation:
    """The number `expr` comes to in one deploying unit, or None, and the words that say how.

    `env` is the unit's environment: a name absent is unset, a name mapped to None is set to a
    value that cannot be read (a secret); `env` None means the environment is not known at
    all. `cpus` / `physical_cpus` are the logical / physical CPUs the process sees, None when
    not known. Nothing unknown is guessed.
    """
    return _Evaluator(env, cpus, physical_cpus).run(expr)


def _where(at: Span | None, source: str = "") -> str:
    return f" ({source})" if source else f" ({at})" if at is not None else ""


class _Evaluator:
    def __init__(self, env: Mapping[str, str | None] | None, cpus: int | None,
                 physical_cpus: int | None) -> None:
        self.env = env
        self.cpus = cpus
        self.physical_cpus = physical_cpus

    def run(self, expr: Expr) -> Evaluation:
        if isinstance(expr, Const):
            return Evaluation(expr.value, f"{expr.value}{_where(expr.at, expr.source)}")
        if isinstance(expr, Env):
            return self._env(expr)
        if isinstance(expr, UrlParam):
            return self._url_param(expr)
        if isinstance(expr, Cpu):
            return self._cpu(expr)
        if isinstance(expr, Op):
            return self._op(expr)
        return Evaluation(None, f"unknown: {expr.why}{_where(expr.at)}")

    def _unset(self, name: str, default: Expr | None, at: Span | None) -> Evaluation:
        if default is None:
            return Evaluation(None, f"{name} unset and no default{_where(at)}")
        value, why = self.run(default)
        if value is None:
            return Evaluation(None, f"{name} unset; its default is unknown: {why}")
        return Evaluation(value, f"{name} unset: default {why}")

    def _env(self, expr: Env) -> Evaluation:
        if self.env is None:
            return Evaluation(None, f"{expr.name}: the environment is not known{_where(expr.at)}")
        if expr.name not in self.env or (expr.empty_is_unset and self.env[expr.name] == ""):
            return self._unset(expr.name, expr.default, expr.at)
        raw = self.env[expr.name]
        if raw is None:
            return Evaluation(None, f"{expr.name} is set to a value that is not read"
                                    f"{_where(expr.at)}")
        number = _integer(raw)
        if number is None:
            return Evaluation(None, f"{expr.name} is not a whole number{_where(expr.at)}")
        return Evaluation(number, f"{expr.name}={number}{_where(expr.at)}")

    def _url_param(self, expr: UrlParam) -> Evaluation:
        if self.env is None:
            return Evaluation(None, f"{expr.env}: the environment is not known{_where(expr.at)}")
        if expr.env not in self.env:
            if expr.default is None:
                return Evaluation(None, f"{expr.env} unset and no default{_where(expr.at)}")
            return self.run(expr.default)
        raw = self.env[expr.env]
        if raw is None:
            return Evaluation(None, f"{expr.env} is set to a value that is not read"
                                    f"{_where(expr.at)}")
        try:
            query = parse_qs(urlsplit(raw.strip()).query)
        except ValueError:
            return Evaluation(None, f"{expr.env} is not a URL{_where(expr.at)}")
        for param in expr.params:
            if param in query:
                number = _integer(query[param][0])
                if number is None:
                    return Evaluation(None, f"{expr.env} {param}= is not a whole number"
                                            f"{_where(expr.at)}")
                return Evaluation(number, f"{expr.env} {param}={number}{_where(expr.at)}")
        if expr.default is None:
            return Evaluation(None, f"{expr.env} sets no {expr.params[0]}{_where(expr.at)}")
        value, why = self.run(expr.default)
        return Evaluation(value, f"{expr.env} sets no {expr.params[0]}: default {why}")

    def _cpu(self, expr: Cpu) -> Evaluation:
        count = self.physical_cpus if expr.physical else self.cpus
        kind = "physical CPU cores" if expr.physical else "CPUs"
        if count is None:
            return Evaluation(None, f"the number of {kind} is not known{_where(expr.at)}")
        return Evaluation(count, f"{count} {kind}{_where(expr.at, expr.source)}")

    def _op(self, expr: Op) -> Evaluation:
        parts = [self.run(arg) for arg in expr.args]
        unknown = [part.why for part in parts if part.value is None]
        if unknown:
            return Evaluation(None, "; ".join(unknown))
        values = [part.value for part in parts if part.value is not None]
        whys = [part.why for part in parts]
        if expr.op in ("max", "min"):
            result = max(values) if expr.op == "max" else min(values)
            return Evaluation(result, f"{expr.op}({', '.join(whys)}) = {result}"
                                      f"{_where(None, expr.source)}")
        result = values[0]
        for value in values[1:]:
            if expr.op == "//" and value == 0:
                return Evaluation(None, f"division by zero{_where(expr.at)}")
            result = (result + value if expr.op == "+" else result - value if expr.op == "-"
                      else result * value if expr.op == "*" else result // value)
        return Evaluation(result, f" {expr.op} ".join(whys) + f" = {result}"
                                  + _where(None, expr.source))


def _integer(text: str) -> int | None:
    text = text.strip()
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body.isdigit() and body.isascii() else None


def env_names(expr: Expr | None) -> set[str]:
    """The environment variables an expression reads."""
    if isinstance(expr, Env):
        return {expr.name} | env_names(expr.default)
    if isinstance(expr, UrlParam):
        return {expr.env} | env_names(expr.default)
    if isinstance(expr, Op):
        return set().union(*(env_names(arg) for arg in expr.args))
    return set()


@dataclass(frozen=True)
class Insert:
    """Where a setting the file does not have goes: `text` inserted at `line:column`, with
    `{value}` standing for the number (indentation and line breaks included)."""

    file: str
    line: int
    column: int
    text: str


@dataclass(frozen=True)
class Setting:
    """One setting of a pool or a server, under the framework's own name.

    `value` is what the file says (None: not set); `default` is what applies when it is not
    set (a library default, itself an expression such as `Env("WEB_CONCURRENCY", Const(1))`).
    `at` is the exact span of the value (a fix replaces it), `insert` where a new setting
    goes when the file does not set it. `env_override` names the environment variable that
    overrides the file (Spring's relaxed binding). `shared` names the YAML anchor a value is
    merged from: changing it changes every section that merges it.
    """

    name: str
    value: Expr | None
    default: Expr
    at: Span | None = None
    insert: Insert | None = None
    env_override: str | None = None
    shared: str | None = None

    @property
    def effective(self) -> Expr:
        value = self.value if self.value is not None else self.default
        if self.env_override is None:
            return value
        return Env(self.env_override, value)


@dataclass(frozen=True)
class Variant:
    """Which configuration a section applies to: the value of an environment variable that
    selects it (RAILS_ENV=production, SPRING_PROFILES_ACTIVE=prod, NODE_ENV, Sidekiq's
    APP_ENV). `selectors` are read in order; `fallback` is the value when none is set.
    `value` None (ALWAYS): the section applies whatever they say, unless an entry of the same
    file and name whose variant is selected replaces it (a Spring profile, Sidekiq's
    environment section)."""

    selectors: tuple[str, ...]
    value: str | None
    fallback: str | None = None
    listed: bool = False  # the selector holds a comma-separated list (Spring profiles)

    def selected(self, env: Mapping[str, str | None] | None) -> bool | None:
        """Whether this section applies in `env`; None when that cannot be known."""
        if self.value is None:
            return True
        if env is None:
            return None
        for name in self.selectors:
            if name in env:
                chosen = env[name]
                if chosen is None:
                    return None
                values = [part.strip() for part in chosen.split(",")] if self.listed \
                    else [chosen.strip()]
                return self.value in values
        return self.value == self.fallback


ALWAYS = Variant((), None)


@dataclass(frozen=True)
class Target:
    """The database a pool connects to, as written: a host or URL text (any password
    replaced by `***`), and the environment variables it is read from."""

    text: str | None
    env: tuple[str, ...] = ()
    at: Span | None = None


Per = Literal["process", "thread"]


@dataclass(frozen=True)
class Pool:
    """One connection pool a process of the application opens.

    `size` is the sum of `settings` (SQLAlchemy: pool_size + max_overflow; every other
    library has one setting). `per` is "thread" where each thread holds its own connection
    (Django without a pool). `unlimited_at_or_below_zero`: a size of 0 or less means no limit
    (Go database/sql). `transient`: open only while the process starts (a migration tool).
    """

    library: str
    name: str
    settings: tuple[Setting, ...]
    per: Per
    target: Target
    file: str
    at: Span
    variant: Variant = ALWAYS
    unlimited_at_or_below_zero: bool = False
    transient: bool = False

    @property
    def size(self) -> Expr:
        parts = tuple(setting.effective for setting in self.settings)
        return parts[0] if len(parts) == 1 else Op("+", parts, self.at)


@dataclass(frozen=True)
class Server:
    """The processes and threads a server runs. `processes` and `threads` are settings
    (workers, concurrency); `model` the concurrency model as written (`sync`, `gthread`,
    `gevent`, `prefork`, `threads`), or None when it does not apply."""

    kind: str
    processes: Setting
    threads: Setting
    model: str | None
    file: str
    at: Span
    variant: Variant = ALWAYS


@dataclass
class AppConfig:
    """What one application directory declares."""

    directory: str
    pools: list[Pool] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    env: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    libraries: set[str] = field(default_factory=set)


@dataclass
class FileResult:
    """What one file yields, before files are grouped by application directory."""

    file: str
    pools: list[Pool] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    libraries: set[str] = field(default_factory=set)


_PASSWORD = re.compile(r"(?i)((?:^|[\s?&;])password=)[^&\s;]*")


def redacted(text: str) -> str:
    """A URL or DSN with any password replaced by `***` (`user:secret@host`, `password=x`)."""
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, slash, tail = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if at and ":" in userinfo:
            authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
        text = f"{scheme}{sep}{authority}{slash}{tail}"
    return _PASSWORD.sub(r"\1***", text)
