"""HCL files into one normalised shape; the only module that knows the HCL parser.

The parser is tree-sitter-hcl (a C grammar, through the `tree-sitter` bindings). It gives the
structure (blocks, labels, attributes) with exact positions; each attribute value is kept as
its original source text, evaluated later by `connbudget.frontends.terraform.evaluate`:

    {"attrs": {name: expression text}, "lines": {name: line},
     "spans": {name: [line, column, offset, end_line, end_column, end_offset]},
     "blocks": [{"type", "labels", "line", "end_line", "span", "attrs", "lines", "spans",
                 "blocks"}],
     "expressions": {expression text: its parsed tree},
     "comments": [[line, column, text] of each comment that can suppress a finding]}

Positions: `lines[name]` is the line of the attribute's name; `spans[name]` is where its value
starts and ends, a block's `span` where its type starts and its closing brace ends (`line` and
`end_line` repeat its lines). Lines and columns count from 1, offsets from 0; columns and
offsets count characters (not bytes) of the file's text after a UTF-8 byte-order mark, with
CRLF line ends counted as two characters, and an end is just past the last character, so
`text[offset:end_offset]` is the value's source as it stands in the file. The expression text
in `attrs` is that source with CRLF line ends read as LF (and a secret literal replaced by a
stand-in, see below).

`.tf.json` files take the JSON path (`jsonsyntax`), which gives lines but no spans.

The parsed trees of a file's expressions are kept with it (in the cache too), so a warm run
parses nothing at all. Of the file's comments only those that can suppress a finding are kept:
any other comment may be a commented-out secret, and the body goes to the cache on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
from contextlib import AbstractContextManager
from functools import lru_cache
from itertools import accumulate, pairwise
from typing import Any

from connbudget import cache, confine
from connbudget.comments import may_suppress, suppressions
from connbudget.frontends.terraform.comments import comments as hcl_comments
from connbudget.frontends.terraform.evaluate import needs_parsing
from connbudget.frontends.terraform.expr import ExprSyntaxError, Node, parse_expression, remember
from connbudget.frontends.terraform.jsonsyntax import parse_json_text, parse_tfvars_json
from connbudget.passwords import SECRET_HINTS, names_a_secret, stand_in

Body = dict[str, Any]

# The file names of a module's configuration: native syntax and Terraform's JSON syntax.
TF_SUFFIXES = (".tf", ".tf.json")
_MAX_FILE_BYTES = 8 * 1024 * 1024
# Deeper nesting of blocks is refused (Terraform's own schemas nest a few levels).
_MAX_BLOCK_DEPTH = 64

# Only files declaring one of these blocks can change the model (versions.tf, providers.tf
# and backend files are skipped unparsed).
_RELEVANT = re.compile(rb"^(\xef\xbb\xbf)?[ \t]*(resource|data|variable|locals|module|output)\b",
                       re.MULTILINE)
_SCHEMA = "9"  # expression trees hold offsets, not texts
_BOM = b"\xef\xbb\xbf"
_NEWLINE = re.compile(rb"\n")
# The compiled grammar and the parser library decide the trees: a new build, a new key.
_PARSER_PACKAGES = ("tree_sitter_hcl", "tree_sitter")


@lru_cache(maxsize=1)
def _parser_version() -> str:
    # Hashing the two shared libraries is much cheaper than importlib.metadata or importing.
    digest = hashlib.sha256()
    for package in _PARSER_PACKAGES:
        spec = importlib.util.find_spec(package)  # finds the package without importing it
        directory = os.path.dirname(spec.origin) if spec and spec.origin else ""
        names = sorted(name for name in _listing(directory) if name.startswith("_binding"))
        for name in names or ["(none)"]:
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    digest.update(name.encode() + b"\0" + handle.read())
            except OSError:
                digest.update(name.encode() + b" missing")
    # and this front end's own code: a parse made by another release (or a changed checkout)
    # is never read back
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(name for name in _listing(here) if name.endswith(".py")):
        with contextlib.suppress(OSError), open(os.path.join(here, name), "rb") as handle:
            digest.update(name.encode() + b"\0" + handle.read())
    return f"tree-sitter-hcl {digest.hexdigest()} schema {_SCHEMA}"


def _listing(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


@lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_hcl

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))


class _Source:
    """The file's bytes as parsed, and tree-sitter's byte positions in characters."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ascii = data.isascii()
        self.line_bytes = [0, *(match.end() for match in _NEWLINE.finditer(data))]
        self.line_chars = self.line_bytes if self.ascii else [0, *accumulate(
            len(data[begin:end].decode()) for begin, end in pairwise(self.line_bytes))]

    def text(self, node: Any) -> str:
        return self.data[node.start_byte:node.end_byte].decode()

    def point(self, row: int, column: int) -> tuple[int, int, int]:
        """1-based line and column and 0-based offset, in characters, of a tree-sitter point
        (a 0-based row and a byte column)."""
        if not self.ascii:
            begin = self.line_bytes[row]
            column = len(self.data[begin:begin + column].decode())
        return row + 1, column + 1, self.line_chars[row] + column

    def span(self, node: Any) -> list[int]:
        return [*self.point(*node.start_point), *self.point(*node.end_point)]


