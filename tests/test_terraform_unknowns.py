"""Values that cannot be known come out as `Unknown` with the references they depend on."""

from __future__ import annotations

from typing import Any

from conftest import FIXTURES

from connbudget.frontends.terraform import Unknown, load_terraform

UNKNOWNS = FIXTURES / "terraform" / "loader" / "unknowns"


def _api(attribute: str) -> Any:
    model = load_terraform([str(UNKNOWNS)], [], cache=False)
    service = model.resource("aws_ecs_service.api")
    assert service is not None
    return service.attrs[attribute]


def test_resource_attribute_reference_is_unknown_with_its_address() -> None:
    assert _api("load_balancer") == Unknown(
        "aws_db_instance.main.address", "reference to aws_db_instance.main.address",
        ("aws_db_instance.main",))


def test_reference_inside_interpolation_is_recorded() -> None:
    url = _api("url")
    assert isinstance(url, Unknown)
    assert url.references == ("aws_db_instance.main",)
    assert url.partial == "postgres://${aws_db_instance.main.address}:${aws_db_instance.main.port}/app"


def test_data_source_reference_is_unknown() -> None:
    secret = _api("secret")
    assert isinstance(secret, Unknown)
    assert secret.references == ("data.aws_secretsmanager_secret_version.db",)


def test_unsupported_function_is_unknown_with_its_text() -> None:
    assert _api("hash") == Unknown('sha256("x")', "function sha256() is not evaluated")


def test_function_of_an_unknown_variable_is_unknown() -> None:
    sized = _api("sized")
    assert isinstance(sized, Unknown)
    assert (sized.expression, sized.reason) == ("max(var.undefined, 3)",
                                                "variable undefined has no value")


def test_unknown_condition_keeps_the_references_of_both_branches() -> None:
    chosen = _api("chosen")
    assert isinstance(chosen, Unknown)
    assert chosen.references == ("aws_db_instance.main",)


def test_indexed_reference_names_the_instance() -> None:
    indexed = _api("indexed")
    assert isinstance(indexed, Unknown)
    assert indexed.references == ("aws_db_instance.main[0]",)


def test_unknown_count_keeps_one_instance_and_says_so() -> None:
    model = load_terraform([str(UNKNOWNS)], [], cache=False)
    scaled = model.resource("aws_ecs_service.scaled")
    assert scaled is not None
    assert scaled.attrs["count"] == Unknown("var.undefined", "variable undefined has no value")
