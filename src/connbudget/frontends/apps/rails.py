"""Rails: `config/database.yml`, `config/puma.rb` (and `config/puma/<env>.rb`) and
`config/sidekiq.yml`.

database.yml and sidekiq.yml are ERB templates of YAML. Each ERB tag is replaced by a
placeholder of the same length (so YAML positions stay true), the YAML is read with spans, and
the Ruby inside an output tag is parsed with tree-sitter-ruby: `ENV.fetch("X") { 5 }`,
`ENV.fetch("X", 5)`, `ENV["X"] || 5`, `.to_i`, `Integer(...)`, arithmetic and
`Etc.nprocessors` become expressions; any other Ruby is Unknown with its line. A code tag
(`<% if ... %>`) can change the YAML around it at run time, so every size in that file is
Unknown.

A Rails process opens one pool per database config, its size `max_connections` (Rails 8.1)
or `pool`; DATABASE_URL's `pool` / `max_connections` parameters override the primary
database's. The environment section that applies is RAILS_ENV, else RACK_ENV; a deployed
unit that sets neither is taken to run production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connbudget.comments import Comment, may_suppress
from connbudget.errors import InputError
from connbudget.frontends.apps import defaults
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
    Server,
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
from connbudget.frontends.apps.yamlspans import YEntry, YMap, YNode, YScalar, get, load

if TYPE_CHECKING:
    import tree_sitter

RAILS_ENV = Variant(("RAILS_ENV", "RACK_ENV"), None, "production")
SIDEKIQ_ENV = ("APP_ENV", "RAILS_ENV", "RACK_ENV")  # sidekiq/cli.rb set_environment
_NOT_POSTGRES = ("mysql", "sqlite", "trilogy", "oracle", "sqlserver")
_DB_KEYS = ("adapter", "database", "url", "host", "pool", "max_connections", "username")



def read_file(path: str) -> FileResult:
    source = read(path)
    if isinstance(source, InputError):
        return FileResult(path, errors=[source])
    name = os.path.basename(path)
    if name == "database.yml":
        return _database_yml(source)
    if name.startswith("sidekiq.yml"):
        return _sidekiq_yml(source)
    return _puma(source)


# ---------------------------------------------------------------- Ruby expressions

class Ruby:
    """Ruby expressions of one file as connbudget expressions."""

    def __init__(self, source: Source, local: dict[str, Expr] | None = None) -> None:
        self.source = source
        self.local = local if local is not None else {}

    def expr(self, node: tree_sitter.Node) -> Expr:
        at = self.source.node_span(node)
        kind = node.type
        if kind == "integer":
            text = self.source.text_of(node).replace("_", "")
            return Const(int(text), at) if text.isdigit() else Unknown("not a decimal integer", at)
        if kind == "string":
            text = self.source.text_of(node)[1:-1]
            return Const(int(text), at) if text.isdigit() else Unknown("a string", at)
        if kind in ("parenthesized_statements", "block_body", "begin_block"):
            named = [child for child in node.named_children if child.type != "comment"]
            return self.expr(named[-1]) if len(named) == 1 else Unknown("several statements", at)
        if kind == "identifier":
            name = self.source.text_of(node)
            if name in self.local:
                return self.local[name]
            return Unknown("a Ruby variable or method not set in this file", at)
        if kind == "element_reference":
            return self._env_index(node, at)
        if kind == "binary":
            return self._binary(node, at)
        if kind == "call":
            return self._call(node, at)
        return Unknown("a Ruby expression that cannot be evaluated statically", at)

    def _env_name(self, node: tree_sitter.Node | None) -> str | None:
        if node is None or node.type != "string":
            return None
        parts = node.named_children
        if len(parts) == 1 and parts[0].type == "string_content":
            return self.source.text_of(parts[0])
        return None

    def _env_index(self, node: tree_sitter.Node, at: Span) -> Expr:
        receiver = node.child_by_field_name("object")
        args = [child for child in node.named_children if child != receiver]
        name = self._env_name(args[0]) if len(args) == 1 else None
        if receiver is not None and self.source.text_of(receiver) == "ENV" and name:
            return Env(name, None, at)
        return Unknown("an index that is not ENV[\"NAME\"]", at)

    def _binary(self, node: tree_sitter.Node, at: Span) -> Expr:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        operator = node.child_by_field_name("operator")
        op = self.source.text_of(operator) if operator is not None else ""
        if left is None or right is None:
            return Unknown("an incomplete expression", at)
        lhs, rhs = self.expr(left), self.expr(right)
        if op in ("||", "or"):
            if isinstance(lhs, Env) and lhs.default is None:
                return Env(lhs.name, rhs, at)
            return Unknown("`||` whose left side is not ENV[\"NAME\"]", at)
        arithmetic = {"+": "+", "-": "-", "*": "*", "/": "//"}
        if op in arithmetic:
            return Op(arithmetic[op], (lhs, rhs), at)  # type: ignore[arg-type]
        return Unknown(f"the operator {op}" if len(op) <= 3 else "an operator", at)

    def _call(self, node: tree_sitter.Node, at: Span) -> Expr:
        receiver = node.child_by_field_name("receiver")
        method_node = node.child_by_field_name("method")
        method = self.source.text_of(method_node) if method_node is not None else ""
        arguments = node.child_by_field_name("arguments")
        args = [child for child in arguments.named_children if child.type != "comment"] \
            if arguments is not None else []
        block = node.child_by_field_name("block")
        owner = self.source.text_of(receiver) if receiver is not None else ""
        if owner == "ENV" and method == "fetch" and args:
            name = self._env_name(args[0])
            if name is None:
                return Unknown("ENV.fetch of a name that is not a string literal", at)
            default: Expr | None = self.expr(args[1]) if len(args) > 1 else None
            if block is not None:
                body = block.child_by_field_name("body")
                default = self.expr(body) if body is not None else Unknown("an empty block", at)
            return Env(name, default, at)
        if receiver is not None and method in ("to_i", "to_int") and not args:
            return self.expr(receiver)
        if receiver is None and method == "Integer" and len(args) == 1:
            return self.expr(args[0])
        if (owner, method) in (("Etc", "nprocessors"), ("Concurrent", "processor_count"),
                               ("Concurrent", "available_processor_count")):
            return Cpu(False, at)
        if (owner, method) == ("Concurrent", "physical_processor_count"):
            return Cpu(True, at)
        if receiver is not None and receiver.type == "array" and method in ("max", "min"):
            items = tuple(self.expr(item) for item in receiver.named_children)
            return Op(method, items, at) if items else Unknown("an empty array", at)  # type: ignore[arg-type]
        return Unknown("a Ruby method call that cannot be evaluated statically", at)


def _parse_ruby(source: Source) -> tuple[tree_sitter.Node, InputError | None]:
    tree = parser("ruby").parse(source.data)
    return tree.root_node, first_error(source, tree.root_node)


# ---------------------------------------------------------------- ERB + YAML

@dataclass(frozen=True)
class _Tag:
    start: int  # offsets into the text
    end: int
    code: str
    code_start: int
    output: bool


class _Erb:
    """The ERB tags of a YAML template, the YAML with placeholders, and Ruby for the tags."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.tags: list[_Tag] = []
        self.errors: list[InputError] = []
        self.code_line = 0  # the first code tag (<% %>), which makes sizes unknown
        self.yaml = self._blank()
        self._exprs: dict[int, Expr] = {}

    def _blank(self) -> str:
        text = self.source.text
        out: list[str] = []
        position = 0
        while True:
            start = text.find("<%", position)
            if start < 0:
                break
            if text.startswith("<%%", start):
                out.append(text[position:start + 3])
                position = start + 3
                continue
            end = text.find("%>", start + 2)
            if end < 0:
                line = text.count("\n", 0, start) + 1
                self.errors.append(InputError(self.source.file, line, "ERB tag not closed"))
                break
            end += 2
            out.append(text[position:start])
            body_start = start + 2
            marker = text[body_start:body_start + 1]
            if marker in ("=", "-", "#"):
                body_start += 1
            code_end = end - 3 if text[end - 3] == "-" and end - 3 >= body_start else end - 2
            tag = _Tag(start, end, text[body_start:code_end], body_start, marker == "=")
            if marker != "#":
                self.tags.append(tag)
                if not tag.output and not self.code_line:
                    self.code_line = text.count("\n", 0, start) + 1
            out.append(self._placeholder(tag, len(self.tags) - 1, text[start:end]))
            position = end
        out.append(text[position:])
        return "".join(out)

    @staticmethod
    def _placeholder(tag: _Tag, index: int, original: str) -> str:
        if not tag.output:
            return "".join(char if char == "\n" else " " for char in original)
        mark = f"Q{index}Q"
        lines = original.count("\n")
        return mark.ljust(len(original) - lines, "_") + "\n" * lines

    def tags_in(self, span: Span) -> list[tuple[int, _Tag]]:
        lines = self.source.lines
        start = sum(len(line) + 1 for line in lines[:span.line - 1]) + span.column - 1
        end = sum(len(line) + 1 for line in lines[:span.end_line - 1]) + span.end_column - 1
        return [(index, tag) for index, tag in enumerate(self.tags)
                if tag.output and start <= tag.start < end]

    def expr_of(self, index: int) -> Expr:
        if index not in self._exprs:
            self._exprs[index] = self._ruby(self.tags[index])
        return self._exprs[index]

    def _ruby(self, tag: _Tag) -> Expr:
        # parse the tag's code alone, padded so that tree-sitter's rows and columns are the
        # file's own
        text = self.source.text
        line_start = text.rfind("\n", 0, tag.code_start) + 1
        prefix_lines = text.count("\n", 0, tag.code_start)
        padded = "\n" * prefix_lines + " " * (tag.code_start - line_start) + tag.code
        tree = parser("ruby").parse(padded.encode("utf-8"))
        at = self._tag_span(tag)
        if tree.root_node.has_error:
            return Unknown("ERB Ruby that does not parse", at)
        statements = [child for child in tree.root_node.named_children if child.type != "comment"]
        if len(statements) != 1:
            return Unknown("ERB output that is not one Ruby expression", at)
        return Ruby(Source(self.source.file, padded)).expr(statements[0])

    def _tag_span(self, tag: _Tag) -> Span:
        text = self.source.text
        line = text.count("\n", 0, tag.start)
        column = tag.start - (text.rfind("\n", 0, tag.start) + 1)
        end_line = text.count("\n", 0, tag.end)
        end_column = tag.end - (text.rfind("\n", 0, tag.end) + 1)
        return self.source.span(line, column, end_line, end_column)