def _label(node: Any, source: _Source) -> str:
    raw = source.text(node)
    return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw


class _TooDeep(Exception):
    pass


def _body(node: Any, source: _Source, depth: int = 0) -> Body:
    if depth > _MAX_BLOCK_DEPTH:
        raise _TooDeep
    attrs: dict[str, str] = {}
    lines: dict[str, int] = {}
    spans: dict[str, list[int]] = {}
    blocks: list[Body] = []
    for child in node.named_children if node is not None else ():
        kind = child.type
        if kind == "attribute":
            name, value = child.named_children[0], child.named_children[-1]
            key = source.text(name)
            attrs[key] = source.text(value).replace("\r\n", "\n")
            lines[key] = child.start_point[0] + 1
            spans[key] = source.span(value)
        elif kind == "block":
            parts = child.named_children
            inner = next((part for part in parts if part.type == "body"), None)
            block = _body(inner, source, depth + 1)
            block.update(type=source.text(parts[0]),
                         labels=[_label(part, source) for part in parts[1:]
                                 if part.type in ("string_lit", "identifier")],
                         line=child.start_point[0] + 1, end_line=child.end_point[0] + 1,
                         span=source.span(child))
            blocks.append(block)
    return {"attrs": attrs, "lines": lines, "spans": spans, "blocks": blocks}


def _first_error(node: Any) -> Any:
    """The first ERROR or MISSING node under `node`, which has an error."""
    while True:
        if node.is_error or node.is_missing:
            return node
        node = next(child for child in node.children if child.has_error or child.is_missing)


def _syntax_error(root: Any, source: _Source) -> dict[str, Any]:
    # Never echo the offending text: it may be a password literal.
    node = _first_error(root)
    line, column, _ = source.point(*node.start_point)
    if node.is_error and node.children and node.children[-1].type == "=":
        # `name =` and no value: where the value should start, as Terraform says it
        row, byte = node.children[-1].end_point
        text = source.data[source.line_bytes[row] + byte:].split(b"\n", 1)[0]
        line, column, _ = source.point(row, byte + len(text) - len(text.lstrip(b" \t")))
    at_end = node.start_byte >= len(source.data.rstrip())
    message = "unexpected end of file" if at_end else "unexpected token"
    return {"error": {"line": line, "column": column, "message": f"HCL syntax error: {message}"}}


def parse_hcl(data: bytes, redact: bool = False) -> dict[str, Any]:
    """The normalised body of HCL source (UTF-8 bytes without a byte-order mark), without
    comments, or {"error": {...}} when it is not valid HCL."""
    source = _Source(data)
    root = _parser().parse(_EXPONENT.sub(_same_length_number, data)).root_node
    if root.has_error:
        return _syntax_error(root, source)
    body = next((child for child in root.named_children if child.type == "body"), None)
    try:
        result = _body(body, source)
    except (_TooDeep, RecursionError):
        return {"error": {"line": 1, "column": None, "message": "blocks nested too deeply"}}
    if redact:
        _redact(result)
    result["expressions"] = _expressions(result)
    return result


# tree-sitter-hcl 1.2 accepts an exponent only after a fraction (`1.0e9`, not `1e9`, which
# HCL allows). The tree is only read down to the attribute values, whose text comes from the
# file itself, so such a number is parsed as a plain number of the same length: every
# position stays where it is.
_EXPONENT = re.compile(rb"(?<![\w.])[0-9]+[eE][-+]?[0-9]+\b")


def _same_length_number(match: re.Match[bytes]) -> bytes:
    return b"1" * len(match.group())


# What the model needs of a secret is its kind, never its text: the parse tree (which goes to
# the cache on disk) keeps a stand-in of the same kind instead of a secret literal: the value
# of an attribute or object key that names a secret (`password`, `db_pass`, `api_key`, ...,
# nested too: `db = { password = "..." }`), the default of a variable that is sensitive or
# names one, a URL's password, an environment variable whose name says it is a secret.
_NESTED_SECRET = re.compile(r'((?:^|(?<=[{,]))[ \t]*("[^"\n]*"|[A-Za-z_][\w-]*)[ \t]*=[ \t]*)'
                            r'("(?:[^"\\\n]|\\.)*")', re.MULTILINE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@\"'$]*:)[^\s@/\"'$]+@", re.IGNORECASE)
