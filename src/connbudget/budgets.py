"""Each database's budget as reporters read it: plain, typed data, and its JSON (SPEC "JSON").

`capacity` builds these from its model; `from_json` reads back what `as_json` wrote (the diff
command moves the paths of a run of the base tree that way).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Sourced:
    """A number and where it comes from; `value` None means unknown."""

    value: int | None
    source: str
    file: str = ""
    line: int = 0
    assumed: bool = False
    unlimited: bool = False

    def __str__(self) -> str:
        return f"{self.source} ({self.file}:{self.line})" if self.file else self.source

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "source": self.source,
                                "file": self.file or None, "line": self.line or None,
                                "assumed": self.assumed}
        if self.unlimited:
            data["unlimited"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sourced:
        return cls(data["value"], data["source"], data["file"] or "", data["line"] or 0,
                   data["assumed"], data.get("unlimited", False))


@dataclass(frozen=True)
class Behind:
    """A client behind a pooler: what it opens to the pooler, not to the database."""

    client: str
    kind: str  # its platform: "ecs", "kubernetes", ...
    unit: str  # what that platform scales, plural: "tasks", "pods"
    max_tasks: int | None
    processes: int | None
    pool: int | None
    steady: int | None
    deploy: int | None
    matched_by: str

    def as_json(self) -> dict[str, Any]:
        return {"client": self.client, "kind": self.kind, "unit": self.unit,
                "max_tasks": self.max_tasks, "processes": self.processes, "pool": self.pool,
                "steady": self.steady, "deploy": self.deploy, "matched_by": self.matched_by}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Behind:
        return cls(data["client"], data["kind"], data["unit"], data["max_tasks"],
                   data["processes"], data["pool"], data["steady"], data["deploy"],
                   data["matched_by"])


@dataclass(frozen=True)
class ClientView:
    """One path to the database: a client (`path` "direct": tasks x processes x pool) or a
    pooler ("pgbouncer", "rds-proxy": its server connections, the clients behind it)."""

    client: str
    path: str
    steady: int | None
    deploy: int | None
    matched_by: str
    file: str
    line: int
    sources: dict[str, Sourced]
    root: str | None = None  # None: the run holds one root, none is shown
    kind: str | None = None  # a direct client's platform ("ecs", "kubernetes", ...)
    unit: str = ""  # what that platform scales, plural ("tasks", "pods")
    max_tasks: int | None = None
    deploy_tasks: int | None = None
    processes: int | None = None
    pool: int | None = None
    unlimited: bool = False
    notes: tuple[str, ...] = ()
    pool_mode: str | None = None  # a pooler's
    behind: tuple[Behind, ...] = ()

    @property
    def direct(self) -> bool:
        return self.path == "direct"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"client": self.client, "path": self.path, "steady": self.steady,
                                "deploy": self.deploy, "matched_by": self.matched_by}
        if self.root is not None:
            data["root"] = self.root
        sources = {key: source.as_json() for key, source in self.sources.items()}
        if not self.direct:
            data.update({"max_tasks": None, "processes": None, "pool": None, "file": self.file,
                         "line": self.line, "pool_mode": self.pool_mode,
                         "behind": [b.as_json() for b in self.behind], "sources": sources})
            return data
        data.update({"kind": self.kind, "unit": self.unit, "max_tasks": self.max_tasks,
                     "deploy_tasks": self.deploy_tasks, "processes": self.processes,
                     "pool": self.pool, "file": self.file, "line": self.line,
                     "sources": sources})
        if self.unlimited:
            data["unlimited"] = True
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientView:
        common = cls(data["client"], data["path"], data["steady"], data["deploy"],
                     data["matched_by"], data["file"], data["line"],
                     {key: Sourced.from_json(s) for key, s in data["sources"].items()},
                     root=data.get("root"))
        if not common.direct:
            return replace(common, pool_mode=data["pool_mode"],
                           behind=tuple(Behind.from_json(b) for b in data["behind"]))
        return replace(common, kind=data["kind"], unit=data["unit"], max_tasks=data["max_tasks"],
                       deploy_tasks=data["deploy_tasks"], processes=data["processes"],
                       pool=data["pool"], unlimited=data.get("unlimited", False),
                       notes=tuple(data.get("notes", ())))


@dataclass(frozen=True)
class UnreadView:
    """Something recognised and not read that may connect to a database (SPEC "Coverage")."""

    what: str
    kind: str  # "resource", "module", "chart", "file", "client", "pooler"
    why: str
    file: str
    line: int
    fix: str
    databases: tuple[str, ...] = ()  # the databases it may touch, as budgets name them

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "kind": self.kind, "why": self.why, "file": self.file,
                "line": self.line, "fix": self.fix, "databases": list(self.databases)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnreadView:
        return cls(data["what"], data["kind"], data["why"], data["file"], data["line"],
                   data["fix"], tuple(data["databases"]))


@dataclass(frozen=True)
class BudgetCoverage:
    """What a budget counts and what may touch it unread: it is complete when at least one
    client (or pooler) was read and nothing unread may touch it."""

    clients: int  # the clients counted, directly or behind a pooler
    poolers: int
    unread: tuple[UnreadView, ...] = ()

    @property
    def complete(self) -> bool:
        return bool(self.clients or self.poolers) and not self.unread

    def as_json(self) -> dict[str, Any]:
        return {"complete": self.complete, "clients_read": self.clients,
                "poolers_read": self.poolers,
                "unread": [item.as_json() for item in self.unread]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BudgetCoverage:
        return cls(data["clients_read"], data["poolers_read"],
                   tuple(UnreadView.from_json(item) for item in data["unread"]))


@dataclass(frozen=True)
class RunCoverage:
    """A run's coverage: how many databases are complete, and everything it did not read."""

    complete: int
    incomplete: int
    unread: tuple[UnreadView, ...] = ()

    @property
    def databases(self) -> int:
        return self.complete + self.incomplete

    def as_json(self) -> dict[str, Any]:
        return {"databases": self.databases, "complete": self.complete,
                "incomplete": self.incomplete,
                "unread": [item.as_json() for item in self.unread]}


