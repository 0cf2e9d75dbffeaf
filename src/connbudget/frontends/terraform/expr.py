"""HCL expressions and string templates into small tuple trees.

Every node is a tuple whose first item is its kind and whose last item is its source text
(so an unknown value can say exactly which expression it came from):

    ("lit", value, text)                 ("name", identifier, text)
    ("tmpl", parts, text)                parts: str | node | ("if", cond, then, else)
                                                | ("for", key, value, collection, body)
    ("attr", obj, name, text)            ("index", obj, key_node, text)
    ("splat", obj, ops, text)            ops: ("attr", name) | ("index", node), per element
    ("call", name, args, expand, text)   ("unary", op, x, text)
    ("binary", op, a, b, text)           ("cond", c, a, b, text)
    ("tuple", items, text)               ("object", [(key_node, value_node)], text)
    ("for", key, value, collection, key_expr, value_expr, cond, group, text)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Node = tuple[Any, ...]


class ExprSyntaxError(ValueError):
    pass


class TooLarge(ExprSyntaxError):
    """Input past a limit (a number with too many digits): reported, not only unknown."""


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_BINARY = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))
_PRECEDENCE = {op: level for level, ops in enumerate(_BINARY) for op in ops}


def _scan_string(src: str, start: int) -> int:
    """Index just past the closing quote of the string whose opening quote is at `start`."""
    i = start + 1
    while i < len(src):
        char = src[i]
        if char == "\\":
            i += 2
        elif char == '"':
            return i + 1
        elif src.startswith("${", i) or src.startswith("%{", i):
            if src.startswith("$${", i - 1) or src.startswith("%%{", i - 1):
                i += 2
            else:
                i = _scan_braces(src, i + 1)
        else:
            i += 1
    raise ExprSyntaxError("unterminated string")


def _scan_braces(src: str, start: int) -> int:
    """Index just past the `}` matching the `{` at `start`, skipping nested strings."""
    depth = 0
    i = start
    while i < len(src):
        char = src[i]
        if char == '"':
            i = _scan_string(src, i)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ExprSyntaxError("unterminated interpolation")


_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")


def _heredoc(src: str, start: int) -> tuple[str, int] | None:
    """The template text of the heredoc starting at `start` and the index after it."""
    head = _HEREDOC.match(src, start)
    if head is None:
        return None
    marker = head.group(2)
    lines: list[str] = []
    pos = head.end()
    while pos <= len(src):
        end = src.find("\n", pos)
        line = src[pos:] if end == -1 else src[pos:end]
        if line.strip() == marker:
            if head.group(1):
                indents = [len(x) - len(x.lstrip()) for x in lines if x.strip()]
                cut = min(indents, default=0)
                lines = [x[cut:] for x in lines]
            return "".join(x + "\n" for x in lines), (len(src) if end == -1 else end)
        lines.append(line.rstrip("\r"))
        if end == -1:
            break
        pos = end + 1
    raise ExprSyntaxError("unterminated heredoc")


def _skip_comment(src: str, i: int) -> int:
    """Index after the comment at `i`, or `i` when there is none."""
    if src.startswith("#", i) or src.startswith("//", i):
        end = src.find("\n", i)
        return len(src) if end == -1 else end
    if src.startswith("/*", i):
        end = src.find("*/", i + 2)
        if end == -1:
            raise ExprSyntaxError("unterminated comment")
        return end + 2
    return i


_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_-]*(?:::[A-Za-z_][A-Za-z0-9_-]*)*)"
    r"|(?P<p>\.\.\.|=>|==|!=|<=|>=|&&|\|\||[()\[\]{},.:?<>!+\-*/%=])")


def _tokens(src: str) -> list[tuple[str, Any, int, int]]:
    tokens: list[tuple[str, Any, int, int]] = []
    i = 0
    while i < len(src):
        char = src[i]
        if char == '"':
            end = _scan_string(src, i)
            tokens.append(("str", src[i + 1:end - 1], i, end))
            i = end
            continue
        if char in "#/":
            after = _skip_comment(src, i)
            if after != i:
                i = after
                continue
        if char == "<":
            heredoc = _heredoc(src, i) if src.startswith("<<", i) else None
            if heredoc is not None:
                tokens.append(("heredoc", heredoc[0], i, heredoc[1]))
                i = heredoc[1]
                continue
        match = _TOKEN.match(src, i)
        if match is None:
            raise ExprSyntaxError(f"unexpected character at offset {i}")
        kind = match.lastgroup
        text = match.group()
        if kind == "num":
            if len(text) > 40:  # no setting needs more digits; int() of 5,000 would refuse
                raise TooLarge("a number with more digits than any setting needs")
            value: Any = float(text) if ("." in text or "e" in text.lower()) else int(text)
            tokens.append(("num", value, i, match.end()))
        elif kind != "ws":
            tokens.append((str(kind), text, i, match.end()))
        i = match.end()
    return tokens


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _tokens(src)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, Any, int, int] | None:
        index = self.pos + offset
        return self.toks[index] if index < len(self.toks) else None

    def at(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok[0] == "p" and tok[1] == value

    def take(self, value: str | None = None) -> tuple[str, Any, int, int]:
        tok = self.peek()
        if tok is None or (value is not None and not (tok[0] == "p" and tok[1] == value)):
            raise ExprSyntaxError(f"expected {value or 'a token'}")
        self.pos += 1
        return tok

    def start(self) -> int:
        tok = self.peek()
        return tok[2] if tok else len(self.src)

    def text(self, start: int) -> str:
        end = self.toks[self.pos - 1][3] if self.pos else start
        return self.src[start:end].strip()

    def expression(self) -> Node:
        start = self.start()
        cond = self.binary(0)
        if self.at("?"):
            self.take("?")
            then = self.expression()
            self.take(":")
            other = self.expression()
            return ("cond", cond, then, other, self.text(start))
        return cond

    def binary(self, level: int) -> Node:
        """Operators binding at least as tightly as `level` (precedence climbing)."""
        start = self.start()
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "p" or _PRECEDENCE.get(tok[1], -1) < level:
                return left
            self.pos += 1
            right = self.binary(_PRECEDENCE[tok[1]] + 1)
            left = ("binary", tok[1], left, right, self.text(start))

    def unary(self) -> Node:
        start = self.start()
        if self.at("!") or self.at("-"):
            op = self.take()[1]
            operand = self.unary()
            return ("unary", op, operand, self.text(start))
        return self.postfix()

    def postfix(self) -> Node:
        start = self.start()
        node = self.primary()
        while True:
            if self.at(".") and self.peek(1) is not None and self.at("*", 1):
                self.pos += 2
                node = ("splat", node, self.splat_ops(), self.text(start))
            elif self.at("[") and self.at("*", 1) and self.at("]", 2):
                self.pos += 3
                node = ("splat", node, self.splat_ops(), self.text(start))
            elif self.at("."):
                self.take(".")
                tok = self.take()
                if tok[0] == "id":
                    node = ("attr", node, tok[1], self.text(start))
                elif tok[0] == "num" and isinstance(tok[1], int):
                    node = ("index", node, ("lit", tok[1], str(tok[1])), self.text(start))
                else:
                    raise ExprSyntaxError("expected an attribute name")
            elif self.at("["):
                self.take("[")
                key = self.expression()
                self.take("]")
                node = ("index", node, key, self.text(start))
            else:
                return node

    def splat_ops(self) -> list[tuple[str, Any]]:
        ops: list[tuple[str, Any]] = []
        while True:
            tok = self.peek(1)
            if self.at(".") and tok is not None and tok[0] == "id":
                self.pos += 2
                ops.append(("attr", tok[1]))
            elif self.at("[") and not self.at("*", 1):
                self.take("[")
                ops.append(("index", self.expression()))
                self.take("]")
            else:
                return ops

    def primary(self) -> Node:
        start = self.start()
        tok = self.take()
        kind, value = tok[0], tok[1]
        if kind == "num":
            return ("lit", value, self.text(start))
        if kind == "str":
            return parse_template(value, escapes=True, text=self.text(start))
        if kind == "heredoc":
            return parse_template(value, escapes=False, text=self.text(start))
        if kind == "id":
            if value in ("true", "false"):
                return ("lit", value == "true", value)
            if value == "null":
                return ("lit", None, value)
            if self.at("("):
                return self.call(value, start)
            return ("name", value, value)
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if value == "[":
            return self.tuple_or_for(start)
        if value == "{":
            return self.object_or_for(start)
        raise ExprSyntaxError(f"unexpected {value!r}")

    def call(self, name: str, start: int) -> Node:
        self.take("(")
        args: list[Node] = []
        expand = False
        while not self.at(")"):
            args.append(self.expression())
            if self.at("..."):
                self.take("...")
                expand = True
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return ("call", name, args, expand, self.text(start))

    def for_head(self) -> tuple[str | None, str, Node]:
        self.take()  # "for"
        first = self.take()[1]
        second = None
        if self.at(","):
            self.take(",")
            second = self.take()[1]
        tok = self.take()
        if tok[1] != "in":
            raise ExprSyntaxError("expected 'in'")
        collection = self.expression()
        self.take(":")
        if second is None:
            return None, first, collection
        return first, second, collection

    def for_cond(self) -> Node | None:
        tok = self.peek()
        if tok is not None and tok[0] == "id" and tok[1] == "if":
            self.pos += 1
            return self.expression()
        return None

    def is_for(self) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "id" and tok[1] == "for"

    def tuple_or_for(self, start: int) -> Node:
        if self.is_for():
            key, value, collection = self.for_head()
            body = self.expression()
            cond = self.for_cond()
            self.take("]")
            return ("for", key, value, collection, None, body, cond, False, self.text(start))
        items: list[Node] = []
        while not self.at("]"):
            items.append(self.expression())
            if not self.at("]"):
                self.take(",")
        self.take("]")
        return ("tuple", items, self.text(start))

    def object_or_for(self, start: int) -> Node:
        if self.is_for():
            key, value, collection = self.for_head()
            key_expr = self.expression()
            self.take("=>")
            value_expr = self.expression()
            group = False
            if self.at("..."):
                self.take("...")
                group = True
            cond = self.for_cond()
            self.take("}")
            return ("for", key, value, collection, key_expr, value_expr, cond, group,
                    self.text(start))
        pairs: list[tuple[Node, Node]] = []
        while not self.at("}"):
            tok = self.peek()
            if tok is not None and tok[0] == "id" and (self.at("=", 1) or self.at(":", 1)):
                self.pos += 1
                name: Node = ("lit", tok[1], tok[1])
            else:
                name = self.expression()
            if self.at("="):
                self.take("=")
            else:
                self.take(":")
            pairs.append((name, self.expression()))
            if self.at(","):
                self.take(",")
        self.take("}")
        return ("object", pairs, self.text(start))


# Trees parsed by an earlier run, read back from the file cache (as JSON, so their tuples
# are lists: every reader only indexes and unpacks nodes).
_REMEMBERED: dict[str, Node] = {}


def remember(trees: dict[str, Node]) -> None:
    _REMEMBERED.update(trees)


def parse_expression(src: str) -> Node:
    known = _REMEMBERED.get(src)
    return known if known is not None else _parse_expression(src)


@lru_cache(maxsize=65536)
def _parse_expression(src: str) -> Node:
    parser = _Parser(src)
    node = parser.expression()
    if parser.peek() is not None:
        raise ExprSyntaxError("unexpected text after expression")
    return node


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2:i + 6]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _template_items(src: str, escapes: bool) -> list[Any]:
    """Literal strings, ("expr", node) and ("dir", text) in order."""
    items: list[Any] = []
    literal: list[str] = []
    i = 0
    strip_next = False

    def flush(strip_right: bool) -> None:
        text = "".join(literal)
        literal.clear()
        if escapes:
            text = _unescape(text)
        if strip_right:
            text = text.rstrip()
        if items and isinstance(items[-1], str):
            items[-1] += text
        elif text:
            items.append(text)

    while i < len(src):
        if src.startswith("$${", i) or src.startswith("%%{", i):
            literal.append(src[i + 1:i + 3])
            i += 3
            continue
        if src.startswith("${", i) or src.startswith("%{", i):
            end = _scan_braces(src, i + 1)
            inner = src[i + 2:end - 1]
            strip_left = inner.startswith("~")
            strip_right = inner.endswith("~")
            inner = inner[1 if strip_left else 0:len(inner) - (1 if strip_right else 0)].strip()
            flush(strip_left)
            if src[i] == "$":
                items.append(("expr", parse_expression(inner)))
            else:
                items.append(("dir", inner))
            strip_next = strip_right
            i = end
            continue
        char = src[i]
        if strip_next:
            if char.isspace():
                i += 1
                continue
            strip_next = False
        if escapes and char == "\\" and i + 1 < len(src):
            literal.append(src[i:i + 2])
            i += 2
            continue
        literal.append(char)
        i += 1
    flush(False)
    return items


def _template_parts(items: list[Any], pos: int, until: tuple[str, ...]) -> tuple[list[Any], int]:
    parts: list[Any] = []
    while pos < len(items):
        item = items[pos]
        if isinstance(item, str):
            parts.append(item)
            pos += 1
        elif item[0] == "expr":
            parts.append(item[1])
            pos += 1
        else:
            words = item[1].split(None, 1)
            keyword = words[0] if words else ""
            if keyword in until:
                return parts, pos
            if keyword == "if":
                cond = parse_expression(words[1])
                then, pos = _template_parts(items, pos + 1, ("else", "endif"))
                other: list[Any] = []
                if pos < len(items) and items[pos][1].split()[0] == "else":
                    other, pos = _template_parts(items, pos + 1, ("endif",))
                if pos >= len(items):
                    raise ExprSyntaxError("missing endif")
                parts.append(("if", cond, then, other))
                pos += 1
            elif keyword == "for":
                head = re.fullmatch(r"for\s+(\w+)\s*(?:,\s*(\w+)\s*)?in\s+(.+)", item[1], re.S)
                if head is None:
                    raise ExprSyntaxError("malformed for directive")
                body, pos = _template_parts(items, pos + 1, ("endfor",))
                if pos >= len(items):
                    raise ExprSyntaxError("missing endfor")
                key, value = (head.group(1), head.group(2)) if head.group(2) else (None,
                                                                                    head.group(1))
                parts.append(("for", key, value, parse_expression(head.group(3)), body))
                pos += 1
            else:
                raise ExprSyntaxError(f"unexpected template directive {keyword!r}")
    return parts, pos


@lru_cache(maxsize=65536)
def parse_template(src: str, escapes: bool, text: str | None = None) -> Node:
    """A template string; `escapes` says whether backslash escapes are still in the text."""
    parts, _ = _template_parts(_template_items(src, escapes), 0, ())
    return ("tmpl", parts, text if text is not None else src)
