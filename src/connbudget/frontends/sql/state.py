"""The role state machine: PostgreSQL's semantics for role statements applied in order.

A role created in the scanned files starts from PostgreSQL's defaults (CREATE ROLE and CREATE
GROUP: NOLOGIN; CREATE USER: LOGIN; NOSUPERUSER; CONNECTION LIMIT -1) and is `known`. A role
first met in an ALTER, GRANT or RENAME was created elsewhere: it is not `known`, and what no
statement says about it stays null.

`ALTER ROLE ALL SET x` stores a setting PostgreSQL applies to every role at connection time,
below any role's own setting: it is kept apart and merged under each role's settings in the
`effective` and `final` states, and it changes no role's own statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connbudget.frontends.sql.actions import ALL_ROLES, Action, Said


@dataclass(eq=False)
class RoleState:
    login: bool | None
    superuser: bool | None
    connection_limit: int | None
    known: bool
    settings: dict[str, str | None] = field(default_factory=dict)
    dropped: bool = False
    # the role that took this one's name after it was dropped or replaced
    successor: RoleState | None = None

    def apply(self, said: Said) -> None:
        if said.login is not None:
            self.login = said.login
        if said.superuser is not None:
            self.superuser = said.superuser
        if said.connection_limit is not None or "connection_limit" in said.unknown:
            self.connection_limit = said.connection_limit
        if said.reset_all:
            self.settings.clear()
        for name, value in said.settings.items():
            if value is None:
                self.settings.pop(name, None)
            else:
                self.settings[name] = value

    def snapshot(self, for_all: dict[str, str | None]) -> dict[str, Any]:
        return {"login": self.login, "superuser": self.superuser,
                "connection_limit": self.connection_limit, "known": self.known,
                "settings": {**for_all, **self.settings}}

    def current(self) -> RoleState | None:
        state: RoleState | None = self
        while state is not None and state.dropped:
            state = state.successor
        return state


def _unknown() -> RoleState:
    return RoleState(login=None, superuser=None, connection_limit=None, known=False)


@dataclass
class RoleBook:
    roles: dict[str, RoleState] = field(default_factory=dict)
    gone: dict[str, RoleState] = field(default_factory=dict)  # last dropped role of each name
    for_all: RoleState = field(default_factory=_unknown)  # ALTER ROLE ALL SET ...

    def _take(self, name: str) -> RoleState:
        state = self.roles.get(name)
        if state is None:
            state = self.roles[name] = _unknown()
            self._succeed(name, state)
        return state

    def _succeed(self, name: str, state: RoleState) -> None:
        previous = self.gone.pop(name, None) or self.roles.get(name)
        if previous is not None and previous is not state:
            previous.dropped = True
            previous.successor = state

    def apply(self, action: Action) -> RoleState | None:
        """Apply one action; returns the state of the role it affected (for DROP: the dropped
        one, None if it was not known)."""
        if action.role == ALL_ROLES and action.op == "alter":
            self.for_all.apply(action.said)
            return self.for_all
        if action.op == "create":
            state = RoleState(login=action.create_login, superuser=False, connection_limit=-1,
                              known=True)
            self._succeed(action.role, state)
            self.roles[action.role] = state
        elif action.op == "rename":
            assert action.new_name is not None
            state = self.roles.pop(action.role, _unknown())
            self._succeed(action.new_name, state)
            self.roles[action.new_name] = state
            return state
        elif action.op == "drop":
            dropped = self.roles.pop(action.role, None)
            if dropped is not None:
                dropped.dropped = True
                self.gone[action.role] = dropped
            return dropped
        else:
            state = self._take(action.role)
        state.apply(action.said)
        return state

    def effective(self, state: RoleState | None) -> dict[str, Any] | None:
        if state is None or state.dropped:
            return None
        return state.snapshot(self.for_all.settings)

    def final(self, state: RoleState | None) -> dict[str, Any] | None:
        current = None if state is None else state.current()
        return self.effective(current)

    def final_roles(self) -> dict[str, dict[str, Any]]:
        return {name: state.snapshot(self.for_all.settings) for name, state in self.roles.items()}
