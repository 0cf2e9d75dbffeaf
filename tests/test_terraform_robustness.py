"""Any expression text ends in a value or an `Unknown`: never an exception, never a hang."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.model import Unknown
from connbudget.frontends.terraform.values import Context, Scope

_PIECES = ['"', "${", "%{", "}", "{", "[", "]", "(", ")", "var.x", "local.y", "aws_db.main",
           ".address", "[0]", "[*]", "max(", "jsonencode(", "try(", "for k, v in ", " : ",
           " => ", "...", " ? ", "1", "-2.5", "true", "null", ", ", " + ", " * ", " / 0",
           " == ", " && ", "!", "<<EOT\n", "\nEOT\n", "if ", "endif", "endfor", "#", "\\",
           "\n", "each.value", "count.index", "format(\"%d\", ", "templatefile(", "range(",
           "1e308", "9" * 30]


@settings(max_examples=400, deadline=2000)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_any_expression_text_evaluates_or_is_unknown(text: str) -> None:
    value = evaluate_raw(text, Scope(Context()))
    assert not isinstance(value, BaseException)
    if isinstance(value, Unknown):
        assert value.expression == text


@settings(max_examples=50, deadline=5000)
@given(st.integers(min_value=50, max_value=3000))
def test_deeply_nested_expression_is_unknown_not_a_crash(depth: int) -> None:
    text = "[" * depth + "1" + "]" * depth
    value = evaluate_raw(text, Scope(Context()))
    assert isinstance(value, (list, Unknown))
