"""Files in, role documents out: ordering, reading, the prefilter and the role state."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from connbudget import confine
from connbudget.comments import Comment, Lines
from connbudget.errors import InputError
from connbudget.frontends.sql.actions import BODY_WORDS, ROLE_WORDS
from connbudget.frontends.sql.evaluate import Unresolved, decide, string_value
from connbudget.frontends.sql.placeholders import (
    Placeholders,
    Substituted,
    may_hold_placeholders,
    substitute,
)
from connbudget.frontends.sql.plpgsql import (
    ROLE_SQL,
    Body,
    Embedded,
    NotChecked,
    called_routine,
    do_body,
    routine_body,
)
from connbudget.frontends.sql.scanner import Statement, lexed_comments, split
from connbudget.frontends.sql.state import RoleBook, RoleState
from connbudget.kinds import Read, ReadContext

if TYPE_CHECKING:
    from connbudget.frontends.sql.actions import Action

# Only statements that start like this can change a role; nothing else is parsed.
_GAP = r"(?:\s+|/\*.*?\*/|--[^\n]*(?:\n|$))+"  # whitespace or comments between keywords
_CANDIDATE = re.compile(
    rf"(?:(?:create|alter|drop){_GAP}(?:role|user|group)\b|grant\b|revoke\b|do\b"
    rf"|create{_GAP}(?:or{_GAP}replace{_GAP})?(?:function|procedure)\b)",
    re.IGNORECASE | re.DOTALL)
# Bodies are parsed only when they mention a role at all.
_BODY = re.compile(rf"(?:do\b|create{_GAP}(?:or{_GAP}replace{_GAP})?(?:function|procedure)\b)",
                   re.IGNORECASE | re.DOTALL)
# Template engines that fill the file in before it runs: Jinja/Helm, Go text/template, Go fmt.
_TEMPLATE_SEEN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|%\[\d+\][sdvq]")
_GO_VERB = re.compile(r"[A-Za-z0-9_]*%[sdvq][A-Za-z0-9_]*")
_TEMPLATE_TAGS = re.compile(r"(?:\{%.*?%\}|\{#.*?#\}|\s+)*")
_VERSION_PART = re.compile(r"(\d+(?:\.\d+)*)")
_FLYWAY_VERSION = re.compile(r"^([VvUu])(\d+(?:_\d+)+)(?=__)")
_QUOTED = re.compile(r'".*"', re.DOTALL)
_NEAR = re.compile(r'\s*at or near ".*"', re.DOTALL)
# Role statements read (README, "Bounded work"): each is a role document the Rego rules
# evaluate, about 1 to 2 ms each.
MAX_FILE_ROLE_STATEMENTS = 10_000
# Bodies that run-time SQL may nest: a DO block that EXECUTEs a DO block is one level, a
# procedure it creates another. Deeper SQL is CB007, never silently dropped.
MAX_NESTING = 4
MAX_RUN_ROLE_STATEMENTS = 50_000

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


def _files(paths: list[str], errors: list[InputError]) -> list[str]:
    """The files to read in migration order: a directory's .sql files as discovery finds
    them (confined to its tree), a named file as it is."""
    from connbudget.discover import discover

    files: dict[str, None] = {}
    for path in paths:
        if os.path.isdir(path):
            found = discover([path], [])
            files.update(dict.fromkeys(found.of("sql")))
            errors.extend(InputError(skipped, 0, why) for skipped, why in found.skipped)
        elif os.path.exists(path):
            files[path] = None
        else:
            errors.append(InputError(path, 0, "no such file or directory"))
    return sorted(files, key=version_key)


def _read(path: str) -> str | InputError:
    """The file's text, or why it is skipped."""
    try:
        data = confine.read_regular(path)
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


def _limit(in_file: int, in_run: int) -> str | None:
    """Which limit on role statements is reached, if one is."""
    if in_file >= MAX_FILE_ROLE_STATEMENTS:
        return f"more than {MAX_FILE_ROLE_STATEMENTS:,} role statements in one file"
    if in_run >= MAX_RUN_ROLE_STATEMENTS:
        return f"more than {MAX_RUN_ROLE_STATEMENTS:,} role statements in the scanned SQL"
    return None


def _after_template_tags(text: str, start: int) -> int:
    found = _TEMPLATE_TAGS.match(text, start)
    return found.end() if found else start


