"""Files in, role documents out: ordering, reading, the prefilter and the role state."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from connbudget.errors import InputError
from connbudget.frontends.sql.actions import ROLE_WORDS
from connbudget.frontends.sql.placeholders import (
    Placeholders,
    Substituted,
    may_hold_placeholders,
    substitute,
)
from connbudget.frontends.sql.scanner import Lines, Statement, split
from connbudget.frontends.sql.state import RoleBook, RoleState
from connbudget.report import Finding

if TYPE_CHECKING:
    from connbudget.frontends.sql.actions import Action

# Only statements that start like this can change a role; nothing else is parsed.
_GAP = r"(?:\s+|/\*.*?\*/|--[^\n]*(?:\n|$))+"  # whitespace or comments between keywords
_CANDIDATE = re.compile(
    rf"(?:(?:create|alter|drop){_GAP}(?:role|user|group)\b|grant\b|revoke\b|do\b)",
    re.IGNORECASE | re.DOTALL)
_VERSION_PART = re.compile(r"(\d+(?:\.\d+)*)")
_FLYWAY_VERSION = re.compile(r"^([VvUu])(\d+(?:_\d+)+)(?=__)")
_QUOTED = re.compile(r'".*"', re.DOTALL)
_NEAR = re.compile(r'\s*at or near ".*"', re.DOTALL)
_SKIP_DIRS = {"node_modules", "__pycache__"}

NumberOrText = tuple[int, tuple[int, ...], str]


def _natural(name: str) -> list[NumberOrText]:
    key: list[NumberOrText] = []
    for index, piece in enumerate(_VERSION_PART.split(name)):
        if index % 2:
            key.append((0, tuple(int(part) for part in piece.split(".")), ""))
        elif piece:
            key.append((1, (), piece.casefold()))
    return key


def version_key(path: str) -> tuple[Any, ...]:
    """Natural version order: V2__ before V10__, V1__ before V1.1__, 0002_ before 0010_;
    Flyway's repeatable R__ migrations after the versioned ones of their directory."""
    parts = PurePath(path).parts
    key: list[tuple[int, list[NumberOrText]]] = [(0, _natural(part)) for part in parts[:-1]]
    name = parts[-1] if parts else path
    name = _FLYWAY_VERSION.sub(lambda m: m.group(1) + m.group(2).replace("_", "."), name)
    key.append((1 if name.startswith("R__") else 0, _natural(name)))
    return (key, path)


