"""Node applications: knexfiles, node-postgres pools, TypeORM and Sequelize options, Prisma
schemas, read with tree-sitter (JavaScript and TypeScript) and never run.

Which files are read: `knexfile.*`, `ormconfig.*` and `schema.prisma` by name; any other
`.js`/`.cjs`/`.mjs`/`.ts`/`.mts`/`.cts` file (no `.d.ts`, no `.min.js`, no dependencies,
build output or tests) whose first HEAD_BYTES import one of the libraries (`pg`, `knex`,
`typeorm`, `sequelize`, `@prisma/adapter-pg`); and `package.json`, for the libraries an
application depends on. A file over 1 MiB, or minified, is refused with a located message.

What is read: `module.exports = ...` / `export default ...` of a knexfile (one config, or one
per NODE_ENV), `knex({...})`, `new Pool({...})` (`pg`), `new PrismaPg({...})`, `new
DataSource({...})` / `createConnection({...})` (TypeORM), `new Sequelize(..., {...})`. A value
is a number, `process.env.X` with `||` / `??` defaults, `parseInt` / `Number`, arithmetic,
`Math.max` / `Math.min`, `os.cpus().length`, or a top-level `const` bound to one of these;
anything else is Unknown with its line.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from connbudget.comments import Comment, may_suppress
from connbudget.errors import InputError
from connbudget.frontends.apps import defaults
from connbudget.frontends.apps.claims import NODE_LIBRARIES as LIBRARIES
from connbudget.frontends.apps.model import (
    ALWAYS,
    Const,
    Cpu,
    Env,
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
    Variant,
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

NODE_ENV = ("NODE_ENV",)



def read_file(path: str) -> FileResult:
    source = read(path)
    if isinstance(source, InputError):
        return FileResult(path, errors=[source])
    name = os.path.basename(path)
    if name == "package.json":
        return _package_json(source)
    if name == "schema.prisma":
        return _prisma(source)
    return _script(source)


# ---------------------------------------------------------------- package.json

def _package_json(source: Source) -> FileResult:
    result = FileResult(source.file)
    try:
        data = json.loads(source.text)
    except (ValueError, RecursionError):
        result.errors.append(InputError(source.file, 1, "invalid JSON"))
        return result
    if isinstance(data, dict):
        for key in ("dependencies", "devDependencies"):
            block = data.get(key)
            if isinstance(block, dict):
                result.libraries.update(name for name in block if name in LIBRARIES)
    return result


# ---------------------------------------------------------------- Prisma

def _prisma(source: Source) -> FileResult:
    """The `datasource` blocks of a Prisma schema: one field `name = value` per line."""
    result = FileResult(source.file, comments=_line_comments(source, "//"))
    block: tuple[str, int, int] | None = None  # name, 0-based row, column
    fields: dict[str, tuple[str, int, int]] = {}
    for row, line in enumerate(source.lines):
        text = _strip_comment(line).strip()
        words = text.split()
        if block is None and len(words) == 3 and words[0] == "datasource" and words[2] == "{":
            block = (words[1], row, len(line) - len(line.lstrip()))
            fields = {}
        elif block is not None and text == "}":
            pool = _prisma_pool(source, block, fields, row)
            if pool is not None:
                result.pools.append(pool)
            block = None
        elif block is not None and "=" in text:
            key, _, value = text.partition("=")
            column = line.index(value.strip()) if value.strip() else 0
            fields[key.strip()] = (value.strip(), row, column)
    if block is not None:
        result.errors.append(InputError(source.file, block[1] + 1,
                                        f"datasource {block[0]} is not closed"))
    return result


def _strip_comment(line: str) -> str:
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif not quoted and line.startswith("//", position):
            return line[:position]
    return line


def _prisma_pool(source: Source, block: tuple[str, int, int],
                 fields: dict[str, tuple[str, int, int]], end_row: int) -> Pool | None:
    provider = fields.get("provider", ("", 0, 0))[0].strip('"')
    if provider not in ("postgresql", "postgres"):
        return None
    name, row, column = block
    at = source.span(row, column, end_row, 1)
    url = fields.get("url")
    default = defaults.default("prisma", "connection_limit")
    if url is None:  # Prisma ORM 7: the URL and the pool belong to the driver adapter
        return None
    text, url_row, url_column = url
    url_at = source.span(url_row, url_column, url_row, url_column + len(text))
    setting_name = "connection_limit (a parameter of the datasource URL)"
    if text.startswith("env(") and text.endswith(")") and text[4:-1].strip()[:1] == '"':
        variable = text[4:-1].strip().strip('"')
        size: Expr = UrlParam(variable, ("connection_limit",), default, url_at)
        target = Target(None, (variable,), url_at)
    elif text.startswith('"') and text.endswith('"'):
        size = _url_literal(text[1:-1], "connection_limit", default, url_at)
        target = Target(redacted(text[1:-1]), (), url_at)
    else:
        size = Unknown("a datasource url that is neither a string nor env(...)", url_at)
        target = Target(None, (), url_at)
    setting = Setting(setting_name, size, default, url_at)
    return Pool("prisma", name, (setting,), "process", target, source.file, at)


def _url_literal(url: str, param: str, default: Expr, at: Span) -> Expr:
    from urllib.parse import parse_qs, urlsplit

    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return Unknown("a URL that does not parse", at)
    if param not in query:
        return default
    value = query[param][0]
    return Const(int(value), at) if value.isdigit() else Unknown(f"{param} is not a number", at)


def _line_comments(source: Source, opener: str) -> list[Comment]:
    if not may_suppress(source.text):
        return []
    found = []
    for row, line in enumerate(source.lines):
        body = _strip_comment(line)
        if len(body) < len(line) and may_suppress(line[len(body):]):
            found.append(Comment(source.file, row + 1, len(body) + 1, line[len(body):].rstrip()))
    return found


# ---------------------------------------------------------------- JavaScript / TypeScript

def _language(path: str) -> str:
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def _script(source: Source) -> FileResult:
    tree = parser(_language(source.file)).parse(source.data)
    root = tree.root_node
    result = FileResult(source.file, comments=tree_comments(source, root))
    error = first_error(source, root)
    if error is not None:
        result.errors.append(error)
    script = _Script(source, root)
    result.pools.extend(script.pools())
    return result


def _strip(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    """An expression without parentheses and TypeScript `as` / `satisfies` / `!`."""
    while node is not None and node.type in ("parenthesized_expression", "as_expression",
                                              "satisfies_expression", "non_null_expression"):
        node = node.named_children[0] if node.named_children else None
    return node


class _Script:
    def __init__(self, source: Source, root: tree_sitter.Node) -> None:
        self.source = source
        self.root = root
        self.names: dict[str, tree_sitter.Node] = {}
        for node in root.named_children:
            declaration = node.named_children[0] if node.type == "export_statement" \
                and node.named_children else node
            if declaration.type in ("lexical_declaration", "variable_declaration"):
                for declarator in declaration.named_children:
                    name = declarator.child_by_field_name("name")
                    value = declarator.child_by_field_name("value")
                    if name is not None and value is not None and name.type == "identifier":
                        self.names[self.text(name)] = value

    def text(self, node: tree_sitter.Node) -> str:
        return self.source.text_of(node)

    def span(self, node: tree_sitter.Node) -> Span:
        return self.source.node_span(node)

    def resolve(self, node: tree_sitter.Node | None, depth: int = 0) -> tree_sitter.Node | None:
        node = _strip(node)
        while node is not None and node.type == "identifier" and depth < 20 \
                and self.text(node) in self.names:
            node = _strip(self.names[self.text(node)])
            depth += 1
        return node

    # -------------------------------------------------------------- expressions

    def expr(self, node: tree_sitter.Node, depth: int = 0) -> Expr:
        at = self.span(node)
        inner = _strip(node)
        if inner is None or depth > 20:
            return Unknown("an expression that cannot be evaluated statically", at)
        node = inner
        kind = node.type
        if kind == "number":
            text = self.text(node).replace("_", "")
            return Const(int(text), at) if text.isdigit() else Unknown("not a whole number", at)
        if kind == "string":
            text = self.text(node)[1:-1]
            return Const(int(text), at) if text.isdigit() else Unknown("a string", at)
        if kind == "identifier":
            if self.text(node) in self.names:
                return self.expr(self.names[self.text(node)], depth + 1)
            return Unknown("a name not set at the top of this file", at)
        env = self._env(node)
        if env is not None:
            return Env(env, None, at)
        if kind == "binary_expression":
            return self._binary(node, at, depth)
        if kind == "unary_expression" and self.text(node).startswith("+"):
            argument = node.child_by_field_name("argument")
            return self.expr(argument, depth + 1) if argument is not None else \
                Unknown("an incomplete expression", at)
        if kind == "call_expression":
            return self._call(node, at, depth)
        if kind == "member_expression" and self.text(node).replace(" ", "") in (
                "os.cpus().length", "require('os').cpus().length",
                'require("os").cpus().length'):
            return Cpu(False, at)
        return Unknown("JavaScript that cannot be evaluated statically", at)

    def _env(self, node: tree_sitter.Node) -> str | None:
        """X of `process.env.X` / `process.env["X"]`."""
        if node.type == "member_expression":
            owner, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
            if owner is not None and prop is not None and self.text(owner) == "process.env":
                return self.text(prop)
        if node.type == "subscript_expression":
            owner, index = node.child_by_field_name("object"), node.child_by_field_name("index")
            if owner is not None and index is not None and self.text(owner) == "process.env" \
                    and index.type == "string":
                return self.text(index)[1:-1]
        return None

    def _binary(self, node: tree_sitter.Node, at: Span, depth: int) -> Expr:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        operator = node.child_by_field_name("operator")
        op = self.text(operator) if operator is not None else ""
        if left is None or right is None:
            return Unknown("an incomplete expression", at)
        lhs, rhs = self.expr(left, depth + 1), self.expr(right, depth + 1)
        if op in ("||", "??"):
            if isinstance(lhs, Env) and lhs.default is None:
                return Env(lhs.name, rhs, at, op == "||")
            return Unknown(f"`{op}` whose left side is not process.env", at)
        if op in ("+", "-", "*"):
            return Op(op, (lhs, rhs), at)  # type: ignore[arg-type]
        return Unknown("an operator that cannot be evaluated statically", at)

    def _call(self, node: tree_sitter.Node, at: Span, depth: int) -> Expr:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args = [child for child in arguments.named_children if child.type != "comment"] \
            if arguments is not None else []
        name = self.text(function) if function is not None else ""
        if name in ("parseInt", "Number", "Number.parseInt", "parseFloat", "Math.floor",
                    "Math.trunc", "Math.round") and args:
            return self.expr(args[0], depth + 1)
        if name in ("Math.max", "Math.min") and args:
            return Op(name[5:], tuple(self.expr(arg, depth + 1) for arg in args), at)  # type: ignore[arg-type]
        if name in ("os.availableParallelism",):
            return Cpu(False, at)
        return Unknown("a JavaScript call that cannot be evaluated statically", at)

    def target(self, node: tree_sitter.Node | None) -> Target:
        node = self.resolve(node)
        if node is None:
            return Target(None)
        at = self.span(node)
        env = self._env(node)
        if env is not None:
            return Target(None, (env,), at)
        if node.type == "string":
            return Target(redacted(self.text(node)[1:-1]), (), at)
        if node.type == "template_string":
            names = [name for sub in node.named_children if sub.type == "template_substitution"
                     for child in sub.named_children for name in [self._env(child)] if name]
            return Target(None, tuple(names), at)
        if node.type == "binary_expression":
            left = node.child_by_field_name("left")
            found = self._env(_strip(left)) if left is not None else None  # type: ignore[arg-type]
            if found is not None:
                return Target(None, (found,), at)
        return Target(None, (), at)

    # -------------------------------------------------------------- objects

    def props(self, node: tree_sitter.Node | None) -> dict[str, tree_sitter.Node]:
        """The `pair`s of an object literal by key (shorthand properties resolve to their
        top-level binding)."""
        found: dict[str, tree_sitter.Node] = {}
        node = self.resolve(node)
        if node is None or node.type != "object":
            return found
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                if key is not None:
                    text = self.text(key)
                    found[text.strip("'\"")] = child
            elif child.type == "shorthand_property_identifier":
                found[self.text(child)] = child
        return found

    def value(self, pair: tree_sitter.Node) -> tree_sitter.Node:
        return pair.child_by_field_name("value") or pair

    def insert_into(self, node: tree_sitter.Node | None, text: str) -> Insert | None:
        """After the last property of an object literal: `, text`."""
        node = self.resolve(node)
        if node is None or node.type != "object":
            return None
        members = [child for child in node.named_children if child.type != "comment"]
        if members:
            end = self.span(members[-1])
            return Insert(self.source.file, end.end_line, end.end_column, ", " + text)
        at = self.span(node)
        return Insert(self.source.file, at.line, at.column + 1, " " + text + " ")

    def setting(self, name: str, owner: tree_sitter.Node | None, key: str, library: str,
                setting: str, insert_text: str | None = None) -> Setting:
        pair = self.props(owner).get(key)
        default = defaults.default(library, setting)
        if pair is None:
            insert = self.insert_into(owner, insert_text or f"{key}: {{value}}")
            return Setting(name, None, default, None, insert)
        value = self.value(pair)
        return Setting(name, self.expr(value), default, self.span(value))

    # -------------------------------------------------------------- pools

    def pools(self) -> list[Pool]:
        found: list[Pool] = []
        exported = self._exported()
        if exported is not None and os.path.basename(self.source.file).startswith("knexfile."):
            found.extend(self._knexfile(exported))
        elif exported is not None and os.path.basename(self.source.file).startswith("ormconfig."):
            pool = self._typeorm(exported, "ormconfig", self.span(exported))
            found.extend([pool] if pool is not None else [])
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.type in ("new_expression", "call_expression"):
                pool = self._constructed(node)
                if pool is not None:
                    found.append(pool)
            stack.extend(reversed(node.named_children))
        return found

    def _exported(self) -> tree_sitter.Node | None:
        for node in self.root.named_children:
            if node.type == "expression_statement" and node.named_children:
                assignment = node.named_children[0]
                left = assignment.child_by_field_name("left")
                if assignment.type == "assignment_expression" and left is not None \
                        and self.text(left) == "module.exports":
                    return self.resolve(assignment.child_by_field_name("right"))
            if node.type == "export_statement" and self.text(node).startswith("export default"):
                value = node.child_by_field_name("value") or (
                    node.named_children[-1] if node.named_children else None)
                return self.resolve(value)
        return None

    def _knexfile(self, exported: tree_sitter.Node) -> list[Pool]:
        props = self.props(exported)
        if "client" in props or "connection" in props:
            return [self._knex(exported, "knexfile", ALWAYS)]
        pools = []
        for environment, pair in props.items():
            config = self.resolve(self.value(pair))
            if config is not None and config.type == "object":
                pools.append(self._knex(config, environment,
                                        Variant(NODE_ENV, environment, "development")))
        return pools

    def _knex(self, config: tree_sitter.Node, name: str, variant: Variant) -> Pool:
        props = self.props(config)
        client = props.get("client")
        pool_pair = props.get("pool")
        if pool_pair is None:
            setting = Setting("pool.max", None, defaults.default("knex", "pool.max"), None,
                              self.insert_into(config, "pool: { max: {value} }"))
        else:
            setting = self.setting("pool.max", self.value(pool_pair), "max", "knex", "pool.max")
        connection = props.get("connection")
        target = self._connection_target(self.value(connection)) if connection else Target(None)
        library = "knex"
        if client is not None and self.resolve(self.value(client)) is not None:
            client_text = self.text(self.value(client)).strip("'\"")
            if client_text not in ("pg", "postgres", "postgresql", "pgnative", "pg-native") \
                    and self.value(client).type == "string":
                library = f"knex ({client_text})"
        return Pool(library, name, (setting,), "process", target, self.source.file,
                    self.span(config), variant)

    def _connection_target(self, node: tree_sitter.Node) -> Target:
        props = self.props(node)
        if props:
            for key in ("connectionString", "host"):
                if key in props:
                    return self.target(self.value(props[key]))
            return Target(None, ("PGHOST",), self.span(node))
        return self.target(node)

    def _constructed(self, node: tree_sitter.Node) -> Pool | None:
        field = "constructor" if node.type == "new_expression" else "function"
        callee = node.child_by_field_name(field)
        arguments = node.child_by_field_name("arguments")
        if callee is None or arguments is None:
            return None
        name = self.text(callee).split(".")[-1]
        args = [child for child in arguments.named_children if child.type != "comment"]
        at = self.span(node)
        if name == "Pool" and node.type == "new_expression" and args:
            options = args[0]
            return self._pg_pool(options, "Pool", at)
        if name == "PrismaPg" and node.type == "new_expression" and args:
            return self._pg_pool(args[0], "PrismaPg", at)
        if name in ("knex", "Knex") and args and "client" in self.props(args[0]):
            return self._knex(self.resolve(args[0]) or args[0], "knex", ALWAYS)
        if name in ("DataSource", "createConnection") and args:
            return self._typeorm(args[0], name, at)
        if name == "Sequelize" and node.type == "new_expression":
            return self._sequelize(args, at)
        return None

    def _pg_pool(self, options: tree_sitter.Node, name: str, at: Span) -> Pool:
        props = self.props(options)
        key = "max" if "max" in props or "poolSize" not in props else "poolSize"
        setting = self.setting("max", options, key, "node-postgres", "max")
        target = self._connection_target(options)
        return Pool("node-postgres", name, (setting,), "process", target, self.source.file, at)

    def _typeorm(self, options: tree_sitter.Node, name: str, at: Span) -> Pool | None:
        props = self.props(options)
        kind = props.get("type")
        if kind is not None and self.text(self.value(kind)).strip("'\"") not in (
                "postgres", "cockroachdb"):
            return None
        extra = props.get("extra")
        if extra is not None and "max" in self.props(self.value(extra)):
            setting = self.setting("extra.max", self.value(extra), "max", "typeorm", "poolSize")
        else:
            setting = self.setting("poolSize", options, "poolSize", "typeorm", "poolSize")
        url = props.get("url")
        host = props.get("host")
        chosen = url or host
        target = self.target(self.value(chosen)) if chosen is not None else Target(None)
        return Pool("typeorm", name, (setting,), "process", target, self.source.file, at)

    def _sequelize(self, args: list[tree_sitter.Node], at: Span) -> Pool | None:
        options = next((arg for arg in reversed(args)
                        if (self.resolve(arg) or arg).type == "object"), None)
        props = self.props(options)
        dialect = props.get("dialect")
        if dialect is not None and self.text(self.value(dialect)).strip("'\"") not in (
                "postgres", "postgresql"):
            return None
        pool = props.get("pool")
        if pool is None:
            setting = Setting("pool.max", None, defaults.default("sequelize", "pool.max"), None,
                              self.insert_into(options, "pool: { max: {value} }"))
        else:
            setting = self.setting("pool.max", self.value(pool), "max", "sequelize", "pool.max")
        first = args[0] if args else None
        target = self.target(first) if first is not None and (
            self.resolve(first) or first).type != "object" else (
            self.target(self.value(props["host"])) if "host" in props else Target(None))
        return Pool("sequelize", "Sequelize", (setting,), "process", target, self.source.file,
                    at)