@dataclass(frozen=True)
class Verdict:
    """The finding that decides a database's budget (None: it fits), with its fix lines."""

    rule_id: str | None = None
    severity: str | None = None
    fix: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "fix": list(self.fix)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(data["rule_id"], data["severity"], tuple(data["fix"]))


@dataclass(frozen=True)
class BudgetView:
    """One database: its slots, the worst case of every path to it, and the verdict."""

    database: str
    file: str
    line: int
    instance_class: str | None
    max_connections: Sourced
    reserved: Sourced
    usable: int | None
    threshold: float
    clients: tuple[ClientView, ...]
    worst_case: int | None  # None: unknown or unlimited
    worst_case_deploy: int | None
    unlimited: bool
    utilization: float | None
    utilization_deploy: float | None
    verdict: Verdict = field(default_factory=Verdict)
    root: str | None = None  # None: the run holds one root, none is shown
    # (root, database address): what the findings about this budget name (Finding.budget)
    key: tuple[str, str] = field(default=("", ""), compare=False)
    coverage: BudgetCoverage | None = None  # None: not known (a budget read back from JSON)

    @property
    def incomplete(self) -> bool:
        return self.coverage is not None and not self.coverage.complete

    def as_json(self) -> dict[str, Any]:
        root = {"root": self.root} if self.root is not None else {}
        return {
            "database": self.database,
            **root,
            "file": self.file,
            "line": self.line,
            "instance_class": self.instance_class,
            "max_connections": self.max_connections.value,
            "max_connections_source": str(self.max_connections),
            "max_connections_assumed": self.max_connections.assumed,
            "reserved": self.reserved.value,
            "reserved_source": str(self.reserved),
            "sources": {"max_connections": self.max_connections.as_json(),
                        "reserved": self.reserved.as_json()},
            "usable": self.usable,
            "threshold": self.threshold,
            "clients": [client.as_json() for client in self.clients],
            "worst_case": self.worst_case,
            "worst_case_deploy": self.worst_case_deploy,
            "unlimited": self.unlimited,
            "utilization": self.utilization,
            "utilization_deploy": self.utilization_deploy,
            "verdict": self.verdict.as_json(),
            **({"coverage": self.coverage.as_json()} if self.coverage is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BudgetView:
        sources = data["sources"]
        return cls(data["database"], data["file"], data["line"], data["instance_class"],
                   Sourced.from_json(sources["max_connections"]),
                   Sourced.from_json(sources["reserved"]), data["usable"], data["threshold"],
                   tuple(ClientView.from_json(c) for c in data["clients"]), data["worst_case"],
                   data["worst_case_deploy"], data["unlimited"], data["utilization"],
                   data["utilization_deploy"], Verdict.from_json(data["verdict"]),
                   data.get("root"), coverage=BudgetCoverage.from_json(data["coverage"])
                   if "coverage" in data else None)