def _walk(directory: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        found.extend(os.path.join(root, name) for name in files if name.lower().endswith(".sql"))
    return found


def _files(paths: list[str], errors: list[InputError]) -> list[str]:
    files: dict[str, None] = {}
    for path in paths:
        if os.path.isdir(path):
            files.update(dict.fromkeys(_walk(path)))
        elif os.path.exists(path):
            files[path] = None
        else:
            errors.append(InputError(path, 0, "no such file or directory"))
    return sorted(files, key=version_key)


def _read(path: str) -> str | InputError:
    """The file's text, or why it is skipped."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return InputError(path, 1, f"cannot read the file: {exc.strerror or exc}")
    if b"\0" in data:
        return InputError(path, 1, "binary file (it holds NUL bytes), not SQL: skipped")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return InputError(path, line, "not valid UTF-8: skipped (save the file as UTF-8)", column)
    return text.removeprefix("\ufeff")


def _safe_message(message: str, sql: str) -> str:
    """Parser messages quote the text near an error, and in a role statement that text may be
    a password (`ENCRYPTED 'x'` with PASSWORD forgotten): the quoted token is never shown."""
    message = _NEAR.sub("", message)
    return _QUOTED.sub('"…"', message)


@dataclass
class SqlResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def combined(self) -> dict[str, Any]:
        return {"statements": self.documents, "roles": self.roles}


@dataclass
class _Reader:
    result: SqlResult = field(default_factory=SqlResult)
    book: RoleBook = field(default_factory=RoleBook)
    placeholders: Placeholders = field(default_factory=Placeholders)
    states: list[RoleState | None] = field(default_factory=list)

    def read_file(self, path: str) -> None:
        text = _read(path)
        if isinstance(text, InputError):
            self.result.errors.append(text)
            return
        scan = split(text)
        lines = Lines(text)
        for problem in scan.problems:
            line, column = lines.locate(problem.offset)
            self.result.errors.append(InputError(path, line, problem.message, column))
        for statement in scan.statements:
            if statement.gexec:
                self._gexec(path, text, statement, lines)
            elif _CANDIDATE.match(text, statement.start):
                self._statement(path, text, statement, lines)

    def _gexec(self, path: str, text: str, statement: Statement, lines: Lines) -> None:
        if ROLE_WORDS.search(text, statement.start, statement.end):
            line, column = lines.locate(statement.start)
            self.result.findings.append(Finding(
                "CB007", "psql \\gexec runs statements a query builds; the role statements it "
                "runs are not checked", path, line, column=column))

    def _statement(self, path: str, text: str, statement: Statement, lines: Lines) -> None:
        import pglast

        sql = statement.text(text)
        if may_hold_placeholders(sql):
            parsed_text = substitute(sql, self.placeholders)
        else:
            parsed_text = Substituted(sql, [])
        try:
            raw = pglast.parse_sql(parsed_text.text)
        except pglast.parser.ParseError as exc:
            where = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else len(
                parsed_text.text)
            offset = statement.start + parsed_text.original_offset(where)
            self._error(path, lines, offset, _safe_message(str(exc.args[0]), sql))
            return

        def at(offset_in_statement: int) -> int:
            return statement.start + parsed_text.original_offset(offset_in_statement)

        for stmt in raw:
            location = at(stmt.stmt_location or 0)
            if isinstance(stmt.stmt, pglast.ast.DoStmt):
                self._do(path, lines, stmt.stmt, parsed_text.text, at, location)
            else:
                self._emit(path, lines, location, stmt.stmt)

    def _do(self, path: str, lines: Lines, node: Any, sql: str, at: Any, location: int) -> None:
        import pglast

        from connbudget.frontends.sql.plpgsql import do_block

        block = do_block(node, sql, self.placeholders)
        if block.error is not None:
            self._error(path, lines, location, _safe_message(block.error, sql))
        for offset, message in block.unresolved:
            line, column = lines.locate(at(offset))
            self.result.findings.append(Finding("CB007", message, path, line, column=column))
        for embedded in block.embedded:
            offset = at(embedded.offset)
            try:
                raw = pglast.parse_sql(embedded.sql)
            except pglast.parser.ParseError as exc:
                message = f"in DO block: {exc.args[0]}"
                self._error(path, lines, offset, _safe_message(message, embedded.sql))
                continue
            for stmt in raw:
                self._emit(path, lines, offset, stmt.stmt)

    def _error(self, path: str, lines: Lines, offset: int, message: str) -> None:
        line, column = lines.locate(offset)
        self.result.errors.append(InputError(path, line, message, column))

    def _emit(self, path: str, lines: Lines, offset: int, node: Any) -> None:
        from connbudget.frontends.sql.builder import actions_from_node

        line, column = lines.locate(offset)
        for action in actions_from_node(node, self.placeholders):
            state = self.book.apply(action)
            self.result.documents.append(_document(path, line, column, action,
                                                   self.book.effective(state)))
            self.states.append(state)

    def finish(self) -> SqlResult:
        for document, state in zip(self.result.documents, self.states, strict=True):
            document["final"] = self.book.final(state)
        self.result.roles = self.book.final_roles()
        return self.result


def _document(path: str, line: int, column: int, action: Action,
              effective: dict[str, Any] | None) -> dict[str, Any]:
    said = action.said
    name = action.new_name or action.role
    return {
        "kind": "role_statement",
        "source": {"file": path, "line": line, "column": column, "format": "sql"},
        "resource": name,
        "statement": action.statement,
        "role": {"name": name, "login": said.login, "superuser": said.superuser,
                 "connection_limit": said.connection_limit, "password": said.password,
                 "settings": dict(said.settings)},
        "effective": effective,
        "final": None,
    }


def read_sql(paths: list[str]) -> SqlResult:
    """Role documents from the SQL files and directories in `paths`, in migration order."""
    reader = _Reader()
    for path in _files(paths, reader.result.errors):
        reader.read_file(path)
    return reader.finish()