_SECRET_ENV = re.compile(
    r"""((?:"name"|\bname)\s*[:=]\s*"[^"]*(?:PASSWORD|SECRET|TOKEN)[^"]*"\s*,\s*"""
    r"""(?:"value"|\bvalue)\s*[:=]\s*)"[^"$\\]*\"""", re.IGNORECASE)


def _stand_in(text: str) -> str:
    """The literal `text` of a secret as a literal of the same kind."""
    from connbudget.frontends.terraform.evaluate import evaluate_raw
    from connbudget.frontends.terraform.values import Context, Scope

    if not text.startswith('"') or "${" in text or "%{" in text:
        return text  # a reference or an interpolation: nothing literal to hide
    value = evaluate_raw(text, Scope(Context()))
    if not isinstance(value, str) or value == "":
        return text
    return '"' + stand_in(value) + '"'


def _nested(match: re.Match[str]) -> str:
    return match.group(1) + (_stand_in(match.group(3))
                             if names_a_secret(match.group(2).strip('"')) else match.group(3))


def _secret_block(block: Body) -> bool:
    """A variable that is sensitive or names a secret: its default is one."""
    return block.get("type") == "variable" and (
        any(names_a_secret(label) for label in block.get("labels", []))
        or block["attrs"].get("sensitive", "").strip() == "true")


_SECRET_ENV_HINTS = ("password", "secret", "token")


def _redact(body: Body) -> None:
    pending = [body]
    while pending:
        current = pending.pop()
        pending.extend(current["blocks"])
        attrs = current["attrs"]
        secret_default = _secret_block(current)
        for name, text in attrs.items():
            if names_a_secret(name) or (secret_default and name == "default"):
                text = _stand_in(text)
            lower = text.lower()
            if "=" in text and any(hint in lower for hint in SECRET_HINTS):
                text = _NESTED_SECRET.sub(_nested, text)
            if "://" in text:
                text = _URL_PASSWORD.sub(r"\1<redacted>@", text)
            if any(hint in lower for hint in _SECRET_ENV_HINTS):
                text = _SECRET_ENV.sub(r'\1"<redacted>"', text)
            attrs[name] = text


def _expressions(body: Body) -> dict[str, Node]:
    """The trees of the body's attribute values that need parsing, by source text."""
    found: dict[str, Node] = {}
    pending = [body]
    while pending:
        current = pending.pop()
        pending.extend(current["blocks"])
        for text in current["attrs"].values():
            if text not in found and needs_parsing(text):
                try:
                    found[text] = parse_expression(text)
                except (ExprSyntaxError, RecursionError):
                    continue  # evaluating it says why
    return found


def _decode(content: bytes) -> str | dict[str, Any]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in content[:4096]:
        return {"error": {"line": 1, "column": None,
                          "message": "file is not UTF-8 (UTF-16?): save it as UTF-8"}}
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        return {"error": {"line": line, "column": None, "message": "file is not valid UTF-8"}}


def parse_file(path: str, use_cache: bool = True) -> Body:
    """The normalised body of one .tf/.tfvars file, or {"error": {...}} when it cannot be read."""
    try:
        content = confine.read_regular(path, _MAX_FILE_BYTES)
    except OSError as exc:
        return {"error": {"line": 0, "column": None, "message": f"cannot read: {exc.strerror}"}}
    if path.endswith(".json"):
        text = _decode(content)
        if isinstance(text, dict):
            return text
        return parse_tfvars_json(text) if path.endswith(".tfvars.json") \
            else parse_json_text(text)
    if path.endswith(".tf") and not _RELEVANT.search(content) \
            and isinstance(_decode(content[:4096]), str):
        return {"attrs": {}, "lines": {}, "spans": {}, "blocks": [],
                "comments": _suppressions(content)}

    def compute() -> Body:
        ready = _READY.get(content)
        return ready if ready is not None else _compute(content)

    with cached_scan([path], use_cache) as entries:
        result: Body = entries.get(content, compute, _is_body)
    # A warm run reads the expression trees too instead of parsing each expression again.
    remember(result.get("expressions", {}))
    return result


def _compute(content: bytes) -> Body:
    """The body of a .tf file's bytes, as the cache keeps it."""
    text = _decode(content)
    if isinstance(text, dict):
        return {**text, "comments": []}
    data = content[3:] if content.startswith(_BOM) else content
    return {**parse_hcl(data, redact=True), "comments": _suppressions(content)}


# Bodies parsed ahead on other cores, by the file's bytes, for `parse_file` (`forget_ready`
# drops them at the end of the scan).
_READY: dict[bytes, Body] = {}
# Fewer files than this are parsed here: starting a process costs more than it saves.
_MIN_PARALLEL = 48
PARALLEL = True  # False where connbudget runs inside a program that must not fork


