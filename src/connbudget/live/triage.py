"""The triage view: who holds the slots, in which state, for how long; and the statements that
would end the sessions idle longer than the threshold (printed, never run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from connbudget.live.facts import IDLE_STATES, PgBouncerFacts, ServerFacts, Session
from connbudget.live.units import duration
from connbudget.reporters._common import printable, relative_path


@dataclass(frozen=True)
class Terminate:
    session: Session
    statement: str


def terminations(server: ServerFacts, idle_threshold: float) -> list[Terminate]:
    """A statement per session idle (in a transaction or not) for longer than the threshold.
    It names the session by pid and by the moment it entered its state, so that it ends
    nothing that became active, or reused the pid, since connbudget read it."""
    found = []
    for session in server.clients:
        if session.state not in IDLE_STATES or session.state_change is None \
                or (session.state_seconds or 0) < idle_threshold:
            continue
        moment = session.state_change.replace("'", "''")
        found.append(Terminate(session, (
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = {session.pid} "
            f"AND state_change = '{moment}';")))
    return sorted(found, key=lambda t: -(t.session.state_seconds or 0))


def _age(seconds: float | None) -> str:
    return "" if seconds is None else duration(seconds)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Columns as wide as their widest cell; the `right` columns right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(cell.rjust(w) if n in right else cell.ljust(w)
                                for n, (cell, w) in enumerate(zip(cells, widths, strict=True))
                                ).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _sessions(server: ServerFacts) -> list[str]:
    groups: dict[tuple[str, str, str], list[Session]] = {}
    for session in server.clients:
        state = session.state or "(hidden: no pg_monitor)"
        key = (printable(session.role or "?"), printable(session.database or "?"), state)
        groups.setdefault(key, []).append(session)
    if not groups:
        return ["  no other sessions"]
    rows = []
    for (role, database, state), sessions in sorted(groups.items(),
                                                    key=lambda kv: (-len(kv[1]), kv[0])):
        longest = max((s.state_seconds for s in sessions if s.state_seconds is not None),
                      default=None)
        oldest = max((s.transaction_seconds for s in sessions
                      if s.transaction_seconds is not None), default=None)
        waits = Counter(s.wait_event for s in sessions if s.wait_event)
        rows.append([role, database, state, str(len(sessions)), _age(longest), _age(oldest),
                     ", ".join(printable(w) for w, _ in waits.most_common(2))])
    return _table(["role", "database", "state", "sessions", "longest in state",
                   "oldest transaction", "waiting on"], rows, {3})


def _roles(server: ServerFacts) -> list[str]:
    rows = []
    for role in server.roles:
        held = server.connections(role.name)
        if not role.login or (held == 0 and role.connection_limit < 0):
            continue
        limit = role.connection_limit
        use = f"{round(100 * held / limit)} %" if limit > 0 and not role.superuser else ""
        notes = [word for word, on in (("superuser: no limit applies", role.superuser),
                                       ("may use the reserved slots", role.uses_reserved))
                 if on]
        rows.append([printable(role.name), str(held), "none" if limit < 0 else str(limit), use,
                     "; ".join(notes)])
    if not rows:
        return []
    return ["", *_table(["role", "connections", "limit", "use", ""], rows, {1, 2, 3})]


def _details(server: ServerFacts) -> list[str]:
    rows = [[str(s.pid), printable(s.role or "?"), s.state or "?", _age(s.state_seconds),
             printable(s.application_name or ""), printable(s.client_addr or "local"),
             printable(" ".join((s.query or "").split()))[:80]]
            for s in server.clients]
    if not rows:
        return []
    return ["", *_table(["pid", "role", "state", "for", "application", "client", "query"],
                        rows, {0})]


def _pgbouncer(facts: PgBouncerFacts, worst: int | None, pooler: str | None) -> list[str]:
    counted = f"; the budget counts {worst} for {relative_path(pooler)}" \
        if worst is not None and pooler else ""
    lines = ["", f"PGBOUNCER {facts.version}  {printable(str(facts.server))}: "
             f"{facts.server_connections} server connections now{counted}"]
    rows = [[printable(p.database), printable(p.user), str(p.clients_active),
             str(p.clients_waiting), str(p.servers), str(p.servers_active), str(p.servers_idle),
             _age(p.max_wait_seconds) if p.clients_waiting else "", p.pool_mode or ""]
            for p in facts.pools]
    if not rows:
        return [*lines, "  no pools"]
    return [*lines, *_table(["database", "user", "clients", "waiting", "servers", "active",
                             "idle", "longest wait", "pool_mode"], rows, {2, 3, 4, 5, 6})]


def render_triage(server: ServerFacts, pgbouncer: PgBouncerFacts | None,
                  pooler: tuple[str, int | None] | None, idle_threshold: float,
                  notes: Sequence[str]) -> str:
    slots = server.slots
    held = server.connections()
    lines = [
        f"WHO HOLDS THE SLOTS  {printable(str(server.server))} (PostgreSQL {server.version})",
        f"  max_connections {slots.max_connections} - reserved {slots.total_reserved} = "
        f"{slots.usable} usable; {held} connections now "
        f"({round(100 * held / slots.usable) if slots.usable > 0 else 0} % of usable, "
        "connbudget's own included)",
        *_sessions(server), *_roles(server)]
    if server.details_read:
        lines.extend(_details(server))
    if pgbouncer is not None:
        lines.extend(_pgbouncer(pgbouncer, pooler[1] if pooler else None,
                                pooler[0] if pooler else None))
    ends = terminations(server, idle_threshold)
    lines += ["", f"IDLE FOR MORE THAN {duration(idle_threshold)}: "
              + ("none" if not ends else "to end them, run (connbudget runs none of these):")]
    for end in ends:
        session = end.session
        lines.append(f"  -- {printable(session.role or '?')} on "
                     f"{printable(session.database or '?')}, {session.state} for "
                     f"{_age(session.state_seconds)}")
        lines.append(f"  {end.statement}")
    lines += [*(["", *(f"note: {printable(note)}" for note in notes)] if notes else []), ""]
    return "\n".join(lines) + "\n"
