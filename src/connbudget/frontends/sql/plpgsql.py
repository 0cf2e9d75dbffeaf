"""Role statements inside `DO` blocks, found with pglast's PL/pgSQL parser.

Static SQL in the block runs as written. `EXECUTE` runs a string: a constant one, or one that
`format()`, `||`, `quote_ident()`, `quote_literal()` and `concat()` build from constants, is
resolved here; anything that depends on a variable or a query cannot be known before it runs
and is reported as unresolved. Statements in IF branches and loops count as run; statements in
an EXCEPTION handler only run when the block fails, so they are reported as unresolved too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast

from connbudget.frontends.sql.actions import ROLE_WORDS
from connbudget.frontends.sql.placeholders import Placeholders, has_flyway, substitute
from connbudget.frontends.sql.scanner import Lines

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
ROLE_SQL = re.compile(
    r"\s*(?:(?:create|alter|drop)\s+(?:role|user|group)\b|(?:grant|revoke)\b)", re.IGNORECASE)
_IN_HANDLER = ("DO block: a role statement in an EXCEPTION handler runs only if the block fails; "
               "it is not checked")
_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-?\d*)([sIL%])")


class Unresolved(Exception):
    """An EXECUTE string that depends on something only known at run time."""


@dataclass
class Embedded:
    """SQL that a DO block runs, at `offset` in the DO statement's text."""

    offset: int
    sql: str


@dataclass
class DoBlock:
    embedded: list[Embedded] = field(default_factory=list)
    unresolved: list[tuple[int, str]] = field(default_factory=list)  # (offset, message)
    error: str | None = None


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


def _evaluate(node: Any) -> str | None:
    if isinstance(node, ast.A_Const):
        return _constant(node)
    if isinstance(node, ast.TypeCast):
        return _evaluate(node.arg)
    if isinstance(node, ast.A_Expr) and [n.sval for n in node.name or ()] == ["||"]:
        left, right = _evaluate(node.lexpr), _evaluate(node.rexpr)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.FuncCall):
        name = str(node.funcname[-1].sval).lower() if node.funcname else ""
        args = [_evaluate(arg) for arg in node.args or ()]
        if name == "format" and args and args[0] is not None:
            return _format(args[0], args[1:])
        if name == "concat":
            return "".join(arg for arg in args if arg is not None)
        if name == "quote_ident" and len(args) == 1 and args[0] is not None:
            return _quote_ident(args[0])
        if name in ("quote_literal", "quote_nullable") and len(args) == 1:
            return "NULL" if args[0] is None else _quote_literal(args[0])
        raise Unresolved(f"the string comes from the function {name}()")
    if isinstance(node, ast.ColumnRef):
        raise Unresolved("the string depends on a variable")
    raise Unresolved("the string is built by an expression that is only known at run time")


def resolve_execute(expression: str) -> str:
    """The SQL an EXECUTE of `expression` runs, or Unresolved."""
    try:
        parsed = pglast.parse_sql(f"SELECT {expression}")
    except pglast.parser.ParseError as exc:
        raise Unresolved("the string expression cannot be parsed") from exc
    statement: Any = parsed[0].stmt if len(parsed) == 1 else None
    targets = getattr(statement, "targetList", None)
    if not targets or len(targets) != 1:
        raise Unresolved("the string expression cannot be parsed")
    value = _evaluate(targets[0].val)
    if value is None:
        raise Unresolved("the string is NULL")
    return value


def _body_start(statement: str, location: int) -> int:
    match = _DOLLAR_TAG.match(statement, location)
    if match:
        return location + len(match.group())
    return location + (2 if statement[location] in "eE" else 1)


def _unique_tag(body: str) -> str:
    tag = "$cbdo$"
    while tag in body:
        tag = tag[:-1] + "x$"
    return tag


class _Walker:
    def __init__(self, statement: str, body_start: int, result: DoBlock) -> None:
        self.statement = statement
        self.body_start = body_start
        self.lines = Lines(statement[body_start:])
        self.result = result
        self.cursor = 0  # statements on one line are found left to right

    def _offset(self, lineno: int, word: str) -> int:
        line_start = self.lines.line_start(lineno)
        start = max(line_start, self.cursor)
        body = self.statement[self.body_start:]
        found = re.compile(re.escape(word), re.IGNORECASE).search(body, start)
        if found is None or body.count("\n", line_start, found.start()) > 0:
            found = re.compile(re.escape(word), re.IGNORECASE).search(body, line_start)
        position = found.start() if found is not None else line_start
        self.cursor = position + 1
        return self.body_start + position

    def walk(self, node: Any, in_handler: bool) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, in_handler)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key == "PLpgSQL_stmt_dynexecute":
                self._dynexecute(value, in_handler)
            elif key == "PLpgSQL_stmt_execsql":
                self._execsql(value, in_handler)
            elif key == "exceptions":
                self.walk(value, True)
            else:
                self.walk(value, in_handler)

    def _execsql(self, node: dict[str, Any], in_handler: bool) -> None:
        query = node["sqlstmt"]["PLpgSQL_expr"]["query"]
        if not ROLE_SQL.match(query):
            return
        words = query.split(maxsplit=1)
        offset = self._offset(node.get("lineno", 1), words[0] if words else "")
        if in_handler:
            self.result.unresolved.append((offset, _IN_HANDLER))
        else:
            self.result.embedded.append(Embedded(offset, query))

    def _dynexecute(self, node: dict[str, Any], in_handler: bool) -> None:
        expression = node["query"]["PLpgSQL_expr"]["query"]
        offset = self._offset(node.get("lineno", 1), "execute")
        try:
            sql = resolve_execute(expression)
        except Unresolved as exc:
            if ROLE_WORDS.search(expression) or not re.search(r"'", expression):
                self.result.unresolved.append((
                    offset, f"DO block: EXECUTE runs a string only known at run time ({exc}); "
                    "a role statement it runs is not checked"))
            return
        if not ROLE_SQL.match(sql):
            return
        if in_handler:
            self.result.unresolved.append((offset, _IN_HANDLER))
        else:
            self.result.embedded.append(Embedded(offset, sql))


def do_block(node: Any, statement: str, placeholders: Placeholders) -> DoBlock:
    """The role SQL a DO statement runs; `statement` is the text `node` was parsed from."""
    result = DoBlock()
    body: str | None = None
    location = 0
    language = "plpgsql"
    for elem in node.args or ():
        if elem.defname == "as":
            body, location = elem.arg.sval, elem.arg_location
        elif elem.defname == "language":
            language = elem.arg.sval.lower()
    if body is None or not ROLE_WORDS.search(body):
        return result
    if language != "plpgsql":
        result.unresolved.append(
            (0, f"DO block in {language}: its role statements are not checked"))
        return result
    if has_flyway(body):  # Flyway fills placeholders in even inside dollar quotes; lines are kept
        body = substitute(body, placeholders, psql=False).text
    tag = _unique_tag(body)
    try:
        tree = pglast.parse_plpgsql(
            f"CREATE FUNCTION cb_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}")
    except pglast.parser.ParseError as exc:
        result.error = f"in DO block: {exc.args[0]}"
        return result
    _Walker(statement, _body_start(statement, location), result).walk(tree, False)
    return result
