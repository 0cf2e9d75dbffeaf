"""Expression trees record where each node's source is (start and end offsets), not its text:
`text[start:end]` is exactly the node's source, inside templates and heredocs too, and a tree
stays linear in the size of its text."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES

from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.expr import Node, parse_expression
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.parse import parse_file
from connbudget.frontends.terraform.values import Context, Scope


def _children(node: Node) -> Iterator[tuple[Node, bool]]:
    """(child node, whether it is a bare object key, whose source is a name not a literal)."""
    kind = node[0]
    if kind == "tmpl":
        yield from ((n, False) for part in node[1] for n in _template_nodes(part))
    elif kind == "splat":
        yield node[1], False
        yield from ((op[1], False) for op in node[2] if op[0] == "index")
    elif kind == "call":
        yield from ((arg, False) for arg in node[2])
    elif kind == "tuple":
        yield from ((item, False) for item in node[1])
    elif kind == "object":
        for key, value in node[1]:
            yield key, key[0] == "lit"
            yield value, False
    elif kind == "for":
        yield from ((n, False) for n in node[3:8] if isinstance(n, (tuple, list)))
    elif kind in ("attr", "index", "unary", "binary", "cond"):
        yield from ((n, False) for n in node[1:-2] if isinstance(n, (tuple, list)) and n
                    and isinstance(n[0], str))


def _template_nodes(part: Any) -> Iterator[Node]:
    if isinstance(part, str):
        return
    if part[0] == "if":
        yield part[1]
        for inner in (*part[2], *part[3]):
            yield from _template_nodes(inner)
    elif part[0] == "for" and len(part) == 5:
        yield part[3]
        for inner in part[4]:
            yield from _template_nodes(inner)
    else:
        yield part


def _nodes(node: Node, key: bool = False) -> Iterator[tuple[Node, bool]]:
    yield node, key
    for child, is_key in _children(node):
        yield from _nodes(child, is_key)


def _shifted(value: Any, delta: int) -> Any:
    """The tree with every node's offsets moved by `delta` (nodes end in two ints)."""
    if isinstance(value, (tuple, list)):
        items = [_shifted(item, delta) for item in value]
        if len(items) >= 3 and isinstance(items[0], str) and all(
                type(x) is int for x in value[-2:]) and items[0] in _KINDS:
            items[-2:] = [value[-2] + delta, value[-1] + delta]
        return tuple(items)
    return value


_KINDS = {"lit", "name", "tmpl", "attr", "index", "splat", "call", "unary", "binary", "cond",
          "tuple", "object", "for"}


def assert_offsets_exact(text: str) -> None:
    """Each node's source, parsed alone, gives the same node (moved to offset 0)."""
    tree = parse_expression(text)
    for node, is_key in _nodes(tree):
        start, end = node[-2], node[-1]
        source = text[start:end]
        assert source == source.strip() and source, (text, node)
        if is_key:
            assert source.strip('"') == node[1]
            continue
        assert _shifted(parse_expression(source), start) == _shifted(node, 0), (text, source)


@pytest.mark.parametrize("text", [
    "1 + 2 * var.x",
    'var.a ? "x-${var.b}-y" : local.c[0].d',
    'jsonencode([{\n  name  = "PG_POOL_SIZE"\n  value = "10"\n}])',
    '"%{ if var.on }on-${var.x}%{ else }off%{ endif } and %{ for k, v in var.m }${k}=${v} '
    '%{ endfor }"',
    "<<-EOT\n    first ${var.a + 1}\n      second ${upper(\"x\")}\n    EOT",
    "<<EOT\r\nline ${var.a}\r\nEOT",
    "[for s in var.list : upper(s) if s != \"\"]",
    '{for k, v in var.m : k => v...}',
    "aws_instance.web[*].id",
    "var.list.0",
    'merge(local.base, { "a" = 1, b = [1, 2] }, var.extra...)',
    '"escaped \\" quote ${ "inner \\"${var.q}\\"" } $${not} end"',
    "!(var.a && -var.b > 3)",
])
def test_every_node_spans_exactly_its_source(text: str) -> None:
    assert_offsets_exact(text)


def test_every_expression_of_the_terraform_fixtures_has_exact_offsets() -> None:
    checked = 0
    for path in sorted(FIXTURES.rglob("*.tf")):
        body = parse_file(str(path), use_cache=False)
        pending = [body] if "attrs" in body else []
        while pending:
            current = pending.pop()
            pending.extend(current["blocks"])
            for text in current["attrs"].values():
                try:
                    parse_expression(text)
                except Exception:  # noqa: BLE001 - syntax errors are other tests' business
                    continue
                assert_offsets_exact(text)
                checked += 1
    assert checked > 1000


def test_a_value_inside_jsonencode_is_placed_on_its_own_line() -> None:
    text = ('jsonencode([{\n  name        = "api"\n  environment = [\n'
            '    { name = "PG_POOL_SIZE", value = "10" },\n  ]\n}])')
    tree = parse_expression(text)
    found = [n for n, _ in _nodes(tree) if n[0] == "tmpl" and n[1] == ["10"]]
    assert len(found) == 1
    start, end = found[0][-2:]
    assert text[start:end] == '"10"'
    assert text.count("\n", 0, start) == 3  # the fourth line of the attribute


def test_an_unknown_inside_a_heredoc_names_its_own_expression() -> None:
    value = evaluate_raw("<<-EOT\n  pool=${var.pool + 1}\n  EOT", Scope(Context()))
    assert isinstance(value, Unknown) and value.partial == "pool=${var.pool + 1}\n"


def _peak_parsing(text: str) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        tree = parse_expression(text)
        return tree, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_sum_parses_in_linear_memory() -> None:
    # when each node kept its source text, 20,000 terms took about 800 MB, twice as many four
    # times that; the hostile benchmark parses 100,000 and 300,000 (README, Speed)
    half, half_peak = _peak_parsing(" + ".join(["1"] * 10_000))
    text = " + ".join(["1"] * 20_000)
    tree, peak = _peak_parsing(text)
    assert peak < 40 * 1024 ** 2 and peak < 2.5 * half_peak
    assert tree[0] == "binary" and tree[-2:] == (0, len(text))
    assert half[-2:] == (0, len(" + ".join(["1"] * 10_000)))
    value = evaluate_raw(text, Scope(Context()))
    assert isinstance(value, Unknown) and value.reason == "expression nested too deeply"


def _attribute_texts(body: dict[str, Any]) -> Iterator[str]:
    yield from body.get("attrs", {}).values()
    for block in body.get("blocks", []):
        yield from _attribute_texts(block)


def test_a_reference_gets_the_tree_the_parser_builds() -> None:
    # references are built without tokens; every one the corpus and the fixtures hold, and a
    # few odd ones, must come out as the parser builds them
    from connbudget.frontends.terraform import expr

    corpus = CORPUS / "terraform"
    texts = {text for path in [*corpus.rglob("*.tf"), *FIXTURES.rglob("*.tf")]
             for text in _attribute_texts(parse_file(str(path), use_cache=False))}
    texts |= {"a-b.c-d", "var.true", "x_.y_.z_", "each.value.name", "var.x.y.z.w"}
    references = sorted(text for text in texts if expr._TRAVERSAL.fullmatch(text))
    assert len(references) > 500
    for text in references:
        assert expr._parse_expression(text) == expr._expression(text, expr._SAME), text
    for text in ("true.x", "null.x", "false.y"):
        assert expr._parse_expression(text) == expr._expression(text, expr._SAME)