def _safe_message(message: str, sql: str) -> str:
    """Parser messages quote the text near an error, and in a role statement that text may be
    a password (`ENCRYPTED 'x'` with PASSWORD forgotten): the quoted token is never shown."""
    message = _NEAR.sub("", message)
    return _QUOTED.sub('"…"', message)


@dataclass(frozen=True)
class RunTime:
    """A role statement that only its run decides: `kind` "unread" (it cannot be read before it
    runs), "grant" (a role GRANT built at run time), "login" (run-time SQL that creates or
    alters a role able to log in), "template" (templates fill the file in first)."""

    kind: str
    message: str
    file: str
    line: int
    column: int | None = None
    fix: str = ""


@dataclass
class SqlResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    run_time: list[RunTime] = field(default_factory=list)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[Comment]] = field(default_factory=dict)  # per file read

    def combined(self) -> dict[str, Any]:
        return {"statements": self.documents, "roles": self.roles}


@dataclass
class _Routine:
    body: Body
    path: str
    lines: Lines
    at: Callable[[int], int]
    called: bool = False
    depth: int = 0  # of the SQL that created it, see MAX_NESTING


@dataclass
class _Reader:
    result: SqlResult = field(default_factory=SqlResult)
    book: RoleBook = field(default_factory=RoleBook)
    placeholders: Placeholders = field(default_factory=Placeholders)
    states: list[RoleState | None] = field(default_factory=list)
    routines: dict[str, _Routine] = field(default_factory=dict)

    def read_file(self, path: str) -> None:
        text = _read(path)
        if isinstance(text, InputError):
            self.result.errors.append(text)
            return
        scan = split(text)
        lines = Lines(text)
        self.result.comments[path] = lexed_comments(path, text, scan, lines)
        for problem in scan.problems:
            line, column = lines.locate(problem.offset)
            self.result.errors.append(InputError(path, line, problem.message, column))
        noted = self._template_note(path, text, lines, _TEMPLATE_SEEN.search(text))
        before = len(self.result.documents)
        for statement in scan.statements:
            marked = len(self.placeholders.originals)
            candidate = _CANDIDATE.match(text, _after_template_tags(text, statement.start))
            limit = _limit(len(self.result.documents) - before, len(self.result.documents))
            if (candidate or statement.gexec) and limit is not None:
                self._error(path, lines, statement.start, f"{limit}: this one and the ones "
                            "after it are not checked")
                return
            if statement.gexec:
                self._gexec(path, text, statement, lines)
            elif candidate:
                if not _BODY.match(text, statement.start) or BODY_WORDS.search(
                        text, statement.start, statement.end):
                    self._statement(path, text, statement, lines)
            elif self.routines:
                head = text[statement.start:min(statement.end, statement.start + 300)]
                name = called_routine(head)
                if name in self.routines:
                    self._call(name, False)
            if not noted and any(_GO_VERB.fullmatch(original) for original
                                 in self.placeholders.originals[marked:]):
                noted = self._template_note(path, text, lines, _GO_VERB.search(
                    text, statement.start, statement.end))

    def _template_note(self, path: str, text: str, lines: Lines,
                       found: re.Match[str] | None) -> bool:
        """One note per file that templates fill in; whether it was given."""
        if found is None:
            return False
        line, column = lines.locate(found.start())
        self.result.run_time.append(RunTime(
            "template", "templates ({{ }}, {% %}, %[n]s) fill this file in before it runs: a "
            "role name or option a template gives is only known then; statements are checked "
            "with what is known", path, line, column))
        return True

    def _gexec(self, path: str, text: str, statement: Statement, lines: Lines) -> None:
        import pglast

        if not ROLE_WORDS.search(text, statement.start, statement.end):
            return
        sql = statement.text(text)
        sink = _Sink(self, path, lines, lambda offset: statement.start)
        try:
            parsed = pglast.parse_sql(sql)
            select: Any = parsed[0].stmt if len(parsed) == 1 else None
            if not isinstance(select, pglast.ast.SelectStmt) or not select.targetList:
                raise Unresolved("not a SELECT")
            dynamic_rows = bool(select.fromClause)
            runs = None if dynamic_rows else True
            if select.whereClause is not None and runs is not None:
                runs = decide(select.whereClause, self.book.exists)
            built = [string_value(target.val, self.placeholders) for target in select.targetList]
        except (pglast.parser.ParseError, Unresolved):
            line, column = lines.locate(statement.start)
            self.result.run_time.append(RunTime(
                "unread", "psql \\gexec runs statements a query builds; the role statements it "
                "runs are not checked", path, line, column))
            return
        if runs is False:
            return
        for built_sql, dynamic in built:
            if ROLE_SQL.match(built_sql):
                sink.run(Embedded(0, built_sql, runs is None, dynamic), "psql \\gexec")

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
            node = stmt.stmt
            if isinstance(node, pglast.ast.DoStmt):
                body = do_body(node, parsed_text.text, self.placeholders)
                self._body(path, lines, at, location, body)
            elif isinstance(node, pglast.ast.CreateFunctionStmt):
                start = stmt.stmt_location or 0
                end = start + stmt.stmt_len if stmt.stmt_len else len(parsed_text.text)
                name, body = routine_body(node, parsed_text.text, self.placeholders,
                                          parsed_text.text[start:end])
                if isinstance(body, Body):
                    self.routines[name] = _Routine(body, path, lines, at)
                else:
                    self._body(path, lines, at, location, body)
            else:
                self._emit(path, lines, location, node)

    def _body(self, path: str, lines: Lines, at: Callable[[int], int], location: int,
              body: Body | NotChecked | str | None, depth: int = 0,
              conditional: bool = False) -> None:
        if isinstance(body, str):
            self._error(path, lines, location, _safe_message(body, ""))
        elif isinstance(body, NotChecked):
            self._not_checked(path, lines, location, body.message)
        elif body is not None:
            body.run(_Sink(self, path, lines, at, depth), self.placeholders, conditional)

    def _not_checked(self, path: str, lines: Lines, offset: int, message: str) -> None:
        line, column = lines.locate(offset)
        self.result.run_time.append(RunTime("unread", message, path, line, column))

    def _call(self, name: str, conditional: bool) -> None:
        routine = self.routines[name]
        if routine.called:  # its statements are read once, at the first call
            return
        routine.called = True
        routine.body.run(_Sink(self, routine.path, routine.lines, routine.at, routine.depth),
                         self.placeholders, conditional)

    def _error(self, path: str, lines: Lines, offset: int, message: str) -> None:
        line, column = lines.locate(offset)
        self.result.errors.append(InputError(path, line, message, column))

    def _emit(self, path: str, lines: Lines, offset: int, node: Any, conditional: bool = False,
              dynamic: str | None = None) -> None:
        from connbudget.frontends.sql.builder import actions_from_node

        line, column = lines.locate(offset)
        for action in actions_from_node(node, self.placeholders):
            state, effective = self.book.apply(action, conditional)
            self.result.documents.append(_document(path, line, column, action, effective,
                                                   conditional, dynamic is not None))
            self.states.append(state)
            if dynamic is not None:
                found = _run_time(dynamic, action, effective)
                if found is not None:
                    kind, message, fix = found
                    self.result.run_time.append(RunTime(kind, message, path, line, column, fix))

    def finish(self) -> SqlResult:
        for name, routine in list(self.routines.items()):
            if not routine.called:
                self._call(name, True)
        for document, state in zip(self.result.documents, self.states, strict=True):
            document["final"] = self.book.final(state)
        self.result.roles = self.book.final_roles()
        return self.result


