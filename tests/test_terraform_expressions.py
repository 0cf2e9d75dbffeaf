"""The expression subset real configurations use, evaluated as Terraform would."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FIXTURES

from connbudget.frontends.terraform import Unknown, load_terraform

EXPRESSIONS = FIXTURES / "terraform" / "loader" / "expressions"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    model = load_terraform([str(EXPRESSIONS)], [], cache=False)
    resource = model.resource("terraform_data.values")
    assert resource is not None and not model.errors
    result: dict[str, Any] = resource.attrs["input"]
    return result


@pytest.mark.parametrize(("name", "expected"), [
    ("arithmetic", 23.5),
    ("comparison", True),
    ("conditional", "small"),
    ("interpolated", "pool=8 workers=2"),
    ("escaped", "literal ${not_interpolated} and %{ not_a_directive }"),
    ("maximum", 9),
    ("minimum", 3),
    ("to_string", "8"),
    ("to_number", 13),
    ("looked_up", 20),
    ("looked_miss", 1),
    ("tried", "fallback"),
    ("coalesced", "first"),
    ("merged", {"team": "payments", "env": "prod"}),
    ("concatenated", ["api", "worker", "cron"]),
    ("length", 2),
    ("formatted", "db-007-2.2"),
    ("encoded", '{"a":true,"b":[1,"two"]}'),
    ("decoded", 10),
    ("rounded", [7, 8]),
    ("cased", ["AB", "cd"]),
    ("replaced", ["a_b_c", "version1..2"]),
    ("indexed", "worker"),
    ("splat", ["API", "WORKER"]),
    ("keyed", {"api": 3, "worker": 6}),
    ("heredoc", "first apimany"),
    ("ranged", [1, 3, 5]),
    ("sliced", ["worker"]),
    ("flattened", ["a", "b", "c"]),
    ("deduplicated", ["a", "b"]),
    ("compacted", ["a", "b"]),
    ("base", "app.json"),
])
def test_expression_evaluates_like_terraform(values: dict[str, Any], name: str,
                                             expected: Any) -> None:
    assert values[name] == expected


def test_local_cycle_is_unknown(values: dict[str, Any]) -> None:
    assert values["cycle"] == Unknown("local.first", "local first depends on itself")


def test_unsupported_function_is_unknown_not_guessed(values: dict[str, Any]) -> None:
    assert values["unknown_fn"] == Unknown("uuid()", "function uuid() is not evaluated")


def test_error_in_one_element_leaves_the_others_known(values: dict[str, Any]) -> None:
    assert values["bad_index"] == Unknown("local.names[5]", "index out of range")
    assert values["indexed"] == "worker"
