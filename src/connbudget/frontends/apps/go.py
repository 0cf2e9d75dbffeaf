"""Go services: pgxpool and database/sql pools, read with tree-sitter-go and never built.

Which files are read: `.go` files (no `_test.go`, no vendor/ or testdata/) whose first
HEAD_BYTES mention `pgxpool` or `database/sql`.

What is read, per function body in source order: `x, err := pgxpool.ParseConfig(dsn)` and a
later `x.MaxConns = n`; `pgxpool.New(ctx, dsn)` / `pgxpool.Connect(ctx, dsn)` (the size is the
DSN's `pool_max_conns`, default max(4, runtime.NumCPU())); `db, err := sql.Open(driver, dsn)`
and a later `db.SetMaxOpenConns(n)` (0 or less: unlimited, the default). A DSN is a string
literal or `os.Getenv("X")`; a number is a literal, `runtime.NumCPU()`, a conversion such as
`int32(...)`, or arithmetic of these; anything else is Unknown with its line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from connbudget.errors import InputError
from connbudget.frontends.apps import defaults
from connbudget.frontends.apps.model import (
    Const,
    Cpu,
    Expr,
    FileResult,
    Insert,
    Op,
    Pool,
    Setting,
    Span,
    Target,
    Unknown,
    UrlParam,
    redacted,
)
from connbudget.frontends.apps.source import (
    Source,
    first_error,
    parser,
    read,
    tree_comments,
)

if TYPE_CHECKING:
    import tree_sitter

_POSTGRES_DRIVERS = ("pgx", "postgres", "pgx/v5", "cloudsqlpostgres", "nrpostgres")
_CONVERSIONS = ("int", "int32", "int64", "uint", "uint32")
_OPS = {"+": "+", "-": "-", "*": "*", "/": "//"}



def read_file(path: str) -> FileResult:
    source = read(path)
    if isinstance(source, InputError):
        return FileResult(path, errors=[source])
    root = parser("go").parse(source.data).root_node
    result = FileResult(path, comments=tree_comments(source, root))
    error = first_error(source, root)
    if error is not None:
        result.errors.append(error)
    reader = _Go(source)
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "block":
            reader.block(node, result.pools)
        stack.extend(reversed(node.named_children))
    return result


class _Go:
    def __init__(self, source: Source) -> None:
        self.source = source

    def text(self, node: tree_sitter.Node) -> str:
        return self.source.text_of(node)

    def span(self, node: tree_sitter.Node) -> Span:
        return self.source.node_span(node)

    def expr(self, node: tree_sitter.Node) -> Expr:
        at = self.span(node)
        if node.type == "int_literal":
            text = self.text(node).replace("_", "")
            return Const(int(text), at) if text.isdigit() else Unknown("not a decimal number", at)
        if node.type == "parenthesized_expression" and node.named_children:
            return self.expr(node.named_children[0])
        if node.type == "binary_expression":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            operator = node.child_by_field_name("operator")
            op = _OPS.get(self.text(operator)) if operator is not None else None
            if left is not None and right is not None and op is not None:
                return Op(op, (self.expr(left), self.expr(right)), at)  # type: ignore[arg-type]
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            name = self.text(function) if function is not None else ""
            args = arguments.named_children if arguments is not None else []
            if name == "runtime.NumCPU" and not args:
                return Cpu(False, at)
            if name in _CONVERSIONS and len(args) == 1:
                return self.expr(args[0])
        return Unknown("Go that cannot be evaluated statically", at)

    def dsn(self, node: tree_sitter.Node | None) -> tuple[Expr, Target]:
        """The pool_max_conns of a DSN (the library default when it does not say) and its
        target."""
        default = defaults.default("pgxpool", "pool_max_conns")
        if node is None:
            return default, Target(None)
        at = self.span(node)
        if node.type in ("interpreted_string_literal", "raw_string_literal"):
            text = self.text(node)[1:-1]
            return _dsn_param(text, at), Target(redacted(text), (), at)
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            args = arguments.named_children if arguments is not None else []
            if function is not None and self.text(function) == "os.Getenv" and len(args) == 1 \
                    and args[0].type == "interpreted_string_literal":
                name = self.text(args[0])[1:-1]
                return UrlParam(name, ("pool_max_conns",), default, at), Target(None, (name,), at)
        return Unknown("a DSN that is neither a string nor os.Getenv", at), Target(None, (), at)

    def block(self, block: tree_sitter.Node, pools: list[Pool]) -> None:
        statements = [child for child in block.named_children if child.type != "comment"]
        if len(statements) == 1 and statements[0].type == "statement_list":
            statements = [child for child in statements[0].named_children
                          if child.type != "comment"]
        opened: dict[str, tuple[str, tree_sitter.Node, tree_sitter.Node,
                                tree_sitter.Node | None]] = {}
        sizes: dict[str, tree_sitter.Node] = {}
        order: list[str] = []
        for statement in statements:
            call, variable = self._call_of(statement)
            if call is not None:
                name = self.text(call.child_by_field_name("function") or call)
                args = (call.child_by_field_name("arguments") or call).named_children
                if name in ("pgxpool.New", "pgxpool.Connect") and len(args) >= 2:
                    pools.append(self._pgx(args[1], None, None, call, "pgxpool"))
                elif name == "pgxpool.ParseConfig" and variable:
                    opened[variable] = ("pgxpool", statement, call, args[0] if args else None)
                    order.append(variable)
                elif name == "sql.Open" and variable and len(args) == 2:
                    driver = self.text(args[0]).strip('"`')
                    if driver in _POSTGRES_DRIVERS:
                        opened[variable] = ("database/sql", statement, call, args[1])
                        order.append(variable)
                elif name.endswith(".SetMaxOpenConns") and len(args) == 1:
                    sizes[name[:-len(".SetMaxOpenConns")]] = args[0]
            assigned = self._max_conns(statement)
            if assigned is not None:
                sizes[assigned[0]] = assigned[1]
        for variable in order:
            kind, statement, call, dsn = opened[variable]
            if kind == "pgxpool":
                pools.append(self._pgx(dsn, sizes.get(variable), statement, call, variable))
            else:
                pools.append(self._sql(variable, statement, call, dsn, sizes.get(variable)))

    def _call_of(self, statement: tree_sitter.Node) -> tuple[tree_sitter.Node | None, str]:
        """The call of `x, err := f(...)`, `x, err = f(...)` or `f(...)`, and x."""
        if statement.type in ("short_var_declaration", "assignment_statement"):
            left, right = statement.child_by_field_name("left"), \
                statement.child_by_field_name("right")
            values = right.named_children if right is not None else []
            names = left.named_children if left is not None else []
            if values and values[0].type == "call_expression" and names:
                return values[0], self.text(names[0])
        if statement.type in ("expression_statement", "return_statement") \
                and statement.named_children:
            first = statement.named_children[0]
            if first.type == "expression_list" and first.named_children:
                first = first.named_children[0]
            if first.type == "call_expression":
                return first, ""
        return None, ""

    def _max_conns(self, statement: tree_sitter.Node) -> tuple[str, tree_sitter.Node] | None:
        if statement.type != "assignment_statement":
            return None
        left, right = statement.child_by_field_name("left"), statement.child_by_field_name("right")
        targets = left.named_children if left is not None else []
        values = right.named_children if right is not None else []
        if len(targets) == 1 and len(values) == 1 and targets[0].type == "selector_expression":
            field = targets[0].child_by_field_name("field")
            operand = targets[0].child_by_field_name("operand")
            if field is not None and operand is not None and self.text(field) == "MaxConns":
                return self.text(operand), values[0]
        return None

    def _insert_after(self, statement: tree_sitter.Node | None, text: str) -> Insert | None:
        if statement is None:
            return None
        at = self.span(statement)
        indent = self.source.indent_of(at.line)
        return Insert(self.source.file, at.end_line + 1, 1, indent + text + "\n")

    def _pgx(self, dsn: tree_sitter.Node | None, size: tree_sitter.Node | None,
             statement: tree_sitter.Node | None, call: tree_sitter.Node, name: str) -> Pool:
        from_dsn, target = self.dsn(dsn)
        default = defaults.default("pgxpool", "pool_max_conns")
        if size is not None:
            setting = Setting("MaxConns", self.expr(size), default, self.span(size))
        else:
            setting = Setting("pool_max_conns", from_dsn if from_dsn is not default else None,
                              default, from_dsn.at if from_dsn is not default else None,
                              self._insert_after(statement, f"{name}.MaxConns = {{value}}"))
        return Pool("pgxpool", name, (setting,), "process", target, self.source.file,
                    self.span(call))

    def _sql(self, variable: str, statement: tree_sitter.Node, call: tree_sitter.Node,
             dsn: tree_sitter.Node | None, size: tree_sitter.Node | None) -> Pool:
        _, target = self.dsn(dsn)
        default = defaults.default("database/sql", "SetMaxOpenConns")
        if size is not None:
            setting = Setting("SetMaxOpenConns", self.expr(size), default, self.span(size))
        else:
            setting = Setting("SetMaxOpenConns", None, default, None,
                              self._insert_after(statement,
                                                 f"{variable}.SetMaxOpenConns({{value}})"))
        return Pool("database/sql", variable, (setting,), "process", target, self.source.file,
                    self.span(call), unlimited_at_or_below_zero=True)


def _dsn_param(text: str, at: Span) -> Expr:
    """pool_max_conns of a URL or a keyword/value DSN; the library default when absent."""
    default = defaults.default("pgxpool", "pool_max_conns")
    if "://" in text:
        try:
            values = parse_qs(urlsplit(text).query).get("pool_max_conns")
        except ValueError:
            return Unknown("a DSN that does not parse", at)
        value = values[0] if values else None
    else:
        pairs = dict(word.split("=", 1) for word in text.split() if "=" in word)
        value = pairs.get("pool_max_conns")
    if value is None:
        return default
    return Const(int(value), at) if value.isdigit() else Unknown("pool_max_conns is not a "
                                                                 "number", at)
