"""`connbudget live`: read the server (and its PgBouncer), compare with the files, report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connbudget.errors import InputError, UsageError
from connbudget.live.facts import PgBouncerFacts, ServerFacts
from connbudget.report import Report

if TYPE_CHECKING:
    import argparse

    from connbudget.live.repository import Database, DeclaredPooler, Repository
    from connbudget.settings import Settings

INSTALL = ("connbudget live reads a running server with psycopg, which is not installed: "
           "pip install 'connbudget[live]'")


@dataclass(frozen=True)
class Live:
    report: Report
    server: ServerFacts
    pgbouncer: PgBouncerFacts | None
    database: Database | None
    pooler: DeclaredPooler | None
    idle_threshold: float
    notes: tuple[str, ...]


def _read(args: argparse.Namespace) -> tuple[ServerFacts, PgBouncerFacts | None]:
    import psycopg

    from connbudget.live.connect import LiveError, connect, parse, safe_message, secrets
    from connbudget.live.pgbouncer import read_pgbouncer
    from connbudget.live.postgres import read_server

    def read(dsn: str, option: str, what: str, session: bool, reader: Any) -> Any:
        connection = connect(dsn, option, what, session)
        try:
            return reader(connection)
        except psycopg.Error as exc:
            text = safe_message(str(exc), secrets(parse(dsn, option)))
            raise LiveError(f"{what} ({option}) could not be read: {text}") from None
        finally:
            connection.close()

    server = read(args.dsn, "--dsn", "PostgreSQL", True,
                  lambda c: read_server(c, args.show_queries))
    bouncer = None
    if args.pgbouncer is not None:
        bouncer = read(args.pgbouncer, "--pgbouncer", "PgBouncer's admin console", False,
                       lambda c: read_pgbouncer(c, "--pgbouncer"))
    return server, bouncer


def _deadline(args: argparse.Namespace) -> float:
    from connbudget.live.connect import READ_BUDGET, connect_seconds, parse

    total = connect_seconds(parse(args.dsn, "--dsn")) + READ_BUDGET
    if args.pgbouncer is not None:
        total += connect_seconds(parse(args.pgbouncer, "--pgbouncer"))
    return total


def _visibility(server: ServerFacts) -> list[InputError]:
    if server.sees_all_sessions:
        return []
    return [InputError("--dsn", 0, (
        f"role {server.user} has no pg_monitor (nor pg_read_all_stats): PostgreSQL hides the "
        f"state and times of the other roles' sessions ({server.hidden} now), so none of them "
        f"is judged idle or idle in a transaction; GRANT pg_monitor TO {server.user}"))]


def _pooler_notes(repository: Repository, bouncer: PgBouncerFacts | None,
                  pooler: DeclaredPooler | None) -> list[str]:
    if bouncer is None or pooler is not None or not repository.paths:
        return []
    configured = ", ".join(p.address for p in repository.poolers) or "none"
    return [f"which PgBouncer of the files this is cannot be told (they configure: "
            f"{configured}): its settings and server connections are not compared"]


def live(args: argparse.Namespace, settings: Settings) -> Live:
    from connbudget.live.units import parse_duration

    idle = parse_duration(args.idle_threshold)
    if not 0 < settings.threshold <= 1:
        raise UsageError("--threshold must be a fraction in (0, 1]")
    try:
        import psycopg  # noqa: F401 - only to tell a missing extra from the other errors
    except ImportError:
        raise UsageError(INSTALL) from None
    from connbudget.live.connect import bounded
    from connbudget.live.repository import match_database, pick_pooler, read_repository
    from connbudget.rules.live import Scope, compare
    from connbudget.rules.suppress import apply_suppressions

    repository = read_repository(args.paths, settings)
    server, bouncer = bounded(lambda: _read(args), _deadline(args), "the server")
    database, problem = match_database(repository.databases, server.server.host, args.database)
    pooler = pick_pooler(repository, database) if bouncer is not None else None
    errors = [*repository.errors, *_visibility(server)]
    if problem:
        errors.append(InputError("--database", 0, problem))
    scope = Scope(server, repository, database, settings.threshold, idle, bouncer, pooler)
    report = Report(findings=compare(scope), errors=errors, comments=repository.comments)
    report = apply_suppressions(report, settings, "live").sorted()
    report.checked = repository.checked
    return Live(report, server, bouncer, database, pooler, idle,
                tuple(_pooler_notes(repository, bouncer, pooler)))


def _facts_json(result: Live) -> dict[str, Any]:
    from connbudget.live.triage import terminations

    return {
        "server": result.server.as_json(),
        "pgbouncer": result.pgbouncer.as_json() if result.pgbouncer else None,
        "database": result.database.address if result.database else None,
        "pgbouncer_ini": result.pooler.address if result.pooler else None,
        "idle_threshold_seconds": result.idle_threshold,
        "terminate": [{"pid": t.session.pid, "statement": t.statement}
                      for t in terminations(result.server, result.idle_threshold)],
        "notes": list(result.notes),
    }


def render_live(result: Live, fmt: str, settings: Settings) -> str:
    """Every format of `scan`; JSON adds the facts under "live", text starts with triage."""
    from connbudget.reporters import render

    if fmt == "json":
        return json.dumps({**result.report.as_json(), "live": _facts_json(result)},
                          indent=2) + "\n"
    report = render(result.report, fmt, settings)
    if fmt != "text":
        return report
    from connbudget.live.triage import render_triage

    pooler = (result.pooler.address, result.pooler.worst_case) if result.pooler else None
    return render_triage(result.server, result.pgbouncer, pooler, result.idle_threshold,
                         result.notes) + report