@dataclass
class _Sink:
    """What a DO block, routine or \\gexec runs goes into the reader at its place in a file."""

    reader: _Reader
    path: str
    lines: Lines
    at: Callable[[int], int]
    depth: int = 0  # bodies that run-time SQL nested around this one, see MAX_NESTING

    def role_exists(self, name: str) -> bool | None:
        return self.reader.book.exists(name)

    def run(self, embedded: Embedded, where: str) -> None:
        import pglast

        offset = self.at(embedded.offset)
        try:
            raw = pglast.parse_sql(embedded.sql)
        except pglast.parser.ParseError as exc:
            if embedded.dynamic:
                self.unresolved(embedded.offset, f"{where}: runs a role statement built at run "
                                "time that cannot be read before it runs; it is not checked")
                return
            message = f"in {where}: {exc.args[0]}"
            self.reader._error(self.path, self.lines, offset, _safe_message(message, embedded.sql))
            return
        for stmt in raw:
            if isinstance(stmt.stmt, (pglast.ast.DoStmt, pglast.ast.CreateFunctionStmt)):
                self._nested(stmt, embedded, where, offset)
            else:
                self.reader._emit(self.path, self.lines, offset, stmt.stmt,
                                  embedded.conditional, where if embedded.dynamic else None)

    def _nested(self, stmt: Any, embedded: Embedded, where: str, offset: int) -> None:
        """A DO block or a routine that a body runs: read like the file's own, located at the
        statement that runs it, to MAX_NESTING levels."""
        import pglast

        reader = self.reader
        if embedded.dynamic:
            reader._not_checked(self.path, self.lines, offset, (
                f"{where}: runs a DO block or routine built at run time; its role statements "
                "are not checked"))
            return
        if self.depth >= MAX_NESTING:
            reader._not_checked(self.path, self.lines, offset, (
                f"{where}: runs SQL that holds a body nested more than {MAX_NESTING} levels "
                "deep; its role statements are not checked"))
            return
        at, depth = (lambda _: offset), self.depth + 1
        node = stmt.stmt
        if isinstance(node, pglast.ast.DoStmt):
            body = do_body(node, embedded.sql, reader.placeholders)
            reader._body(self.path, self.lines, at, offset, body, depth, embedded.conditional)
            return
        start = stmt.stmt_location or 0
        end = start + stmt.stmt_len if stmt.stmt_len else len(embedded.sql)
        name, routine = routine_body(node, embedded.sql, reader.placeholders,
                                     embedded.sql[start:end])
        if isinstance(routine, Body):
            reader.routines[name] = _Routine(routine, self.path, self.lines, at, depth=depth)
        else:
            reader._body(self.path, self.lines, at, offset, routine, depth)

    def unresolved(self, offset: int, message: str) -> None:
        line, column = self.lines.locate(self.at(offset))
        self.reader.result.run_time.append(RunTime("unread", message, self.path, line, column))

    def call(self, name: str, offset: int, conditional: bool) -> None:
        if name in self.reader.routines:
            self.reader._call(name, conditional)


