"""HCL expressions and string templates into small tuple trees.

Every node is a tuple whose first item is its kind and whose last two items are the start and
end character offsets of its source in the text that was parsed (an attribute's expression
text, or a template file's text): `text[start:end]` is exactly the node's source, from its
first token to its last, so an unknown can say which expression it came from and a value can
be placed at its position. Nodes hold no source text, so a tree is linear in the size of its
text whatever its depth.

    ("lit", value, start, end)               ("name", identifier, start, end)
    ("tmpl", parts, start, end)              parts: str | node | ("if", cond, then, else)
                                                    | ("for", key, value, collection, body)
    ("attr", obj, name, start, end)          ("index", obj, key_node, start, end)
    ("splat", obj, ops, start, end)          ops: ("attr", name) | ("index", node)
    ("call", name, args, expand, start, end) ("unary", op, x, start, end)
    ("binary", op, a, b, start, end)         ("cond", c, a, b, start, end)
    ("tuple", items, start, end)             ("object", [(key_node, value_node)], start, end)
    ("for", key, value, collection, key_expr, value_expr, cond, group, start, end)

A quoted string's "tmpl" node spans its quotes; a heredoc's spans `<<EOT` to the closing
marker. The offsets of expressions inside a template (`${...}`, `%{ if ... }`) are offsets in
the same text, also inside an indented heredoc (`<<-EOT`), whose indentation is stripped only
from the template's literal text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from typing import Any, NamedTuple

Node = tuple[Any, ...]


class Origin(NamedTuple):
    """Where the characters of a parsed text come from. Run i of the lines the text was cut
    from starts at index `starts[i]` and at offset `offsets[i]` of the text they map to; the
    parsed text begins at index `shift`, and `outer` maps on further (a heredoc's lines inside
    a template). Each step is O(1): an origin is never copied run by run."""

    starts: tuple[int, ...] = (0,)
    offsets: tuple[int, ...] = (0,)
    shift: int = 0
    outer: Origin | None = None

    def at(self, index: int) -> int:
        index += self.shift
        run = bisect_right(self.starts, index) - 1
        mapped = self.offsets[run] + index - self.starts[run]
        return mapped if self.outer is None else self.outer.at(mapped)

    def end(self, index: int) -> int:
        """The original offset just after the character before `index`."""
        return self.at(index - 1) + 1 if index > 0 else self.at(0)

    def through(self, outer: Origin) -> Origin:
        """This origin (of a text cut from the text `outer` maps), mapped on by `outer`."""
        return self._replace(outer=outer if self.outer is None else self.outer.through(outer))

    def inner(self, start: int) -> Origin:
        """The origin of the part of the parsed text that begins at index `start`."""
        return self._replace(shift=self.shift + start)


_SAME = Origin()


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


def _heredoc(src: str, start: int) -> tuple[str, int, Origin] | None:
    """The template text of the heredoc starting at `start`, the index after it, and where each
    line of that text starts in `src`."""
    head = _HEREDOC.match(src, start)
    if head is None:
        return None
    marker = head.group(2)
    lines: list[tuple[int, str]] = []  # (index in src, text)
    pos = head.end()
    while pos <= len(src):
        end = src.find("\n", pos)
        line = src[pos:] if end == -1 else src[pos:end]
        if line.strip() == marker:
            cut = 0
            if head.group(1):
                cut = min((len(x) - len(x.lstrip()) for _, x in lines if x.strip()), default=0)
            text, origin = _joined(lines, cut)
            return text, (len(src) if end == -1 else end), origin
        lines.append((pos, line.rstrip("\r")))
        if end == -1:
            break
        pos = end + 1
    raise ExprSyntaxError("unterminated heredoc")


def _joined(lines: list[tuple[int, str]], cut: int) -> tuple[str, Origin]:
    """Lines with `cut` leading characters removed, each ended by a newline, and their origin."""
    starts, offsets, pieces, length = [], [], [], 0
    for pos, line in lines:
        kept = line[cut:]
        starts.append(length)
        offsets.append(pos + min(cut, len(line)))
        pieces.append(kept + "\n")
        length += len(kept) + 1
    return "".join(pieces), Origin(tuple(starts) or (0,), tuple(offsets) or (0,))


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


Token = tuple[str, Any, int, int]


def _tokens(src: str) -> list[Token]:
    """(kind, value, start, end) of each token; a heredoc's value is (text, origin)."""
    tokens: list[Token] = []
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
                tokens.append(("heredoc", (heredoc[0], heredoc[2]), i, heredoc[1]))
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
    def __init__(self, src: str, origin: Origin = _SAME) -> None:
        self.src = src
        self.origin = origin
        self.toks = _tokens(src)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.toks[index] if index < len(self.toks) else None

    def at(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok[0] == "p" and tok[1] == value

    def take(self, value: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or (value is not None and not (tok[0] == "p" and tok[1] == value)):
            raise ExprSyntaxError(f"expected {value or 'a token'}")
        self.pos += 1
        return tok

    def start(self) -> int:
        tok = self.peek()
        return tok[2] if tok else len(self.src)

    def span(self, start: int) -> tuple[int, int]:
        """The original offsets of the source from index `start` to the last token taken."""
        end = self.toks[self.pos - 1][3] if self.pos else start
        return self.origin.at(start), self.origin.end(end)

    def token_span(self, tok: Token) -> tuple[int, int]:
        return self.origin.at(tok[2]), self.origin.end(tok[3])

    def expression(self) -> Node:
        start = self.start()
        cond = self.binary(0)
        if self.at("?"):
            self.take("?")
            then = self.expression()
            self.take(":")
            other = self.expression()
            return ("cond", cond, then, other, *self.span(start))
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
            left = ("binary", tok[1], left, right, *self.span(start))

    def unary(self) -> Node:
        start = self.start()
        if self.at("!") or self.at("-"):
            op = self.take()[1]
            operand = self.unary()
            return ("unary", op, operand, *self.span(start))
        return self.postfix()

    def postfix(self) -> Node:
        start = self.start()
        node = self.primary()
        while True:
            if self.at(".") and self.peek(1) is not None and self.at("*", 1):
                self.pos += 2
                node = ("splat", node, self.splat_ops(), *self.span(start))
            elif self.at("[") and self.at("*", 1) and self.at("]", 2):
                self.pos += 3
                node = ("splat", node, self.splat_ops(), *self.span(start))
            elif self.at("."):
                self.take(".")
                tok = self.take()
                if tok[0] == "id":
                    node = ("attr", node, tok[1], *self.span(start))
                elif tok[0] == "num" and isinstance(tok[1], int):
                    key = ("lit", tok[1], *self.token_span(tok))
                    node = ("index", node, key, *self.span(start))
                else:
                    raise ExprSyntaxError("expected an attribute name")
            elif self.at("["):
                self.take("[")
                key = self.expression()
                self.take("]")
                node = ("index", node, key, *self.span(start))
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
            return ("lit", value, *self.token_span(tok))
        if kind == "str":
            content = self.origin.inner(tok[2] + 1)
            return _template(value, True, content, self.token_span(tok))
        if kind == "heredoc":
            text, lines = value
            return _template(text, False, lines.through(self.origin), self.token_span(tok))
        if kind == "id":
            if value in ("true", "false"):
                return ("lit", value == "true", *self.token_span(tok))
            if value == "null":
                return ("lit", None, *self.token_span(tok))
            if self.at("("):
                return self.call(value, start)
            return ("name", value, *self.token_span(tok))
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
        return ("call", name, args, expand, *self.span(start))

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
            return ("for", key, value, collection, None, body, cond, False, *self.span(start))
        items: list[Node] = []
        while not self.at("]"):
            items.append(self.expression())
            if not self.at("]"):
                self.take(",")
        self.take("]")
        return ("tuple", items, *self.span(start))

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
                    *self.span(start))
        pairs: list[tuple[Node, Node]] = []
        while not self.at("}"):
            tok = self.peek()
            if tok is not None and tok[0] == "id" and (self.at("=", 1) or self.at(":", 1)):
                self.pos += 1
                name: Node = ("lit", tok[1], *self.token_span(tok))
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
        return ("object", pairs, *self.span(start))


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
    if _TRAVERSAL.fullmatch(src) and not src.startswith(_LITERAL_NAMES):
        return _traversal(src)
    return _expression(src, _SAME)


# A reference and nothing else (`var.max_tasks`, `aws_db_instance.main.address`), the most
# common expression after literals: its tree is built without tokens, as the parser builds it.
_TRAVERSAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)+")
_LITERAL_NAMES = ("true.", "false.", "null.")


