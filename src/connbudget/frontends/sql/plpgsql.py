"""Role statements that PL/pgSQL and SQL routines run: `DO` blocks, and the bodies of
`CREATE FUNCTION` / `CREATE PROCEDURE`, read with pglast's PL/pgSQL parser.

Static SQL in a body runs as written. `EXECUTE` runs a string: one built from constants is
resolved; one with parts only known at run time is read with those parts as markers
(`evaluate.py`), so what is known (a constant role name, LOGIN) is still checked. SQL that holds
a body of its own (a `DO` block, a `CREATE PROCEDURE` then `CALL`ed) is read the same way, to
the depth the reader allows.

Control flow: an `IF`/`ELSIF`/`CASE` branch whose condition `evaluate.decide` settles runs or
does not; under an undecided condition, and in `WHILE`/`FOR` loop bodies (which may run zero
times), statements are conditional. Statements in an EXCEPTION handler only run when the block
fails: they are reported as unresolved. A routine's body runs when it is called, so the reader
walks it at each `CALL`/`SELECT f()` (and, for a routine the files never call, once at the end as
conditional).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import pglast

from connbudget.comments import Lines
from connbudget.frontends.sql.actions import BODY_WORDS, ROLE_WORDS
from connbudget.frontends.sql.evaluate import Unresolved, decide_text, resolve_execute
from connbudget.frontends.sql.placeholders import Placeholders, has_flyway, substitute

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
ROLE_SQL = re.compile(
    r"\s*(?:(?:create|alter|drop)\s+(?:role|user|group)\b|(?:grant|revoke)\b)", re.IGNORECASE)
# SQL that holds a body of its own, read when a body runs it (EXECUTE, static SQL).
HOLDS_BODY = re.compile(r"\s*(?:do\b|create\s+(?:or\s+replace\s+)?(?:function|procedure)\b)",
                        re.IGNORECASE)
_CALLED = re.compile(r"\s*(?:call|select)\s+(?:[\w\"]+\.)?\"?([\w$]+)\"?\s*\(", re.IGNORECASE)
_LOOPS = ("PLpgSQL_stmt_while", "PLpgSQL_stmt_fori", "PLpgSQL_stmt_fors",
          "PLpgSQL_stmt_foreach_a", "PLpgSQL_stmt_dynfors")


@dataclass
class Embedded:
    """SQL that a body runs, at `offset` in the text of the statement that holds the body."""

    offset: int
    sql: str
    conditional: bool = False
    dynamic: bool = False  # parts only known at run time are markers


class Sink(Protocol):
    """Where a walked body sends what it runs, in the order it runs it."""

    def role_exists(self, name: str) -> bool | None: ...

    def run(self, embedded: Embedded, where: str) -> None: ...

    def unresolved(self, offset: int, message: str) -> None: ...

    def call(self, name: str, offset: int, conditional: bool) -> None: ...


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


def called_routine(sql: str) -> str | None:
    """The (case-folded) name of the routine a `CALL f(...)` or `SELECT f(...)` runs."""
    match = _CALLED.match(sql)
    if match is None:
        return None
    name = match.group(1)
    return name if sql[match.start(1) - 1] == '"' else name.lower()


@dataclass
class Body:
    """A parsed body and where it sits in its statement's text."""

    where: str  # "DO block", "procedure p", "function f"
    statement: str
    body_start: int
    tree: Any = None  # PL/pgSQL
    sql: str | None = None  # SQL-language body

    def run(self, sink: Sink, placeholders: Placeholders, conditional: bool = False) -> None:
        if self.tree is not None:
            _Walker(self, sink, placeholders).walk(self.tree, conditional, False)
            return
        assert self.sql is not None
        for piece in pglast.split(self.sql, with_parser=False, only_slices=True):
            statement = self.sql[piece]
            offset = self.body_start + piece.start
            if ROLE_SQL.match(statement) or HOLDS_BODY.match(statement):
                sink.run(Embedded(offset, statement, conditional), self.where)
            elif (name := called_routine(statement)) is not None:
                sink.call(name, offset, conditional)


@dataclass
class NotChecked:
    """A body in a language connbudget does not read."""

    message: str