def _options_said(action: Action) -> str:
    said = action.said
    known: list[str] = []
    if said.superuser:
        known.append("SUPERUSER")
    if "connection_limit" in said.unknown:
        known.append("CONNECTION LIMIT only known at run time")
    elif said.connection_limit is not None:
        known.append(f"CONNECTION LIMIT {said.connection_limit}")
    elif action.op == "create":
        known.append("no CONNECTION LIMIT")
    return ", ".join(known)


def _run_time(where: str, action: Action,
              effective: dict[str, Any] | None) -> tuple[str, str, str] | None:
    """Run-time SQL that creates or changes a role able to log in ("login"), or a role GRANT
    built at run time ("grant"): the kind, what it does, and how to make it readable."""
    name = action.new_name or action.role
    named = (f"a role named at run time ({name})" if "{" in name else f'the role "{name}"')
    if action.op == "grant":
        granted = ", ".join(action.statement.get("granted_roles", []))
        return ("grant", f"{where}: a role GRANT/REVOKE built at run time ({granted} to {name}): "
                "which roles it grants is only known when it runs; it is not checked", "")
    said = action.said
    logs_in = effective is not None and effective.get("login") is not False
    changes = said.login is not None or said.superuser is not None or (
        said.connection_limit is not None or "connection_limit" in said.unknown)
    if not logs_in or action.op not in ("create", "alter") or (
            action.op == "alter" and not changes):
        return None
    verb = "creates" if action.op == "create" else "alters"
    options = _options_said(action)
    message = (f"{where}: SQL built at run time {verb} {named} that can log in"
               + (f" ({options})" if options else "")
               + ": what it runs is only known then, so its connection limit is not checked")
    fix = ("build the statement from constants connbudget can read, or put a finite CONNECTION "
           "LIMIT in the string it builds, e.g. format('CREATE ROLE %I LOGIN CONNECTION LIMIT 50',"
           " name)")
    return "login", message, fix


def _document(path: str, line: int, column: int, action: Action,
              effective: dict[str, Any] | None, conditional: bool = False,
              dynamic: bool = False) -> dict[str, Any]:
    said = action.said
    name = action.new_name or action.role
    return {
        "kind": "role_statement",
        "source": {"file": path, "line": line, "column": column, "format": "sql"},
        "resource": name,
        "sql_name": action.sql_name,
        "conditional": conditional,
        "dynamic": dynamic,
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


def read(paths: list[str], context: ReadContext) -> Read:
    """The `sql` input kind: role documents, run-time statements, errors and comments."""
    result = read_sql(paths)
    return Read(result, result.errors, result.comments)
