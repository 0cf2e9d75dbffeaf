"""Every place on AWS a client runs: Lambda, App Runner, scheduled ECS tasks, Batch, and who
the security groups let reach a database; the rds-proxy module and remote modules that
`terraform init` installed."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

from conftest import FIXTURES, apply_edits
from inprocess import run_main

from connbudget import confine
from connbudget.capacity.analyze import capacity_model
from connbudget.discover import discover
from connbudget.engine import Reads
from connbudget.model import Model
from connbudget.settings import Settings

CAPACITY = FIXTURES / "capacity"


@functools.cache
def _report(path: str) -> dict[str, Any]:
    outcome = run_main("capacity", path, "--format", "json")
    assert outcome.code in (0, 1), outcome.err
    found = outcome.json()
    assert isinstance(found, dict)
    return found


def _scan(path: Path) -> dict[str, Any]:
    return _report.__wrapped__(str(path))


def model_of(path: Path) -> Model:
    """The capacity model a run builds of `path`: what it matched and what it did not read."""
    with confine.scan_roots([str(path)]):
        reads = Reads(discover([str(path)], []), Settings())
        model, _, _ = capacity_model(reads.parsed(), Settings())
    return model


def _clients(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every client of every budget by name, those behind a pooler included."""
    found: dict[str, dict[str, Any]] = {}
    for budget in report["budgets"]:
        for client in budget["clients"]:
            found[client["client"]] = client
            found.update((behind["client"], behind) for behind in client.get("behind", []))
    return found