def _varnos(node: Any) -> set[int]:
    """Every variable number a statement tree refers to (assignments, INTO and loop targets)."""
    found: set[int] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("varno"), int):
                found.add(item["varno"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _constants(tree: Any) -> dict[str, str]:
    """Variables declared with a constant value that no statement of the body assigns."""
    function = tree[0]["PLpgSQL_function"] if tree else {}
    assigned = _varnos(function.get("action"))
    constants: dict[str, str] = {}
    for varno, datum in enumerate(function.get("datums", [])):
        var = datum.get("PLpgSQL_var", {})
        default = var.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if default is None or varno in assigned:
            continue
        try:
            value, dynamic = resolve_execute(default)
        except Unresolved:
            continue
        if not dynamic:
            constants[var["refname"]] = value
    return constants


class _Walker:
    def __init__(self, body: Body, sink: Sink, placeholders: Placeholders) -> None:
        self.body = body
        self.constants = _constants(body.tree)
        self.where = body.where
        self.sink = sink
        self.placeholders = placeholders
        self.text = body.statement[body.body_start:]
        self.lines = Lines(self.text)
        self.cursor = 0  # statements on one line are found left to right

    def _offset(self, lineno: int, word: str) -> int:
        line_start = self.lines.line_start(lineno)
        start = max(line_start, self.cursor)
        pattern = re.compile(re.escape(word), re.IGNORECASE)
        found = pattern.search(self.text, start)
        if found is None or self.text.count("\n", line_start, found.start()) > 0:
            found = pattern.search(self.text, line_start)
        position = found.start() if found is not None else line_start
        self.cursor = position + 1
        return self.body.body_start + position

    def walk(self, node: Any, conditional: bool, in_handler: bool) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, conditional, in_handler)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key == "PLpgSQL_stmt_dynexecute":
                self._dynexecute(value, conditional, in_handler)
            elif key == "PLpgSQL_stmt_execsql":
                self._execsql(value["sqlstmt"], value, conditional, in_handler)
            elif key in ("PLpgSQL_stmt_call", "PLpgSQL_stmt_perform"):
                if HOLDS_BODY.match(value["expr"]["PLpgSQL_expr"]["query"]):  # DO is a "call"
                    self._execsql(value["expr"], value, conditional, in_handler)
                else:
                    self._call(value, conditional)
            elif key == "PLpgSQL_stmt_if":
                self._if(value, conditional, in_handler)
            elif key == "PLpgSQL_stmt_case":
                self._case(value, conditional, in_handler)
            elif key in _LOOPS:
                self.walk(value.get("body", []), True, in_handler)
            elif key == "exceptions":
                self.walk(value, conditional, True)
            else:
                self.walk(value, conditional, in_handler)

    def _branches(self, branches: list[tuple[str | None, Any]], conditional: bool,
                  in_handler: bool) -> None:
        """Branches tried in order (condition None: the ELSE); the first true one runs."""
        undecided = False
        for condition, body in branches:
            value = True if condition is None else decide_text(condition, self.sink.role_exists)
            if value is False:
                continue
            self.walk(body, conditional or undecided or value is None, in_handler)
            if value is True:
                return
            undecided = True

    def _if(self, node: dict[str, Any], conditional: bool, in_handler: bool) -> None:
        branches: list[tuple[str | None, Any]] = [
            (node["cond"]["PLpgSQL_expr"]["query"], node.get("then_body", []))]
        for elsif in node.get("elsif_list", []):
            inner = elsif["PLpgSQL_if_elsif"]
            branches.append((inner["cond"]["PLpgSQL_expr"]["query"], inner.get("stmts", [])))
        branches.append((None, node.get("else_body", [])))
        self._branches(branches, conditional, in_handler)

    def _case(self, node: dict[str, Any], conditional: bool, in_handler: bool) -> None:
        # CASE x WHEN ...: the tests compare against a value; left undecided.
        simple = "t_expr" in node
        branches: list[tuple[str | None, Any]] = []
        for when in node.get("case_when_list", []):
            inner = when["PLpgSQL_case_when"]
            test = "NULL" if simple else inner["expr"]["PLpgSQL_expr"]["query"]
            branches.append((test, inner.get("stmts", [])))
        branches.append((None, node.get("else_stmts", [])))
        self._branches(branches, conditional, in_handler)

    def _call(self, node: dict[str, Any], conditional: bool) -> None:
        query = node["expr"]["PLpgSQL_expr"]["query"]
        name = called_routine(query)
        if name is not None:
            self.sink.call(name, self._offset(node.get("lineno", 1), query.split()[0]),
                           conditional)

    def _execsql(self, sqlstmt: dict[str, Any], node: dict[str, Any], conditional: bool,
                 in_handler: bool) -> None:
        query = sqlstmt["PLpgSQL_expr"]["query"]
        if not (ROLE_SQL.match(query) or HOLDS_BODY.match(query)):
            return
        words = query.split(maxsplit=1)
        offset = self._offset(node.get("lineno", 1), words[0] if words else "")
        if in_handler:
            self.sink.unresolved(offset, self._in_handler())
        else:
            self.sink.run(Embedded(offset, query, conditional), self.where)

    def _in_handler(self) -> str:
        return (f"{self.where}: a role statement in an EXCEPTION handler runs only if the block "
                "fails; it is not checked")

    def _dynexecute(self, node: dict[str, Any], conditional: bool, in_handler: bool) -> None:
        expression = node["query"]["PLpgSQL_expr"]["query"]
        offset = self._offset(node.get("lineno", 1), "execute")
        try:
            sql, dynamic = resolve_execute(expression, self.placeholders, self.constants)
        except Unresolved as exc:
            if _may_be_role_sql(expression):
                self.sink.unresolved(offset, (
                    f"{self.where}: EXECUTE runs a string only known at run time ({exc}); "
                    "a role statement it runs is not checked"))
            return
        name = None if dynamic else called_routine(sql)
        if name is not None:
            self.sink.call(name, offset, conditional)
            return
        if not (ROLE_SQL.match(sql) or HOLDS_BODY.match(sql)):
            if dynamic and _may_be_role_sql(expression):
                self.sink.unresolved(offset, (
                    f"{self.where}: EXECUTE runs a string only known at run time; "
                    "a role statement it runs is not checked"))
            return
        if in_handler:
            self.sink.unresolved(offset, self._in_handler())
        else:
            self.sink.run(Embedded(offset, sql, conditional, dynamic), self.where)


def _may_be_role_sql(expression: str) -> bool:
    """A string only known at run time may be a role statement: it names roles, or it has no
    constant part that says what it is."""
    return bool(ROLE_WORDS.search(expression)) or "'" not in expression


def _parse(where: str, body: str, statement: str, location: int,
           placeholders: Placeholders) -> Body | str:
    if has_flyway(body):  # Flyway fills placeholders in even inside dollar quotes; lines are kept
        body = substitute(body, placeholders, psql=False).text
    tag = _unique_tag(body)
    try:
        tree = pglast.parse_plpgsql(
            f"CREATE FUNCTION cb_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}")
    except pglast.parser.ParseError as exc:
        return f"in {where}: {exc.args[0]}"
    return Body(where, statement, _body_start(statement, location), tree=tree)


def _language(options: Any) -> str:
    for elem in options or ():
        if elem.defname == "language":
            return str(elem.arg.sval).lower()
    return "sql"


def do_body(node: Any, statement: str,
            placeholders: Placeholders) -> Body | NotChecked | str | None:
    """The body of a DO statement (`statement` is the text `node` was parsed from), an error
    message, or None when it cannot hold a role statement."""
    body: str | None = None
    location = 0
    language = "plpgsql"
    for elem in node.args or ():
        if elem.defname == "as":
            body, location = elem.arg.sval, elem.arg_location
        elif elem.defname == "language":
            language = elem.arg.sval.lower()
    if body is None or not BODY_WORDS.search(body):
        return None
    if language != "plpgsql":
        return NotChecked(f"DO block in {language}: its role statements are not checked")
    return _parse("DO block", body, statement, location, placeholders)


def routine_body(node: Any, statement: str, placeholders: Placeholders,
                 own_text: str) -> tuple[str, Body | NotChecked | None]:
    """The case-folded name of a CREATE FUNCTION/PROCEDURE and its body (see `do_body`);
    `own_text` is the CREATE statement alone. A body pglast cannot compile (it needs the
    database's catalog for `%TYPE` and the like) is not checked rather than an input error."""
    name = str(node.funcname[-1].sval)
    where = ("procedure " if node.is_procedure else "function ") + name
    body: str | None = None
    location = 0
    for elem in node.options or ():
        if elem.defname == "as" and isinstance(elem.arg, tuple) and len(elem.arg) == 1:
            body, location = elem.arg[0].sval, elem.arg_location
    if body is None or not BODY_WORDS.search(body):
        return name, None
    language = _language(node.options)
    if language == "plpgsql":
        try:
            tree = pglast.parse_plpgsql(own_text)
        except pglast.parser.ParseError:
            return name, NotChecked(f"{where}: its PL/pgSQL body cannot be read without the "
                                    "database; its role statements are not checked")
        return name, Body(where, statement, _body_start(statement, location), tree=tree)
    if language == "sql":
        return name, Body(where, statement, _body_start(statement, location), sql=body)
    return name, NotChecked(f"{where} in {language}: its role statements are not checked")
