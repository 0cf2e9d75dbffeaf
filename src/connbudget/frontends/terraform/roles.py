"""`postgresql_role` resources as the role documents the SQL front end makes."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.frontends.terraform.values import EvalError, to_bool, to_number, to_string
from connbudget.passwords import hash_kind

# cyrilgdn/postgresql provider defaults for attributes a resource leaves out.
_DEFAULTS: dict[str, Any] = {"login": False, "superuser": False, "connection_limit": -1}
_SETTINGS = ("idle_in_transaction_session_timeout", "statement_timeout")
_BOOL_OPTIONS = (("login", "canlogin"), ("superuser", "superuser"),
                 ("create_database", "createdb"), ("create_role", "createrole"),
                 ("replication", "isreplication"), ("bypass_row_level_security", "bypassrls"),
                 ("inherit", "inherit"))


def _bool(value: Any) -> bool | None:
    try:
        return None if value is None or isinstance(value, Unknown) else to_bool(value)
    except EvalError:
        return None


def _int(value: Any) -> int | None:
    try:
        number = None if value is None or isinstance(value, Unknown) else to_number(value)
    except EvalError:
        return None
    return number if isinstance(number, int) else None


def _text(value: Any) -> str | None:
    try:
        return None if value is None or isinstance(value, Unknown) else to_string(value)
    except EvalError:
        return None


def password_class(attrs: dict[str, Any]) -> str | None:
    """How the role's password is given; the value itself never leaves this function."""
    value = attrs.get("password")
    if isinstance(value, Unknown) or attrs.get("password_wo") is not None:
        return "parameter"
    if not isinstance(value, str) or value == "":
        return None
    return hash_kind(value) or "plaintext"


def _attr(attrs: dict[str, Any], name: str) -> Any:
    """The attribute as the provider sees it: its default when absent, None when unknown."""
    if name not in attrs:
        return _DEFAULTS.get(name)
    return attrs[name]


def _options(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for attribute, defname in _BOOL_OPTIONS:
        value = _bool(attrs.get(attribute))
        if value is not None:
            options.append({"defname": defname, "arg": {"boolval": value}})
    limit = _int(attrs.get("connection_limit"))
    if limit is not None:
        options.append({"defname": "connectionlimit", "arg": {"ival": limit}})
    if attrs.get("password") is not None or attrs.get("password_wo") is not None:
        options.append({"defname": "password", "arg": {"sval": "<redacted>"}})
    valid_until = _text(attrs.get("valid_until"))
    if valid_until is not None:
        options.append({"defname": "validUntil", "arg": {"sval": valid_until}})
    return options


def _settings(attrs: dict[str, Any]) -> dict[str, str | None]:
    return {name: _text(attrs[name]) for name in _SETTINGS if name in attrs}


def _unresolved(attrs: dict[str, Any], state: dict[str, Any],
                settings: dict[str, str | None]) -> list[str]:
    """Attributes the resource sets to something that could not be resolved (no value known)."""
    values = {**state, **settings}
    return sorted(name for name, value in values.items()
                  if value is None and attrs.get(name) is not None)


class ProviderRole(NamedTuple):
    """A `postgresql_role` as PostgreSQL will hold it: provider defaults applied, None unknown."""

    name: str | None
    login: bool | None
    superuser: bool | None
    connection_limit: int | None


def role_state(resource: Resource) -> ProviderRole:
    """The one reading of a `postgresql_role`: the role rules and the capacity model use it."""
    attrs = resource.attrs
    return ProviderRole(_text(attrs.get("name")), _bool(_attr(attrs, "login")),
                     _bool(_attr(attrs, "superuser")),
                     _int(_attr(attrs, "connection_limit")))


def role_document(resource: Resource) -> dict[str, Any]:
    attrs = resource.attrs
    role = role_state(resource)
    name = role.name
    settings = _settings(attrs)
    state = {
        "login": role.login,
        "superuser": role.superuser,
        "connection_limit": role.connection_limit,
    }
    return {
        "kind": "role_statement",
        "source": {"file": resource.file, "line": resource.line, "column": 1,
                   "end_line": resource.end_line, "format": "terraform"},
        "resource": resource.address,
        "statement": {"type": "postgresql_role", "role": name, "options": _options(attrs)},
        "role": {"name": name, **state, "password": password_class(attrs),
                 "settings": settings},
        "effective": {**state, "known": True, "settings": dict(settings)},
        "final": {**state, "known": True, "settings": dict(settings)},
        # A rule that reads one of these says nothing: the value is unknown, not absent.
        "unresolved": _unresolved(attrs, state, settings),
        **_module_inputs(resource),
    }


def _module_inputs(resource: Resource) -> dict[str, Any]:
    """A role inside a module: the module and the variable each attribute is set from, so that
    a fix points at the module call's input rather than at the module's own file."""
    if not resource.module_path:
        return {}
    texts = resource.body.get("attrs", {}) if isinstance(resource.body, dict) else {}
    variables = {name: text[4:] for name, text in texts.items()
                 if isinstance(text, str) and re.fullmatch(r"var\.\w+", text.strip())}
    module: dict[str, Any] = {"address": resource.module_path, "variables": variables}
    if resource.call is not None:
        module["file"] = resource.call.file
        module["line"] = resource.call.line
        module["input_lines"] = {name: line for name, line in resource.call.input_lines.items()
                                 if name in variables.values()}
    return {"module": module}


def role_documents(model: TerraformModel) -> list[dict[str, Any]]:
    """One document per `postgresql_role` instance (count = 0 instances do not exist)."""
    return [role_document(resource) for resource in model.by_type("postgresql_role")]
