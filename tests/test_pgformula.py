from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import connbudget.providers.aws.data as awsdata
from connbudget.providers.aws.pgformula import Evaluation, evaluate

DEFAULT = "LEAST({DBInstanceClassMemory/9531392},5000)"


def on_nominal_memory(text: str, name: str) -> Evaluation:
    found = awsdata.instance_class(name)
    assert found is not None
    return evaluate(text, memory_bytes=found.memory_bytes, vcpu=found.vcpu)


def test_default_formula_on_db_t3_medium_nominal_memory_is_450() -> None:
    result = on_nominal_memory(DEFAULT, "db.t3.medium")
    assert result.value == 450
    assert result.memory_bytes == 4 * 1024**3


def test_default_formula_on_db_t4g_small_is_225() -> None:
    assert on_nominal_memory(DEFAULT, "db.t4g.small").value == 225


def test_least_caps_at_5000() -> None:
    assert on_nominal_memory(DEFAULT, "db.r5.4xlarge").value == 5000


def test_default_formula_matches_the_data_table_for_every_class() -> None:
    for found in awsdata.instance_classes():
        assert on_nominal_memory(DEFAULT, found.name).value == found.nominal_max_connections


def test_plain_division_formula() -> None:
    result = evaluate("{DBInstanceClassMemory/12582880}", memory_bytes=16 * 1024**3)
    assert result.value == 16 * 1024**3 // 12582880
    assert result.is_formula


def test_literal_is_not_a_formula() -> None:
    result = evaluate(" 170 ")
    assert (result.value, result.is_formula, result.memory_bytes) == (170, False, None)


def test_log_is_base_2() -> None:
    result = evaluate("{log(DBInstanceClassMemory/8187281418)*1000}",
                      memory_bytes=8 * 8187281418)
    assert result.value == 3000


def test_division_truncates_before_log() -> None:
    result = evaluate("{log(DBInstanceClassMemory/8187281418)*1000}",
                      memory_bytes=3 * 8187281418 + 5)
    assert result.value == 1584


def test_greatest_and_sum_with_vcpu() -> None:
    assert evaluate("GREATEST({DBInstanceVCPU*2},5)", vcpu=4).value == 8
    assert evaluate("GREATEST({DBInstanceVCPU*2},5)", vcpu=2).value == 5
    assert evaluate("SUM({DBInstanceVCPU},10)", vcpu=4).value == 14


def test_function_names_are_case_insensitive() -> None:
    assert evaluate("least({DBInstanceClassMemory/9531392},100)", memory_bytes=2**40).value == 100


def test_memory_formula_without_memory_gives_a_reason() -> None:
    result = evaluate(DEFAULT)
    assert result.value is None
    assert "DBInstanceClassMemory" in result.reason


def test_variable_without_a_figure_gives_a_reason() -> None:
    result = evaluate("{AllocatedStorage/1073741824}")
    assert result.value is None
    assert "AllocatedStorage" in result.reason


def test_malformed_formulas_give_reasons() -> None:
    for text in ("LEAST({DBInstanceClassMemory/9531392},", "{1/0}", "5000)", "banana", "", "1 +"):
        result = evaluate(text, memory_bytes=2**32)
        assert result.value is None, text
        assert result.reason, text


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    result = evaluate("(" * 300 + "1" + ")" * 300)
    assert result.value is None
    assert "nested too deeply" in result.reason


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}()[],+-*/ 0123456789DBInstanceClassMemoryVCPULEASTGREATESTSUMlog",
               max_size=80))
def test_any_text_gives_a_value_or_a_reason(text: str) -> None:
    result = evaluate(text, memory_bytes=2**33, vcpu=4)
    assert (result.value is None) == bool(result.reason)