def _traversal(src: str) -> Node:
    names = src.split(".")
    end = len(names[0])
    node: Node = ("name", names[0], 0, end)
    for name in names[1:]:
        end += 1 + len(name)
        node = ("attr", node, name, 0, end)
    return node


def _expression(src: str, origin: Origin) -> Node:
    parser = _Parser(src, origin)
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


def _template_items(src: str, escapes: bool, origin: Origin) -> list[Any]:
    """Literal strings, ("expr", node) and ("dir", text, origin of text) in order."""
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
            first, last = i + 2, end - 1
            strip_left = src.startswith("~", first)
            strip_right = last > first and src[last - 1] == "~"
            first += strip_left
            last -= strip_right
            while first < last and src[first].isspace():
                first += 1
            while last > first and src[last - 1].isspace():
                last -= 1
            flush(strip_left)
            if src[i] == "$":
                items.append(("expr", _expression(src[first:last], origin.inner(first))))
            else:
                items.append(("dir", src[first:last], origin.inner(first)))
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


_DIRECTIVE = re.compile(r"(\w*)\s*")
_FOR_HEAD = re.compile(r"for\s+(\w+)\s*(?:,\s*(\w+)\s*)?in\s+(.+)", re.S)


def _keyword(item: Any) -> str:
    match = _DIRECTIVE.match(item[1])
    return match.group(1) if match else ""


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
            keyword = _keyword(item)
            if keyword in until:
                return parts, pos
            text, origin = item[1], item[2]
            if keyword == "if":
                rest = _DIRECTIVE.match(text)
                assert rest is not None  # the pattern matches any text
                cond = _expression(text[rest.end():], origin.inner(rest.end()))
                then, pos = _template_parts(items, pos + 1, ("else", "endif"))
                other: list[Any] = []
                if pos < len(items) and _keyword(items[pos]) == "else":
                    other, pos = _template_parts(items, pos + 1, ("endif",))
                if pos >= len(items):
                    raise ExprSyntaxError("missing endif")
                parts.append(("if", cond, then, other))
                pos += 1
            elif keyword == "for":
                head = _FOR_HEAD.fullmatch(text)
                if head is None:
                    raise ExprSyntaxError("malformed for directive")
                body, pos = _template_parts(items, pos + 1, ("endfor",))
                if pos >= len(items):
                    raise ExprSyntaxError("missing endfor")
                key, value = (head.group(1), head.group(2)) if head.group(2) else (None,
                                                                                    head.group(1))
                collection = _expression(head.group(3), origin.inner(head.start(3)))
                parts.append(("for", key, value, collection, body))
                pos += 1
            else:
                raise ExprSyntaxError(f"unexpected template directive {keyword!r}")
    return parts, pos


def _template(src: str, escapes: bool, origin: Origin, span: tuple[int, int]) -> Node:
    """A template; `escapes` says whether backslash escapes are still in the text."""
    parts, _ = _template_parts(_template_items(src, escapes, origin), 0, ())
    return ("tmpl", parts, *span)


@lru_cache(maxsize=256)
def parse_template(src: str) -> Node:
    """A template file's text (templatefile()): offsets are in `src`."""
    return _template(src, False, _SAME, (0, len(src)))
