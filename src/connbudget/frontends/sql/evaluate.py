"""What SQL that builds SQL gives before it runs: strings that EXECUTE or \\gexec run, and the
conditions that decide whether they run.

A string built from constants with `format()`, `||`, `quote_ident()`, `quote_literal()` and
`concat()` is resolved. A part only known at run time (a variable, a parameter, a query) either
makes the string unresolved or, when the caller asks for what is known, becomes a marker like a
deploy-time placeholder: `'CREATE ROLE ' || v || ' LOGIN'` reads as `CREATE ROLE {v} LOGIN`.

A condition is decided when it is a constant or asks whether a role exists
(`EXISTS (SELECT FROM pg_roles WHERE rolname = 'x')`, also `pg_user`/`pg_authid`/`pg_shadow`
and `usename`), answered from the role state of the statements read so far. Anything else is
undecided (None): what runs under it may or may not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pglast
from pglast import ast
from pglast.enums import BoolExprType, SubLinkType

from connbudget.frontends.sql.placeholders import NUMBER_BASE, Placeholders

_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-?\d*)([sIL%])")
_ROLE_CATALOGS = {"pg_roles", "pg_user", "pg_authid", "pg_shadow"}
_ROLE_NAME_COLUMNS = {"rolname", "usename"}
_NUMBER_MARKER = re.compile(r"(\b(?:LIMIT|SYSID)\s+)(?:\"__cbph(\d+)__\"|__cbph(\d+)__)",
                            re.IGNORECASE)

RoleExists = Callable[[str], "bool | None"]


class Unresolved(Exception):
    """A string that depends on something only known at run time."""


def _quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    quoted = "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in value else quoted


def _format(template: str, args: list[str | None]) -> str:
    out: list[str] = []
    position = 0
    last = 0
    for match in _FORMAT_SPEC.finditer(template):
        out.append(template[last:match.start()])
        last = match.end()
        index, width, kind = match.groups()
        if kind == "%":
            out.append("%")
            continue
        if width not in ("", "-"):
            raise Unresolved("format() with a field width")
        position = int(index) - 1 if index else position
        if position >= len(args):
            raise Unresolved("format() with too few arguments")
        value = args[position]
        position += 1
        if kind == "I":
            if value is None:
                raise Unresolved("format() %I of NULL")
            out.append(_quote_ident(value))
        elif kind == "L":
            out.append("NULL" if value is None else _quote_literal(value))
        else:
            out.append("" if value is None else value)
    out.append(template[last:])
    return "".join(out)


def _constant(node: Any) -> str | None:
    value = node.val
    if node.isnull:
        return None
    if isinstance(value, ast.Integer):
        return str(value.ival)
    if isinstance(value, ast.Float):
        return value.fval
    if isinstance(value, ast.Boolean):
        return "true" if value.boolval else "false"
    return str(value.sval)


def _source(node: Any) -> str:
    """A short name for a run-time value: the variable, or the function that gives it."""
    if isinstance(node, ast.ColumnRef):
        return ".".join(str(getattr(f, "sval", "*")) for f in node.fields or ())
    if isinstance(node, ast.ParamRef):
        return f"${node.number}"
    if isinstance(node, ast.FuncCall) and node.funcname:
        return str(node.funcname[-1].sval) + "()"
    return "expression"


class _Evaluator:
    def __init__(self, placeholders: Placeholders | None,
                 constants: dict[str, str] | None = None) -> None:
        self.placeholders = placeholders
        self.constants = constants or {}
        self.dynamic = False

    def run_time(self, node: Any, reason: str) -> str:
        if self.placeholders is None:
            raise Unresolved(reason)
        self.dynamic = True
        index = self.placeholders.mark("{" + _source(node) + "}")
        return f"__cbph{index}__"

    def value(self, node: Any) -> str | None:
        if isinstance(node, ast.A_Const):
            return _constant(node)
        if isinstance(node, ast.TypeCast):
            return self.value(node.arg)
        if isinstance(node, ast.A_Expr) and [n.sval for n in node.name or ()] == ["||"]:
            left, right = self.value(node.lexpr), self.value(node.rexpr)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.FuncCall):
            return self._call(node)
        if isinstance(node, (ast.ColumnRef, ast.ParamRef)):
            constant = self.constants.get(_source(node))
            if constant is not None:
                return constant
            return self.run_time(node, "the string depends on a variable")
        raise Unresolved("the string is built by an expression that is only known at run time")

    def _call(self, node: Any) -> str | None:
        name = str(node.funcname[-1].sval).lower() if node.funcname else ""
        if name not in ("format", "concat", "quote_ident", "quote_literal", "quote_nullable"):
            return self.run_time(node, f"the string comes from the function {name}()")
        args = [self.value(arg) for arg in node.args or ()]
        if name == "format" and args and args[0] is not None:
            return _format(args[0], args[1:])
        if name == "concat":
            return "".join(arg for arg in args if arg is not None)
        if name == "quote_ident" and len(args) == 1 and args[0] is not None:
            return _quote_ident(args[0])
        if name in ("quote_literal", "quote_nullable") and len(args) == 1:
            return "NULL" if args[0] is None else _quote_literal(args[0])
        return self.run_time(node, f"the string comes from the function {name}()")


def _numbers_for_markers(sql: str) -> str:
    """A run-time value after CONNECTION LIMIT stands in a number's place."""
    return _NUMBER_MARKER.sub(
        lambda m: m.group(1) + str(NUMBER_BASE + int(m.group(2) or m.group(3))), sql)


