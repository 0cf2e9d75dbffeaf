"""The parts of the Google Cloud and Azure providers: endpoint formats, ARM JSON with positions
and its expressions, and the Auth Proxy's arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from connbudget.frontends.arm import read as read_arm
from connbudget.frontends.arm.jsonpos import JsonError, parse
from connbudget.frontends.arm.template import Located, Template, Unresolved, resources
from connbudget.frontends.kubernetes.model import Container, ContainerEnv
from connbudget.kinds import ReadContext
from connbudget.providers.azure import tables as azure
from connbudget.providers.azure.flexible import endpoints as azure_endpoints
from connbudget.providers.google.authproxy import instances, max_connections
from connbudget.providers.google.cloudsql import endpoints as google_endpoints
from connbudget.providers.registry import endpoint_refs


@pytest.mark.parametrize(("ref", "alias"), [
    ("/cloudsql/acme-shop:us-central1:shop-db", "cloudsql:shop-db"),
    ("/cloudsql/acme-shop:us-central1:shop-db/.s.pgsql.5432", "cloudsql:shop-db"),
    ("acme-shop:us-central1:shop-db", "cloudsql:shop-db"),
    ("example.com:acme-shop:europe-west3:orders", "cloudsql:orders"),
    ("db.internal", "db.internal"),
    ("pgbouncer:6432", "pgbouncer:6432"),
])
def test_cloud_sql_connection_names_and_sockets_name_their_instance(ref: str, alias: str) -> None:
    assert google_endpoints({ref}) == {alias}


def test_a_flexible_servers_host_names_the_server_and_port_6432_its_pgbouncer() -> None:
    host = "shop-psql.postgres.database.azure.com"
    assert azure_endpoints({host}) == {"azure-postgres:shop-psql"}
    assert azure_endpoints({"shop-psql.privatelink.postgres.database.azure.com"}) == \
        {"azure-postgres:shop-psql"}
    # the same host with PgBouncer's port: the pooler, and not also the server
    assert azure_endpoints({host, f"{host}:6432"}) == {"azure-pgbouncer:shop-psql"}
    fqdn = "${azurerm_postgresql_flexible_server.main.fqdn}"
    assert azure_endpoints({"azurerm_postgresql_flexible_server.main", fqdn, f"{fqdn}:6432"}) \
        == {"azure-pgbouncer:azurerm_postgresql_flexible_server.main"}
    assert azure_endpoints({fqdn, f"{fqdn}:5432"}) == {"azurerm_postgresql_flexible_server.main"}


def test_ports_are_dropped_where_no_platform_reads_them() -> None:
    assert endpoint_refs({"db.internal", "db.internal:5432"}) == {"db.internal"}


def test_arm_json_keeps_every_values_position_and_allows_comments() -> None:
    node = parse('{\n  // the server\n  "a": {"b": [1, "two"]},\n  /* x */ "c": true\n}')
    b = node.get("a", "b")
    assert b is not None and (b.line, b.column, b.end_column) == (3, 14, 24)
    two = b.value[1]
    assert (two.value, two.line, two.column, two.end_column) == ("two", 3, 18, 23)
    assert node.get("C") is not None  # ARM property names ignore case


@pytest.mark.parametrize(("text", "line"), [
    ('{\n  "a": 1,\n  "b": \n}', 4), ('{"a": "unclosed', 1), ('{"a": 1} trailing', 1),
    ("[" * 200, 1),
])
def test_bad_arm_json_is_a_located_error_that_never_quotes_the_text(text: str,
                                                                    line: int) -> None:
    with pytest.raises(JsonError) as error:
        parse(text)
    assert error.value.line == line
    assert "unclosed" not in str(error.value) and "trailing" not in str(error.value)


def _template(text: str, given: dict[str, Located] | None = None) -> Template:
    return Template("t.json", parse(text), given or {})


def test_arm_expressions_evaluate_parameters_variables_and_string_functions() -> None:
    template = _template('''{"parameters": {"name": {"defaultValue": "shop"}},
      "variables": {"app": "[format('{0}-{1}', parameters('name'), 'api')]"},
      "resources": [{"type": "T", "name": "[concat(variables('app'), '-', toUpper('x'))]"},
                    {"type": "U", "name": "[[literal]"}]}''')
    found = resources(template)
    assert [(r.type, r.name.value) for r in found if isinstance(r.name, Located)] == [
        ("T", "shop-api-X"), ("U", "[literal]")]


def test_an_arm_reference_is_unknown_with_the_servers_it_names() -> None:
    host = ("[reference(resourceId('Microsoft.DBforPostgreSQL/flexibleServers', "
            "parameters('s'))).fullyQualifiedDomainName]")
    template = _template('{"parameters": {"s": {"defaultValue": "shop-psql"}}, "resources": '
                         '[{"type": "T", "name": "x", "properties": {"host": "' + host + '"}}]}')
    [resource] = resources(template)
    found = resource.get("properties", "host")
    assert isinstance(found, Unresolved)
    assert found.resources == (("Microsoft.DBforPostgreSQL/flexibleServers", "shop-psql"),)


def test_arm_child_resources_and_nested_deployments_are_read() -> None:
    template = _template('''{"resources": [
      {"type": "Microsoft.DBforPostgreSQL/flexibleServers", "name": "db",
       "resources": [{"type": "configurations", "name": "max_connections",
                      "properties": {"value": "90"}}]},
      {"type": "Microsoft.Resources/deployments", "name": "mod",
       "properties": {"parameters": {"n": {"value": "inner"}}, "template": {
         "parameters": {"n": {"type": "string"}},
         "resources": [{"type": "Microsoft.App/containerApps", "name": "[parameters('n')]"}]}}}
    ]}''')
    found = {(r.type, r.name.value) for r in resources(template) if isinstance(r.name, Located)}
    assert ("Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            "db/max_connections") in found
    assert ("Microsoft.App/containerApps", "inner") in found


def test_an_arm_parameters_file_gives_values_at_their_own_lines(tmp_path: Path) -> None:
    (tmp_path / "main.json").write_text(
        '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/'
        'deploymentTemplate.json#",\n "parameters": {"n": {"defaultValue": 1}},\n'
        ' "resources": [{"type": "T", "name": "x", "properties": {"n": "[parameters(\'n\')]"}}]}')
    (tmp_path / "main.parameters.json").write_text(
        '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/'
        'deploymentParameters.json#",\n "parameters": {\n  "n": {"value": 7}\n }\n}')
    read = read_arm([str(tmp_path / "main.json"), str(tmp_path / "main.parameters.json")],
                    ReadContext())
    [resource] = read.result.resources
    found = resource.get("properties", "n")
    assert isinstance(found, Located)
    assert (found.value, found.file, found.node.line) == (7, str(tmp_path /
                                                               "main.parameters.json"), 3)


def _proxy(*args: str, env: tuple[ContainerEnv, ...] = ()) -> Container:
    return Container("cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1",
                     env, (), args, (), "d.yaml", 10)


def test_the_auth_proxy_names_its_instances_in_v1_and_v2_forms() -> None:
    assert instances(_proxy("--port=5432", "acme:us-central1:shop?port=5433")) == \
        {"cloudsql:shop"}
    assert instances(_proxy("-instances=acme:us-central1:a=tcp:5432,acme:us-central1:b")) == \
        {"cloudsql:a", "cloudsql:b"}


@pytest.mark.parametrize(("args", "limit"), [
    (("--max-connections=15",), 15), (("--max-connections", "8"), 8),
    (("-max_connections=4",), 4), (("--max-connections=0",), None), ((), None),
])
def test_the_auth_proxys_connection_limit(args: tuple[str, ...], limit: int | None) -> None:
    found = max_connections(_proxy(*args))
    assert (found.value if found else None) == limit


def test_the_arm_sku_tiers_map_to_the_sku_name_prefixes() -> None:
    assert [azure.arm_tier(t) for t in ("Burstable", "GeneralPurpose", "MemoryOptimized",
                                        "Premium")] == ["B", "GP", "MO", None]
