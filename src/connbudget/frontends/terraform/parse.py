"""HCL files into one normalised shape; the only module that knows python-hcl2.

python-hcl2's own dict output re-prints expressions lossily (7.x drops the quotes of strings
inside tuples in function calls, `["a"]` becomes `[a]`), so only its parse tree is used: it
gives the structure (blocks, labels, attributes) with positions, and each attribute value is
kept as its original source text, evaluated later by `connbudget.frontends.terraform.evaluate`:

    {"attrs": {name: expression text}, "lines": {name: line},
     "blocks": [{"type", "labels", "line", "end_line", "attrs", "lines", "blocks"}],
     "expressions": {expression text: its parsed tree},
     "comments": [[line, column, text] of each comment that can suppress a finding]}

The parsed trees of a file's expressions are kept with it (in the cache too), so a warm run
parses nothing at all. Of the file's comments only those that can suppress a finding are kept:
any other comment may be a commented-out secret, and the body goes to the cache on disk.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from functools import lru_cache
from typing import Any

from connbudget import confine
from connbudget.cache import cached
from connbudget.comments import may_suppress, suppressions
from connbudget.frontends.terraform.comments import comments as hcl_comments
from connbudget.frontends.terraform.evaluate import needs_parsing
from connbudget.frontends.terraform.expr import ExprSyntaxError, Node, parse_expression, remember
from connbudget.frontends.terraform.jsonsyntax import parse_json_text, parse_tfvars_json

Body = dict[str, Any]

# The file names of a module's configuration: native syntax and Terraform's JSON syntax.
TF_SUFFIXES = (".tf", ".tf.json")
_MAX_FILE_BYTES = 8 * 1024 * 1024
# python-hcl2's parser holds about 1.3 KiB and spends about 50 us per token: 250,000 tokens
# (20 times the largest file of the corpus) are about 340 MiB and 13 s of CPU.
_MAX_TOKENS = 250_000
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_][\w-]*|\d+(?:\.\d+)?|\S')

# Only files declaring one of these blocks can change the model (versions.tf, providers.tf
# and backend files are skipped unparsed).
_RELEVANT = re.compile(rb"^(\xef\xbb\xbf)?[ \t]*(resource|data|variable|locals|module|output)\b",
                       re.MULTILINE)
_SCHEMA = "7-node-offsets"  # expression trees hold offsets, not texts
# The files of python-hcl2 that decide its parse trees: a new release or grammar, a new key.
_PARSER_FILES = ("version.py", "parser.py", "hcl2.lark")


@lru_cache(maxsize=1)
def _parser_version() -> str:
    # Hashing these few files is much cheaper than importlib.metadata or importing hcl2.
    spec = importlib.util.find_spec("hcl2")  # finds the package without importing it
    directory = os.path.dirname(spec.origin) if spec and spec.origin else ""
    digest = hashlib.sha256()
    for name in _PARSER_FILES:
        try:
            with open(os.path.join(directory, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
        except OSError:
            digest.update(name.encode() + b" missing")
    return f"python-hcl2 {digest.hexdigest()} schema {_SCHEMA}"


def _label(node: Any, text: str) -> str:
    if hasattr(node, "data"):
        raw = text[node.meta.start_pos:node.meta.end_pos]
        return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    return str(node.children[0] if hasattr(node, "children") else node)


def _name(node: Any) -> str:
    return str(node.children[0]) if hasattr(node, "children") else str(node)


def _body(node: Any, text: str) -> Body:
    attrs: dict[str, str] = {}
    lines: dict[str, int] = {}
    blocks: list[Body] = []
    for child in getattr(node, "children", ()):
        kind = getattr(child, "data", None)
        if kind == "attribute":
            value = child.children[-1]
            name = _name(child.children[0])
            attrs[name] = text[value.meta.start_pos:value.meta.end_pos]
            lines[name] = child.meta.line
        elif kind == "block":
            parts = child.children
            inner = next((part for part in parts if getattr(part, "data", None) == "body"), None)
            labels = [_label(part, text) for part in parts[1:]
                      if getattr(part, "data", None) in ("string", "string_lit", "identifier")]
            block = _body(inner, text) if inner is not None else {"attrs": {}, "lines": {},
                                                                   "blocks": []}
            block.update(type=_name(parts[0]), labels=labels, line=child.meta.line,
                         end_line=child.meta.end_line)
            blocks.append(block)
    return {"attrs": attrs, "lines": lines, "blocks": blocks}


def _syntax_error(exc: Exception) -> dict[str, Any]:
    # Never echo the offending token: it may be a password literal.
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        message = "HCL syntax error: unexpected end of file"
    elif hasattr(exc, "char"):
        message = "HCL syntax error: unexpected character"
    else:
        message = "HCL syntax error: unexpected token"
    if not isinstance(line, int) or line < 1:
        line, column, message = 1, None, f"cannot parse HCL ({type(exc).__name__})"
    return {"error": {"line": line, "column": column if isinstance(column, int) else None,
                      "message": message}}


def _too_many_tokens(text: str) -> bool:
    count = 0
    for _ in _TOKEN.finditer(text):
        count += 1
        if count > _MAX_TOKENS:
            return True
    return False


def _parse_text(text: str, redact: bool = False) -> dict[str, Any]:
    from hcl2.parser import parser

    if _too_many_tokens(text):
        return {"error": {"line": 1, "column": None, "message": f"more than {_MAX_TOKENS:,} "
                          "tokens, too many to parse: the file is not read"}}
    try:
        # python-hcl2's grammar needs a final newline; appending one moves no position.
        tree = parser().parse(text + "\n")
    except Exception as exc:  # the parser raises lark errors and assorted internals
        return _syntax_error(exc)
    body = next((child for child in tree.children if getattr(child, "data", None) == "body"),
                None)
    try:
        result = _body(body, text)
    except RecursionError:
        return {"error": {"line": 1, "column": None, "message": "blocks nested too deeply"}}
    if redact:
        _redact(result)
    result["expressions"] = _expressions(result)
    return result


# What the model needs of a secret is its kind, never its text: the parse tree (which goes to
# the cache on disk) keeps a stand-in of the same kind instead of a secret literal.
_SECRET_NAME = re.compile(r"password|secret|token|private_key", re.IGNORECASE)
_STAND_INS = {"scram-sha-256": '"SCRAM-SHA-256$4096:AAAA$AAAA:AAAA"',
              "md5": '"md5' + "0" * 32 + '"', "plaintext": '"<redacted>"'}
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@\"'$]*:)[^\s@/\"'$]+@", re.IGNORECASE)
_SECRET_ENV = re.compile(
    r"""((?:"name"|\bname)\s*[:=]\s*"[^"]*(?:PASSWORD|SECRET|TOKEN)[^"]*"\s*,\s*"""
    r"""(?:"value"|\bvalue)\s*[:=]\s*)"[^"$\\]*\"""", re.IGNORECASE)


def _stand_in(text: str) -> str:
    """The literal `text` of a secret attribute as a literal of the same kind."""
    from connbudget.frontends.terraform.evaluate import evaluate_raw
    from connbudget.frontends.terraform.values import Context, Scope
    from connbudget.passwords import hash_kind

    if not text.startswith('"') or "${" in text or "%{" in text:
        return text  # a reference or an interpolation: nothing literal to hide
    value = evaluate_raw(text, Scope(Context()))
    if not isinstance(value, str) or value == "":
        return text
    return _STAND_INS[hash_kind(value) or "plaintext"]


def _redact(body: Body) -> None:
    pending = [body]
    while pending:
        current = pending.pop()
        pending.extend(current["blocks"])
        attrs = current["attrs"]
        for name, text in attrs.items():
            if _SECRET_NAME.search(name):
                text = _stand_in(text)
            text = _URL_PASSWORD.sub(r"\1<redacted>@", text)
            attrs[name] = _SECRET_ENV.sub(r'\1"<redacted>"', text)


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
        # python-hcl2's grammar rejects CRLF line ends, which Terraform accepts.
        return content.decode("utf-8-sig").replace("\r\n", "\n")
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
        return {"attrs": {}, "lines": {}, "blocks": [], "comments": _suppressions(content)}

    def compute() -> dict[str, Any]:
        text = _decode(content)
        parsed = text if isinstance(text, dict) else _parse_text(text, redact=True)
        return {**parsed, "comments": _suppressions(content) if isinstance(text, str) else []}

    result: Body = cached("hcl", _parser_version(), content, compute, _is_body, use_cache)
    # A warm run reads the expression trees too instead of parsing each expression again.
    remember(result.get("expressions", {}))
    return result


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
        and isinstance(value.get("blocks"), list) and isinstance(trees, dict) \
        and all(isinstance(tree, list) and tree and isinstance(tree[0], str)
                for tree in trees.values())
