"""The Terraform loader on small real trees: variables, locals, expansion, modules, errors."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES

from connbudget.frontends.terraform import (
    ModuleCall,
    Resource,
    TerraformModel,
    Unknown,
    line_of,
    load_terraform,
)

LOADER = FIXTURES / "terraform" / "loader"


def _load(*names: str, var_files: tuple[Path, ...] = ()) -> TerraformModel:
    return load_terraform([str(LOADER / name) for name in names],
                          [str(path) for path in var_files], cache=False)


def _resource(model: TerraformModel, address: str) -> Resource:
    resource = model.resource(address)
    assert resource is not None, address
    return resource


def test_tfvars_override_defaults_and_later_auto_tfvars_win() -> None:
    service = _resource(_load("variables"), "aws_ecs_service.api")
    # pool_size 10 from terraform.tfvars, max_tasks 38 from b.auto.tfvars over a.auto.tfvars
    assert service.attrs["tags"] == {"total_connections": 380}


def test_var_file_numbers_win_over_tfvars_and_its_strings_are_sensitive() -> None:
    model = _load("variables", var_files=(LOADER / "variables" / "production.tfvars",))
    # replicas = 2 from the var-file: its numbers are read
    replicas = [r for r in model.by_type("aws_db_instance") if r.name == "replica"]
    assert [r.address for r in replicas] == ["aws_db_instance.replica[0]",
                                             "aws_db_instance.replica[1]"]
    # its strings are sensitive: what they decide is unknown and says why, never guessed
    service = _resource(model, "aws_ecs_service.api")
    for value in (service.attrs["name"], service.attrs["desired_count"],
                  replicas[0].attrs["instance_class"]):
        assert isinstance(value, Unknown)
        assert "sensitive" in value.reason and "production.tfvars" in value.reason
    assert "'production'" not in repr(model.resources)


def test_a_var_file_of_the_scanned_tree_is_read_like_the_code_beside_it() -> None:
    """env/production.tfvars committed next to the root: its strings decide the budget."""
    var_file = str(LOADER / "variables" / "production.tfvars")
    model = load_terraform([str(LOADER / "variables")], [var_file], cache=False,
                           secret_var_files=())
    replicas = [r for r in model.by_type("aws_db_instance") if r.name == "replica"]
    assert [r.attrs["instance_class"] for r in replicas] == ["db.t3.medium"] * 2


def test_a_committed_var_file_given_with_var_file_shows_its_instance_class(
        tmp_path: Path) -> None:
    from conftest import run_cli

    tree = tmp_path / "tree"
    (tree / "env").mkdir(parents=True)
    (tree / "main.tf").write_text(
        'variable "instance_class" {}\n'
        'resource "aws_db_instance" "main" {\n'
        '  identifier     = "main"\n'
        '  engine         = "postgres"\n'
        '  instance_class = var.instance_class\n'
        '}\n')
    (tree / "env" / "prod.tfvars").write_text('instance_class = "db.t3.medium"\n')
    outside = tmp_path / "ci.tfvars"
    outside.write_text('instance_class = "db.t3.medium"\n')
    committed = run_cli("capacity", str(tree), "--var-file", str(tree / "env" / "prod.tfvars"),
                        "--format", "json", "--no-cache")
    secret = run_cli("capacity", str(tree), "--var-file", str(outside), "--format", "json",
                     "--no-cache")
    assert "db.t3.medium" in committed.out
    assert "db.t3.medium" not in secret.out + secret.err


def test_object_variable_gets_optional_attribute_default() -> None:
    database = _resource(_load("variables"), "aws_db_instance.main")
    assert database.attrs["instance_class"] == "db.t3.micro"
    assert database.attrs["tags"] == {"max_connections": 100}


def test_count_zero_resource_is_absent() -> None:
    model = _load("variables")
    assert not [r for r in model.resources if r.name == "replica"]


def test_count_expands_with_count_index() -> None:
    model = _load("variables")
    pair = [r for r in model.by_type("aws_db_instance") if r.name == "pair"]
    assert [(r.address, r.attrs["identifier"]) for r in pair] == [
        ("aws_db_instance.pair[0]", "pair-0"), ("aws_db_instance.pair[1]", "pair-1")]


def test_for_each_expands_with_each_key_and_value() -> None:
    roles = [r for r in _load("variables").by_type("postgresql_role") if r.name == "service"]
    assert [(r.address, r.attrs["name"], r.attrs["connection_limit"]) for r in roles] == [
        ('postgresql_role.service["api"]', "api", 25),
        ('postgresql_role.service["worker"]', "worker", 15)]


def test_variable_without_value_is_unknown() -> None:
    role = _resource(_load("variables"), "postgresql_role.unset")
    assert role.attrs["name"] == Unknown("var.no_default", "variable no_default has no value")


def test_resource_keeps_block_lines_and_file() -> None:
    service = _resource(_load("variables"), "aws_ecs_service.api")
    assert (Path(service.file).name, service.line, service.end_line) == ("main.tf", 8, 14)


def test_local_module_resources_are_addressed_under_the_module() -> None:
    database = _resource(_load("modules"), "module.database.aws_db_instance.this")
    assert database.attrs == {"identifier": "orders", "instance_class": "db.r6g.large"}


def test_local_module_output_carries_the_child_resource_reference() -> None:
    task = _resource(_load("modules"), "module.api.aws_ecs_task_definition.this")
    definitions = task.attrs["container_definitions"]
    assert isinstance(definitions, Unknown)
    assert definitions.references == ("module.database.aws_db_instance.this",)


def test_registry_module_call_is_recorded_with_evaluated_inputs() -> None:
    calls = {call.address: call for call in _load("modules").modules}
    assert calls["module.rds"] == ModuleCall(
        "module.rds", "terraform-aws-modules/rds/aws", "~> 6.0",
        {"identifier": "billing", "instance_class": "db.t3.medium",
         "parameters": [{"name": "max_connections", "value": 170}]},
        str(LOADER / "modules" / "main.tf"), 14, 25)


def test_registry_module_output_reference_is_unknown_with_the_module_address() -> None:
    worker = {call.address: call for call in _load("modules").modules}["module.worker"]
    assert worker.source == "terraform-aws-modules/ecs/aws//modules/service"
    url = worker.inputs["container_definitions"]["worker"]["environment"][0]["value"]
    assert isinstance(url, Unknown)
    assert url.references == ("module.rds",)


def test_missing_local_module_is_a_located_error() -> None:
    model = _load("modules")
    assert [(Path(e.file).name, e.line) for e in model.errors] == [("main.tf", 41)]
    assert "modules/absent" in model.errors[0].message


def test_module_cycle_is_a_located_error_not_a_hang() -> None:
    model = _load("cycle/a")
    assert [r.address for r in model.resources] == ["aws_db_instance.a"]
    assert [(Path(e.file).parent.name, e.line) for e in model.errors] == [("b", 1)]
    assert "cycle" in model.errors[0].message


def test_listed_child_module_directory_is_not_loaded_twice_as_a_root() -> None:
    model = _load("modules", "modules/modules/database")
    assert [r.address for r in model.by_type("aws_db_instance")] == [
        "module.database.aws_db_instance.this"]


def test_unparseable_file_is_located_and_siblings_still_load() -> None:
    model = _load("broken")
    assert [r.address for r in model.resources] == ["aws_db_instance.survivor"]
    assert [(Path(e.file).name, e.line) for e in model.errors] == [("invalid.tf", 4)]


def test_parse_error_never_shows_the_password() -> None:
    model = _load("broken")
    assert all("hunter2" not in str(error) for error in model.errors)


def test_missing_var_file_is_an_error() -> None:
    model = _load("variables", var_files=(LOADER / "variables" / "absent.tfvars",))
    assert [Path(e.file).name for e in model.errors] == ["absent.tfvars"]


def test_crlf_and_byte_order_mark_files_load() -> None:
    model = _load("encodings")
    assert not model.errors
    assert _resource(model, "aws_db_instance.bom").attrs == {"identifier": "bom"}
    windows = _resource(model, "aws_db_instance.windows")
    assert windows.attrs["tags"] == {"note": "saved with CRLF\n"}
    assert (windows.line, windows.end_line) == (1, 8)


def test_resource_records_the_line_of_each_attribute() -> None:
    service = _resource(_load("variables"), "aws_ecs_service.api")
    assert {name: line_of(service, name) for name in ("name", "desired_count", "tags")} == {
        "name": 9, "desired_count": 10, "tags": 11}


def test_dynamic_blocks_expand_into_nested_blocks() -> None:
    group = _resource(_load("modules"), "module.database.aws_db_parameter_group.this")
    assert group.attrs["parameter"] == [
        {"name": "idle_in_transaction_session_timeout", "value": "60000"},
        {"name": "max_connections", "value": "400"}]


def test_module_shared_by_two_roots_reports_its_error_once() -> None:
    model = _load("shared/prod", "shared/staging")
    assert [r.address for r in model.resources] == ["module.app.aws_db_instance.this"] * 2
    assert [(Path(e.file).parent.name, e.line) for e in model.errors] == [("module", 1)]


def test_a_local_module_with_no_tf_files_is_a_located_error() -> None:
    model = _load("empty-module")
    assert [(Path(e.file).name, e.line) for e in model.errors] == [("main.tf", 1)]
    assert "holds no .tf files" in model.errors[0].message
    assert [r.address for r in model.resources] == ["postgresql_role.app"]
