"""Hostile pull requests and secrets: what Terraform evaluation may keep of a secret value.

A string of a var-file the run is given (a CI job's secrets) is sensitive: it and what is
computed from it leave the evaluator as unknowns that say why. A secret the code itself gives
(a sensitive variable, a key that names a secret) is kept as a stand-in of the same kind. No
evaluation error names a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from connbudget.frontends.terraform import Unknown, decode_json, load_terraform
from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.parse import parse_hcl
from connbudget.frontends.terraform.values import Context, Scope
from connbudget.passwords import SECRET_HINTS, names_a_secret

SECRET = "hunter2-0451"
VAR_FILE_TREE = FIXTURES / "hostile" / "jobs" / "var_file_secrets"


def _value(text: str) -> Any:
    return evaluate_raw(text, Scope(Context()))


@pytest.mark.parametrize("text", [
    f'{{ a = 1 }}["{SECRET}"]',
    f'lookup({{ a = 1 }}, "{SECRET}")',
    f'file("{SECRET}.txt")',
    f'templatefile("/{SECRET}", {{}})',
    f'{{ for k in ["{SECRET}", "{SECRET}"] : k => 1 }}',
    f'format("%09d", "{SECRET}")',
    f'tonumber("{SECRET}")',
])
def test_an_evaluation_error_names_no_value(text: str) -> None:
    value = _value(text)
    assert isinstance(value, Unknown)
    assert SECRET not in value.reason


@pytest.mark.parametrize(("text", "expected"), [
    (f'{{ db = {{ password = "{SECRET}" }} }}.db.password', "<redacted>"),
    (f'{{ api_key = "{SECRET}" }}["api_key"]', "<redacted>"),
    (f'lookup({{ DB_PASS = "{SECRET}" }}, "DB_PASS")', "<redacted>"),
    (f'jsondecode("{{\\"adminPwd\\": \\"{SECRET}\\"}}").adminPwd', "<redacted>"),
    ('{ password = "md5' + "a" * 32 + '" }.password', "md5" + "0" * 32),  # same kind
    ('{ key = "bucket/state" }.key', "bucket/state"),  # `key` alone names no secret
    ('{ secrets = [{ name = "DB_URL", valueFrom = "arn" }] }.secrets[0].name', "DB_URL"),
])
def test_a_key_that_names_a_secret_holds_a_stand_in_at_any_depth(text: str,
                                                                 expected: str) -> None:
    assert _value(text) == expected


def _loaded(tmp_path: Path) -> dict[str, Any]:
    var_file = tmp_path / "ci.tfvars"
    var_file.write_text(f'db_password = "{SECRET}"\napi_key = "k-{SECRET}"\n'
                        f'creds = {{ admin = {{ pwd = "p-{SECRET}" }} }}\n'
                        'environment = "prod"\n')
    model = load_terraform([str(VAR_FILE_TREE)], [str(var_file)], cache=False)
    assert SECRET not in repr(model)
    return {r.address: r.attrs for r in model.resources}


def test_a_var_file_string_and_what_is_computed_from_it_are_unknown(tmp_path: Path) -> None:
    attrs = _loaded(tmp_path)
    name = attrs["postgresql_role.name"]["name"]
    assert isinstance(name, Unknown)
    assert name.reason == "a sensitive value (a value of var-file ci.tfvars)"
    derived = attrs["postgresql_role.derived"]
    assert isinstance(derived["name"], Unknown) and derived["name"].partial == "r-${replace(" \
        'var.creds.admin.pwd, "-", "_")}'  # the template's text, never the value
    assert derived["connection_limit"] == Unknown(
        "length(var.api_key)", "computed from a sensitive value (a value of var-file "
        "ci.tfvars)")


def test_instance_keys_from_a_var_file_make_the_instances_unknown(tmp_path: Path) -> None:
    """Terraform itself refuses sensitive values in for_each: no address holds one."""
    attrs = _loaded(tmp_path)
    assert [address for address in attrs if address.startswith("postgresql_role.keys")] == [
        "postgresql_role.keys"]
    assert isinstance(attrs["postgresql_role.keys"]["for_each"], Unknown)


def test_jsonencode_keeps_a_sensitive_value_out_as_an_unknown_part(tmp_path: Path) -> None:
    definitions = decode_json(_loaded(tmp_path)["aws_ecs_task_definition.api"][
        "container_definitions"])
    environment = definitions[0]["environment"]
    assert environment[0] == {"name": "PG_POOL_SIZE", "value": "10"}  # still read
    assert environment[1]["name"] == "LEAK"
    assert isinstance(environment[1]["value"], Unknown)


_SECRET_NAMES = ("password", "dbPassWord", "DB_PASSWD", "db_pass", "adminPwd", "api_key",
                 "apiKey", "APIKEY", "ssh_keys", "creds", "Credentials", "client_secret",
                 "SECRET_ARN", "authToken", "passphrase")


@pytest.mark.parametrize("name", _SECRET_NAMES)
def test_every_name_that_names_a_secret_holds_a_hint_the_parser_looks_for(name: str) -> None:
    # the parser skips the search for nested secrets in a text holding no hint
    assert names_a_secret(name)
    assert any(hint in name.lower() for hint in SECRET_HINTS)


@pytest.mark.parametrize("name", _SECRET_NAMES)
def test_a_nested_secret_under_any_such_name_is_a_stand_in_in_the_parse(name: str) -> None:
    body = parse_hcl(f'locals {{\n  db = {{ host = "h", {name} = "{SECRET}" }}\n}}\n'.encode(),
                     redact=True)
    text = body["blocks"][0]["attrs"]["db"]
    assert SECRET not in text and '"<redacted>"' in text
