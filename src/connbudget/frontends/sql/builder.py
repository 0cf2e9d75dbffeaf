"""From pglast nodes of role statements to actions: what a statement says about which role.

Options are built from the parsed nodes, never from pglast's JSON (which drops zero integers,
so CONNECTION LIMIT 0 would vanish). Password literals are classified here and never copied.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast
from pglast.enums import ObjectType, RoleSpecType, RoleStmtType, VariableSetKind

from connbudget.frontends.sql.actions import ALL_ROLES, Action, Said
from connbudget.frontends.sql.placeholders import Placeholders
from connbudget.passwords import hash_kind

REDACTED = "<redacted>"
# Templating that fills a value in at deploy time: Flyway/Liquibase ${x}, #[x], Jinja/Helm {{ x }}.
_TEMPLATE = re.compile(r"\$\{[^}]*\}|#\[[^\]]*\]|\{\{.*?\}\}|%(?:\[\d+\])?[sv]")
# Settings PostgreSQL stores as a list of identifiers, quoting each one as quote_identifier() does.
_QUOTED_LISTS = {"search_path", "temp_tablespaces", "local_preload_libraries",
                 "session_preload_libraries", "shared_preload_libraries"}
_SAFE_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_SPECIAL_ROLES = {
    RoleSpecType.ROLESPEC_CURRENT_ROLE: "CURRENT_ROLE",
    RoleSpecType.ROLESPEC_CURRENT_USER: "CURRENT_USER",
    RoleSpecType.ROLESPEC_SESSION_USER: "SESSION_USER",
    RoleSpecType.ROLESPEC_PUBLIC: "PUBLIC",
}
_CREATE_TYPES = {
    RoleStmtType.ROLESTMT_ROLE: "ROLE",
    RoleStmtType.ROLESTMT_USER: "USER",
    RoleStmtType.ROLESTMT_GROUP: "GROUP",
}


def classify_password(value: str | None, placeholders: Placeholders) -> str:
    if value is None or value == "":
        return "null"  # PostgreSQL clears the password for NULL and for ''
    if placeholders.has_marker(value) or _TEMPLATE.search(value):
        return "parameter"
    return hash_kind(value) or "plaintext"


def _quote_identifier(value: str) -> str:
    from pglast.keywords import UNRESERVED_KEYWORDS

    if _SAFE_IDENTIFIER.fullmatch(value) and (
            value in UNRESERVED_KEYWORDS or not _is_keyword(value)):
        return value
    return '"' + value.replace('"', '""') + '"'


def _is_keyword(value: str) -> bool:
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    return value in RESERVED_KEYWORDS or value in COL_NAME_KEYWORDS or (
        value in TYPE_FUNC_NAME_KEYWORDS)


def _sql_name(spec: Any, placeholders: Placeholders) -> str | None:
    if spec is None or spec.roletype != RoleSpecType.ROLESPEC_CSTRING:
        return None
    return placeholders.as_written(spec.rolename)


def _role_name(spec: Any, placeholders: Placeholders) -> str:
    if spec is None:
        return ALL_ROLES
    if spec.roletype == RoleSpecType.ROLESPEC_CSTRING:
        return placeholders.restore(spec.rolename)
    return _SPECIAL_ROLES[RoleSpecType(spec.roletype)]


def _arg(value: Any, placeholders: Placeholders) -> dict[str, Any] | None:
    if isinstance(value, ast.Boolean):
        return {"boolval": bool(value.boolval)}
    if isinstance(value, ast.Integer):
        original = placeholders.number(value.ival)
        return {"sval": original} if original is not None else {"ival": value.ival}
    if isinstance(value, ast.String):
        return {"sval": placeholders.restore(value.sval)}
    if isinstance(value, ast.Float):
        return {"sval": value.fval}
    return None


def _options(defelems: Any, said: Said,
             placeholders: Placeholders) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for elem in defelems or ():
        name = elem.defname
        if isinstance(elem.arg, tuple):  # role lists (IN ROLE, ROLE, ADMIN, USER): one per role
            for spec in elem.arg:
                options.append({"defname": name, "arg": {"sval": _role_name(spec, placeholders)}})
            continue
        if name == "password":
            value = elem.arg.sval if isinstance(elem.arg, ast.String) else None
            said.password = classify_password(value, placeholders)
            options.append({"defname": name, "arg": None if value is None else {"sval": REDACTED}})
            continue
        arg = _arg(elem.arg, placeholders)
        options.append({"defname": name, "arg": arg})
        if name == "canlogin" and arg is not None:
            said.login = arg.get("boolval")
        elif name == "superuser" and arg is not None:
            said.superuser = arg.get("boolval")
        elif name == "connectionlimit" and arg is not None:
            said.connection_limit = arg.get("ival")
            if said.connection_limit is None:
                said.unknown.add("connection_limit")
    return options


def _setting_value(name: str, args: Any, placeholders: Placeholders) -> str:
    """The value as PostgreSQL stores it (flatten_set_variable_args)."""
    quote = name.lower() in _QUOTED_LISTS
    parts: list[str] = []
    for node in args or ():
        if isinstance(node, ast.TypeCast):
            node = node.arg
        value = node.val if isinstance(node, ast.A_Const) else None
        if isinstance(value, ast.Integer):
            parts.append(str(value.ival))
        elif isinstance(value, ast.Float):
            parts.append(str(value.fval))
        elif isinstance(value, ast.String):
            text = placeholders.restore(value.sval)
            parts.append(_quote_identifier(text) if quote and text == value.sval else text)
        elif isinstance(value, ast.Boolean):
            parts.append("on" if value.boolval else "off")
        else:
            parts.append("?")
    return ", ".join(parts)


def _set_action(node: Any, placeholders: Placeholders) -> Action:
    role = _role_name(node.role, placeholders)
    setstmt = node.setstmt
    kind = VariableSetKind(setstmt.kind)
    said = Said()
    value: str | None = None
    if kind == VariableSetKind.VAR_SET_VALUE:
        value = _setting_value(setstmt.name, setstmt.args, placeholders)
    elif kind == VariableSetKind.VAR_SET_CURRENT:
        value = "FROM CURRENT"
    if kind == VariableSetKind.VAR_RESET_ALL:
        said.reset_all = True
    else:
        name = setstmt.name
        if value is not None and "password" in name.lower():
            value = REDACTED
        said.settings[name] = value
    statement: dict[str, Any] = {
        "type": "AlterRoleSetStmt", "role": role, "options": [],
        "database": node.database,
        "setstmt": {"kind": kind.name, "name": setstmt.name,
                    "value": said.settings.get(setstmt.name) if setstmt.name else None},
    }
    return Action("alter", role, statement, said, sql_name=_sql_name(node.role, placeholders))


def _create_action(node: Any, placeholders: Placeholders) -> Action:
    role = placeholders.restore(node.role)
    said = Said()
    stmt_type = _CREATE_TYPES[RoleStmtType(node.stmt_type)]
    statement = {"type": "CreateRoleStmt", "role": role, "stmt_type": stmt_type,
                 "options": _options(node.options, said, placeholders)}
    return Action("create", role, statement, said, create_login=stmt_type == "USER",
                  sql_name=placeholders.as_written(node.role))


def _alter_action(node: Any, placeholders: Placeholders) -> Action:
    role = _role_name(node.role, placeholders)
    said = Said()
    statement: dict[str, Any] = {"type": "AlterRoleStmt", "role": role,
                                 "options": _options(node.options, said, placeholders)}
    if node.action == -1:  # ALTER GROUP ... DROP USER
        statement["action"] = "DROP"
    return Action("alter", role, statement, said, sql_name=_sql_name(node.role, placeholders))


def _grant_actions(node: Any, placeholders: Placeholders) -> list[Action]:
    granted = [placeholders.restore(priv.priv_name) for priv in node.granted_roles or ()]
    options = _options(node.opt, Said(), placeholders)
    actions = []
    for spec in node.grantee_roles or ():
        grantee = _role_name(spec, placeholders)
        statement = {"type": "GrantRoleStmt", "role": grantee, "options": options,
                     "granted_roles": granted, "is_grant": bool(node.is_grant)}
        actions.append(Action("grant", grantee, statement,
                              sql_name=_sql_name(spec, placeholders)))
    return actions


def actions_from_node(node: Any, placeholders: Placeholders) -> list[Action]:
    """The role actions of one parsed statement; [] for statements about something else."""
    if isinstance(node, ast.CreateRoleStmt):
        return [_create_action(node, placeholders)]
    if isinstance(node, ast.AlterRoleStmt):
        return [_alter_action(node, placeholders)]
    if isinstance(node, ast.AlterRoleSetStmt):
        return [_set_action(node, placeholders)]
    if isinstance(node, ast.RenameStmt) and node.renameType == ObjectType.OBJECT_ROLE:
        old = placeholders.restore(node.subname)
        new = placeholders.restore(node.newname)
        statement = {"type": "RenameStmt", "role": old, "newname": new, "options": []}
        return [Action("rename", old, statement, new_name=new,
                       sql_name=placeholders.as_written(node.newname))]
    if isinstance(node, ast.DropRoleStmt):
        return [
            Action("drop", _role_name(spec, placeholders),
                   {"type": "DropRoleStmt", "role": _role_name(spec, placeholders), "options": [],
                    "missing_ok": bool(node.missing_ok)},
                   sql_name=_sql_name(spec, placeholders))
            for spec in node.roles or ()
        ]
    if isinstance(node, ast.GrantRoleStmt):
        return _grant_actions(node, placeholders)
    return []