def _scalar_expr(erb: _Erb, node: YNode, what: str) -> Expr:
    """The number a YAML value stands for."""
    if not isinstance(node, YScalar):
        return Unknown(f"{what} is not a single value", node.span)
    if erb.code_line:
        return Unknown(f"ERB code at line {erb.code_line} decides this file at run time",
                       node.span)
    tags = erb.tags_in(node.span)
    if len(tags) == 1 and node.value.rstrip("_") == f"Q{tags[0][0]}Q":
        return erb.expr_of(tags[0][0])
    if tags:
        return Unknown(f"{what} mixes ERB output with text", node.span)
    text = node.value.strip()
    if text.isdigit():
        return Const(int(text), node.span)
    return Unknown(f"{what} is not a number", node.span)


def _target_text(erb: _Erb, node: YNode) -> Target:
    """A host or URL as written, each ERB output tag shown as `${NAME}` of the variable it
    reads (`${ruby}` for other Ruby)."""
    if not isinstance(node, YScalar):
        return Target(None, (), node.span)
    if not erb.tags_in(node.span):
        return Target(redacted(node.value), (), node.span)
    lines, span = erb.source.lines, node.span
    start = sum(len(line) + 1 for line in lines[:span.line - 1]) + span.column - 1
    end = sum(len(line) + 1 for line in lines[:span.end_line - 1]) + span.end_column - 1
    pieces: list[str] = []
    names: list[str] = []
    position = start
    for index, tag in erb.tags_in(span):
        expr = erb.expr_of(index)
        name = expr.name if isinstance(expr, Env) else None
        names += [name] if name else []
        pieces += [erb.source.text[position:tag.start], "${" + (name or "ruby") + "}"]
        position = tag.end
    pieces.append(erb.source.text[position:end])
    text = "".join(pieces)
    if not node.plain and text[:1] in "'\"":
        text = text[1:-1]
    return Target(redacted(text), tuple(names), span)