def string_value(node: Any, placeholders: Placeholders | None = None,
                 constants: dict[str, str] | None = None) -> tuple[str, bool]:
    """The SQL text an expression node gives, and whether part of it is only known at run time
    (then `placeholders` holds markers for those parts); Unresolved when it cannot be read.
    `constants` are variables that hold one constant value wherever they are read."""
    evaluator = _Evaluator(placeholders, constants)
    value = evaluator.value(node)
    if value is None:
        raise Unresolved("the string is NULL")
    return (_numbers_for_markers(value) if evaluator.dynamic else value), evaluator.dynamic


def expression(text: str) -> Any:
    """The node of one SQL expression, or Unresolved."""
    try:
        parsed = pglast.parse_sql(f"SELECT {text}")
    except pglast.parser.ParseError as exc:
        raise Unresolved("the string expression cannot be parsed") from exc
    statement: Any = parsed[0].stmt if len(parsed) == 1 else None
    targets = getattr(statement, "targetList", None)
    if not targets or len(targets) != 1 or getattr(statement, "fromClause", None):
        raise Unresolved("the string expression cannot be parsed")
    return targets[0].val


def resolve_execute(text: str, placeholders: Placeholders | None = None,
                    constants: dict[str, str] | None = None) -> tuple[str, bool]:
    """The SQL an EXECUTE of the expression `text` runs (see `string_value`)."""
    return string_value(expression(text), placeholders, constants)


def _role_tested(select: Any) -> str | None:
    """'x' for a query that lists the role named 'x' from a role catalog."""
    tables: list[Any] = list(select.fromClause or ())
    if len(tables) != 1 or not isinstance(tables[0], ast.RangeVar):
        return None
    table: Any = tables[0]
    if table.relname not in _ROLE_CATALOGS or table.schemaname not in (None, "pg_catalog"):
        return None
    where: Any = select.whereClause
    if not isinstance(where, ast.A_Expr) or [n.sval for n in where.name or ()] != ["="]:
        return None
    sides: list[Any] = [side.arg if isinstance(side, ast.TypeCast) else side
                        for side in (where.lexpr, where.rexpr)]
    columns: list[Any] = [s for s in sides if isinstance(s, ast.ColumnRef)]
    constants: list[Any] = [s for s in sides
                            if isinstance(s, ast.A_Const) and isinstance(s.val, ast.String)]
    if len(columns) != 1 or len(constants) != 1:
        return None
    if str(getattr(columns[0].fields[-1], "sval", "")) not in _ROLE_NAME_COLUMNS:
        return None
    return str(constants[0].val.sval)


def _equal(node: Any) -> bool | None:
    if not isinstance(node.lexpr, ast.A_Const) or not isinstance(node.rexpr, ast.A_Const):
        return None
    left, right = _constant(node.lexpr), _constant(node.rexpr)
    if left is None or right is None:
        return None
    operator = [n.sval for n in node.name or ()]
    if operator == ["="]:
        return left == right
    if operator in (["<>"], ["!="]):
        return left != right
    return None


def decide(node: Any, exists: RoleExists) -> bool | None:
    """A condition's value before it runs, None when it cannot be known."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Boolean):
        return bool(node.val.boolval)
    if isinstance(node, ast.BoolExpr):
        values = [decide(arg, exists) for arg in node.args or ()]
        if node.boolop == BoolExprType.NOT_EXPR:
            return None if values[0] is None else not values[0]
        if node.boolop == BoolExprType.AND_EXPR:
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    if isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.EXISTS_SUBLINK:
        name = _role_tested(node.subselect)
        return None if name is None else exists(name)
    if isinstance(node, ast.A_Expr):
        return _equal(node)
    return None


def decide_text(text: str, exists: RoleExists) -> bool | None:
    try:
        return decide(expression(text), exists)
    except Unresolved:
        return None
