"""container_definitions in its four shapes, decoded with unknown parts kept."""

from __future__ import annotations

from typing import Any

from conftest import FIXTURES

from connbudget.frontends.terraform import Unknown, decode_json, load_terraform

CONTAINERS = FIXTURES / "terraform" / "loader" / "containers"


def _environment(name: str) -> dict[str, Any]:
    model = load_terraform([str(CONTAINERS)], [], cache=False)
    task = model.resource(f"aws_ecs_task_definition.{name}")
    assert task is not None
    containers = decode_json(task.attrs["container_definitions"])
    return {item["name"]: item["value"] for item in containers[0]["environment"]}


def _database_url(environment: dict[str, Any]) -> tuple[str, ...]:
    url = environment["DATABASE_URL"]
    assert isinstance(url, Unknown)
    return url.references


def test_jsonencode_definitions_decode_with_pool_size_and_reference() -> None:
    environment = _environment("encoded")
    assert environment["PG_POOL_SIZE"] == "10"
    assert _database_url(environment) == ("aws_db_instance.main",)


def test_heredoc_definitions_decode_with_pool_size_and_reference() -> None:
    environment = _environment("heredoc")
    assert environment["DB_POOL_SIZE"] == "10"
    assert _database_url(environment) == ("aws_db_instance.main",)


def test_file_definitions_are_read_relative_to_the_module() -> None:
    assert _environment("from_file") == {"POOL_SIZE": "7"}


def test_templatefile_definitions_render_variables_and_for_directives() -> None:
    environment = _environment("from_template")
    assert environment["PG_POOL_SIZE"] == "10"
    assert environment["WEB_CONCURRENCY"] == "3"
    assert _database_url(environment) == ("aws_db_instance.main",)