def _load_erb_yaml(source: Source) -> tuple[_Erb, list[YNode], list[InputError]]:
    erb = _Erb(source)
    documents, errors = load(erb.yaml, source.file)
    return erb, documents, [*erb.errors, *errors]


def _yaml_comments(source: Source) -> list[Comment]:
    if not may_suppress(source.text):
        return []
    from connbudget.frontends.kubernetes.comments import comments

    return comments(source.file, source.text)


# ---------------------------------------------------------------- database.yml

def _database_yml(source: Source) -> FileResult:
    result = FileResult(source.file, comments=_yaml_comments(source))
    erb, documents, errors = _load_erb_yaml(source)
    result.errors.extend(errors)
    root = documents[0] if documents else None
    if not isinstance(root, YMap):
        if not errors:
            result.errors.append(InputError(source.file, 1, "database.yml is not a mapping of "
                                                            "environments"))
        return result
    for environment, entry in root.entries.items():
        if not isinstance(entry.value, YMap) or entry.merged_from:
            continue
        variant = Variant(RAILS_ENV.selectors, environment, RAILS_ENV.fallback)
        for name, config, primary in _configs(entry):
            pool = _pool(erb, source, name, config, primary, variant)
            if pool is not None:
                result.pools.append(pool)
    return result


def _configs(entry: YEntry) -> list[tuple[str, YEntry, bool]]:
    """(name, config entry, is primary) of one environment: two-tier or three-tier."""
    config = entry.value
    assert isinstance(config, YMap)
    if any(key in config.entries for key in _DB_KEYS) or not config.entries:
        return [("primary", entry, True)]
    found = [(name, item, index == 0 or name == "primary")
             for index, (name, item) in enumerate(config.entries.items())
             if isinstance(item.value, YMap)]
    if any(name == "primary" for name, _, _ in found):
        found = [(name, item, name == "primary") for name, item, _ in found]
    return found