def _findings(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule_id"] == rule]


# Lambda

def test_a_lambda_behind_rds_proxy_is_counted_by_its_reserved_environments() -> None:
    report = _report(str(CAPACITY / "lambda-rds-proxy"))
    [budget] = report["budgets"]
    assert (budget["max_connections"], budget["worst_case"]) == (5000, 4500)
    api = _clients(report)["aws_lambda_function.api"]
    assert (api["kind"], api["unit"], api["max_tasks"], api["pool"], api["steady"]) == (
        "lambda", "environments", 850, 1, 850)
    assert api["matched_by"] == "where it connects: aws_db_proxy.orders"
    [cb102] = _findings(report, "CB102")
    assert "is 90 % of usable 4995" in cb102["message"]


def test_an_unreserved_lambda_is_unknown_and_cb103_asks_for_its_reservation() -> None:
    report = _report(str(CAPACITY / "lambda-sqs"))
    thumbnails = _clients(report)["aws_lambda_function.thumbnails"]
    assert thumbnails["max_tasks"] is None and thumbnails["steady"] is None
    assert report["budgets"][0]["worst_case"] is None  # never "ok"
    [cb103] = [f for f in _findings(report, "CB103")
               if f["resource"] == "aws_lambda_function.thumbnails"]
    assert "share the account's unreserved concurrency (1,000 per Region by default" in \
        cb103["message"]
    assert "at 1,000 environments that is 1,000 connections" in cb103["message"]
    assert ("its SQS sources' maximum_concurrency (aws_lambda_event_source_mapping.thumbnails "
            "maximum_concurrency 10) bound only what they run") in cb103["message"]
    assert cb103["fix"].startswith("set reserved_concurrent_executions explicitly")


def test_sqs_maximum_concurrency_is_stated_beside_each_function() -> None:
    clients = _clients(_report(str(CAPACITY / "lambda-sqs")))
    assert clients["aws_lambda_function.ingest"]["max_tasks"] == 40
    assert clients["aws_lambda_function.ingest"]["notes"] == [
        "its SQS event sources run at most 40 environments (aws_lambda_event_source_mapping."
        "ingest maximum_concurrency 40): keep each maximum_concurrency within "
        "reserved_concurrent_executions"]
    assert clients["aws_lambda_function.thumbnails"]["notes"][0].endswith(
        "but any other invocation runs more: reserved_concurrent_executions = 10 would bound "
        "the function")
    # the terraform-aws-modules/lambda call: its reservation and its mapping's cap
    billing = clients["module.billing"]
    assert (billing["max_tasks"], billing["sources"]["max_tasks"]["line"]) == (100, 87)
    assert "module.billing event_source_mapping[\"sqs\"] maximum_concurrency 100" in \
        billing["notes"][0]


def test_capping_a_lambda_edits_its_reserved_concurrency(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "lambda-sqs", tmp_path / "tree")
    [cb102] = _findings(_scan(tmp_path / "tree"), "CB102")
    assert "cap module.billing at 76 environments: reserved_concurrent_executions = 76" in \
        cb102["fix"]
    [edit] = cb102["edits"]
    assert (edit["line"], edit["new"]) == (87, "  reserved_concurrent_executions = 76")
    apply_edits(cb102["edits"])
    assert not _findings(_scan(tmp_path / "tree"), "CB102")


def test_a_new_lambda_version_adds_no_environments() -> None:
    ingest = _clients(_report(str(CAPACITY / "lambda-sqs")))["aws_lambda_function.ingest"]
    assert ingest["deploy"] == ingest["steady"] == 80
    assert ingest["sources"]["deploy_tasks"]["source"].startswith(
        "as many as at steady state: a new version adds none")


def test_provisioned_concurrency_is_said_to_keep_connections_open(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "lambda-sqs", tmp_path / "tree")
    with (tmp_path / "tree" / "main.tf").open("a") as handle:
        handle.write('\nresource "aws_lambda_provisioned_concurrency_config" "ingest" {\n'
                     "  function_name                     = aws_lambda_function.ingest."
                     "function_name\n  qualifier                         = \"live\"\n"
                     "  provisioned_concurrent_executions = 10\n}\n")
    notes = _clients(_scan(tmp_path / "tree"))["aws_lambda_function.ingest"]["notes"]
    assert notes[-1] == ("10 environments are kept initialized by provisioned concurrency "
                         "(aws_lambda_provisioned_concurrency_config.ingest): they hold their "
                         "connections even when idle")


# App Runner

def test_app_runner_scales_to_max_size_and_doubles_during_a_deployment() -> None:
    report = _report(str(CAPACITY / "app-runner"))
    clients = _clients(report)
    web, worker = clients["aws_apprunner_service.web"], clients["module.worker"]
    assert (web["unit"], web["max_tasks"], web["deploy_tasks"], web["processes"], web["pool"]) \
        == ("instances", 10, 20, 2, 5)
    assert web["sources"]["deploy_tasks"]["source"].startswith(
        "10 instances x 2 (App Runner doubles the instances during a deployment")
    # the module names a configuration another call of the module creates
    assert (worker["max_tasks"], worker["deploy_tasks"]) == (5, 10)
    assert worker["sources"]["max_tasks"]["source"] == (
        'module.app_runner_shared_configs auto_scaling_configurations["mini"] max_size')


def test_app_runner_without_an_auto_scaling_configuration_runs_25_instances(
        tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "app-runner", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace(
        "  auto_scaling_configuration_arn = aws_apprunner_auto_scaling_configuration_version.web"
        ".arn\n", ""))
    web = _clients(_scan(tmp_path / "tree"))["aws_apprunner_service.web"]
    assert (web["max_tasks"], web["deploy_tasks"]) == (25, 50)
    assert web["sources"]["max_tasks"]["source"].startswith(
        "default: max_size 25 (aws_apprunner_service.web names no auto scaling configuration")


def test_the_deploy_fix_of_app_runner_caps_max_size(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "app-runner", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace('DB_POOL_SIZE = "5"', 'DB_POOL_SIZE = "2"'))
    [cb108] = _findings(_scan(tmp_path / "tree"), "CB108")
    # nothing narrows App Runner's doubling: the fix is the most instances it doubles
    assert cb108["fix"].startswith(
        "cap aws_apprunner_service.web at 9 instances: max_size = 9; doubled during a "
        "deployment, 18 x 4 = 72 within 75 of the 95 usable slots")
    apply_edits(cb108["edits"])
    assert not _findings(_scan(tmp_path / "tree"), "CB108")


# EventBridge-scheduled ECS tasks

def test_a_scheduled_task_runs_task_count_tasks_with_its_overrides() -> None:
    report = _report(str(CAPACITY / "scheduled-task"))
    nightly = _clients(report)["aws_cloudwatch_event_target.nightly_report"]
    # the target's containerOverrides set RAILS_MAX_THREADS=5 on the service's definition
    assert (nightly["kind"], nightly["max_tasks"], nightly["pool"], nightly["deploy"]) == (
        "scheduled-task", 4, 5, 20)
    assert nightly["notes"] == [
        "one run of the schedule (cron(0 3 * * ? *)) is counted: whether EventBridge starts a "
        "run while the previous run's tasks still run is not documented"]
    assert report["budgets"][0]["worst_case"] == 100 + 20


def test_an_unset_task_count_is_one_task_per_run(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "scheduled-task", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace("    task_count          = 4\n", ""))
    nightly = _clients(_scan(tmp_path / "tree"))["aws_cloudwatch_event_target.nightly_report"]
    assert nightly["max_tasks"] == 1
    assert nightly["sources"]["max_tasks"]["source"] == (
        "default: task_count 1 (EventBridge EcsParameters, https://docs.aws.amazon.com/"
        "eventbridge/latest/APIReference/API_EcsParameters.html)")


# AWS Batch

def test_batch_jobs_are_bounded_by_their_compute_environments_vcpus() -> None:
    report = _report(str(CAPACITY / "batch-jobs"))
    imports = _clients(report)["aws_batch_job_definition.import"]
    assert (imports["unit"], imports["max_tasks"], imports["steady"]) == ("jobs", 32, 160)
    assert imports["sources"]["max_tasks"]["source"] == (
        "aws_batch_compute_environment.fargate max_vcpus 16 / 0.5 vCPU per job "
        "(aws_batch_job_definition.import)")


def test_batch_jobs_a_spot_environment_may_overrun_are_unread() -> None:
    model = model_of(CAPACITY / "batch-jobs")
    [unread] = [u for u in model.unread if u.what == "aws_batch_job_definition.reindex"]
    assert "SPOT_PRICE_CAPACITY_OPTIMIZED may exceed max_vcpus by one instance" in unread.why
    assert unread.databases == {(str(CAPACITY / "batch-jobs"), "aws_db_instance.catalog")}
    assert "aws_batch_job_definition.reindex" not in {c.where.address for c in model.clients}


def test_a_cap_on_jobs_of_whole_vcpus_is_written_as_max_vcpus(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "batch-jobs", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace('{ type = "VCPU", value = "0.5" }',
                                             '{ type = "VCPU", value = "2" }')
                    .replace('{ name = "DB_POOL_SIZE", value = "5" }',
                             '{ name = "DB_POOL_SIZE", value = "20" }'))
    report = _scan(tmp_path / "tree")
    imports = _clients(report)["aws_batch_job_definition.import"]
    assert (imports["max_tasks"], imports["sources"]["max_tasks"]["line"]) == (8, 28)
    [cb101] = _findings(report, "CB101")  # 8 jobs x 20 = 160 > 95
    assert "or cap aws_batch_job_definition.import at 3 jobs: max_vcpus = 6 (max_vcpus)" in \
        cb101["fix"]


# who can reach the database

def test_a_secret_database_url_is_matched_by_network_reachability() -> None:
    tree = CAPACITY / "security-groups"
    api = _clients(_report(str(tree)))["aws_ecs_service.api"]
    assert api["matched_by"] == (
        f"network reachability: aws_security_group.main_db ingress ({tree / 'main.tf'}:34) "
        "admits aws_security_group.api, a group of aws_ecs_service.api")


def test_compute_that_can_reach_a_database_and_is_no_client_is_unread_of_it() -> None:
    root = str(CAPACITY / "security-groups")
    model = model_of(CAPACITY / "security-groups")
    found = {u.what: u for u in model.unread}
    group = found["aws_autoscaling_group.legacy"]
    assert group.databases == {(root, "aws_db_instance.main")}
    assert group.why.startswith("Auto Scaling group that can reach aws_db_instance.main over "
                                "the network")
    vpn = found["10.20.0.0/16 (aws_security_group.main_db ingress)"]
    assert (vpn.kind, vpn.line, vpn.databases) == ("network", 42,
                                                   {(root, "aws_db_instance.main")})
    # the analytics database admits only a group nothing runs in
    assert not [u for u in model.unread if (root, "aws_db_instance.analytics") in
                (u.databases or ())]


def test_an_auto_scaling_group_whose_reach_is_not_in_the_files_is_unread_of_every_database(
        tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "security-groups", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace(
        "  vpc_security_group_ids = [aws_security_group.legacy.id]\n", ""))
    [group] = [u for u in model_of(tmp_path / "tree").unread
               if u.what == "aws_autoscaling_group.legacy"]
    assert {key[1] for key in group.databases or ()} == {"aws_db_instance.main",
                                                         "aws_db_instance.analytics"}


def test_a_proxy_behind_its_group_takes_the_lambda_it_admits() -> None:
    model = model_of(CAPACITY / "lambda-rds-proxy")
    [reach] = model.network
    assert reach.source[1] == "aws_lambda_function.api" and reach.target[1] == \
        "aws_db_proxy.orders"
    assert not model.unread  # a proxy opens its own connections: nothing unread


# modules

def test_remote_modules_installed_by_terraform_init_are_read() -> None:
    report = _report(str(FIXTURES / "stacks" / "remote-modules"))
    [budget] = report["budgets"]
    assert (budget["database"], budget["max_connections"]) == ("module.db.aws_db_instance.this",
                                                               200)
    clients = _clients(report)
    assert clients["module.api.aws_ecs_service.this"]["steady"] == 12 * 20
    # the rds-proxy module is read from its inputs (90 % by default), its copy not again
    proxy = clients["module.proxy"]
    assert (proxy["path"], proxy["steady"]) == ("rds-proxy", 180)
    assert proxy["sources"]["max_connections_percent"]["source"].endswith(
        "terraform-aws-modules/terraform-aws-rds-proxy@012b4332f58ccaaa485d0af2040e599056d696f9:"
        "variables.tf:131)")


def test_a_broken_modules_json_is_a_located_error_and_the_rest_is_read(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "stacks" / "remote-modules", tmp_path / "tree")
    manifest = tmp_path / "tree" / ".terraform" / "modules" / "modules.json"
    manifest.write_text('{"Modules": [')
    outcome = run_main("capacity", str(tmp_path / "tree"), "--format", "json")
    assert outcome.code == 2
    report = outcome.json()
    assert report["errors"] == [{"file": str(manifest), "line": 1, "message":
                                 "not a modules.json Terraform writes; remote modules not read"}]
    assert [b["database"] for b in report["budgets"]] == []  # nothing else declares one


def test_a_modules_json_directory_outside_the_tree_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "repo" / "tree"
    shutil.copytree(FIXTURES / "stacks" / "remote-modules", tree)
    (tmp_path / "repo" / ".git").mkdir()
    outside = tmp_path / "elsewhere"
    shutil.copytree(tree / ".terraform" / "modules" / "db", outside)
    manifest = tree / ".terraform" / "modules" / "modules.json"
    data = json.loads(manifest.read_text())
    for entry in data["Modules"]:
        if entry["Key"] == "db":
            entry["Dir"] = "../../elsewhere"
    manifest.write_text(json.dumps(data))
    report = run_main("capacity", str(tree), "--format", "json").json()
    assert report["errors"] == [{
        "file": str(tree / "main.tf"), "line": 4,
        "message": f"module db: .terraform/modules/modules.json directory {outside} is outside "
                   "the scanned tree, not read"}]
    assert str(outside) not in json.dumps(report["budgets"])


def test_a_lambda_whose_database_url_is_a_secret_is_mapped_by_the_config(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "stacks" / "lambda-secret", tree)
    report = _scan(tree)
    fixes = {f["resource"]: f["fix"] for f in _findings(report, "CB103") + _findings(report,
                                                                                     "CB111")}
    assert fixes["aws_lambda_function.reports"] == (
        'map it in the config: [tool.connbudget.clients] "aws_lambda_function.reports" = '
        '"aws_db_instance.archive"')
    assert fixes["aws_db_instance.archive"].startswith("pin it in pyproject.toml")
    (tree / "pyproject.toml").write_text(
        '[tool.connbudget.databases."aws_db_instance.archive"]\nmax-connections = 400\n\n'
        '[tool.connbudget.clients]\n"aws_lambda_function.reports" = "aws_db_instance.archive"\n')
    [archive] = [b for b in _scan(tree)["budgets"] if b["database"] == "aws_db_instance.archive"]
    assert [(c["client"], c["steady"], c["matched_by"]) for c in archive["clients"]] == [
        ("aws_lambda_function.reports", 40, "[tool.connbudget.clients] mapping")]


def test_a_reservation_lambda_refuses_is_unknown_not_negative(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "lambda-sqs", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace("reserved_concurrent_executions = 40",
                                             "reserved_concurrent_executions = -7"))
    ingest = _clients(_scan(tmp_path / "tree"))["aws_lambda_function.ingest"]
    assert ingest["max_tasks"] is None
    assert ingest["sources"]["max_tasks"]["source"] == (
        "aws_lambda_function.ingest reserved_concurrent_executions -7 is no reservation Lambda "
        "accepts")


def test_capping_a_scheduled_task_edits_its_task_count(tmp_path: Path) -> None:
    shutil.copytree(CAPACITY / "scheduled-task", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    main.write_text(main.read_text().replace("task_count          = 4", "task_count          = 30"))
    [cb101] = _findings(_scan(tmp_path / "tree"), "CB101")
    assert "or cap aws_cloudwatch_event_target.nightly_report at 3 tasks: task_count = 3 " \
           "(task_count)" in cb101["fix"]
    [edit] = cb101["edits"]
    assert edit["new"] == "    task_count          = 3"
    apply_edits(cb101["edits"])
    assert not _findings(_scan(tmp_path / "tree"), "CB101")