def preparse(paths: list[str], use_cache: bool = True) -> None:
    """Parse the .tf files among `paths` that the cache does not hold, on every core this
    process may use: the parse is pure (bytes in, a body out), so each worker is a fork that
    parses its share and sends the bodies back through a pipe. The files are read here, under
    the scan's confinement; `parse_file` then finds their bodies ready. Nothing happens on one
    core, with threads running (a fork copies one thread only), or for a few files."""
    workers = min(len(_cores()), 8)
    if not PARALLEL or workers < 2 or not cache.can_fork():
        return
    pending: dict[bytes, None] = {}
    with cached_scan(paths, use_cache) as entries:
        for path in paths:
            if not path.endswith(".tf"):
                continue
            try:
                content = confine.read_regular(path, _MAX_FILE_BYTES)
            except OSError:
                continue  # parse_file says why
            if _RELEVANT.search(content) and content not in pending \
                    and not entries.holds(content, _is_body):
                pending[content] = None
    if len(pending) >= _MIN_PARALLEL:
        contents = list(pending)
        _READY.update(zip(contents, _in_parallel(contents, workers), strict=True))


def forget_ready() -> None:
    """Drop the bodies parsed ahead that no file took (a scan's end)."""
    _READY.clear()


def _cores() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def _in_parallel(contents: list[bytes], workers: int) -> list[Body]:
    """The bodies of `contents`, the i-th share (every workers-th file from i) parsed by the
    i-th worker; this process parses the first share, and any share a worker did not send."""
    import marshal

    shares = [contents[index::workers] for index in range(workers)]
    pids: list[int] = []
    pipes: list[int] = []  # those not yet read; each is closed once
    sent: list[Any] = []
    try:
        for share in shares[1:]:
            child = _fork(share)
            if child is None:
                break
            pids.append(child[0])
            pipes.append(child[1])
        results = [[_compute(content) for content in shares[0]]]
        for pid in pids:
            pipe = pipes.pop(0)
            with os.fdopen(pipe, "rb") as handle:
                data = handle.read()
            _, status = os.waitpid(pid, 0)
            try:
                sent.append(marshal.loads(data) if status == 0 else None)
            except (EOFError, ValueError, TypeError):
                sent.append(None)
    finally:  # interrupted: no worker is left behind
        for pipe in pipes:
            with contextlib.suppress(OSError):
                os.close(pipe)
        for pid in pids[len(sent):]:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
    for index, share in enumerate(shares[1:], start=1):
        bodies = sent[index - 1] if index <= len(sent) else None
        if not (isinstance(bodies, list) and len(bodies) == len(share)):
            bodies = [_compute(content) for content in share]
        results.append(bodies)
    ordered: list[Body] = [{} for _ in contents]
    for index, parsed in enumerate(results):
        ordered[index::workers] = parsed
    return ordered


def _fork(share: list[bytes]) -> tuple[int, int] | None:
    """A worker parsing `share`: (its pid, the pipe its bodies come through), or None."""
    import marshal

    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the worker: parse, send, and leave without running the parent's exit
        status = 1
        try:
            os.close(read_end)
            data = marshal.dumps([_compute(content) for content in share])
            with os.fdopen(write_end, "wb") as handle:
                handle.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def cached_scan(paths: list[str], enabled: bool = True) -> AbstractContextManager[cache.Pack]:
    """The cache of the parsed files of one scan of `paths` (a context manager); the files
    parsed inside it share one cache file."""
    scope = "\0".join(sorted(os.path.abspath(path) for path in paths))
    return cache.pack("hcl", _parser_version(), scope, enabled)


def _suppressions(content: bytes) -> list[list[Any]]:
    """[line, column, text] of the file's comments that can suppress a finding."""
    text = content.decode("utf-8", "replace")
    if not may_suppress(text):
        return []
    return [[c.line, c.column, c.text] for c in suppressions(hcl_comments("", text))]


def _is_comment(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], int) \
        and isinstance(value[1], int) and isinstance(value[2], str)


def _is_body(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    found = value.get("comments")
    if not isinstance(found, list) or not all(_is_comment(c) for c in found):
        return False
    if "error" in value:
        return isinstance(value["error"], dict) and {"line", "message"} <= value["error"].keys()
    trees = value.get("expressions")
    return isinstance(value.get("attrs"), dict) and isinstance(value.get("lines"), dict) \
        and isinstance(value.get("spans"), dict) and isinstance(value.get("blocks"), list) \
        and isinstance(trees, dict) \
        and all(isinstance(tree, list) and tree and isinstance(tree[0], str)
                for tree in trees.values())
