"""Exact positions of attribute values and blocks, as the parser records them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import FIXTURES

from connbudget.frontends.terraform import parse

MAIN = FIXTURES / "terraform" / "positions" / "main.tf"


def _blocks(path: Path) -> dict[str, Any]:
    body = parse.parse_file(str(path), use_cache=False)
    assert "error" not in body, body
    return {block["labels"][1]: block for block in body["blocks"]}


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _assert_spans_locate_their_source(path: Path, newline: str = "\n") -> None:
    text = path.read_bytes().decode("utf-8")
    for block in _blocks(path).values():
        for name, (line, column, offset, end_line, end_column, end) in block["spans"].items():
            assert text[offset:end].replace(newline, "\n") == block["attrs"][name]
            assert _line_column(text, offset) == (line, column)
            assert _line_column(text, end) == (end_line, end_column)


def test_each_value_span_is_the_exact_source_text_of_the_value() -> None:
    _assert_spans_locate_their_source(MAIN)


def test_offsets_and_columns_count_characters_not_bytes() -> None:
    text = MAIN.read_text(encoding="utf-8")
    span = _blocks(MAIN)["main"]["spans"]["identifier"]
    assert text[span[2]:span[5]] == '"orders-db"'
    assert span[2] < text.encode().index(b'"orders-db"')  # the emoji and accents are 1 each


def test_a_value_span_ends_at_the_value_not_at_a_trailing_comment() -> None:
    span = _blocks(MAIN)["main"]["spans"]["count"]
    text = MAIN.read_text(encoding="utf-8")
    assert text[span[2]:span[5]] == "var.enabled ? 1 : 0"


def test_a_heredoc_with_template_directives_spans_to_its_closing_marker() -> None:
    api = _blocks(MAIN)["api"]
    line, _, _, end_line, _, _ = api["spans"]["container_definitions"]
    assert (line, end_line) == (15, 19)
    assert api["attrs"]["container_definitions"].endswith("  EOT")
    assert "%{ if var.pool_size != null }" in api["attrs"]["container_definitions"]


def test_a_block_span_runs_from_its_type_to_its_closing_brace() -> None:
    text = MAIN.read_text(encoding="utf-8")
    main = _blocks(MAIN)["main"]
    line, column, offset, end_line, end_column, end = main["span"]
    assert (line, column, end_line) == (main["line"], 1, main["end_line"])
    assert text[offset:end].startswith('resource "aws_db_instance" "main" {')
    assert text[offset:end].endswith("\n}")


def test_crlf_line_ends_keep_positions_in_the_file_and_lf_in_the_expression(
        tmp_path: Path) -> None:
    crlf = tmp_path / "main.tf"
    crlf.write_bytes(MAIN.read_bytes().replace(b"\n", b"\r\n"))
    _assert_spans_locate_their_source(crlf, newline="\r\n")
    assert "\r" not in _blocks(crlf)["api"]["attrs"]["container_definitions"]


def test_a_number_with_an_exponent_and_no_fraction_is_read() -> None:
    assert _blocks(MAIN)["main"]["attrs"]["max_conns"] == "1e3"
