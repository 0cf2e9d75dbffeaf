"""Coverage: what a run recognises and does not read is counted, shown in every format, and
keeps the databases it may touch from being "ok" (CB111); clients match by where they connect;
the same tree gives the same result whichever way its path is spelled."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT, run_cli
from test_reporters import sarif_validator

from connbudget.providers.registry import endpoint_names

COVERAGE = "fixtures/coverage"


def _json(*args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    result = run_cli(*args, "--format", "json", cwd=cwd)
    data = result.json()
    assert isinstance(data, dict)
    return result.code, data


def _unread(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["what"], item["kind"]) for item in report["coverage"]["unread"]]


def _cb111(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(f["resource"], Path(f["file"]).name, f["line"]) for f in report["findings"]
            if f["rule_id"] == "CB111"]


def test_rails_compose_app_is_counted_from_its_config_files() -> None:
    code, report = _json("scan", f"{COVERAGE}/rails-compose")
    [budget] = report["budgets"]
    assert [(c["client"], c["pool"], c["sources"]["pool"]["line"]) for c in budget["clients"]] \
        == [("compose/web", 5, 4), ("compose/sidekiq", 5, 4)]  # database.yml's pool: line
    assert budget["coverage"] == {"complete": True, "clients_read": 2, "poolers_read": 0,
                                  "unread": []}
    assert "CB111" not in {f["rule_id"] for f in report["findings"]}
    assert code == 0


def _rails_without_config(tmp_path: Path) -> Path:
    """The same compose app with its config/ not in the scanned tree."""
    tree = tmp_path / "app"
    shutil.copytree(FIXTURES / "coverage" / "rails-compose", tree)
    shutil.rmtree(tree / "config")
    return tree


def test_rails_compose_app_without_its_config_files_is_incomplete_not_ok(
        tmp_path: Path) -> None:
    tree = _rails_without_config(tmp_path)
    code, report = _json("scan", str(tree))
    [budget] = report["budgets"]
    assert (budget["database"], budget["clients"]) == ("compose/db", [])
    assert budget["verdict"]["rule_id"] == "CB111"
    assert budget["coverage"] == {
        "complete": False, "clients_read": 0, "poolers_read": 0,
        "unread": [{
            "what": f"compose/{name}", "kind": "client",
            "why": "it depends on compose/db but its environment sets no connection or pool "
                   "setting: its database and pool are in application files connbudget does "
                   "not read",
            "file": f"{tree}/docker-compose.yml", "line": line,
            "fix": "set them in its environment, where the budget reads them: DATABASE_URL "
                   "(postgres://<user>@db/<database>) and the pool its library reads "
                   "(RAILS_MAX_THREADS, DB_POOL_SIZE, ...)",
            "databases": ["compose/db"]} for name, line in (("web", 26), ("sidekiq", 32))]}
    assert report["coverage"] == {"databases": 1, "complete": 0, "incomplete": 1,
                                  "unread": budget["coverage"]["unread"]}
    assert code == 0
    assert run_cli("scan", str(tree), "--fail-on", "warning").code == 1


def test_text_shows_the_incomplete_math_and_the_last_line_says_so(tmp_path: Path) -> None:
    out = run_cli("scan", str(_rails_without_config(tmp_path)), env={"COLUMNS": "100"}).out
    math = out.split("THE CONNECTION MATH")[1]
    assert "  no client read, usable 97       incomplete\n" in math
    assert "  coverage: 0 clients read; not read: compose/web, compose/sidekiq\n" in math
    assert out.splitlines()[-1] == "coverage: 1 database, incomplete, 2 things not read"


def test_lambda_behind_rds_proxy_is_counted_behind_the_proxy_and_its_pool_is_unknown() -> None:
    _, report = _json("scan", f"{COVERAGE}/lambda-rds-proxy")
    [budget] = report["budgets"]
    [proxy] = budget["clients"]
    assert proxy["client"] == "aws_db_proxy.orders"
    assert [c["client"] for c in proxy["behind"]] == ["aws_lambda_function.api"]
    assert budget["coverage"]["complete"] is True
    # no library is named, so the pool is a stated default: never "ok" in silence
    [unknown] = [f for f in report["findings"] if f["rule_id"] == "CB103"
                 and f["resource"] == "aws_lambda_function.api"]
    assert "pool size is not set: the budget assumes 10" in unknown["message"]
    assert "CB102" in {f["rule_id"] for f in report["findings"]}  # 1549 of 1717 usable


def test_a_root_of_git_and_registry_modules_warns_although_no_database_was_read() -> None:
    code, report = _json("scan", f"{COVERAGE}/git-modules")
    assert report["budgets"] == []
    assert _unread(report) == [("module.network", "module"), ("module.database", "module"),
                               ("module.api", "module")]
    assert [f["rule_id"] for f in report["findings"]] == ["CB111"] * 3
    assert "no database in its scope was read" in report["findings"][0]["message"]
    assert "terraform show -json plan.out" in report["findings"][0]["fix"]
    out = run_cli("scan", f"{COVERAGE}/git-modules").out
    assert out.splitlines()[-1] == "coverage: no database read, 3 things not read"
    assert run_cli("scan", f"{COVERAGE}/git-modules", "--fail-on", "warning").code == 1


def test_a_bicep_stack_is_a_warning_not_nothing_to_check() -> None:
    _, report = _json("scan", f"{COVERAGE}/bicep")
    assert _cb111(report) == [("Bicep file main.bicep", "main.bicep", 1)]
    assert report["findings"][0]["fix"] == (
        f"build it and scan the result: az bicep build --file {COVERAGE}/bicep/main.bicep "
        f"--outfile {COVERAGE}/bicep/main.json && connbudget scan {COVERAGE}/bicep/main.json")
    assert "CB110" not in {f["rule_id"] for f in report["findings"]}


def test_resource_types_not_modelled_yet_are_coverage_items_with_what_they_are() -> None:
    _, report = _json("scan", f"{COVERAGE}/not-modelled")
    assert {item["what"]: item["why"] for item in report["coverage"]["unread"]} == {
        "aws_elastic_beanstalk_environment.web":
            "an Elastic Beanstalk environment, a client connbudget does not model yet",
        "google_cloudfunctions2_function.ingest":
            "a Cloud Run function, a client connbudget does not model yet",
        "google_alloydb_instance.main": "an AlloyDB instance, a database connbudget does not "
                                        "model yet",
        "azurerm_linux_function_app.jobs": "an Azure Functions app, a client connbudget does "
                                           "not model yet",
        "aws_lightsail_database.reports": "a Lightsail managed database, a database connbudget "
                                          "does not model yet",
    }  # not the MySQL Lightsail database
    [orders] = report["budgets"]
    assert orders["coverage"]["complete"] is False  # the clients may reach it
    beanstalk = next(item for item in report["coverage"]["unread"]
                     if item["what"] == "aws_elastic_beanstalk_environment.web")
    assert "setting aws:autoscaling:asg MaxSize x processes x pool" in beanstalk["fix"]


def test_a_pinned_database_of_a_type_not_modelled_is_described_by_its_pin(
        tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "coverage" / "not-modelled", tmp_path / "stack")
    (tmp_path / "stack" / ".connbudget.toml").write_text(
        '[databases."google_alloydb_instance.main"]\nmax-connections = 200\n')
    _, report = _json("scan", str(tmp_path / "stack"))
    assert "google_alloydb_instance.main" not in [w for w, _ in _unread(report)]
    [budget] = [b for b in report["budgets"] if b["database"] == "google_alloydb_instance.main"]
    # a pinned database that is not RDS is never charged RDS's reserved slots
    assert (budget["max_connections"], budget["reserved"]) == (200, 3)
    assert "google_cloudfunctions2_function.ingest" in [
        item["what"] for item in budget["coverage"]["unread"]]


def test_reserved_slots_follow_the_platform_never_rds_for_a_self_managed_database() -> None:
    _, report = _json("scan", f"{COVERAGE}/commands/docker-compose.yml")
    [budget] = report["budgets"]
    assert (budget["database"], budget["max_connections"], budget["reserved"]) == (
        "compose/db", 120, 3)
    assert "rds" not in budget["reserved_source"]


def test_a_helm_tree_is_coverage_whichever_way_it_is_scanned() -> None:
    tree = FIXTURES / "coverage" / "helm-tree"
    runs = [_json("scan", ".", cwd=tree), _json("scan", "fixtures/coverage/helm-tree"),
            _json("scan", "./fixtures/coverage/helm-tree/"), _json("scan", str(tree))]
    for code, report in runs:
        assert (code, report["errors"]) == (0, [])
        assert _cb111(report) == [("Helm chart storefront", "Chart.yaml", 1),
                                  ("Helm template migrate-job.yaml", "migrate-job.yaml", 1)]
        assert report["coverage"]["incomplete"] == 1
    # the chart alone, by name: one item, no input error for its templates
    code, report = _json("scan", "charts", cwd=tree)
    assert (code, report["errors"], _unread(report)) == (0, [], [("Helm chart storefront",
                                                                   "chart")])


def _from_root(path: str, cwd: Path) -> str:
    return os.path.relpath(os.path.join(cwd, path), ROOT)


def _findings(report: dict[str, Any], cwd: Path) -> list[tuple[str, str, int, str]]:
    """Findings with their files (and the resource of a pooler that is its own file) as paths
    relative to the repository, whatever the spelling."""
    return [(f["rule_id"], _from_root(f["file"], cwd), f["line"],
             _from_root(f["resource"], cwd) if os.path.isfile(os.path.join(cwd, f["resource"]))
             else f["resource"]) for f in report["findings"]]


@pytest.mark.parametrize("tree", ["fixtures/coverage/secret-urls", "fixtures/capacity/k8s-hpa",
                                  "fixtures/coverage/helm-tree", "fixtures/stacks/multi-root"])
def test_the_same_tree_gives_the_same_result_whichever_way_its_path_is_spelled(
        tree: str) -> None:
    spellings = [(tree, ROOT), (f"./{tree}/", ROOT), (str(ROOT / tree), ROOT),
                 (".", ROOT / tree)]
    results = []
    for path, cwd in spellings:
        code, report = _json("scan", path, cwd=cwd)
        results.append((code, _findings(report, cwd), report["coverage"]["complete"],
                        report["coverage"]["incomplete"], len(report["coverage"]["unread"])))
    assert all(result == results[0] for result in results[1:])


def test_services_on_one_secret_url_are_treated_alike_and_name_no_other_variable() -> None:
    _, report = _json("scan", f"{COVERAGE}/secret-urls")
    unread = {item["what"]: item for item in report["coverage"]["unread"]}
    for name in ("aws_ecs_service.api", "aws_ecs_service.worker"):
        assert unread[name]["why"] == (
            "the database it connects to is unknown (DATABASE_URL comes from an ECS task "
            "secret, whose value is never read)")
        assert unread[name]["databases"] == ["aws_db_instance.main"]
    ini = unread[f"{COVERAGE}/secret-urls/pgbouncer.ini"]
    assert (ini["kind"], ini["why"]) == (
        "pooler", "it connects to 127.0.0.1, which no scanned database or pooler answers to")
    text = json.dumps(report)
    assert "aws_s3_bucket" not in text and "aws_route53_record" not in text
    [budget] = report["budgets"]
    assert budget["clients"] == [] and budget["verdict"]["rule_id"] == "CB111"


def test_the_incident_plan_attaches_the_service_by_its_rds_endpoint() -> None:
    code, report = _json("scan", "fixtures/plans/incident.tfplan")
    assert code == 1
    [budget] = report["budgets"]
    assert (budget["database"], budget["worst_case"], budget["usable"]) == (
        "aws_db_instance.proddb", 380, 165)
    assert budget["verdict"]["rule_id"] == "CB101"
    [client] = budget["clients"]
    assert client["matched_by"] == ("where it connects: proddb.abcdefghij.eu-west-1.rds."
                                    "amazonaws.com (the endpoint of proddb)")
    assert budget["coverage"]["complete"] is True
    cb101 = next(f for f in report["findings"] if f["rule_id"] == "CB101")
    assert "worst case 380 connections to aws_db_instance.proddb" in cb101["message"]
    assert "> usable 165" in cb101["message"]


@pytest.mark.parametrize(("host", "name"), [
    ("proddb.abcdefghij.eu-west-1.rds.amazonaws.com", "proddb"),
    ("orders.cluster-c7tj4example.us-east-1.rds.amazonaws.com", "orders"),
    ("orders.cluster-ro-c7tj4example.us-east-1.rds.amazonaws.com", "orders"),
    ("orders-proxy.proxy-c7tj4example.us-east-1.rds.amazonaws.com", "orders-proxy"),
    ("readers.endpoint.proxy-c7tj4example.us-east-1.rds.amazonaws.com", "readers"),
    ("pgbouncer.shop.svc.cluster.local", "pgbouncer"),
    ("db.example.com", None),
    ("10.0.1.17", None),
])
def test_documented_endpoint_formats_name_what_they_reach(host: str, name: str | None) -> None:
    assert endpoint_names(host) == ({name} if name else set())


def test_config_paths_are_relative_to_the_config_file() -> None:
    tree = FIXTURES / "coverage" / "config-paths"
    for path, cwd in ((str(tree.relative_to(ROOT)), ROOT), (".", tree), (str(tree), Path("/"))):
        _, report = _json("scan", path, cwd=cwd)
        [budget] = report["budgets"]
        [pooler] = budget["clients"]
        assert (pooler["matched_by"], pooler["steady"]) == ("[tool.connbudget.clients] mapping",
                                                            300)  # 150 x 2 processes
        assert report["checked"]["files"]["PgBouncer ini"] == 1  # legacy/ is excluded


def test_compose_extension_keys_are_not_services_and_shell_commands_count_workers() -> None:
    _, report = _json("scan", f"{COVERAGE}/commands/docker-compose.yml")
    [budget] = report["budgets"]
    assert [(c["client"], c["processes"], c["pool"]) for c in budget["clients"]] == [
        ("compose/web", 5, 4), ("compose/worker", 3, 4)]


def test_gunicorn_workers_inside_sh_c_count_on_ecs_and_kubernetes(tmp_path: Path) -> None:
    _, report = _json("scan", f"{COVERAGE}/commands/ecs.tf")
    [client] = report["budgets"][0]["clients"]
    assert (client["processes"], client["steady"]) == (4, 24)
    shutil.copytree(FIXTURES / "coverage" / "commands" / "k8s", tmp_path / "k8s")
    (tmp_path / "k8s" / ".connbudget.toml").write_text(
        '[databases."StatefulSet/shop/postgres"]\nmax-connections = 500\n\n'
        '[clients]\n"Deployment/shop/shop" = "StatefulSet/shop/postgres"\n')
    _, report = _json("scan", str(tmp_path / "k8s"))
    [budget] = report["budgets"]
    assert [(c["client"], c["processes"], c["steady"]) for c in budget["clients"]] == [
        ("Deployment/shop/shop", 6, 48)]
    assert budget["reserved"] == 3 and budget["coverage"]["complete"] is True


def test_a_postgres_statefulset_is_a_self_managed_database_with_its_clients() -> None:
    _, report = _json("scan", f"{COVERAGE}/commands/k8s")
    [budget] = report["budgets"]
    assert (budget["database"], budget["max_connections"], budget["reserved"]) == (
        "StatefulSet/shop/postgres", 500, 3)
    assert [(c["client"], c["steady"]) for c in budget["clients"]] == [
        ("Deployment/shop/shop", 48)]
    assert budget["coverage"]["complete"] is True


def test_cb103_names_the_library_setting_or_says_the_library_is_unknown(
        tmp_path: Path) -> None:
    _, report = _json("scan", f"{COVERAGE}/secret-urls")
    [worker] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert worker["fix"] == "set RAILS_MAX_THREADS explicitly (a literal, or a variable with a " \
                            "default)"
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: postgres:16\n  api:\n    image: example/api:1.0\n"
        "    environment:\n      DATABASE_URL: postgres://api@db/api\n")
    _, report = _json("scan", str(tmp_path))
    [unknown] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert unknown["fix"].startswith("its library is not known, so no setting is named")
    assert "PG_POOL_SIZE" not in unknown["fix"].split(";")[0]


def test_cb111_is_suppressed_by_an_ignore_on_the_unread_resource(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "coverage" / "other-clouds", tmp_path / "stack")
    main = tmp_path / "stack" / "main.tf"
    _, before = _json("scan", str(tmp_path / "stack"))
    assert "aws_cloudwatch_event_target.nightly_report" in {
        f["resource"] for f in before["findings"] if f["rule_id"] == "CB111"}
    main.write_text(main.read_text().replace(
        'resource "aws_cloudwatch_event_target" "nightly_report" {',
        '# connbudget:ignore CB111 3 tasks x 1 connection, counted by hand\n'
        'resource "aws_cloudwatch_event_target" "nightly_report" {'))
    _, report = _json("scan", str(tmp_path / "stack"))
    ignored = {f["resource"] for f in report["findings"] if f["rule_id"] == "CB111"}
    assert "aws_cloudwatch_event_target.nightly_report" not in ignored
    assert "CB006" not in {f["rule_id"] for f in report["findings"]}


def test_nothing_to_check_is_said_only_when_nothing_was_recognised(tmp_path: Path) -> None:
    _, report = _json("scan", f"{COVERAGE}/helm-tree/charts")
    assert "CB110" not in {f["rule_id"] for f in report["findings"]}
    (tmp_path / "README.md").write_text("docs only\n")
    _, report = _json("scan", str(tmp_path))
    assert [f["rule_id"] for f in report["findings"]] == ["CB110"]


def test_sarif_puts_a_result_on_each_unread_line_and_validates() -> None:
    result = run_cli("scan", f"{COVERAGE}/git-modules", "--format", "sarif")
    log = json.loads(result.out)
    sarif_validator().validate(log)
    [run] = log["runs"]
    results = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]
                ["startLine"]) for r in run["results"]]
    assert results == [("CB111", "warning", 5), ("CB111", "warning", 11),
                       ("CB111", "warning", 19)]
    assert run["properties"]["coverage"]["databases"] == 0


def test_with_cb111_disabled_every_format_still_notes_what_was_not_read(
        tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "coverage" / "git-modules", tmp_path / "root")
    (tmp_path / "root" / ".connbudget.toml").write_text('disable = ["CB111"]\n')
    path = str(tmp_path / "root")
    log = json.loads(run_cli("scan", path, "--format", "sarif").out)
    sarif_validator().validate(log)
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"].split(" is ")[0]) for n in notes] == [
        ("note", "module.network"), ("note", "module.database"), ("note", "module.api")]
    github = run_cli("scan", path, "--format", "github").out.splitlines()
    assert sum(line.startswith("::notice ") and "title=connbudget coverage" in line
               for line in github) == 3
    assert sum(line.startswith("::notice ") for line in github) == 4  # and the config's
    assert github[-1].endswith("; coverage: no database read, 3 things not read")
    gitlab = json.loads(run_cli("scan", path, "--format", "gitlab").out)
    assert sorted(issue["check_name"] for issue in gitlab) == [
        "connbudget-config", "coverage", "coverage", "coverage"]
    junit = ET.fromstring(run_cli("scan", path, "--format", "junit").out)
    names = [case.get("name") for case in junit.iter("testcase")]
    assert names == ["not read module.network", "not read module.database",
                     "not read module.api"]


def test_junit_and_markdown_state_the_coverage(tmp_path: Path) -> None:
    tree = str(_rails_without_config(tmp_path))
    junit = ET.fromstring(run_cli("scan", tree, "--format", "junit").out)
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["coverage"] == "coverage: 1 database, incomplete, 2 things not read"
    assert properties["coverage.databases.incomplete"] == "1"
    markdown = run_cli("scan", tree, "--format", "markdown").out
    assert "| `compose/db` | 100 | 97 | 0 | incomplete |" in markdown
    assert f"- `compose/web` at `{tree}/docker-compose.yml:26`" in markdown


def test_inputs_of_other_tools_are_each_one_warning_with_what_makes_them_read() -> None:
    _, report = _json("scan", f"{COVERAGE}/unread-kinds")
    fixes = {f["resource"]: f["fix"] for f in report["findings"] if f["rule_id"] == "CB111"}
    assert sorted(fixes) == ["AWS CDK app cdk.json", "SAM template template.yaml",
                             "Serverless Framework service serverless.yml",
                             "helmfile helmfile.yaml"]
    assert fixes["helmfile helmfile.yaml"].startswith(
        f"render it and scan the result: helmfile --file {COVERAGE}/unread-kinds/helmfile/"
        "helmfile.yaml template")
    assert report["errors"] == [] and report["coverage"]["databases"] == 0