def _pool(erb: _Erb, source: Source, name: str, entry: YEntry, primary: bool,
          variant: Variant) -> Pool | None:
    config = entry.value
    assert isinstance(config, YMap)
    adapter = get(config, "adapter")
    if adapter is not None and isinstance(adapter.value, YScalar) \
            and any(word in adapter.value.value for word in _NOT_POSTGRES):
        return None
    key = "max_connections" if "max_connections" in config.entries else "pool"
    found = config.entries.get(key)
    value = _scalar_expr(erb, found.value, key) if found is not None else None
    default = defaults.default("activerecord", "max_connections")
    insert = None
    if found is None and config.span.line >= entry.key_span.line and not config.flow:
        indent = " " * max(config.key_column - 1, 0)
        insert = Insert(source.file, config.last_line + 1, 1, f"{indent}pool: {{value}}\n")
    if primary:  # Rails merges DATABASE_URL into the primary config; its parameters win
        value = UrlParam("DATABASE_URL", ("max_connections", "pool"), value or default,
                         found.value.span if found is not None else None)
    setting = Setting(key, value, default, found.value.span if found is not None else None,
                      insert, None, found.merged_from if found is not None else None)
    url, host = get(config, "url"), get(config, "host")
    written = url or host
    target = _target_text(erb, written.value) if written is not None else Target(None)
    if primary:
        target = Target(target.text, (*target.env, "DATABASE_URL"), target.at)
    return Pool("activerecord", name, (setting,), "process", target, source.file,
                entry.key_span, variant)


# ---------------------------------------------------------------- sidekiq.yml

def _sidekiq_yml(source: Source) -> FileResult:
    result = FileResult(source.file, comments=_yaml_comments(source))
    erb, documents, errors = _load_erb_yaml(source)
    result.errors.extend(errors)
    root = documents[0] if documents else None
    if not isinstance(root, YMap):
        return result
    top = _concurrency_entry(root)
    result.servers.append(_sidekiq_server(erb, source, root, top, ALWAYS))
    for environment, entry in root.entries.items():
        if isinstance(entry.value, YMap) and not environment.startswith(":"):
            own = _concurrency_entry(entry.value)
            if own is not None:
                variant = Variant(SIDEKIQ_ENV, environment, "development")
                result.servers.append(_sidekiq_server(erb, source, entry.value, own, variant))
    return result


def _concurrency_entry(node: YMap) -> YEntry | None:
    return node.entries.get(":concurrency") or node.entries.get("concurrency")


