"""The role state machine: PostgreSQL's semantics for role statements applied in order.

A role created in the scanned files starts from PostgreSQL's defaults (CREATE ROLE and CREATE
GROUP: NOLOGIN; CREATE USER: LOGIN; NOSUPERUSER; CONNECTION LIMIT -1) and is `known`. A role
first met in an ALTER, GRANT or RENAME was created elsewhere: it is not `known`, and what no
statement says about it stays null.

`ALTER ROLE ALL SET x` stores a setting PostgreSQL applies to every role at connection time,
below any role's own setting: it is kept apart and merged under each role's settings in the
`effective` and `final` states, and it changes no role's own statements.

A statement under a condition the front end cannot decide may or may not run: its effect is a
"maybe". The attribute takes the value the statement gives (what PostgreSQL ends with when the
condition holds) and `maybe` lists the other values it may have instead, `"exists": [false]`
when the role may not exist at all. Rules read every possible value and take the worst.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from connbudget.frontends.sql.actions import ALL_ROLES, Action, Said


@dataclass(eq=False)
class RoleState:
    login: bool | None
    superuser: bool | None
    connection_limit: int | None
    known: bool
    settings: dict[str, str | None] = field(default_factory=dict)
    password: str | None = None  # its class once a statement sets it: plaintext, null, ...
    dropped: bool = False
    # the role that took this one's name after it was dropped or replaced
    successor: RoleState | None = None
    # the other values an attribute may have ("exists": [False]: the role may not exist)
    maybe: dict[str, list[Any]] = field(default_factory=dict)
    maybe_settings: dict[str, list[str | None]] = field(default_factory=dict)

    def _set(self, attribute: str, value: Any, conditional: bool) -> None:
        if conditional:
            self.maybe[attribute] = _others(self.maybe.get(attribute, []),
                                            getattr(self, attribute), value)
            if not self.maybe[attribute]:
                del self.maybe[attribute]
        else:
            self.maybe.pop(attribute, None)
        setattr(self, attribute, value)

    def _set_setting(self, name: str, value: str | None, conditional: bool) -> None:
        if conditional:
            others = _others(self.maybe_settings.get(name, []), self.settings.get(name), value)
            if others:
                self.maybe_settings[name] = others
            else:
                self.maybe_settings.pop(name, None)
        else:
            self.maybe_settings.pop(name, None)
        if value is None:
            self.settings.pop(name, None)
        else:
            self.settings[name] = value

    def apply(self, said: Said, conditional: bool = False) -> None:
        if said.login is not None:
            self._set("login", said.login, conditional)
        if said.superuser is not None:
            self._set("superuser", said.superuser, conditional)
        if said.connection_limit is not None or "connection_limit" in said.unknown:
            self._set("connection_limit", said.connection_limit, conditional)
        if said.password is not None:
            self._set("password", said.password, conditional)
        if said.reset_all:
            for name in list(self.settings):
                self._set_setting(name, None, conditional)
        for name, value in said.settings.items():
            self._set_setting(name, value, conditional)

    def may_be_absent(self) -> None:
        self.maybe["exists"] = [False]

    def exists(self) -> bool | None:
        """True when the role exists, None when it may not (False is never stored)."""
        return None if "exists" in self.maybe else True

    def snapshot(self, for_all: RoleState) -> dict[str, Any]:
        maybe: dict[str, Any] = dict(self.maybe)
        inherited = {name: others for name, others in for_all.maybe_settings.items()
                     if name not in self.settings}
        maybe_settings = {**inherited, **self.maybe_settings}
        if maybe_settings:
            maybe["settings"] = maybe_settings
        password = {"password": self.password} if self.password is not None else {}
        return {"login": self.login, "superuser": self.superuser,
                "connection_limit": self.connection_limit, "known": self.known,
                "settings": {**for_all.settings, **self.settings}, **password,
                "conditional": bool(maybe), "maybe": maybe}

    def current(self) -> RoleState | None:
        state: RoleState | None = self
        while state is not None and state.dropped:
            state = state.successor
        return state


def _others(others: list[Any], old: Any, new: Any) -> list[Any]:
    """The values other than `new` an attribute may have when it was `old` or one of `others`
    and a statement that may not run sets it to `new`."""
    found: list[Any] = []
    for value in [*others, old]:
        if value != new and value not in found:
            found.append(value)
    return found


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

    def exists(self, name: str) -> bool | None:
        """Whether a role exists at this point: one the scanned files never named does not (they
        are the whole history, as for CREATE ROLE); one first met in an ALTER or GRANT does."""
        state = self.roles.get(name)
        return False if state is None else state.exists()

    def apply(self, action: Action,
              conditional: bool = False) -> tuple[RoleState | None, dict[str, Any] | None]:
        """Apply one action; returns the state of the role it affected (for DROP: the dropped
        one, None if it was not known) and that state as the statement leaves it when it runs.
        A conditional action may not run: what it changes becomes a maybe."""
        if not conditional:
            state = self._apply(action)
            return state, self.effective(state)
        if action.role == ALL_ROLES and action.op == "alter":
            self.for_all.apply(action.said, conditional=True)
            return self.for_all, self.effective(self.for_all)
        if action.op == "create":
            previous = self.roles.get(action.role)
            state = self._apply(action)
            if previous is None:
                assert state is not None
                state.may_be_absent()
            return state, self.effective(state)
        if action.op == "drop":
            dropped = self.roles.get(action.role)
            if dropped is not None:
                dropped.may_be_absent()
            return dropped, None
        if action.op == "rename":
            state = self._apply(action)
            assert state is not None
            state.may_be_absent()
            return state, self.effective(state)
        state = self._take(action.role)
        ran = replace(state, settings=dict(state.settings), maybe=dict(state.maybe),
                      maybe_settings=dict(state.maybe_settings), successor=None)
        ran.apply(action.said)
        state.apply(action.said, conditional=True)
        return state, self.effective(ran)

    def _apply(self, action: Action) -> RoleState | None:
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
        return state.snapshot(self.for_all)

    def final(self, state: RoleState | None) -> dict[str, Any] | None:
        current = None if state is None else state.current()
        return self.effective(current)

    def final_roles(self) -> dict[str, dict[str, Any]]:
        return {name: state.snapshot(self.for_all) for name, state in self.roles.items()}
