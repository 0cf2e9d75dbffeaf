"""The HCL parser against python-hcl2, a second, independent parser of the same files.

Every Terraform file of the corpus and of the fixtures must come out of both with the same
blocks (type, labels, first and last line) and the same attributes (name, line, source text).
Files that python-hcl2 cannot parse are compared on that verdict alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES

from connbudget.frontends.terraform import parse

HCL_SUFFIXES = (".tf", ".tfvars")


def _files() -> list[Path]:
    found = [path for root in (CORPUS / "terraform", FIXTURES) for path in root.rglob("*")
             if path.name.endswith(HCL_SUFFIXES) and path.is_file()]
    return sorted(found)


def _oracle_body(node: Any, text: str) -> list[Any]:
    """Blocks and attributes as python-hcl2's parse tree gives them, in source order."""
    found: list[Any] = []
    for child in getattr(node, "children", ()):
        kind = getattr(child, "data", None)
        if kind == "attribute":
            value = child.children[-1]
            found.append(("attr", str(child.children[0].children[0]), child.meta.line,
                          _oracle_text(text[value.meta.start_pos:value.meta.end_pos])))
        elif kind == "block":
            parts = child.children
            labels = [_oracle_label(part, text) for part in parts[1:]
                      if getattr(part, "data", None) in ("string", "string_lit", "identifier")]
            inner = next((p for p in parts if getattr(p, "data", None) == "body"), None)
            found.append(("block", str(parts[0].children[0]), labels, child.meta.line,
                          child.meta.end_line, _oracle_body(inner, text)))
    return found


def _oracle_text(text: str) -> str:
    """An expression's text without what python-hcl2 counts in some spans after it: the
    newlines and whole-line comments that follow a binary operation or a conditional, and
    the newline after a heredoc's closing marker."""
    text = text.rstrip()
    last = text[text.rfind("\n") + 1:].lstrip()
    while last.startswith(("#", "//")):
        text = text[:len(text) - len(last)].rstrip()
        last = text[text.rfind("\n") + 1:].lstrip()
    return text


def _oracle_label(node: Any, text: str) -> str:
    if hasattr(node, "data"):
        raw = text[node.meta.start_pos:node.meta.end_pos]
        return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    return str(node)


def _oracle(path: Path) -> list[Any] | None:
    from hcl2.parser import parser

    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        tree = parser().parse(text + "\n")
    except Exception:  # python-hcl2 raises lark errors and assorted internals
        return None
    body = next((c for c in tree.children if getattr(c, "data", None) == "body"), None)
    return _oracle_body(body, text)


def _ours(body: dict[str, Any], source: str) -> list[Any]:
    found: list[Any] = []
    items = [(body["lines"][name], 0, name) for name in body["attrs"]]
    items += [(block["line"], 1, index) for index, block in enumerate(body["blocks"])]
    for _, kind, key in sorted(items):
        if kind == 0:
            line, column, offset, _, _, end = body["spans"][key]
            found.append(("attr", key, body["lines"][key],
                          source[offset:end].replace("\r\n", "\n")))
        else:
            block = body["blocks"][key]
            found.append(("block", block["type"], block["labels"], block["line"],
                          block["end_line"], _ours(block, source)))
    return found


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(p.parents[2])))
def test_the_parser_agrees_with_python_hcl2(path: Path) -> None:
    expected = _oracle(path)
    content = path.read_bytes()
    if expected is None:
        assert "error" in parse.parse_file(str(path), use_cache=False)
        return
    content = content.removeprefix(b"\xef\xbb\xbf")
    body = parse.parse_hcl(content)
    assert "error" not in body, body["error"]
    source = content.decode()
    assert _ours(body, source) == expected