def _sidekiq_server(erb: _Erb, source: Source, node: YMap, entry: YEntry | None,
                    variant: Variant) -> Server:
    value = _scalar_expr(erb, entry.value, "concurrency") if entry is not None else None
    insert = None if entry is not None else Insert(
        source.file, node.last_line + 1 if node.last_line else 1, 1,
        " " * max(node.key_column - 1, 0) + ":concurrency: {value}\n")
    threads = Setting(":concurrency", value, defaults.default("sidekiq", "concurrency"),
                      entry.value.span if entry is not None else None, insert)
    return Server("sidekiq", one_process("sidekiq"), threads, None, source.file,
                  entry.key_span if entry is not None else node.span, variant)


def one_process(kind: str) -> Setting:
    """A server that runs one process: a fact of the server, not a default of a setting."""
    one = Const(1, None, f"one {kind} process per command")
    return Setting("processes", one, one)


# ---------------------------------------------------------------- puma.rb

def _puma(source: Source) -> FileResult:
    root, error = _parse_ruby(source)
    result = FileResult(source.file, comments=tree_comments(source, root))
    if error is not None:
        result.errors.append(error)
    ruby = Ruby(source)
    found: dict[str, tuple[Expr, Span]] = {}
    for statement, condition in _statements(root):
        _puma_statement(ruby, statement, condition, found)
    end = source.end_line()
    workers = found.get("workers")
    threads = found.get("threads")
    processes = Setting("workers", workers[0] if workers else None,
                        defaults.default("puma", "workers"), workers[1] if workers else None,
                        None if workers else Insert(source.file, end, 1, "workers {value}\n"))
    thread_setting = Setting(
        "threads", threads[0] if threads else None, defaults.default("puma", "threads"),
        threads[1] if threads else None,
        None if threads else Insert(source.file, end, 1, "threads {value}, {value}\n"))
    at = source.span(0, 0, 0, 0)
    result.servers.append(Server("puma", processes, thread_setting, None, source.file, at))
    return result


def _statements(root: tree_sitter.Node) -> list[tuple[tree_sitter.Node, int]]:
    """Top-level statements, and those inside if/unless with the condition's line (0 when
    unconditional)."""
    found: list[tuple[tree_sitter.Node, int]] = []
    for child in root.named_children:
        if child.type in ("if", "unless", "if_modifier", "unless_modifier"):
            line = child.start_point[0] + 1
            for inner in _conditional_body(child):
                found.append((inner, line))
        else:
            found.append((child, 0))
    return found


def _conditional_body(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    if node.type.endswith("_modifier"):
        body = node.child_by_field_name("body")
        return [body] if body is not None else []
    found: list[tree_sitter.Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        for child in current.named_children:
            if child.type in ("then", "else", "elsif"):
                stack.append(child)
            elif current.type in ("then", "else") and child.type != "comment":
                found.append(child)
    return found


def _puma_statement(ruby: Ruby, node: tree_sitter.Node, condition: int,
                    found: dict[str, tuple[Expr, Span]]) -> None:
    source = ruby.source
    if node.type == "assignment":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None and right is not None and left.type == "identifier":
            value = ruby.expr(right)
            if condition:
                value = Unknown(f"set inside a condition at line {condition}",
                                source.node_span(right))
            ruby.local[source.text_of(left)] = value
        return
    if node.type not in ("call", "identifier"):
        return
    method_node = node.child_by_field_name("method") if node.type == "call" else node
    method = source.text_of(method_node) if method_node is not None else ""
    if node.type == "call" and node.child_by_field_name("receiver") is not None:
        return
    if method not in ("workers", "threads"):
        return
    arguments = node.child_by_field_name("arguments")
    args = [child for child in arguments.named_children if child.type != "comment"] \
        if arguments is not None else []
    if not args:
        return
    value_node = args[-1]
    value = ruby.expr(value_node)
    # a variable's value is edited where the variable is set
    at = value.at if value_node.type == "identifier" and value.at else \
        source.node_span(value_node)
    if method == "workers" and value_node.type == "simple_symbol" \
            and source.text_of(value_node) == ":auto":
        value = Cpu(False, at)
    if condition:
        value = Unknown(f"set inside a condition at line {condition}", at)
    found[method] = (value, at)
